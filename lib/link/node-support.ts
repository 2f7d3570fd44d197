/**
 * What the three link nodes have in common: reading the configuration once, joining the runtime's
 * connection, and keeping their status in step with it.
 */
import { acquireConnection, LinkConnection, LinkState } from './connection';
import { LinkSettings, linkSettings } from './settings';
import { statusFor } from './status';

/** The slice of a Node-RED node the link nodes use. */
export interface RedNode {
  id: string;
  type: string;
  on(event: 'input', fn: (msg: Record<string, any>, send: (msg: unknown) => void, done: (err?: Error) => void) => void): void;
  on(event: 'close', fn: (done: () => void) => void): void;
  status(status: object): void;
  error(err: unknown, msg?: unknown): void;
  warn(message: unknown): void;
  debug(message: unknown): void;
  receive(msg: unknown): void;
}

/** The slice of Node-RED's node API the link nodes use. */
export interface RedNodeApi {
  nodes: {
    createNode(node: unknown, def: unknown): void;
    registerType(type: string, ctor: unknown, options?: unknown): void;
  };
  settings: Record<string, unknown>;
  events: { once(event: string, fn: () => void): void; removeListener(event: string, fn: () => void): void };
  log: { info(m: unknown): void; warn(m: unknown): void; error(m: unknown): void };
}

export interface JoinedLink {
  conn: LinkConnection;
  settings: LinkSettings & { instance: string };
  /** Stops status updates and gives the connection reference back. */
  leave(): Promise<void>;
}

/** Throttle for queue-depth status updates: a burst must not flood the editor with status events. */
const STATUS_INTERVAL_MS = 250;

/**
 * Joins the runtime's link connection, or puts a red status and a node error naming the problem
 * (bad configuration, no instance id) and returns undefined: a node in error never crashes the runtime.
 */
export function joinLink(RED: RedNodeApi, node: RedNode): JoinedLink | undefined {
  let settings: LinkSettings;
  try {
    settings = linkSettings(RED.settings as { ha?: unknown; haLink?: unknown });
  } catch (err) {
    node.status({ fill: 'red', shape: 'ring', text: 'configuration error' });
    node.error(`project link configuration error: ${(err as Error).message}`);
    return undefined;
  }
  if (!settings.instance) {
    node.status({ fill: 'red', shape: 'ring', text: 'no instance id' });
    node.error('project link nodes need an instance id: set NR_HA_INSTANCE (or ha.instance in settings.js) to this instance\'s id');
    return undefined;
  }
  const conn = acquireConnection(settings.connection, {
    info: (m) => RED.log.info(m),
    warn: (m) => RED.log.warn(m),
  });
  let queued = conn.outbound.depth;
  let timer: NodeJS.Timeout | undefined;
  const show = () => node.status(statusFor(conn.state, conn.detail, queued));
  const onState = (_state: LinkState) => show();
  const onDepth = (depth: number) => {
    const wasShown = queued > 0;
    queued = depth;
    if (depth === 0 && wasShown) {
      clearTimeout(timer);
      timer = undefined;
      show();
    } else if (depth > 0 && !timer) {
      timer = setTimeout(() => { timer = undefined; show(); }, STATUS_INTERVAL_MS);
    }
  };
  conn.on('state', onState);
  conn.on('depth', onDepth);
  show();
  let left = false;
  return {
    conn,
    settings: settings as LinkSettings & { instance: string },
    async leave() {
      if (left) return;
      left = true;
      conn.off('state', onState);
      conn.off('depth', onDepth);
      clearTimeout(timer);
      await conn.release();
    },
  };
}

/** Waits (bounded) until `condition` holds, checking every `stepMs`. */
export async function waitFor(condition: () => boolean, maxMs: number, stepMs = 20): Promise<void> {
  const until = Date.now() + maxMs;
  while (!condition() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, stepMs));
}
