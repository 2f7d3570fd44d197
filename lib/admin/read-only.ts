import type { IncomingMessage, ServerResponse } from 'node:http';

/** Admin API areas whose writes change flows or installed nodes. */
const LOCKED_AREAS = new Set(['flows', 'flow', 'nodes', 'projects']);
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const READ_ONLY_CODE = 'ha_read_only';
export const READ_ONLY_MESSAGE =
  'This Node-RED runs in HA mode: its flows and nodes are read-only here. Change them on a development ' +
  'instance and ship them with `node-red-ha push --from <dev url> --to <this url>`.';

/**
 * True for an admin request that would change the running flows or the installed nodes.
 * `path` is relative to httpAdminRoot (as express gives it to httpAdminMiddleware).
 */
export function isFlowChangingRequest(method: string, path: string): boolean {
  if (READ_METHODS.has(method.toUpperCase())) return false;
  const area = path.split('/').find((segment) => segment !== '') ?? '';
  return LOCKED_AREAS.has(area);
}

type Request = IncomingMessage & { path?: string };
type Next = (err?: unknown) => void;

/** httpAdminMiddleware that answers every flow- or node-changing request with 403 ha_read_only. */
export function readOnlyAdminMiddleware(req: Request, res: ServerResponse, next: Next): void {
  const path = req.path ?? new URL(req.url ?? '/', 'http://x').pathname;
  if (!isFlowChangingRequest(req.method ?? 'GET', path)) {
    next();
    return;
  }
  res.statusCode = 403;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ code: READ_ONLY_CODE, message: READ_ONLY_MESSAGE }));
}
