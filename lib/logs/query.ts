import type Redis from 'ioredis';
import { HAError } from '../errors';
import { atOrAbove, fromStreamFields, isLevelName, isSeq, LevelName, LEVELS, LogEntry } from './entry';

/** A GET /ha/logs parameter (or a `node-red-ha logs` option) is invalid. */
export class LogQueryError extends HAError {
  /** The query parameter at fault, e.g. `level`. */
  readonly param: string;

  constructor(param: string, message: string) {
    super('HA_LOG_QUERY_INVALID', message);
    this.param = param;
  }
}

/** Which entries a query wants. */
export interface LogFilter {
  /** Only these replicas. @default every replica */
  replicas?: string[];
  /** Only this level and more severe ones. @default every level */
  level?: LevelName;
  /** Only entries logged at or after this time, epoch milliseconds. @default no limit */
  since?: number;
  /** Only entries whose message, node type, name or id contains this text (any case). @default no text filter */
  q?: string;
}

/** Where a page starts. With neither cursor: the newest matching entries. */
export interface LogQuery extends LogFilter {
  /** At most this many entries (1-1000). @default 100 */
  limit: number;
  /** Entries after this cursor, oldest first: the `cursor` of a previous answer, to follow new lines. */
  after?: string;
  /** Entries before this cursor: the `older` of a previous answer, to page back. */
  before?: string;
}

export interface LogPage {
  /** Matching entries, oldest first. */
  entries: LogEntry[];
  /** Pass as `after` to get what comes next (null when paging back with `before`). */
  cursor: string | null;
  /** Pass as `before` for the previous page; null when nothing older can match. */
  older: string | null;
  /** True when more matching entries may follow `cursor` right now. */
  more: boolean;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A `since` value as epoch milliseconds: a duration back from now (`90s`, `10m`, `2h`, `1d`),
 * epoch milliseconds, or an ISO 8601 time.
 */
export function parseSince(value: string, now = Date.now()): number {
  const text = value.trim();
  const duration = DURATION.exec(text);
  if (duration) return now - Number(duration[1]) * UNIT_MS[duration[2]];
  if (/^\d{1,15}$/.test(text)) return Number(text);
  const time = /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(time)) {
    throw new LogQueryError('since', `since must be a duration like 10m or 2h, epoch milliseconds or an ISO time, got "${value}"`);
  }
  return time;
}

/** Validates GET /ha/logs query parameters; throws LogQueryError naming the bad one. */
export function parseLogQuery(params: Record<string, unknown>, now = Date.now()): LogQuery {
  const text = (name: string): string | undefined => {
    const value = params[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string') throw new LogQueryError(name, `${name} must be given once`);
    return value;
  };
  const query: LogQuery = { limit: DEFAULT_LIMIT };
  const limit = text('limit');
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT) {
      throw new LogQueryError('limit', `limit must be a whole number from 1 to ${MAX_LIMIT}, got "${limit}"`);
    }
    query.limit = Number(limit);
  }
  const level = text('level');
  if (level !== undefined) {
    if (!isLevelName(level)) throw new LogQueryError('level', `level must be one of ${LEVELS.join(', ')}, got "${level}"`);
    query.level = level;
  }
  const replica = text('replica');
  if (replica !== undefined) query.replicas = replica.split(',').map((r) => r.trim()).filter(Boolean);
  const since = text('since');
  if (since !== undefined) query.since = parseSince(since, now);
  const q = text('q');
  if (q !== undefined) query.q = q;
  for (const name of ['after', 'before'] as const) {
    const cursor = text(name);
    if (cursor === undefined) continue;
    if (!isSeq(cursor)) throw new LogQueryError(name, `${name} must be a cursor from a previous answer (like 1732900000000-0), got "${cursor}"`);
    query[name] = cursor;
  }
  if (query.after && query.before) throw new LogQueryError('after', 'give after or before, not both');
  return query;
}

/** True when `entry` passes every part of `filter`. */
export function matches(entry: LogEntry, filter: LogFilter): boolean {
  if (filter.replicas && !filter.replicas.includes(entry.replica)) return false;
  if (filter.level && !atOrAbove(entry.level, filter.level)) return false;
  if (filter.since !== undefined && entry.time < filter.since) return false;
  if (filter.q) {
    const needle = filter.q.toLowerCase();
    const haystacks = [entry.msg, entry.type, entry.name, entry.id];
    if (!haystacks.some((h) => h !== undefined && h.toLowerCase().includes(needle))) return false;
  }
  return true;
}

/** A run of the combined log as a source reads it. */
export interface LogChunk {
  /** The readable entries of the run, in the direction read. */
  entries: LogEntry[];
  /** First and last position read (also covers rows that could not be read). */
  first?: string;
  last?: string;
  /** Nothing more in this direction. */
  exhausted: boolean;
}

/** The combined log, read in runs: the Redis stream or this replica's local ring. */
export interface LogSource {
  /** Up to `count` positions after `from` (exclusive; the start when undefined), oldest first. */
  forward(from: string | undefined, count: number): Promise<LogChunk>;
  /** Up to `count` positions before `from` (exclusive; the end when undefined), newest first. */
  backward(from: string | undefined, count: number): Promise<LogChunk>;
}

export interface ScanOptions {
  /** Positions read per round trip. @default 500 */
  chunk?: number;
  /** Positions one query may read; a query that hits it returns what it found and a cursor to go on. @default 20000 */
  budget?: number;
  /**
   * How far a replica's clock may run ahead of the one that numbers the log, for `since`: a
   * backward scan stops at positions older than `since` minus this. @default 60000
   */
  clockSkewMs?: number;
}

/** One page of matching entries from `source`, reading it in bounded runs. */
export async function queryLogs(source: LogSource, query: LogQuery, options: ScanOptions = {}): Promise<LogPage> {
  const chunk = options.chunk ?? 500;
  const budget = options.budget ?? 20_000;
  const found: LogEntry[] = [];
  let scanned = 0;

  if (query.after !== undefined) {
    let from = query.after;
    for (;;) {
      const run = await source.forward(from, chunk);
      for (const entry of run.entries) {
        if (!matches(entry, query)) continue;
        found.push(entry);
        if (found.length === query.limit) return { entries: found, cursor: entry.seq, older: null, more: true };
      }
      if (run.last) from = run.last;
      scanned += chunk;
      if (run.exhausted || scanned >= budget) return { entries: found, cursor: from, older: null, more: !run.exhausted };
    }
  }

  const stopBelow = query.since === undefined ? undefined : query.since - (options.clockSkewMs ?? 60_000);
  let from = query.before;
  let cursor: string | null = null;
  for (;;) {
    const run = await source.backward(from, chunk);
    if (query.before === undefined && cursor === null) cursor = run.first ?? '0-0';
    for (const entry of run.entries) {
      if (stopBelow !== undefined && Number(entry.seq.split('-')[0]) < stopBelow) {
        return { entries: found.reverse(), cursor, older: null, more: false };
      }
      if (!matches(entry, query)) continue;
      found.push(entry);
      if (found.length === query.limit) return { entries: found.reverse(), cursor, older: entry.seq, more: false };
    }
    if (run.last) from = run.last;
    scanned += chunk;
    if (run.exhausted) return { entries: found.reverse(), cursor, older: null, more: false };
    if (scanned >= budget) return { entries: found.reverse(), cursor, older: from ?? null, more: false };
  }
}

/** The instance's log stream in Redis as a LogSource. */
export function redisLogSource(redis: Redis, key: string): LogSource {
  const read = async (rows: Promise<Array<[string, string[]]>>, count: number): Promise<LogChunk> => {
    const result = await rows;
    const entries: LogEntry[] = [];
    for (const [seq, fields] of result) {
      const entry = fromStreamFields(seq, fields);
      if (entry) entries.push(entry);
    }
    return { entries, first: result[0]?.[0], last: result[result.length - 1]?.[0], exhausted: result.length < count };
  };
  return {
    forward: (from, count) => read(redis.xrange(key, from ? `(${from}` : '-', '+', 'COUNT', count), count),
    backward: (from, count) => read(redis.xrevrange(key, from ? `(${from}` : '+', '-', 'COUNT', count), count),
  };
}
