import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

type Request = IncomingMessage;
type Next = (err?: unknown) => void;
export type Middleware = (req: Request, res: ServerResponse, next: Next) => void;

/** What the plugin learns from Node-RED to decide access; kept small so it can be faked in unit tests. */
export interface AccessDeps {
  /** NR_HA_SYNC_TOKEN, if set. */
  syncToken?: string;
  /** True when settings.js configures adminAuth. */
  adminAuth: boolean;
  /** RED.auth.needsPermission: checks Node-RED's own tokens and permissions. */
  needsPermission: (permission: string) => Middleware;
}

/** Constant-time comparison of an Authorization header against the sync token. */
export function bearerMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header) return false;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!match) return false;
  // Hashing first gives equal-length buffers, so timingSafeEqual never throws or leaks the length.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}

export type AccessLevel = 'read' | 'write';

/**
 * Middleware for /ha/* endpoints that need authorization. The sync token grants everything;
 * otherwise adminAuth decides (`ha.read` is granted by Node-RED's "read" scope, `flows.write`
 * by write scopes). Without adminAuth, reading is open like the rest of the admin API, and
 * writing is refused with how to enable it: a push must never be anonymous.
 */
export function requireAccess(deps: AccessDeps, level: AccessLevel): Middleware {
  const permission = level === 'read' ? 'ha.read' : 'flows.write';
  const fromNodeRed = deps.adminAuth ? deps.needsPermission(permission) : undefined;
  return (req, res, next) => {
    if (bearerMatches(req.headers.authorization, deps.syncToken)) return next();
    if (fromNodeRed) return fromNodeRed(req, res, next);
    if (level === 'read') return next();
    if (deps.syncToken) {
      deny(res, 401, 'ha_unauthorized', req.headers.authorization
        ? 'The bearer token does not match NR_HA_SYNC_TOKEN'
        : 'This endpoint needs Authorization: Bearer <NR_HA_SYNC_TOKEN> (node-red-ha push --token)');
      return;
    }
    deny(res, 403, 'ha_sync_disabled',
      'Flow pushes need authorization: set NR_HA_SYNC_TOKEN (then push with --token) or configure adminAuth in settings.js');
  };
}

function deny(res: ServerResponse, status: number, code: string, message: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  res.end(JSON.stringify({ code, message }));
}
