/**
 * The one MQTT v5 connection a runtime's link nodes share. Nodes take a reference when they start
 * and give it back when they close; the last one out flushes the outbound queue and disconnects.
 *
 * HA on: no client id of its own (the broker assigns one), clean start, so a replica never takes
 * over another's session. HA off: a stable client id; the first connect starts clean (no leftover
 * subscriptions from an earlier run), reconnects resume the session so a network blip loses nothing.
 */
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import mqtt, { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { NO_MATCHING_SUBSCRIBERS, OutboundOptions, OutboundQueue, SendOptions } from './outbound';
import { onNextTurn } from './next-turn';
import { filterMatches } from './topics';
import { redactUrl } from '../config';
import { linkMetrics } from './metrics';
import { drainBeforeStop } from '../runtime/shutdown';

export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'error';

export interface LinkConnectionOptions {
  /** Broker URL (mqtt://, mqtts://, ws://, wss://). */
  url: string;
  /** Broker user name. @default undefined */
  username?: string;
  /** Broker password; never logged. @default undefined */
  password?: string;
  /** HA mode: broker-assigned client id and clean start. */
  ha: boolean;
  /** Client id when HA is off. */
  clientId: string;
  /** Outbound queue limits. */
  queue: OutboundOptions;
  /** Session kept by the broker across a reconnect when HA is off, in seconds. @default 300 */
  sessionExpirySeconds?: number;
  /** User properties stamped on every publish (FlowFuse reads `_projectID`). */
  userProperties: Record<string, string>;
}

/** What a subscriber gets for each message. */
export interface Delivery {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

export interface DeliveryHandler {
  /** Returns false when the message is not for this handler (e.g. a reply to another call node). */
  deliver(delivery: Delivery): boolean | void | Promise<unknown>;
  /** Told about a message no handler of the subscription claimed. */
  unclaimed?(delivery: Delivery): void;
}

interface Subscription {
  filter: string;
  id: number;
  handlers: Set<DeliveryHandler>;
  /** Settles once the broker confirmed the subscription (or refused it). */
  ready: Promise<void>;
  /** Set while the last handler's unsubscribe is in progress. */
  leaving?: Promise<void>;
  /** Replies to this replica's own calls: kept through a shutdown drain so calls in progress complete. */
  replies: boolean;
}

/** After the broker confirms an unsubscribe it may still send what it had queued for us: wait for this much quiet. */
const DRAIN_QUIET_MS = 500;
/**
 * What a replica takes off the broker ahead of its flow: messages waiting or handed to the flow
 * and not yet taken by its first node. Beyond either limit the connection stops reading, so memory
 * stays bounded and the broker holds the rest. Large on purpose: Mosquitto does not slow a sender
 * down for a slow receiver, and drops what queues for a client past its `max_queued_messages`
 * (1000 on a stock broker). The same limits as the outbound queue, so a burst one runtime can
 * send, another can take: under a 50,000-message burst to one receiver with another process taking
 * CPU, a window of 1000 lost 11,405 messages in the broker and 20,000 lost 1,809.
 */
const INBOUND_WINDOW_MESSAGES = 100_000;
const INBOUND_WINDOW_BYTES = 64 * 1024 * 1024;
/**
 * Longest a turn of the event loop should spend on the flow's work for link messages. The broker
 * sends at most its in-flight window (20 on a stock Mosquitto) per turn, so turns of 1 ms let a
 * replica read up to ~20,000 messages a second while its flow takes less than that per message.
 */
const TURN_BUDGET_MS = 1;
/** Most messages handed to the flow in one turn. */
const MAX_DELIVERIES_PER_TURN = 64;
/**
 * Unacknowledged messages the broker may send us (MQTT v5 Receive Maximum): a pause of the
 * event loop as long as this many messages take to arrive costs nothing on the broker's side.
 */
const RECEIVE_MAXIMUM = 10_000;
/** Longest a close waits for inbound messages or outbound acknowledgements. */
export const DRAIN_MAX_MS = 10_000;

export class LinkConnection extends EventEmitter {
  state: LinkState = 'connecting';
  /** Why the state is `error`, for node status. */
  detail = '';
  /** The reply level this runtime's call nodes listen on: unique per replica in HA mode. */
  readonly responseLevel: string;
  readonly outbound: OutboundQueue;
  private readonly client: MqttClient;
  private readonly subs = new Map<string, Subscription>();
  private readonly byId = new Map<number, Subscription>();
  private nextId = 1;
  private inboundInFlight = 0;
  private inboundBytes = 0;
  private readonly heldAcks: Array<() => void> = [];
  /** Received (and acknowledged, within the inbound window), not yet handed to the flow. */
  private inbox: IPublishPacket[] = [];
  private inboxHead = 0;
  /** Messages handed to the flow per turn, adapted to how long the flow takes. */
  private perTurn = 16;
  /** When the previous delivery turn ran, while the inbox stays non-empty. */
  private deliveringSince?: number;
  private lastInboundAt = 0;
  private refs = 0;
  private closing?: Promise<void>;
  private readonly stopDrain: () => void;
  private errorLogged = false;

  constructor(readonly options: LinkConnectionOptions, private readonly log: { warn(m: string): void; info(m: string): void }) {
    super();
    this.setMaxListeners(0);
    this.responseLevel = options.ha ? `res-${crypto.randomBytes(4).toString('hex')}` : 'res';
    // Message ids whose PUBACK said "no matching subscribers": mqtt.js reports those as plain success.
    const unheard = new Set<number>();
    this.outbound = new OutboundQueue({
      publish: (topic, payload, properties, callback) => {
        // QoS 1, not 2: only a PUBACK carries "no matching subscribers" (Mosquitto answers a QoS 2
        // PUBREC before it routes the message), and without it a message published after a broker
        // restart, before the receivers subscribed again, vanishes. Receivers take QoS 1 anyway.
        this.client.publish(topic, payload, { qos: 1, properties: properties as never }, (err, packet) => {
          const id = packet?.messageId;
          callback(err as never, id !== undefined && unheard.delete(id) ? NO_MATCHING_SUBSCRIBERS : undefined);
        });
      },
    }, options.queue, {
      depth: (messages, bytes) => {
        linkMetrics.queueDepth.set(messages);
        linkMetrics.queueBytes.set(bytes);
        this.emit('depth', messages);
      },
      retry: (reason) => linkMetrics.retries.inc({ reason }),
      failure: (reason) => linkMetrics.failures.inc({ reason }),
    });

    const clientOptions: IClientOptions = {
      protocolVersion: 5,
      clientId: options.ha ? '' : options.clientId,
      clean: true,
      username: options.username,
      password: options.password,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      keepalive: 45,
      resubscribe: true,
      // Without a Receive Maximum of our own, Mosquitto sends a client only its max_inflight_messages
      // (20 on a stock broker) unacknowledged: a replica then reads at most 20 messages per turn of
      // its event loop, and during a pause (a garbage collection, a slow node) the rest queues on
      // the broker, which drops it past 1000. A large one lets the broker hand the backlog over.
      properties: {
        receiveMaximum: RECEIVE_MAXIMUM,
        ...(options.ha ? {} : { sessionExpiryInterval: options.sessionExpirySeconds ?? 300 }),
      },
      // mqtt.js calls its `debug` logger several times per packet even when debugging is off: ~2%
      // of a busy link's CPU. DEBUG=mqttjs* still gets its output.
      log: process.env.DEBUG ? undefined : () => undefined,
    };
    this.client = mqtt.connect(options.url, clientOptions);
    this.client.on('packetreceive', (packet) => {
      if (packet.cmd === 'puback' && packet.reasonCode === NO_MATCHING_SUBSCRIBERS && packet.messageId !== undefined) unheard.add(packet.messageId);
    });
    this.stopDrain = drainBeforeStop(() => this.drainForShutdown());
    // Delaying the acknowledgement until the flow took the message bounds what a busy replica holds.
    this.client.handleMessage = (packet, callback) => this.dispatch(packet, callback);
    this.client.on('connect', (connack) => {
      // Nagle's algorithm holds a small packet written right after another until the broker's
      // delayed ACK (~40 ms each way): a link call took ~90 ms instead of ~3 ms.
      (this.client.stream as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true);
      if (!options.ha) this.client.options.clean = false;
      this.log.info(`Project link connected to ${redactUrl(options.url)}`);
      this.errorLogged = false;
      this.setState('connected');
      this.outbound.setConnected(true, connack.properties?.receiveMaximum);
    });
    this.client.on('reconnect', () => this.setState('reconnecting'));
    this.client.on('close', () => {
      this.outbound.setConnected(false);
      if (this.state !== 'error') this.setState('disconnected');
    });
    this.client.on('offline', () => this.outbound.setConnected(false));
    this.client.on('error', (err) => {
      // mqtt.js reports every failed reconnect attempt: one line per outage is enough.
      if (!this.errorLogged) this.log.warn(`Project link connection error: ${err.message}`);
      this.errorLogged = true;
      this.setState('error', err.message);
    });
  }

  /**
   * Before the runtime stops its flows: unsubscribe every link in (shared ones included), take
   * what the broker already sent, let the flow pass it on, and flush the outbound queue.
   */
  async drainForShutdown(): Promise<void> {
    const incoming = [...this.subs.values()].filter((s) => !s.replies);
    await Promise.all(incoming.flatMap((s) => [...s.handlers].map((h) => this.unsubscribe(s.filter, h))));
    await this.inboundQuiet(DRAIN_QUIET_MS, DRAIN_MAX_MS);
    await this.outbound.whenIdle(DRAIN_MAX_MS);
  }

  /** Takes a reference; the connection stays open while any is held. */
  acquire(): this {
    this.refs++;
    return this;
  }

  /** Gives a reference back; the last one flushes outbound messages (bounded) and disconnects. */
  async release(): Promise<void> {
    this.refs--;
    if (this.refs > 0) return;
    await this.close();
  }

  get open(): boolean {
    return !this.closing;
  }

  /** Registers `handler` for `filter`; the broker subscription is made for the first handler. */
  async subscribe(filter: string, handler: DeliveryHandler, replies = false): Promise<void> {
    let sub = this.subs.get(filter);
    if (sub?.leaving) {
      await sub.leaving;
      sub = this.subs.get(filter);
    }
    if (sub) {
      sub.handlers.add(handler);
      return sub.ready;
    }
    const id = this.nextId++;
    const ready = new Promise<void>((resolve, reject) => {
      // QoS 1 towards us: a message is ours as soon as it arrives (QoS 2 would hold it until PUBREL,
      // and a broker restart in between loses it).
      this.client.subscribe(filter, { qos: 1, properties: { subscriptionIdentifier: id } }, (err, granted) => {
        const refused = granted?.find((g) => g.qos >= 0x80);
        if (err || refused) {
          this.remove(filter);
          reject(err ?? new Error(`broker refused the subscription to ${filter} (reason ${refused?.qos})`));
        } else {
          this.log.info(`Project link subscribed to ${filter}`);
          resolve();
        }
      });
    });
    ready.catch(() => undefined);
    sub = { filter, id, handlers: new Set([handler]), ready, replies };
    this.subs.set(filter, sub);
    this.byId.set(id, sub);
    return ready;
  }

  /**
   * Removes `handler`. For the last one: unsubscribe at the broker, keep taking what it already
   * sent or queued for us until it goes quiet, then forget the subscription. Nothing received is lost.
   */
  async unsubscribe(filter: string, handler: DeliveryHandler): Promise<void> {
    const sub = this.subs.get(filter);
    if (!sub || !sub.handlers.has(handler)) return;
    if (sub.handlers.size > 1) {
      sub.handlers.delete(handler);
      return;
    }
    if (sub.leaving) return sub.leaving;
    sub.leaving = (async () => {
      await sub.ready.catch(() => undefined);
      if (this.client.connected) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, DRAIN_MAX_MS);
          this.client.unsubscribe(filter, () => { clearTimeout(timer); resolve(); });
        });
        await this.inboundQuiet(DRAIN_QUIET_MS, DRAIN_MAX_MS);
      } else {
        // Not connected: tell mqtt.js not to resubscribe on reconnect.
        this.client.unsubscribe(filter);
      }
      this.remove(filter);
    })();
    await sub.leaving;
  }

  /** True while some subscription is being wound down (its node is still draining). */
  get draining(): boolean {
    for (const sub of this.subs.values()) if (sub.leaving) return true;
    return false;
  }

  /**
   * Queues a publish (flow controlled); resolves when the broker acknowledged it and, unless
   * `send.awaitSubscriber` is false (a broadcast, which may have no listener), someone was subscribed.
   */
  publish(topic: string, payload: Buffer, properties: Record<string, unknown> = {}, send: SendOptions = { awaitSubscriber: true }): Promise<void> {
    const userProperties = { ...this.options.userProperties, ...(properties.userProperties as object | undefined), _publishTime: String(Date.now()) };
    return this.outbound.send(topic, payload, { contentType: 'application/json', ...properties, userProperties }, send)
      .then(() => { linkMetrics.sent.inc(); });
  }

  /** Resolves when no message has arrived for `quietMs` and none is being handled, or after `maxMs`. */
  async inboundQuiet(quietMs: number, maxMs: number): Promise<void> {
    const until = Date.now() + maxMs;
    while (Date.now() < until) {
      // Timers run before the event loop polls sockets: after a stall, bytes the broker sent may be
      // waiting unread. Let one poll phase pass before trusting the quiet.
      await new Promise((resolve) => setImmediate(resolve));
      const idleFor = Date.now() - this.lastInboundAt;
      if (this.inboundInFlight === 0 && idleFor >= quietMs) return;
      await new Promise((resolve) => setTimeout(resolve, Math.max(10, quietMs - idleFor)));
    }
  }

  private dispatch(packet: IPublishPacket, callback: (err?: Error) => void): void {
    this.inboundInFlight++;
    this.lastInboundAt = Date.now();
    linkMetrics.received.inc();
    this.inboundBytes += packet.payload.length;
    // mqtt.js reads the next packet only after this callback: holding it back once too much is
    // waiting or in the flow bounds what a busy replica holds in memory.
    if (this.inboundInFlight <= INBOUND_WINDOW_MESSAGES && this.inboundBytes <= INBOUND_WINDOW_BYTES) callback();
    else this.heldAcks.push(callback);
    this.inbox.push(packet);
    this.scheduleDelivery();
  }

  /**
   * Hands waiting messages to the flow, a few per turn of the event loop. A turn that ran the flow
   * for everything received would get long, and the broker sends only its in-flight window per
   * turn: a busy replica would read no faster than it processes, and the excess would pile up on
   * the broker until it drops it. Keeping turns near TURN_BUDGET_MS keeps reading ahead, so the
   * excess waits here instead, within the inbound window. How many fit in a turn depends on the
   * flow: the count halves when a turn ran long and grows by one when it was short.
   */
  private readonly scheduleDelivery = onNextTurn(() => {
    const now = performance.now();
    if (this.deliveringSince !== undefined) {
      const turn = now - this.deliveringSince;
      if (turn > TURN_BUDGET_MS) this.perTurn = Math.max(1, this.perTurn >> 1);
      else if (turn < TURN_BUDGET_MS / 2) this.perTurn = Math.min(MAX_DELIVERIES_PER_TURN, this.perTurn + 1);
    }
    for (let i = 0; i < this.perTurn && this.inboxHead < this.inbox.length; i++) this.deliver(this.inbox[this.inboxHead++]);
    if (this.inboxHead >= this.inbox.length) {
      this.inbox = [];
      this.inboxHead = 0;
      this.deliveringSince = undefined;
      return;
    }
    if (this.inboxHead > 1024) {
      this.inbox = this.inbox.slice(this.inboxHead);
      this.inboxHead = 0;
    }
    // The next run comes one turn later: the time between the two is that turn.
    this.deliveringSince = now;
    this.scheduleDelivery();
  });

  private deliver(packet: IPublishPacket): void {
    const finish = () => {
      // One turn of the event loop: the flow's first hop has run.
      setImmediate(() => {
        this.inboundInFlight--;
        this.inboundBytes -= packet.payload.length;
        this.lastInboundAt = Date.now();
        this.heldAcks.shift()?.();
      });
    };
    let pending: Array<Promise<unknown>> = [];
    try {
      pending = this.route(packet);
    } catch (err) {
      this.log.warn(`Project link could not handle a message on ${packet.topic}: ${(err as Error).message}`);
    }
    if (pending.length) Promise.allSettled(pending).then(finish);
    else finish();
  }

  private route(packet: IPublishPacket): Array<Promise<unknown>> {
    const topic = packet.topic.toString();
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const delivery: Delivery = { topic, payload, packet };
    const ids = packet.properties?.subscriptionIdentifier;
    const matched = ids === undefined
      ? [...this.subs.values()].filter((s) => filterMatches(s.filter, topic))
      : (Array.isArray(ids) ? ids : [ids]).map((id) => this.byId.get(id)).filter((s): s is Subscription => Boolean(s));
    const pending: Array<Promise<unknown>> = [];
    for (const sub of matched) {
      let claimed = false;
      for (const handler of sub.handlers) {
        try {
          const result = handler.deliver(delivery);
          if (result instanceof Promise) {
            claimed = true;
            pending.push(result.catch((err: Error) => this.log.warn(`Project link handler failed: ${err.message}`)));
          } else if (result !== false) {
            claimed = true;
          }
        } catch (err) {
          claimed = true;
          this.log.warn(`Project link handler failed on ${topic}: ${(err as Error).message}`);
        }
      }
      if (!claimed) [...sub.handlers].find((h) => h.unclaimed)?.unclaimed?.(delivery);
    }
    return pending;
  }

  private remove(filter: string): void {
    const sub = this.subs.get(filter);
    if (!sub) return;
    this.subs.delete(filter);
    this.byId.delete(sub.id);
  }

  private setState(state: LinkState, detail = ''): void {
    if (this.closing && state !== 'disconnected') return;
    this.state = state;
    this.detail = detail;
    linkMetrics.connected.set(state === 'connected' ? 1 : 0);
    this.emit('state', state, detail);
  }

  private close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopDrain();
      await this.outbound.whenIdle(DRAIN_MAX_MS);
      this.outbound.close('project link connection closed before the broker acknowledged the message');
      await new Promise<void>((resolve) => this.client.end(false, {}, () => resolve()));
      this.state = 'disconnected';
      this.emit('state', 'disconnected', '');
      if (current === this) current = undefined;
    })();
    return this.closing;
  }
}

let current: LinkConnection | undefined;

/**
 * The runtime's shared connection, made on first use. A connection that is closing is not reused:
 * a redeploy that stops every link node and starts new ones gets a fresh one.
 */
export function acquireConnection(options: LinkConnectionOptions, log: { warn(m: string): void; info(m: string): void }): LinkConnection {
  if (!current || !current.open) current = new LinkConnection(options, log);
  return current.acquire();
}
