import { CredentialKey, decryptCredentials } from './credentials';
import { SnapshotInvalidError } from './errors';
import type { Credentials, FlowNode, Snapshot } from '../storage/snapshot';

/** What a snapshot is checked against on the receiving instance. */
export interface ValidationContext {
  /** Asks this image's node registry whether a node type is installed. */
  isKnownType(type: string): boolean;
  /** How this instance encrypts credentials. */
  key: CredentialKey;
  /** HA mode: a key Node-RED generated per replica cannot be shared, so it does not count. */
  ha: boolean;
}

/** Types the runtime handles itself rather than through the node registry. */
const CONTAINER_TYPES = new Set(['tab', 'subflow', 'group']);
/** GET /ha/snapshot adds `revision`; accepting it lets a pipeline post a snapshot unchanged. */
const KNOWN_FIELDS = new Set(['flows', 'credentials', 'revision']);
const MAX_LISTED = 10;

/**
 * Checks a pushed body completely and returns it as a snapshot, or throws SnapshotInvalidError
 * naming every problem: shape first (nothing else can be judged without it), then duplicate ids,
 * node types this image lacks and credentials this instance cannot decrypt.
 */
export function validateSnapshot(body: unknown, ctx: ValidationContext): Snapshot {
  const snapshot = parseSnapshot(body);
  const problems: string[] = [];
  const duplicates = duplicateIds(snapshot.flows);
  if (duplicates.length) problems.push(`duplicate node ids: ${list(duplicates)}`);
  const missing = missingTypes(snapshot.flows, ctx.isKnownType);
  if (missing.length) problems.push(`node types not installed on this instance: ${list(missing)} (add them to the image every replica runs)`);
  const credentialProblem = checkCredentials(snapshot.credentials, ctx);
  if (credentialProblem) problems.push(credentialProblem);
  if (problems.length) throw new SnapshotInvalidError(problems, missing);
  return snapshot;
}

/** The shape check alone: `{flows: [{id, type, …}], credentials?: {…}}`. */
export function parseSnapshot(body: unknown): Snapshot {
  if (!isObject(body)) {
    throw new SnapshotInvalidError([`the body must be a JSON object {"flows": [...], "credentials": {...}}, got ${describe(body)}`]);
  }
  const problems: string[] = [];
  const unknown = Object.keys(body).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length) problems.push(`unknown fields: ${list(unknown)} (expected flows, credentials)`);
  const { flows, credentials = {} } = body;
  if (flows === undefined) {
    problems.push('"flows" is missing: expected the array of nodes from a flows file');
  } else if (!Array.isArray(flows)) {
    problems.push(`"flows" must be an array of nodes, got ${describe(flows)}`);
  } else {
    problems.push(...limit(flows.flatMap((node, index) => nodeProblems(node, index))));
  }
  if (!isObject(credentials)) {
    problems.push(`"credentials" must be an object (Node-RED's credentials file), got ${describe(credentials)}`);
  } else if ('$' in credentials && typeof credentials.$ !== 'string') {
    problems.push(`"credentials.$" must be the encrypted string Node-RED writes, got ${describe(credentials.$)}`);
  }
  if (problems.length) throw new SnapshotInvalidError(problems);
  return { flows: flows as FlowNode[], credentials: credentials as Credentials };
}

export function duplicateIds(flows: FlowNode[]): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const { id } of flows) (seen.has(id) ? duplicates : seen).add(id);
  return [...duplicates];
}

/** Node types the flows use that the registry lacks; `subflow:<id>` needs its definition in the flows. */
export function missingTypes(flows: FlowNode[], isKnownType: (type: string) => boolean): string[] {
  const subflows = new Set(flows.filter((n) => n.type === 'subflow').map((n) => n.id));
  const missing = new Set<string>();
  for (const { type } of flows) {
    if (CONTAINER_TYPES.has(type)) continue;
    const subflow = /^subflow:(.+)$/.exec(type);
    if (subflow ? !subflows.has(subflow[1]) : !isKnownType(type)) missing.add(type);
  }
  return [...missing].sort();
}

function checkCredentials(credentials: Credentials, ctx: ValidationContext): string | undefined {
  if (typeof credentials.$ !== 'string') {
    const bad = Object.entries(credentials).filter(([, value]) => !isObject(value)).map(([id]) => id);
    return bad.length ? `credentials of ${list(bad)} must be objects of credential values` : undefined;
  }
  const { key } = ctx;
  if (key.kind === 'disabled') {
    return 'the credentials are encrypted but this instance has credentialSecret: false; set the same credentialSecret as the development instance';
  }
  if (key.kind === 'none' || (key.kind === 'generated' && ctx.ha)) {
    return 'the credentials are encrypted but credentialSecret is not set in settings.js: set it on every replica to the development instance\'s value';
  }
  try {
    decryptCredentials(key.key, credentials.$);
    return undefined;
  } catch {
    return 'the credentials do not decrypt with this instance\'s credentialSecret: the development instance and the HA replicas must use the same credentialSecret';
  }
}

function nodeProblems(node: unknown, index: number): string[] {
  if (!isObject(node)) return [`flows[${index}] must be a node object, got ${describe(node)}`];
  if (typeof node.id !== 'string' || node.id === '') return [`flows[${index}] has no string "id"`];
  if (typeof node.type !== 'string' || node.type === '') return [`flows[${index}] (id ${node.id}) has no string "type"`];
  if (node.z !== undefined && typeof node.z !== 'string') return [`flows[${index}] (id ${node.id}) has a non-string "z"`];
  return [];
}

function limit(problems: string[]): string[] {
  if (problems.length <= MAX_LISTED) return problems;
  return [...problems.slice(0, MAX_LISTED), `and ${problems.length - MAX_LISTED} more node problems`];
}

function list(items: string[]): string {
  const shown = items.slice(0, MAX_LISTED).join(', ');
  return items.length > MAX_LISTED ? `${shown} and ${items.length - MAX_LISTED} more` : shown;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
