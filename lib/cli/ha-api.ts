import { HAError } from '../errors';

/** An admin API call from the command line failed; the message says what to do. */
export class AdminRequestError extends HAError {
  constructor(message: string) {
    super('HA_ADMIN_REQUEST_FAILED', message);
  }
}

export interface AdminTarget {
  /** Admin URL of any replica, including httpAdminRoot, e.g. http://127.0.0.1:1880/admin. */
  url: string;
  /** Bearer token (NR_HA_SYNC_TOKEN or a Node-RED admin token). @default undefined */
  token?: string;
}

/** GET `<url>/ha/<path>` as JSON, with errors that name the URL and how to fix them. */
export async function getHA(target: AdminTarget, path: string, params?: URLSearchParams): Promise<any> {
  let base: URL;
  try {
    base = new URL(target.url.endsWith('/') ? target.url : `${target.url}/`);
  } catch {
    throw new AdminRequestError(`--url must be an http(s) URL like http://127.0.0.1:1880, got "${target.url}"`);
  }
  const url = new URL(`ha/${path}`, base);
  if (params) url.search = params.toString();
  let res: Response;
  try {
    res = await fetch(url, { headers: target.token ? { Authorization: `Bearer ${target.token}` } : {} });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new AdminRequestError(`cannot reach ${url.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.status === 401 || res.status === 403) {
    throw new AdminRequestError(`${url.pathname}: not authorized (HTTP ${res.status}); pass --token or set NR_HA_SYNC_TOKEN`);
  }
  if (!res.ok || body === undefined) {
    const reason = body?.message ?? (res.status === 404 ? 'not found: is node-red-ha installed there, and does --url include httpAdminRoot?' : text.slice(0, 200));
    throw new AdminRequestError(`${url.pathname}: HTTP ${res.status}: ${reason}`);
  }
  return body;
}
