/**
 * The link payload: a Node-RED msg as UTF-8 JSON. Values JSON cannot hold travel as
 * `{"type": <name>, "data": …}` wrappers, the same ones FlowFuse's project nodes use, so either side
 * reads the other's messages:
 *
 *   Buffer    {"type":"Buffer","data":[bytes]}   (Buffer's own toJSON)
 *   Map       {"type":"Map","data":[[k,v],…]}
 *   Set       {"type":"Set","data":[v,…]}
 *   BigInt    {"type":"bigint","data":"123"}
 *   undefined {"type":"undefined","data":""}
 *
 * Functions are never sent and never revived: code arriving from a broker must not run.
 * HTTP `msg.req`/`msg.res` objects (sockets, circular) stay behind; string placeholders (what a
 * FlowFuse call node puts there) pass so its reply can be matched up again.
 */
import { LinkWireError } from './errors';

/** Largest payload a link node accepts from the broker, in bytes. */
export const MAX_INBOUND_BYTES = 16 * 1024 * 1024;

const tag = (value: unknown) => Object.prototype.toString.call(value);

function replacer(this: unknown, _key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'undefined': return { type: 'undefined', data: '' };
    case 'bigint': return { type: 'bigint', data: value.toString() };
    case 'function': return undefined;
    case 'object':
      if (value === null) return value;
      // Function nodes run in a vm context whose Map/Set are not `instanceof` ours; the tag is.
      if (tag(value) === '[object Map]') return { type: 'Map', data: [...(value as Map<unknown, unknown>)] };
      if (tag(value) === '[object Set]') return { type: 'Set', data: [...(value as Set<unknown>)] };
      return value;
    default: return value;
  }
}

/** The msg as a link payload. Throws LinkWireError when it cannot be serialised (e.g. circular). */
export function encodeMessage(msg: Record<string, unknown>): Buffer {
  const copy: Record<string, unknown> = { ...msg };
  for (const key of ['req', 'res']) {
    if (copy[key] !== undefined && typeof copy[key] !== 'string') delete copy[key];
  }
  try {
    return Buffer.from(JSON.stringify(copy, replacer), 'utf8');
  } catch (err) {
    throw new LinkWireError(`message cannot be sent over a project link: ${(err as Error).message}`);
  }
}

/** A link payload back to a msg. Throws LinkWireError naming the problem for anything else. */
export function decodeMessage(payload: Buffer | string): Record<string, unknown> {
  const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (bytes > MAX_INBOUND_BYTES) {
    throw new LinkWireError(`link payload of ${bytes} bytes is larger than the ${MAX_INBOUND_BYTES}-byte limit`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString());
  } catch (err) {
    throw new LinkWireError(`link payload is not JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new LinkWireError(`link payload must be a JSON object (a msg), got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`);
  }
  return revive(parsed) as Record<string, unknown>;
}

/** Sentinel for a property to remove (a function wrapper). */
const DROP = Symbol('drop');

function revive(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const revived = revive(value[i]);
      value[i] = revived === DROP ? undefined : revived;
    }
    return value;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  for (const key of keys) {
    // JSON.parse makes "__proto__" an own property; assigning to it would change the prototype.
    if (key === '__proto__') continue;
    const revived = revive(obj[key]);
    if (revived === DROP) delete obj[key];
    else if (revived !== obj[key]) obj[key] = revived;
  }
  if (keys.length !== 2 || !('type' in obj) || !('data' in obj)) return obj;
  const unwrapped = unwrap(obj as { type: unknown; data: unknown });
  return unwrapped ? unwrapped.value : obj;
}

/** What a wrapper stands for, or undefined when `obj` is ordinary data that merely looks like one. */
function unwrap({ type, data }: { type: unknown; data: unknown }): { value: unknown } | undefined {
  switch (type) {
    case 'undefined':
      return data === '' ? { value: undefined } : undefined;
    case 'bigint':
      return typeof data === 'string' && /^-?\d+$/.test(data) ? { value: BigInt(data) } : undefined;
    case 'Buffer':
      return Array.isArray(data) && data.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)
        ? { value: Buffer.from(data as number[]) } : undefined;
    case 'Map':
      return Array.isArray(data) && data.every((e) => Array.isArray(e) && e.length === 2)
        ? { value: new Map(data as Array<[unknown, unknown]>) } : undefined;
    case 'Set':
      return Array.isArray(data) ? { value: new Set(data) } : undefined;
    case 'function':
      return { value: DROP };
    default:
      return undefined;
  }
}

/**
 * Adds where a received message came from as `msg.projectLink` (the fields FlowFuse's nodes set),
 * keeping any call stack the message carries.
 */
export function annotateReceived(msg: Record<string, unknown>, subTopic: string, userProperties: Record<string, unknown> | undefined): void {
  const from = typeof userProperties?._projectID === 'string' ? userProperties._projectID : '';
  const application = typeof userProperties?._applicationID === 'string' ? userProperties._applicationID : '';
  const previous = msg.projectLink && typeof msg.projectLink === 'object' ? msg.projectLink as Record<string, unknown> : {};
  msg.projectLink = { ...previous, instanceId: from, projectId: from, applicationId: application, topic: subTopic };
}
