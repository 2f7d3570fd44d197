import { ContextKeyError } from './errors';

/** One step of a context key: a property name or an array index. */
export type PathPart = string | number;

/**
 * Splits a context key such as `a.b[0]` or `a["x.y"]` into its parts, with the same rules and the
 * same accepted/refused expressions as Node-RED's `normalisePropertyExpression`, so a key means
 * the same in the `ha` store as in the memory store. Keys that refer to `msg` (`a[msg.b]`) have no
 * meaning in context and are refused.
 */
export function parsePath(key: string): PathPart[] {
  const fail = (why: string): never => {
    throw new ContextKeyError(key, why);
  };
  const length = key.length;
  if (length === 0) fail('zero-length key');
  const parts: PathPart[] = [];
  let start = 0;
  let inString = false;
  let inBox = false;
  let quote = '';
  const pushName = (text: string) => parts.push(/^\d+$/.test(text) ? parseInt(text, 10) : text);
  for (let i = 0; i < length; i++) {
    const c = key[i];
    if (inString) {
      if (c !== quote) continue;
      if (i === start) fail(`zero-length string at position ${start}`);
      parts.push(key.substring(start, i));
      const next = key[i + 1];
      if (inBox && next !== ']') fail(`unexpected array expression at position ${start}`);
      if (!inBox && i + 1 !== length && next !== '[' && next !== '.') fail(`unexpected ${next} at position ${i + 1}`);
      start = i + 1;
      inString = false;
    } else if (c === "'" || c === '"') {
      if (i !== start) fail(`unexpected ${c} at position ${i}`);
      inString = true;
      quote = c;
      start = i + 1;
    } else if (c === '.') {
      if (i === 0) fail('unexpected . at position 0');
      if (start !== i) pushName(key.substring(start, i));
      if (i === length - 1) fail('unterminated expression');
      if (!/[a-z0-9$_]/i.test(key[i + 1])) fail(`unexpected ${key[i + 1]} at position ${i + 1}`);
      start = i + 1;
    } else if (c === '[') {
      if (i === 0) fail('unexpected [ at position 0');
      if (start !== i) parts.push(key.substring(start, i));
      if (i === length - 1) fail('unterminated expression');
      if (/^msg[.[]/.test(key.substring(i + 1))) fail('a context key cannot refer to msg');
      if (!/["'\d]/.test(key[i + 1])) fail(`unexpected ${key[i + 1]} at position ${i + 1}`);
      start = i + 1;
      inBox = true;
    } else if (c === ']') {
      if (!inBox) fail(`unexpected ] at position ${i}`);
      if (start !== i) {
        const text = key.substring(start, i);
        if (!/^\d+$/.test(text)) fail(`unexpected array expression at position ${start}`);
        parts.push(parseInt(text, 10));
      }
      start = i + 1;
      inBox = false;
    } else if (c === ' ') {
      fail(`unexpected ' ' at position ${i}`);
    }
  }
  if (inBox || inString) fail('unterminated expression');
  // Like Node-RED: a trailing segment stays a string even when it is all digits (`a.0` -> 'a', '0').
  if (start < length) parts.push(key.substring(start));
  return parts;
}

/** The Redis hash field a key lives in: its first part. */
export function topField(parts: PathPart[]): string {
  return String(parts[0]);
}

/** Reads `parts` (without the top-level part) below `root`; undefined when any step is missing. */
export function getPath(root: unknown, parts: PathPart[]): unknown {
  let value: unknown = root;
  for (const part of parts) {
    if (value === null || value === undefined) return undefined;
    value = (value as Record<string, unknown>)[part as string];
  }
  return value;
}

/**
 * Sets (or, for `undefined`, deletes) `parts` below the container `root` with Node-RED's
 * setObjectProperty rules: missing containers are created (an array when the next part is an
 * index, else an object); a step through a non-object value leaves `root` unchanged.
 * Returns whether the value was set.
 */
export function setPath(root: Record<string, unknown> | unknown[], parts: PathPart[], value: unknown): boolean {
  let obj: any = root;
  const create = value !== undefined;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = parts[i];
    const exists = Array.isArray(obj) && typeof key === 'number' ? obj[key] !== undefined : Object.hasOwn(obj, key);
    if (exists) {
      if (obj[key] === null || (typeof obj[key] !== 'object' && typeof obj[key] !== 'function')) return false;
    } else {
      if (!create) return false;
      obj[key] = typeof parts[i + 1] === 'string' ? {} : [];
    }
    obj = obj[key];
  }
  const last = parts[parts.length - 1];
  if (value === undefined) {
    if (typeof last === 'number' && Array.isArray(obj)) obj.splice(last, 1);
    else delete obj[last];
    return true;
  }
  obj[last] = value;
  return true;
}
