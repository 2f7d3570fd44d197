import { AUDIT_LEVEL, LEVEL_NAMES, messageText, METRIC_LEVEL, NodeRedLogEvent } from './console-line';

/** Log levels a shipped entry can have, most severe first. */
export const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LevelName = typeof LEVELS[number];

const LEVEL_NUMBERS: Record<LevelName, number> = { fatal: 10, error: 20, warn: 30, info: 40, debug: 50, trace: 60 };

/** One log line of one replica, as shipped to Redis and served by GET /ha/logs. */
export interface LogEntry {
  /** Position in the combined log (a Redis stream id, or the same format for the local ring). */
  seq: string;
  /** When the replica logged it, epoch milliseconds. */
  time: number;
  level: LevelName;
  replica: string;
  /** Node type, name and id when a node logged it. */
  type?: string;
  name?: string;
  id?: string;
  msg: string;
}

/** An entry before it has a place in the combined log. */
export type NewLogEntry = Omit<LogEntry, 'seq'>;

/** Messages longer than this are cut so one huge payload cannot fill the buffer or the stream. */
export const MAX_MESSAGE_LENGTH = 4096;

export function isLevelName(value: string): value is LevelName {
  return (LEVELS as readonly string[]).includes(value);
}

/** True when `level` is `threshold` or more severe. */
export function atOrAbove(level: LevelName, threshold: LevelName): boolean {
  return LEVEL_NUMBERS[level] <= LEVEL_NUMBERS[threshold];
}

/**
 * The entry to ship for a Node-RED log event, or undefined for events that are not log lines
 * (metric and audit events reach every handler) or are less severe than `threshold`.
 */
export function entryFromEvent(event: NodeRedLogEvent, replica: string, threshold: LevelName): NewLogEntry | undefined {
  if (event.level === METRIC_LEVEL || event.level === AUDIT_LEVEL) return undefined;
  const level = LEVEL_NAMES[event.level];
  if (!level || !isLevelName(level) || !atOrAbove(level, threshold)) return undefined;
  let msg = messageText(event);
  if (msg.length > MAX_MESSAGE_LENGTH) msg = `${msg.slice(0, MAX_MESSAGE_LENGTH)}… (${msg.length - MAX_MESSAGE_LENGTH} more characters)`;
  const entry: NewLogEntry = { time: event.timestamp ?? Date.now(), level, replica, msg };
  if (event.type) entry.type = String(event.type);
  if (event.name) entry.name = String(event.name);
  if (event.id) entry.id = String(event.id);
  return entry;
}

/** The stream field holding an entry as JSON: one field costs less to encode and store than one per property. */
export const ENTRY_FIELD = 'e';

/** The value of an entry's ENTRY_FIELD. It never holds a raw newline, so entries can be joined by one. */
export function toStreamValue(entry: NewLogEntry): string {
  return JSON.stringify(entry);
}

/** An entry from an XRANGE row; undefined for a row this version cannot read. */
export function fromStreamFields(seq: string, fields: string[]): LogEntry | undefined {
  const index = fields.indexOf(ENTRY_FIELD);
  if (index < 0 || index % 2 !== 0) return undefined;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(fields[index + 1]);
  } catch {
    return undefined;
  }
  const { time, level, replica, msg, type, name, id } = value ?? {};
  if (typeof time !== 'number' || typeof level !== 'string' || !isLevelName(level) || typeof replica !== 'string') return undefined;
  const entry: LogEntry = { seq, time, level, replica, msg: typeof msg === 'string' ? msg : '' };
  if (typeof type === 'string') entry.type = type;
  if (typeof name === 'string') entry.name = name;
  if (typeof id === 'string') entry.id = id;
  return entry;
}

/** Orders two stream ids (`<ms>-<n>`). */
export function compareSeq(a: string, b: string): number {
  const [aMs, aN] = splitSeq(a);
  const [bMs, bN] = splitSeq(b);
  return aMs - bMs || aN - bN;
}

function splitSeq(seq: string): [number, number] {
  const dash = seq.indexOf('-');
  return dash < 0 ? [Number(seq), 0] : [Number(seq.slice(0, dash)), Number(seq.slice(dash + 1))];
}

/** True for a cursor in stream id form, as /ha/logs hands them out. */
export function isSeq(value: string): boolean {
  return /^\d{1,15}-\d{1,15}$/.test(value);
}

/** One line for a terminal: `2026-11-29T18:02:11.123Z [warn] [orders-1] [function:fn1] message`. */
export function formatEntryLine(entry: Omit<LogEntry, 'seq'>): string {
  const source = entry.type ? `[${entry.type}:${entry.name || entry.id}] ` : '';
  return `${new Date(entry.time).toISOString()} [${entry.level}] [${entry.replica}] ${source}${entry.msg}`;
}
