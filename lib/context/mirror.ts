/**
 * One committed change, as every write script publishes it. `seq` comes from one Redis counter
 * per instance, so the messages of all replicas form one gap-free sequence.
 */
export interface ChangeMessage {
  seq: number;
  scope: string;
  /** Field -> new JSON (null: deleted); 'drop' removes the whole scope. */
  changes: Array<[string, string | null]> | 'drop';
}

/** Decodes the text a write script published (see scripts.ts); undefined for anything else. */
export function decodeMessage(text: string): ChangeMessage | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(data) || data.length !== 3 || typeof data[1] !== 'string') return undefined;
  const seq = Number(data[0]);
  if (!Number.isSafeInteger(seq)) return undefined;
  if (data[2] === 'drop') return { seq, scope: data[1], changes: 'drop' };
  // cjson encodes an empty Lua table as {}; a write always has at least one change.
  if (!Array.isArray(data[2]) || data[2].length % 2 !== 0) return undefined;
  const changes: Array<[string, string | null]> = [];
  for (let i = 0; i < data[2].length; i += 2) {
    const value = data[2][i + 1];
    changes.push([String(data[2][i]), typeof value === 'string' ? value : null]);
  }
  return { seq, scope: data[1], changes };
}

/** What the caller must do after feeding the mirror. */
export type MirrorOutcome = 'ok' | 'resync';

type Snapshot = Map<string, Map<string, string>>;

interface Overlay {
  /** JSON this replica wrote last (null: deleted); shown until the mirror has caught up. */
  json: string | null;
  /** Id of the newest local write to this field. */
  latest: number;
  inflight: number;
  /** Highest sequence number of this replica's acknowledged writes to the field. */
  seq: number;
}

/**
 * This replica's copy of the instance's shared context, which synchronous `get` reads.
 *
 * It is fed the ordered change messages of all replicas. A gap in the sequence (a dropped
 * subscription, a Redis restart) makes it ask for a resync, and it is only trusted while the
 * subscription has been confirmed recently: the store pings over the subscriber connection, and a
 * reply proves every change committed before the ping was sent has been applied. So a synchronous
 * read reflects every write acknowledged more than `staleMs` ago, or it throws.
 *
 * Local writes show at once (read-your-writes) through overlays that are dropped when the
 * write's own message has been applied or the write failed.
 */
export class Mirror {
  private data: Snapshot = new Map();
  private overlays = new Map<string, Overlay>();
  private state: 'down' | 'loading' | 'live' = 'down';
  private buffered: ChangeMessage[] = [];
  private lastSeq = 0;
  private confirmedAt = -Infinity;
  private writeIds = 0;

  /** Subscribed and about to read a snapshot: messages are kept until it arrives. */
  beginLoad(): void {
    this.state = 'loading';
    this.buffered = [];
  }

  /**
   * The snapshot (taken atomically with its sequence number) replaces the copy. It holds every
   * change committed before it was requested at `requestedAt`.
   */
  finishLoad(seq: number, snapshot: Snapshot, requestedAt: number): MirrorOutcome {
    if (this.state !== 'loading') return 'resync';
    this.data = snapshot;
    this.lastSeq = seq;
    this.state = 'live';
    this.confirmedAt = requestedAt;
    const pending = this.buffered.filter((m) => m.seq > seq);
    this.buffered = [];
    for (const message of pending) {
      if (this.receive(message) === 'resync') return 'resync';
    }
    this.dropSettledOverlays();
    return 'ok';
  }

  /** The subscription is lost: nothing read from the copy can be trusted until the next load. */
  markDown(): void {
    this.state = 'down';
    this.buffered = [];
    this.confirmedAt = -Infinity;
  }

  receive(message: ChangeMessage): MirrorOutcome {
    if (this.state === 'loading') {
      this.buffered.push(message);
      return 'ok';
    }
    if (this.state === 'down') return 'ok';
    // On one live connection messages arrive in commit order; anything else means lost messages
    // or a Redis whose counter restarted.
    if (message.seq !== this.lastSeq + 1) {
      this.markDown();
      return 'resync';
    }
    this.lastSeq = message.seq;
    if (message.changes === 'drop') {
      this.data.delete(message.scope);
    } else {
      let fields = this.data.get(message.scope);
      if (!fields) this.data.set(message.scope, fields = new Map());
      for (const [field, json] of message.changes) {
        if (json === null) fields.delete(field);
        else fields.set(field, json);
      }
      if (fields.size === 0) this.data.delete(message.scope);
    }
    this.dropSettledOverlays();
    return 'ok';
  }

  /** A ping sent at `sentAt` was answered on the subscriber connection. */
  confirm(sentAt: number): void {
    if (this.state === 'live') this.confirmedAt = Math.max(this.confirmedAt, sentAt);
  }

  /** Why the copy cannot be read at `now`, or undefined when it can. */
  unfreshReason(now: number, staleMs: number): string | undefined {
    if (this.state !== 'live') return this.state === 'loading' ? 'still loading from Redis' : 'not connected to Redis';
    if (now - this.confirmedAt > staleMs) return `no confirmation from Redis for more than ${staleMs} ms`;
    return undefined;
  }

  read(scope: string, field: string): string | undefined {
    const overlay = this.overlays.get(overlayKey(scope, field));
    if (overlay) return overlay.json ?? undefined;
    return this.data.get(scope)?.get(field);
  }

  /** What Redis held after the last applied change, ignoring this replica's pending writes. */
  readCommitted(scope: string, field: string): string | undefined {
    return this.data.get(scope)?.get(field);
  }

  fields(scope: string): string[] {
    const names = new Set(this.data.get(scope)?.keys() ?? []);
    for (const [key, overlay] of this.overlays) {
      const [s, field] = splitOverlayKey(key);
      if (s !== scope) continue;
      if (overlay.json === null) names.delete(field);
      else names.add(field);
    }
    return [...names];
  }

  scopes(): string[] {
    return [...this.data.keys()];
  }

  /** A local write was sent; returns its id for `settle`. */
  beginWrite(scope: string, field: string, json: string | undefined): number {
    const key = overlayKey(scope, field);
    const id = ++this.writeIds;
    const overlay = this.overlays.get(key) ?? { json: null, latest: 0, inflight: 0, seq: 0 };
    overlay.json = json ?? null;
    overlay.latest = id;
    overlay.inflight++;
    this.overlays.set(key, overlay);
    return id;
  }

  /**
   * A local write ended: committed as `seq` with the field's final JSON (which differs from the
   * guess for increments and retried nested updates), or failed (`seq` undefined).
   */
  settle(scope: string, field: string, id: number, seq?: number, json?: string | null): void {
    const key = overlayKey(scope, field);
    const overlay = this.overlays.get(key);
    if (!overlay) return;
    overlay.inflight--;
    if (seq === undefined) {
      // The guess was never stored; the copy shows what Redis holds.
      this.overlays.delete(key);
      return;
    }
    overlay.seq = Math.max(overlay.seq, seq);
    if (id === overlay.latest && json !== undefined) overlay.json = json;
    this.dropSettledOverlays();
  }

  private dropSettledOverlays(): void {
    for (const [key, overlay] of this.overlays) {
      if (overlay.inflight === 0 && this.state === 'live' && this.lastSeq >= overlay.seq) this.overlays.delete(key);
    }
  }
}

function overlayKey(scope: string, field: string): string {
  return `${scope}\u0000${field}`;
}

function splitOverlayKey(key: string): [string, string] {
  const at = key.indexOf('\u0000');
  return [key.slice(0, at), key.slice(at + 1)];
}
