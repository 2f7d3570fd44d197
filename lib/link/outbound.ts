/**
 * Outbound flow control for link publishes. A bounded queue (messages and bytes) feeds a window of
 * unacknowledged publishes no larger than the broker's Receive Maximum. A refusal the broker may lift
 * (quota exceeded, receive maximum exceeded, server busy) is retried with backoff; any other refusal
 * fails that message at once. Nothing is dropped silently: every message resolves (acknowledged by
 * the broker) or rejects with a named error.
 *
 * A broker that accepts a message nobody is subscribed to drops it and says so only in the
 * acknowledgement's reason code (0x10, QoS 1 only). For a message that must reach a listener (a
 * direct link or a reply) that is a wait, not a success: after a broker restart the sender is often
 * back before the receivers have subscribed again. Such a topic is parked: its messages wait in
 * order and one of them probes with backoff until a listener takes it, or the deadline passes. Other
 * topics keep flowing meanwhile.
 *
 * Kept apart from mqtt.js behind {@link Publisher} so the rules are unit-tested without a broker.
 */
import { ReasonCodes } from 'mqtt';
import { LinkClosedError, LinkDeadlineError, LinkNoSubscribersError, LinkPublishRefusedError, LinkQueueFullError } from './errors';
import { onNextTurn } from './next-turn';

export interface OutboundOptions {
  /**
   * Most messages held (waiting plus unacknowledged); beyond it a send fails at once. Large enough
   * for a function node's burst of 50,000 (Node-RED has no back-pressure between nodes). @default 100000
   */
  maxMessages: number;
  /** Most payload bytes held; beyond it a send fails at once. @default 67108864 (64 MiB) */
  maxBytes: number;
  /** How long a message may wait for the broker's acknowledgement before its node reports it. @default 60000 */
  deadlineMs: number;
  /** Most unacknowledged publishes at once; lowered to the broker's Receive Maximum. @default 100 */
  window: number;
  /** First wait after a transient refusal; doubles per refusal in a row. @default 20 */
  retryBaseMs: number;
  /** Longest wait between retries. @default 2000 */
  retryMaxMs: number;
}

export const DEFAULT_OUTBOUND: OutboundOptions = {
  maxMessages: 100_000,
  maxBytes: 64 * 1024 * 1024,
  deadlineMs: 60_000,
  window: 100,
  retryBaseMs: 20,
  retryMaxMs: 2000,
};

/** MQTT v5 reason codes a broker uses for pressure it will lift: retry these. */
export const TRANSIENT_REASONS = new Set([0x97 /* quota exceeded */, 0x93 /* receive maximum exceeded */, 0x89 /* server busy */, 0x96 /* message rate too high */]);

/** The success reason code a broker gives a QoS 1 publish that matched no subscription: the message is gone. */
export const NO_MATCHING_SUBSCRIBERS = 0x10;

/** Short metric label for a reason code, e.g. `quota_exceeded`. */
export function reasonLabel(code: number | undefined): string {
  if (code === undefined) return 'connection';
  const text = (ReasonCodes as Record<number, string>)[code];
  return text ? text.toLowerCase().replace(/[^a-z0-9]+/g, '_') : `code_${code}`;
}

/** The slice of mqtt.js the queue drives. */
export interface Publisher {
  /** `reasonCode` is the acknowledgement's reason code when it was a success other than 0. */
  publish(topic: string, payload: Buffer, properties: Record<string, unknown>, callback: (err?: Error & { code?: unknown }, reasonCode?: number) => void): void;
}

export interface SendOptions {
  /** The message is lost unless someone is subscribed: wait for a subscriber instead of counting it sent. */
  awaitSubscriber: boolean;
  /** This message's own deadline when shorter than the queue's (a call that times out sooner). @default options.deadlineMs */
  deadlineMs?: number;
}

export interface OutboundEvents {
  /** Depth changed (waiting plus unacknowledged messages). */
  depth?(messages: number, bytes: number): void;
  retry?(reason: string): void;
  failure?(reason: string): void;
}

interface Item {
  /** Order of arrival: a parked topic's messages leave in this order. */
  seq: number;
  topic: string;
  payload: Buffer;
  properties: Record<string, unknown>;
  awaitSubscriber: boolean;
  /** Set once the broker said no one was subscribed to its topic (for this message or an earlier one). */
  unheard: boolean;
  /** How long it may be held, from when it was queued. */
  deadlineMs: number;
  expiresAt: number;
  resolve(): void;
  reject(err: Error): void;
  settled: boolean;
}

/** A topic nobody was subscribed to: its messages, oldest first, and the next probe. */
interface Park {
  items: Item[];
  attempts: number;
  /** A probe is due: the next pump sends the oldest message. */
  due: boolean;
  timer?: NodeJS.Timeout;
}

export class OutboundQueue {
  private waiting: Item[] = [];
  private head = 0;
  private readonly inFlight = new Set<Item>();
  private readonly parked = new Map<string, Park>();
  private parkedCount = 0;
  private seq = 0;
  private bytes = 0;
  private connected = false;
  private brokerWindow = Infinity;
  private pausedUntil = 0;
  private refusalsInARow = 0;
  private pumpTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly publisher: Publisher, readonly options: OutboundOptions, private readonly events: OutboundEvents = {}, private readonly now = Date.now) {}

  /** Messages held: waiting (parked too) plus unacknowledged. */
  get depth(): number {
    return this.waiting.length - this.head + this.inFlight.size + this.parkedCount;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  /**
   * Resolves once the broker acknowledged the publish (and, with `awaitSubscriber`, someone was
   * subscribed); rejects with a named error otherwise. Without options it is a plain publish.
   */
  send(topic: string, payload: Buffer, properties: Record<string, unknown>, options: SendOptions = { awaitSubscriber: false }): Promise<void> {
    if (this.closed) return Promise.reject(new LinkClosedError('project link connection is closed'));
    if (this.depth + 1 > this.options.maxMessages) {
      this.events.failure?.('queue_full');
      return Promise.reject(new LinkQueueFullError(`project link queue is full (${this.options.maxMessages} messages waiting for the broker)`));
    }
    if (this.bytes + payload.length > this.options.maxBytes) {
      this.events.failure?.('queue_full');
      return Promise.reject(new LinkQueueFullError(`project link queue is full (${this.bytes} of ${this.options.maxBytes} bytes waiting for the broker; this message has ${payload.length})`));
    }
    return new Promise((resolve, reject) => {
      const deadlineMs = Math.min(options.deadlineMs ?? Infinity, this.options.deadlineMs);
      this.waiting.push({
        seq: this.seq++, topic, payload, properties, awaitSubscriber: options.awaitSubscriber, unheard: false,
        deadlineMs, expiresAt: this.now() + deadlineMs, resolve, reject, settled: false,
      });
      this.bytes += payload.length;
      this.changed();
      this.pump();
    });
  }

  /** The broker connection came up (with its Receive Maximum) or went down. */
  setConnected(connected: boolean, receiveMaximum?: number): void {
    this.connected = connected;
    if (connected) {
      this.brokerWindow = receiveMaximum && receiveMaximum > 0 ? receiveMaximum : Infinity;
      this.pump();
    }
  }

  /** Resolves when nothing is held, or after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.idleWaiters = self.idleWaiters.filter((w) => w !== done);
        resolve();
      }
      this.idleWaiters.push(done);
    });
  }

  /** Fails everything still held with `reason` and refuses new sends. */
  close(reason: string): void {
    this.closed = true;
    clearTimeout(this.pumpTimer);
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    const held = [...this.waiting.slice(this.head), ...this.inFlight, ...[...this.parked.values()].flatMap((p) => p.items)];
    this.waiting = [];
    this.head = 0;
    this.inFlight.clear();
    for (const park of this.parked.values()) clearTimeout(park.timer);
    this.parked.clear();
    this.parkedCount = 0;
    for (const item of held) this.settle(item, new LinkClosedError(reason));
    this.changed();
  }

  private get window(): number {
    return Math.max(1, Math.min(this.options.window, this.brokerWindow));
  }

  private pump(): void {
    if (!this.connected || this.closed) return;
    const wait = this.pausedUntil - this.now();
    if (wait > 0) {
      if (!this.pumpTimer) this.pumpTimer = setTimeout(() => { this.pumpTimer = undefined; this.pump(); }, wait);
      return;
    }
    for (const [topic, park] of this.parked) {
      if (!park.due || this.inFlight.size >= this.window) continue;
      park.due = false;
      const probe = park.items.shift();
      if (probe) {
        this.parkedCount--;
        this.transmit(probe);
      } else {
        this.parked.delete(topic);
      }
    }
    while (this.inFlight.size < this.window && this.head < this.waiting.length) {
      const item = this.waiting[this.head++];
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
      const park = this.parked.get(item.topic);
      if (park) this.park(park, item);
      else this.transmit(item);
    }
  }

  private transmit(item: Item): void {
    this.inFlight.add(item);
    this.publisher.publish(item.topic, item.payload, item.properties, (err, reasonCode) => this.acknowledged(item, err, reasonCode));
  }

  /** Holds `item` in its topic's line, in order of arrival. */
  private park(park: Park, item: Item): void {
    item.unheard = true;
    let i = park.items.length;
    while (i > 0 && park.items[i - 1].seq > item.seq) i--;
    park.items.splice(i, 0, item);
    this.parkedCount++;
  }

  /** The next probe of a parked topic, with backoff; none while one is on its way or due. */
  private scheduleProbe(park: Park): void {
    if (park.timer || park.due) return;
    const wait = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.min(park.attempts++, 16));
    park.timer = setTimeout(() => {
      park.timer = undefined;
      park.due = true;
      this.pump();
    }, wait);
  }

  /** Someone took a message on a parked topic: its line goes out first, in order. */
  private unpark(topic: string): void {
    const park = this.parked.get(topic);
    if (!park) return;
    clearTimeout(park.timer);
    this.parked.delete(topic);
    this.parkedCount -= park.items.length;
    this.waiting = park.items.concat(this.waiting.slice(this.head));
    this.head = 0;
  }

  private acknowledged(item: Item, err?: Error & { code?: unknown }, reasonCode?: number): void {
    if (!this.inFlight.delete(item)) return;
    const code = typeof err?.code === 'number' ? err.code : undefined;
    const park = this.parked.get(item.topic);
    const unheard = !err && reasonCode === NO_MATCHING_SUBSCRIBERS && item.awaitSubscriber;
    if (item.settled) {
      // Its node already heard it was past its deadline: nothing to send again.
      if (!err && !unheard) this.unpark(item.topic);
      else if (park) this.scheduleProbe(park);
    } else if (unheard) {
      this.events.retry?.(reasonLabel(reasonCode));
      const line = park ?? { items: [], attempts: 0, due: false };
      this.parked.set(item.topic, line);
      this.park(line, item);
      this.scheduleProbe(line);
    } else if (!err) {
      this.refusalsInARow = 0;
      this.settle(item);
      this.unpark(item.topic);
    } else if (park && (code === undefined || TRANSIENT_REASONS.has(code))) {
      // A probe that did not get through: back to the front of its line, probe again later.
      this.events.retry?.(reasonLabel(code));
      this.park(park, item);
      this.scheduleProbe(park);
    } else if (code === undefined || TRANSIENT_REASONS.has(code)) {
      // Broker pressure, or the connection dropped under the publish: send it again, first in line.
      this.events.retry?.(reasonLabel(code));
      this.refusalsInARow++;
      this.pausedUntil = this.now() + Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.min(this.refusalsInARow - 1, 16));
      this.waiting.splice(this.head, 0, item);
    } else {
      this.events.failure?.(reasonLabel(code));
      this.settle(item, new LinkPublishRefusedError(`broker refused the message: ${(ReasonCodes as Record<number, string>)[code] ?? 'reason code ' + code} (${code})`, code));
    }
    this.changed();
    this.pumpSoon();
  }

  /**
   * Acknowledgements arrive one packet at a time; refilling the window once per turn of the event
   * loop lets the publishes they free go out in one socket write instead of one write each.
   */
  private readonly pumpSoon = onNextTurn(() => this.pump());

  private settle(item: Item, err?: Error): void {
    if (item.settled) return;
    item.settled = true;
    this.bytes -= item.payload.length;
    if (err) item.reject(err);
    else item.resolve();
  }

  private changed(): void {
    this.events.depth?.(this.depth, this.bytes);
    if (this.depth === 0) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
      for (const wake of [...this.idleWaiters]) wake();
    } else if (!this.sweepTimer && !this.closed) {
      this.sweepTimer = setInterval(() => this.sweep(), Math.min(1000, this.options.deadlineMs));
      this.sweepTimer.unref();
    }
  }

  /** Fails messages held past the deadline: never a silent drop, never an endless wait. */
  private sweep(): void {
    const now = this.now();
    const stale = (i: Item) => i.expiresAt <= now;
    let expired = 0;
    const expire = (item: Item, inFlight = false) => {
      expired++;
      const seconds = +(item.deadlineMs / 1000).toFixed(2);
      if (item.unheard) {
        this.events.failure?.(reasonLabel(NO_MATCHING_SUBSCRIBERS));
        this.settle(item, new LinkNoSubscribersError(`no one took the message on ${item.topic} within ${seconds} s: nothing is subscribed to it (is the receiving instance running, with a project link in on that topic?)`));
      } else {
        this.events.failure?.('deadline');
        this.settle(item, new LinkDeadlineError(inFlight
          ? `message not acknowledged by the broker within ${seconds} s (it may still be delivered)`
          : `message waited more than ${seconds} s for the broker and was not sent`));
      }
    };
    // A retried message can sit behind newer ones, so the whole line is checked, not just its head.
    let anyStale = false;
    for (let i = this.head; i < this.waiting.length && !anyStale; i++) anyStale = stale(this.waiting[i]);
    if (anyStale) {
      const line = this.waiting.slice(this.head);
      this.waiting = line.filter((i) => !stale(i));
      this.head = 0;
      for (const item of line) if (stale(item)) expire(item);
    }
    for (const [topic, park] of this.parked) {
      const gone = park.items.filter(stale);
      if (!gone.length) continue;
      park.items = park.items.filter((i) => !stale(i));
      this.parkedCount -= gone.length;
      for (const item of gone) expire(item);
      if (!park.items.length && !park.due) {
        // Nothing left to probe with; a message for this topic still in flight decides afresh.
        clearTimeout(park.timer);
        this.parked.delete(topic);
      }
    }
    for (const item of this.inFlight) {
      // It stays in the window until mqtt.js gives it up, but its node hears now.
      if (stale(item) && !item.settled) expire(item, true);
    }
    if (expired) this.changed();
  }
}
