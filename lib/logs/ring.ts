import { compareSeq, LogEntry, NewLogEntry } from './entry';
import type { LogChunk, LogSource } from './query';

/**
 * This replica's most recent entries in memory, numbered like a Redis stream (`<ms>-<n>`, always
 * increasing), so GET /ha/logs pages them with the same cursors when there is no shared stream.
 */
export class LocalLogRing implements LogSource {
  private readonly entries: LogEntry[] = [];
  private lastMs = 0;
  private lastN = 0;

  /** @param capacity entries kept; the oldest goes first. */
  constructor(readonly capacity = 1000) {}

  push(entry: NewLogEntry, now = Date.now()): LogEntry {
    if (now > this.lastMs) {
      this.lastMs = now;
      this.lastN = 0;
    } else {
      this.lastN++;
    }
    const numbered = { seq: `${this.lastMs}-${this.lastN}`, ...entry };
    this.entries.push(numbered);
    // Trimming in bulk keeps push O(1) on average instead of shifting the array every time.
    if (this.entries.length >= this.capacity * 1.25) this.entries.splice(0, this.entries.length - this.capacity);
    return numbered;
  }

  private kept(): LogEntry[] {
    return this.entries.length > this.capacity ? this.entries.slice(this.entries.length - this.capacity) : this.entries;
  }

  async forward(from: string | undefined, count: number): Promise<LogChunk> {
    const kept = this.kept();
    const start = from === undefined ? 0 : firstAfter(kept, from);
    return chunk(kept.slice(start, start + count), start + count >= kept.length);
  }

  async backward(from: string | undefined, count: number): Promise<LogChunk> {
    const kept = this.kept();
    const end = from === undefined ? kept.length : firstAfter(kept, from, true);
    const start = Math.max(0, end - count);
    return chunk(kept.slice(start, end).reverse(), start === 0);
  }
}

/** Index of the first entry after `seq` (or at-or-after it with `inclusive`), by binary search. */
function firstAfter(entries: LogEntry[], seq: string, inclusive = false): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const order = compareSeq(entries[mid].seq, seq);
    if (order < 0 || (!inclusive && order === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function chunk(entries: LogEntry[], exhausted: boolean): LogChunk {
  return { entries, first: entries[0]?.seq, last: entries[entries.length - 1]?.seq, exhausted };
}
