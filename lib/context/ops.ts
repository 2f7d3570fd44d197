import { ContextValueError } from './errors';
import { getPath, parsePath, PathPart, setPath, topField } from './path';

/**
 * The value that makes `set` an atomic increment: `{ $incr: <finite number> }` adds to the number
 * stored at the key (a missing key counts as 0) on the Redis server, so concurrent increments from
 * any number of replicas are never lost. The callback receives the new value.
 */
export const INCREMENT_KEY = '$incr';

/** One change to a context key, parsed and validated before anything is sent. */
export interface ContextOp {
  /** The key as the caller wrote it, for error messages. */
  key: string;
  parts: PathPart[];
  /** The Redis hash field (the key's first part). */
  field: string;
  /** `set` stores `json` (undefined deletes); `incr` adds `by`. */
  kind: 'set' | 'incr';
  /** The encoded value for `set`; undefined deletes the key. */
  json?: string;
  by?: number;
}

/** Parses one `set(key, value)` into an op; throws ContextKeyError / ContextValueError for bad input. */
export function makeOp(key: string, value: unknown): ContextOp {
  const parts = parsePath(key);
  const by = incrementOf(key, value);
  if (by !== undefined) return { key, parts, field: topField(parts), kind: 'incr', by };
  return { key, parts, field: topField(parts), kind: 'set', json: value === undefined ? undefined : encodeValue(key, value) };
}

/** `{ $incr: n }` gives n; any other value undefined. Checked by shape, since function nodes run in their own realm. */
export function incrementOf(key: string, value: unknown): number | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const names = Object.keys(value);
  if (names.length !== 1 || names[0] !== INCREMENT_KEY) return undefined;
  const by = (value as Record<string, unknown>)[INCREMENT_KEY];
  if (typeof by !== 'number' || !Number.isFinite(by)) {
    throw new ContextValueError(key, `{ ${INCREMENT_KEY}: n } needs a finite number n, got ${JSON.stringify(by) ?? String(by)}`);
  }
  return by;
}

/** JSON text of a value, or a ContextValueError that says why it cannot be stored. */
export function encodeValue(key: string, value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    const message = (err as Error).message;
    if (/circular/i.test(message)) throw new ContextValueError(key, 'the value contains a circular reference; store a copy without the cycle');
    if (/BigInt/i.test(message)) throw new ContextValueError(key, 'the value contains a BigInt; store it as a string or number');
    throw new ContextValueError(key, `the value cannot be encoded as JSON (${message})`);
  }
  if (json === undefined) throw new ContextValueError(key, `a ${typeof value} cannot be stored`);
  return json;
}

/** Whether an op can go to Redis as a plain field write (no read of the current value needed). */
export function isTopLevel(op: ContextOp): boolean {
  return op.parts.length === 1;
}

export interface FieldUpdate {
  /** New JSON of the field; undefined when the field is deleted. */
  json: string | undefined;
  /** For each incr op, in order, the value after it. */
  results: number[];
}

/**
 * Applies ops (all on the same field) to the field's current JSON, in the client. Used for nested
 * keys, whose write is then made conditional on the field still holding `current` (see
 * scripts.ts), so no other replica's update in between is overwritten.
 */
export function applyOps(current: string | undefined, ops: ContextOp[]): FieldUpdate {
  const holder: Record<string, unknown> = {};
  const field = ops[0].field;
  if (current !== undefined) holder[field] = JSON.parse(current);
  const results: number[] = [];
  for (const op of ops) {
    if (op.kind === 'incr') {
      const before = getPath(holder, op.parts);
      if (before !== undefined && typeof before !== 'number') {
        throw new ContextValueError(op.key, `cannot increment it: it holds ${describe(before)}, not a number`);
      }
      const after = (before ?? 0) + (op.by as number);
      if (!Number.isFinite(after)) throw new ContextValueError(op.key, 'the increment overflows to a non-finite number');
      put(holder, op, after);
      results.push(after);
    } else {
      put(holder, op, op.json === undefined ? undefined : JSON.parse(op.json));
    }
  }
  return { json: field in holder ? JSON.stringify(holder[field]) : undefined, results };
}

function put(holder: Record<string, unknown>, op: ContextOp, value: unknown): void {
  if (setPath(holder, op.parts, value) || value === undefined) return;
  for (let i = 1; i < op.parts.length; i++) {
    const blocker = getPath(holder, op.parts.slice(0, i));
    if (blocker === null || typeof blocker !== 'object') {
      throw new ContextValueError(op.key, `${op.parts.slice(0, i).join('.')} holds ${describe(blocker)}, which cannot have properties`);
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}
