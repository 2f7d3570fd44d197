/**
 * Load for the fault suite: a steady, bounded HTTP request stream and a QoS 1 project link stream,
 * each keeping every outcome with its time so a test can say what failed and when.
 */
import http from 'node:http';
import mqtt, { MqttClient } from 'mqtt';

export interface HttpLoadOptions {
  /** Port on 127.0.0.1 the requests go to. */
  port: number;
  /** Request path. @default "/" */
  path?: string;
  /** Requests started per second (open loop: a slow answer does not slow the stream). @default 40 */
  ratePerSecond?: number;
  /** Most requests waiting for an answer; at the cap the stream pauses (and `skipped` counts it). @default 32 */
  maxInFlight?: number;
  /** Stop after this many requests even if stop() was not called. @default 20000 */
  maxRequests?: number;
  /** Stop after this long even if stop() was not called. @default 120000 */
  maxDurationMs?: number;
  /** A request with no answer after this long counts as failed. @default 10000 */
  timeoutMs?: number;
  /** Reuse connections (an http.Agent with keepAlive) instead of one connection per request. @default false */
  keepAlive?: boolean;
}

/** One request's outcome. */
export interface HttpResult {
  /** When it was sent (Date.now()). */
  at: number;
  /** Milliseconds until the answer or the failure. */
  ms: number;
  /** HTTP status; 0 when no answer came (refused, reset, timed out). */
  status: number;
  /** The body for a 2xx answer, else what went wrong. */
  body: string;
}

/** A steady HTTP stream: start(), then stop() to let the requests in flight finish. */
export class HttpLoad {
  readonly results: HttpResult[] = [];
  /** Ticks at which no request was sent because maxInFlight were still waiting. */
  skipped = 0;
  private inFlight = 0;
  private sent = 0;
  private timer?: NodeJS.Timeout;
  private stopTimer?: NodeJS.Timeout;
  private readonly agent: http.Agent | false;
  private readonly options: Required<HttpLoadOptions>;
  private idle?: () => void;

  constructor(options: HttpLoadOptions) {
    this.options = {
      path: '/', ratePerSecond: 40, maxInFlight: 32, maxRequests: 20_000, maxDurationMs: 120_000, timeoutMs: 10_000, keepAlive: false, ...options,
    };
    this.agent = this.options.keepAlive ? new http.Agent({ keepAlive: true, timeout: 4000 }) : false;
  }

  start(): this {
    this.timer = setInterval(() => this.tick(), 1000 / this.options.ratePerSecond);
    this.stopTimer = setTimeout(() => this.halt(), this.options.maxDurationMs);
    return this;
  }

  /** Stops sending and waits (bounded by the request timeout) for the answers still due. */
  async stop(): Promise<HttpResult[]> {
    this.halt();
    if (this.inFlight > 0) await new Promise<void>((resolve) => { this.idle = resolve; });
    if (this.agent) this.agent.destroy();
    return this.results;
  }

  get ok(): HttpResult[] {
    return this.results.filter((r) => r.status >= 200 && r.status < 300);
  }

  get failed(): HttpResult[] {
    return this.results.filter((r) => r.status < 200 || r.status >= 300);
  }

  /** Results of requests sent at or after `from` (Date.now() value). */
  since(from: number): HttpResult[] {
    return this.results.filter((r) => r.at >= from);
  }

  private halt(): void {
    clearInterval(this.timer);
    clearTimeout(this.stopTimer);
  }

  private tick(): void {
    if (this.sent >= this.options.maxRequests) return this.halt();
    if (this.inFlight >= this.options.maxInFlight) {
      this.skipped++;
      return;
    }
    this.sent++;
    this.inFlight++;
    const at = Date.now();
    const finish = (status: number, body: string) => {
      this.results.push({ at, ms: Date.now() - at, status, body });
      if (--this.inFlight === 0) this.idle?.();
    };
    let settled = false;
    const once = (status: number, body: string) => {
      if (settled) return;
      settled = true;
      finish(status, body);
    };
    const req = http.get({ host: '127.0.0.1', port: this.options.port, path: this.options.path, agent: this.agent, timeout: this.options.timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => once(res.statusCode ?? 0, body.slice(0, 300)));
      res.on('error', (err) => once(0, err.message));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => once(0, err.code ?? err.message));
  }
}

/** Counts per status ("200", "502", "ECONNRESET" …) for a failure message. */
export function tally(results: HttpResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const key = r.status ? String(r.status) : r.body;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export interface LinkStreamOptions {
  /** Broker URL. */
  brokerUrl: string;
  /** Topic the messages are published to, e.g. a direct link topic `ff/v1/<team>/p/<instance>/in/<topic>`. */
  sendTopic: string;
  /** Topic the receivers acknowledge on with `{id}` (e.g. a broadcast link topic). */
  ackTopic: string;
  /** Messages published per second. @default 100 */
  ratePerSecond?: number;
  /** Stop after this many messages even if stop() was not called. @default 30000 */
  maxMessages?: number;
}

/**
 * A QoS 1 message stream through the link nodes, seen from outside: an MQTT v5 client publishes
 * `{id, payload}` at a steady rate and counts the `{id}` acknowledgements the receiving flows send
 * back. A message counts as sent once the broker acknowledged it (PUBACK).
 */
export class LinkStream {
  /** Broker acknowledgement time per id. */
  readonly sentAt = new Map<number, number>();
  /** Acknowledgements per id (more than 1 = handled twice). */
  readonly acked = new Map<number, number>();
  /** Publishes the broker did not acknowledge, with the reason. */
  readonly publishErrors: string[] = [];
  private next = 0;
  private timer?: NodeJS.Timeout;
  private readonly options: Required<LinkStreamOptions>;

  private constructor(private readonly client: MqttClient, options: LinkStreamOptions) {
    this.options = { ratePerSecond: 100, maxMessages: 30_000, ...options };
    client.on('message', (_topic, payload) => {
      let id: unknown;
      try {
        id = JSON.parse(payload.toString()).id;
      } catch {
        return;
      }
      if (typeof id === 'number') this.acked.set(id, (this.acked.get(id) ?? 0) + 1);
    });
  }

  static async connect(options: LinkStreamOptions): Promise<LinkStream> {
    const client = await mqtt.connectAsync(options.brokerUrl, { protocolVersion: 5, clientId: `fault-stream-${process.pid}-${Date.now()}`, reconnectPeriod: 500 });
    await client.subscribeAsync(options.ackTopic, { qos: 1 });
    return new LinkStream(client, options);
  }

  start(): this {
    // Several per tick: timers under ~10 ms are not kept on a loaded machine.
    const perTick = Math.max(1, Math.round(this.options.ratePerSecond / 20));
    this.timer = setInterval(() => {
      for (let k = 0; k < perTick && this.next < this.options.maxMessages; k++) this.publish(this.next++);
      if (this.next >= this.options.maxMessages) clearInterval(this.timer);
    }, 50);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get sent(): number {
    return this.sentAt.size;
  }

  /** Sent ids never acknowledged. */
  missing(): number[] {
    return [...this.sentAt.keys()].filter((id) => !this.acked.has(id)).sort((a, b) => a - b);
  }

  duplicates(): number[] {
    return [...this.acked].filter(([, n]) => n > 1).map(([id]) => id);
  }

  /** Waits (bounded) until every sent message is acknowledged or nothing new arrives for `quietMs`. */
  async settle(quietMs: number, maxMs: number): Promise<void> {
    const until = Date.now() + maxMs;
    let last = this.acked.size;
    let lastChange = Date.now();
    while (Date.now() < until && this.missing().length > 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (this.acked.size !== last) {
        last = this.acked.size;
        lastChange = Date.now();
      } else if (Date.now() - lastChange >= quietMs) {
        return;
      }
    }
  }

  async close(): Promise<void> {
    this.stop();
    await this.client.endAsync(true);
  }

  private publish(id: number): void {
    this.client.publish(this.options.sendTopic, JSON.stringify({ id, payload: id }), { qos: 1 }, (err) => {
      if (err) this.publishErrors.push(`${id}: ${err.message}`);
      else this.sentAt.set(id, Date.now());
    });
  }
}
