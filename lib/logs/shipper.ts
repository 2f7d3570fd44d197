import type Redis from 'ioredis';
import { ENTRY_FIELD, NewLogEntry, toStreamValue } from './entry';

/**
 * Appends a batch of entries to the stream, one XADD each, in one call: 500 XADDs in a pipeline
 * cost the replica ~10 µs of CPU per entry in ioredis, one call with the batch ~1 µs. The entries
 * come joined by newlines (JSON never holds a raw one). Returns {written} or {written, error}:
 * a failed XADD stops the batch, and only the entries after those written are sent again.
 * KEYS[1] stream; ARGV[1] MAXLEN (approximate); ARGV[2] field name; ARGV[3] the joined entries.
 */
const APPEND = `
local written, from = 0, 1
while true do
  local stop = string.find(ARGV[3], '\\n', from, true)
  local added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[2], string.sub(ARGV[3], from, (stop or 0) - 1))
  if type(added) == 'table' and added.err then return {written, added.err} end
  written = written + 1
  if not stop then return {written} end
  from = stop + 1
end`;

type ShipperClient = Redis & {
  nrhaLogAppend(stream: string, maxLength: string, field: string, entries: string): Promise<[number, string?]>;
};

export interface ShipperOptions {
  /** The instance's log stream key (see lib/redis/keys.ts). */
  streamKey: string;
  /**
   * Entries kept in memory while Redis is slow or down, or while a flow logs faster than they can
   * be written (a flow that logs 20,000 lines in one event-loop turn gives the shipper no turn in
   * between); beyond it the oldest are dropped and counted. More than the stream keeps would gain
   * nothing. @default maxStreamLength
   */
  maxBuffer?: number;
  /** Bound on the buffer's memory: message characters plus ENTRY_OVERHEAD per entry. @default 16 MiB */
  maxBufferBytes?: number;
  /** Entries written in one call. @default 500 */
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
 * full batch waits) and go out in one script call, one call at a time, so a busy replica sends a
 * few large writes a second rather than one per line, and a line reaches the combined log within
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
  /** Approximate memory of the entries waiting (see entrySize). */
  private bufferedBytes = 0;
  private sending = false;
  private waitingForReady = false;
  private retryTimer?: NodeJS.Timeout;
  private delayTimer?: NodeJS.Timeout;
  private dropping = false;
  private closed = false;
  private readonly maxBuffer: number;
  private readonly maxBufferBytes: number;
  private readonly maxBatch: number;
  private readonly maxStreamLength: string;
  private readonly retryMs: number;
  private readonly flushDelayMs: number;
  private readonly onReady = () => {
    this.waitingForReady = false;
    this.flush();
  };

  private readonly redis: ShipperClient;

  constructor(redis: Redis, private readonly options: ShipperOptions) {
    this.redis = redis as ShipperClient;
    this.redis.defineCommand('nrhaLogAppend', { lua: APPEND, numberOfKeys: 1 });
    const maxStreamLength = options.maxStreamLength ?? 20_000;
    this.maxBuffer = options.maxBuffer ?? maxStreamLength;
    this.maxBufferBytes = options.maxBufferBytes ?? 16 * 1024 * 1024;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxStreamLength = String(maxStreamLength);
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
    this.bufferedBytes += entrySize(entry);
    this.trim();
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

  /** Drops the oldest waiting entries until the buffer is within both of its bounds. */
  private trim(): void {
    let count = 0;
    while (this.buffered - count > this.maxBuffer || (this.bufferedBytes > this.maxBufferBytes && this.buffered - count > 1)) {
      this.bufferedBytes -= entrySize(this.queue[this.head + count]);
      count++;
    }
    if (count === 0) return;
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
    for (const entry of batch) this.bufferedBytes -= entrySize(entry);
    this.compact();
    this.sending = true;
    const joined = batch.map(toStreamValue).join('\n');
    this.redis.nrhaLogAppend(this.options.streamKey, this.maxStreamLength, ENTRY_FIELD, joined).then(
      ([written]) => this.settle(batch, batch.slice(written)),
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
    for (const entry of failed) this.bufferedBytes += entrySize(entry);
    this.trim();
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

/** Per-entry memory beyond its message text: the object, its other fields, the array slot. */
const ENTRY_OVERHEAD = 200;

function entrySize(entry: NewLogEntry): number {
  return entry.msg.length + ENTRY_OVERHEAD;
}
