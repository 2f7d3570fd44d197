/**
 * Outbound flow control for link publishes. A bounded queue (messages and bytes) feeds a window of
 * unacknowledged publishes no larger than the broker's Receive Maximum. A refusal the broker may lift
 * (quota exceeded, receive maximum exceeded, server busy) is retried with backoff; any other refusal
 * fails that message at once. Nothing is dropped silently: every message resolves (acknowledged by
 * the broker) or rejects with a named error.
 *
 * Kept apart from mqtt.js behind {@link Publisher} so the rules are unit-tested without a broker.
 */
import { ReasonCodes } from 'mqtt';
import { LinkClosedError, LinkDeadlineError, LinkPublishRefusedError, LinkQueueFullError } from './errors';

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

/** Short metric label for a reason code, e.g. `quota_exceeded`. */
export function reasonLabel(code: number | undefined): string {
  if (code === undefined) return 'connection';
  const text = (ReasonCodes as Record<number, string>)[code];
  return text ? text.toLowerCase().replace(/[^a-z0-9]+/g, '_') : `code_${code}`;
}

/** The slice of mqtt.js the queue drives. */
export interface Publisher {
  publish(topic: string, payload: Buffer, properties: Record<string, unknown>, callback: (err?: Error & { code?: unknown }) => void): void;
}

export interface OutboundEvents {
  /** Depth changed (waiting plus unacknowledged messages). */
  depth?(messages: number, bytes: number): void;
  retry?(reason: string): void;
  failure?(reason: string): void;
}

interface Item {
  topic: string;
  payload: Buffer;
  properties: Record<string, unknown>;
  enqueuedAt: number;
  resolve(): void;
  reject(err: Error): void;
  settled: boolean;
}

export class OutboundQueue {
  private waiting: Item[] = [];
  private head = 0;
  private readonly inFlight = new Set<Item>();
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

  /** Messages held: waiting plus unacknowledged. */
  get depth(): number {
    return this.waiting.length - this.head + this.inFlight.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  /** Resolves once the broker acknowledged the publish; rejects with a named error otherwise. */
  send(topic: string, payload: Buffer, properties: Record<string, unknown>): Promise<void> {
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
      this.waiting.push({ topic, payload, properties, enqueuedAt: this.now(), resolve, reject, settled: false });
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
    const held = [...this.waiting.slice(this.head), ...this.inFlight];
    this.waiting = [];
    this.head = 0;
    this.inFlight.clear();
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
    while (this.inFlight.size < this.window && this.head < this.waiting.length) {
      const item = this.waiting[this.head++];
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
      this.inFlight.add(item);
      this.publisher.publish(item.topic, item.payload, item.properties, (err) => this.acknowledged(item, err));
    }
  }

  private acknowledged(item: Item, err?: Error & { code?: unknown }): void {
    if (!this.inFlight.delete(item)) return;
    const code = typeof err?.code === 'number' ? err.code : undefined;
    if (!err) {
      this.refusalsInARow = 0;
      this.settle(item);
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
    this.pump();
  }

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
    const limit = this.now() - this.options.deadlineMs;
    const seconds = Math.round(this.options.deadlineMs / 1000);
    let expired = 0;
    while (this.head < this.waiting.length && this.waiting[this.head].enqueuedAt <= limit) {
      const item = this.waiting[this.head++];
      expired++;
      this.settle(item, new LinkDeadlineError(`message waited more than ${seconds} s for the broker and was not sent`));
    }
    // A retried message can sit behind newer ones only briefly; check the rest of the line too.
    const stale = this.waiting.slice(this.head).filter((i) => i.enqueuedAt <= limit);
    if (stale.length) {
      this.waiting = this.waiting.slice(this.head).filter((i) => i.enqueuedAt > limit);
      this.head = 0;
      for (const item of stale) {
        expired++;
        this.settle(item, new LinkDeadlineError(`message waited more than ${seconds} s for the broker and was not sent`));
      }
    }
    for (const item of this.inFlight) {
      if (item.enqueuedAt > limit || item.settled) continue;
      expired++;
      // It stays in the window until mqtt.js gives it up, but its node hears now.
      this.settle(item, new LinkDeadlineError(`message not acknowledged by the broker within ${seconds} s (it may still be delivered)`));
    }
    if (expired) {
      for (let i = 0; i < expired; i++) this.events.failure?.('deadline');
      this.changed();
    }
  }
}
