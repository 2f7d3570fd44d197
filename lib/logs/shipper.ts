import type Redis from 'ioredis';
import { NewLogEntry, toStreamFields } from './entry';

export interface ShipperOptions {
  /** The instance's log stream key (see lib/redis/keys.ts). */
  streamKey: string;
  /** Entries kept in memory while Redis is slow or down; beyond it the oldest is dropped and counted. @default 5000 */
  maxBuffer?: number;
  /** Entries written in one pipeline. @default 500 */
  maxBatch?: number;
  /** Length the stream is capped at (XADD MAXLEN ~, so Redis may keep a little more). @default 20000 */
  maxStreamLength?: number;
  /** Pause before retrying a write that failed while the connection stayed up. @default 1000 */
  retryMs?: number;
  /**
   * How long entries gather before a write (unless a full batch is waiting). A write per entry cost
   * a busy replica 17-19% of its throughput in the overhead bench. @default 50
   */
  flushDelayMs?: number;
  /** Called once when the buffer starts dropping, and again only after shipping has recovered. */
  onDropping?: () => void;
}

/**
 * Ships log entries to the instance's Redis stream. Entries gather for `flushDelayMs` (or until a
 * full batch waits) and go out in one pipeline, one write at a time, so a busy replica sends a few
 * large pipelines a second rather than one per line, and a line reaches the combined log within
 * about that delay. While Redis is slow or down the entries wait in a bounded buffer: memory stays
 * capped, the oldest entries are dropped and counted, and Node-RED's logger is never blocked.
 */
export class LogShipper {
  /** Entries Redis has accepted. */
  shipped = 0;
  /** Entries dropped because the buffer was full. */
  dropped = 0;

  private queue: NewLogEntry[] = [];
  private head = 0;
  private sending = false;
  private waitingForReady = false;
  private retryTimer?: NodeJS.Timeout;
  private delayTimer?: NodeJS.Timeout;
  private dropping = false;
  private closed = false;
  private readonly maxBuffer: number;
  private readonly maxBatch: number;
  private readonly maxStreamLength: string;
  private readonly retryMs: number;
  private readonly flushDelayMs: number;
  private readonly onReady = () => {
    this.waitingForReady = false;
    this.flush();
  };

  constructor(private readonly redis: Redis, private readonly options: ShipperOptions) {
    this.maxBuffer = options.maxBuffer ?? 5000;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxStreamLength = String(options.maxStreamLength ?? 20_000);
    this.retryMs = options.retryMs ?? 1000;
    this.flushDelayMs = options.flushDelayMs ?? 50;
  }

  /** Entries waiting to be written (not counting a batch in flight). */
  get buffered(): number {
    return this.queue.length - this.head;
  }

  enqueue(entry: NewLogEntry): void {
    if (this.closed) return;
    this.queue.push(entry);
    if (this.buffered > this.maxBuffer) this.dropOldest(this.buffered - this.maxBuffer);
    this.schedule();
  }

  /** Waits up to `timeoutMs` for the buffer to drain, then stops shipping. */
  async close(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.buffered > 0 || this.sending) && this.redis.status === 'ready' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.delayTimer);
    this.redis.off('ready', this.onReady);
  }

  private dropOldest(count: number): void {
    this.head += count;
    this.dropped += count;
    if (!this.dropping) {
      this.dropping = true;
      this.options.onDropping?.();
    }
    this.compact();
  }

  private compact(): void {
    // Drop consumed slots now and then rather than shifting the array on every entry.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** A write once a full batch waits, otherwise after the gathering delay. */
  private schedule(): void {
    if (this.buffered >= this.maxBatch) {
      this.flush();
    } else if (!this.delayTimer && this.buffered > 0) {
      this.delayTimer = setTimeout(() => {
        this.delayTimer = undefined;
        this.flush();
      }, this.flushDelayMs);
      this.delayTimer.unref();
    }
  }

  private flush(): void {
    if (this.sending || this.retryTimer || this.closed || this.buffered === 0) return;
    if (this.redis.status !== 'ready') {
      if (!this.waitingForReady) {
        this.waitingForReady = true;
        this.redis.once('ready', this.onReady);
      }
      return;
    }
    const batch = this.queue.slice(this.head, this.head + this.maxBatch);
    this.head += batch.length;
    this.compact();
    this.sending = true;
    const pipeline = this.redis.pipeline();
    for (const entry of batch) {
      pipeline.xadd(this.options.streamKey, 'MAXLEN', '~', this.maxStreamLength, '*', ...toStreamFields(entry));
    }
    pipeline.exec().then(
      (results) => this.settle(batch, batch.filter((_, i) => !results || results[i]?.[0])),
      () => this.settle(batch, batch),
    );
  }

  private settle(batch: NewLogEntry[], failed: NewLogEntry[]): void {
    this.sending = false;
    this.shipped += batch.length - failed.length;
    if (failed.length === 0) {
      this.dropping = false;
      this.schedule();
      return;
    }
    // Failed entries are the oldest: put them back in front, within the cap.
    this.queue = [...failed, ...this.queue.slice(this.head)];
    this.head = 0;
    if (this.buffered > this.maxBuffer) this.dropOldest(this.buffered - this.maxBuffer);
    if (this.redis.status === 'ready') {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.flush();
      }, this.retryMs);
      this.retryTimer.unref();
    } else {
      this.flush();
    }
  }
}
