import http, { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { RoundRobin } from './balancer';

/** A replica as the proxy sees it. */
export interface ProxyTarget {
  readonly id: string;
  /** Answers its readiness probe and is not known to be unreachable. */
  readonly ready: boolean;
  /** Port of the replica on 127.0.0.1. */
  readonly port: number;
  /** Keep-alive connections to this replica. */
  readonly agent: http.Agent;
  /** A connection was refused: take it out of rotation until its next good probe. */
  markUnreachable(): void;
}

/** Methods a client may safely repeat (RFC 9110 9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Per-connection headers (RFC 9110 7.6.1) that must not be forwarded. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'upgrade'];

/**
 * The HTTP front of `node-red-ha start`: sends every request (and websocket upgrade) to the next
 * ready replica over keep-alive connections, and retries on another replica when one cannot be
 * reached and repeating the request is safe.
 */
export class ReplicaProxy {
  readonly server: http.Server;
  private readonly balancer = new RoundRobin<ProxyTarget>();
  private readonly upgraded = new Set<Duplex>();

  constructor(private readonly targets: () => readonly ProxyTarget[]) {
    this.server = http.createServer((req, res) => this.forward(req, res, undefined));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head, undefined));
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting connections; requests under way finish. */
  stopAccepting(): void {
    this.server.close();
    this.server.closeIdleConnections();
  }

  /** Drops every remaining connection, websockets included. */
  destroyAll(): void {
    this.server.closeAllConnections();
    for (const socket of this.upgraded) socket.destroy();
  }

  private forward(req: IncomingMessage, res: ServerResponse, tried: ProxyTarget[] | undefined): void {
    const targets = this.targets();
    const target = this.balancer.pick(targets, tried);
    if (!target) return noReadyReplica(res, targets.length);
    if (!tried) addForwardedHeaders(req);
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    let bodySent = false;

    const proxyReq = http.request({
      host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers, agent: target.agent,
    });
    proxyReq.on('response', (proxyRes) => {
      stripHopByHop(proxyRes.headers);
      res.writeHead(proxyRes.statusCode ?? 502, proxyRes.statusMessage, proxyRes.headers);
      proxyRes.pipe(res);
      proxyRes.on('error', () => res.destroy());
    });
    proxyReq.on('error', (err: NodeJS.ErrnoException) => {
      const neverArrived = err.code === 'ECONNREFUSED' || (proxyReq.reusedSocket && err.code === 'ECONNRESET');
      if (err.code === 'ECONNREFUSED') target.markUnreachable();
      const canRepeat = !res.headersSent && !bodySent && (neverArrived || (IDEMPOTENT.has(req.method ?? '') && !hasBody));
      if (canRepeat && !res.destroyed) {
        const next = tried ?? [];
        next.push(target);
        return this.forward(req, res, next);
      }
      if (!res.headersSent) errorResponse(res, 502, 'replica_failed', `replica ${target.id} failed: ${err.code ?? err.message}`);
      else res.destroy();
    });
    res.once('close', () => {
      if (!res.writableFinished) proxyReq.destroy();
    });

    if (!hasBody) {
      proxyReq.end();
      return;
    }
    // The body is held back until the replica has accepted the connection, so a refused
    // connection can be retried elsewhere with the body still unread.
    proxyReq.once('socket', (socket) => {
      const send = () => {
        bodySent = true;
        req.pipe(proxyReq);
      };
      if (socket.connecting) socket.once('connect', send);
      else send();
    });
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, tried: ProxyTarget[] | undefined): void {
    const target = this.balancer.pick(this.targets(), tried);
    if (!target) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!tried) addForwardedHeaders(req);
    // A long-lived socket does not belong in the keep-alive pool.
    const proxyReq = http.request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false });
    proxyReq.on('upgrade', (proxyRes, proxySocket, proxyHead) => {
      socket.write(rawHead(proxyRes));
      if (proxyHead.length) socket.write(proxyHead);
      if (head.length) proxySocket.write(head);
      this.upgraded.add(socket);
      const close = () => {
        this.upgraded.delete(socket);
        socket.destroy();
        proxySocket.destroy();
      };
      socket.on('error', close).on('close', close);
      proxySocket.on('error', close).on('close', close);
      proxySocket.pipe(socket).pipe(proxySocket);
    });
    proxyReq.on('response', (proxyRes) => {
      // The replica declined the upgrade: relay its answer, its end marked by closing.
      socket.write(rawHead(proxyRes, true));
      proxyRes.pipe(socket);
    });
    proxyReq.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') {
        target.markUnreachable();
        return this.upgrade(req, socket, head, [...(tried ?? []), target]);
      }
      socket.destroy();
    });
    socket.on('error', () => proxyReq.destroy());
    proxyReq.end();
  }
}

function addForwardedHeaders(req: IncomingMessage): void {
  const headers = req.headers;
  const client = req.socket.remoteAddress ?? '';
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${client}` : client;
  headers['x-forwarded-proto'] ??= 'http';
  if (headers.host) headers['x-forwarded-host'] ??= headers.host;
  // Client-side connection handling (e.g. "Connection: close") must not close pooled connections.
  if (req.headers.upgrade === undefined) stripHopByHop(headers);
}

function stripHopByHop(headers: IncomingHttpHeaders): void {
  const listed = headers.connection;
  if (listed) {
    for (const name of listed.split(',')) {
      const key = name.trim().toLowerCase();
      if (key && key !== 'close' && key !== 'keep-alive' && key !== 'upgrade') delete headers[key];
    }
  }
  for (const name of HOP_BY_HOP) delete headers[name];
}

/** The status line and headers as the replica sent them; `closing` frames the body by closing instead. */
function rawHead(res: IncomingMessage, closing = false): string {
  let head = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n`;
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (closing && /^(connection|transfer-encoding|keep-alive)$/i.test(raw[i])) continue;
    head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  return head + (closing ? 'Connection: close\r\n\r\n' : '\r\n');
}

function noReadyReplica(res: ServerResponse, total: number): void {
  res.setHeader('Retry-After', '1');
  errorResponse(res, 503, 'no_ready_replica', `none of the ${total} replicas is ready yet; retry shortly`);
}

function errorResponse(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ code, message });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
