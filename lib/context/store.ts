import crypto from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type Redis from 'ioredis';
import { connectRedis } from '../redis/connection';
import { instanceKey } from '../redis/keys';
import { ContextConflictError, ContextUnavailableError, ContextValueError } from './errors';
import { contextLog } from './log';
import { decodeMessage, Mirror } from './mirror';
import { applyOps, ContextOp, isTopLevel, makeOp } from './ops';
import { getPath, parsePath, topField } from './path';
import { CLEAN, DROP, HOLD, LOAD, RELEASE, WRITE } from './scripts';

/** Configuration of the `ha` context store (`contextStorage.ha.config` in settings.js; withHA fills it). */
export interface ContextStoreOptions {
  /** Redis URL (`redis://` or `rediss://`) that every replica of the instance uses. Required. */
  redisUrl: string;
  /** Instance id: the namespace of the keys shared by its replicas. Required. */
  instance: string;
  /** This replica's id, for connection names and clean bookkeeping. @default os.hostname() */
  replica?: string;
  /**
   * Staleness bound of synchronous get: it reflects every write acknowledged more than this long
   * ago, or throws ContextUnavailableError. @default 2000
   */
  staleMs?: number;
  /** How long open() waits for Redis before Node-RED starts without it. @default 5000 */
  openTimeoutMs?: number;
  /** A Redis command unanswered this long fails with ContextUnavailableError (outcome unknown). @default 5000 */
  commandTimeoutMs?: number;
}

export const DEFAULT_STALE_MS = 2000;
const DEFAULT_OPEN_TIMEOUT_MS = 5000;
const DEFAULT_COMMAND_TIMEOUT_MS = 5000;
/** A nested update retried this often without winning the race gives ContextConflictError. */
const MAX_ATTEMPTS = 50;
/** How long a replica counts as a user of the store after its last sign of life (clean bookkeeping). */
const HOLDER_TTL_MS = 60_000;

type Callback = (err?: Error | null, ...values: unknown[]) => void;

/** One Redis field write: the ops on that field and what was last sent for it. */
interface FieldWrite {
  field: string;
  ops: ContextOp[];
  mode: 's' | 'd' | 'i' | 'c';
  /** For `c`: the JSON the update was computed from (undefined: absent). */
  base?: string;
  /** For `c`: the JSON computed from `base`. */
  next?: string;
  /** Increment results of `c` computed from `base`. */
  results?: number[];
}

/**
 * Node-RED context store shared by all replicas of an instance through Redis (see README,
 * "Shared state"). Async calls read and write Redis; sync get/keys read the Mirror.
 */
export class RedisContextStore {
  private cmd?: ScriptClient;
  private sub?: Redis;
  private readonly mirror = new Mirror();
  private readonly replica: string;
  private readonly staleMs: number;
  private readonly channel: string;
  private readonly prefix: string;
  private syncing = false;
  private syncAgain = false;
  private closed = false;
  private down = false;
  private loaded?: () => void;
  private timers: NodeJS.Timeout[] = [];
  private retryTimer?: NodeJS.Timeout;
  /** Per scope+field: the end of the queued writes that later writes to the field wait for. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Per scope+field with a queue: the JSON this replica's last write there stored (the next nested update's base). */
  private readonly lastWritten = new Map<string, string | undefined>();

  constructor(private readonly options: ContextStoreOptions) {
    if (!options || typeof options.redisUrl !== 'string' || typeof options.instance !== 'string') {
      throw new ContextUnavailableError('the store needs config.redisUrl and config.instance (withHA sets them when NR_HA_REDIS_URL is set)');
    }
    this.replica = options.replica ?? os.hostname();
    this.staleMs = options.staleMs ?? DEFAULT_STALE_MS;
    this.channel = instanceKey(options.instance, 'ctx', 'changes');
    this.prefix = instanceKey(options.instance, '');
  }

  async open(): Promise<void> {
    const name = `nrha:${this.replica}:context`;
    const cmd = this.cmd = connectRedis(this.options.redisUrl, name, { commandTimeout: this.options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS }) as ScriptClient;
    const sub = this.sub = connectRedis(this.options.redisUrl, `${name}-sub`, { autoResubscribe: false });
    for (const [label, script, keys] of [['nrhaWrite', WRITE, 3], ['nrhaLoad', LOAD, 2], ['nrhaDrop', DROP, 3],
      ['nrhaHold', HOLD, 2], ['nrhaRelease', RELEASE, 2], ['nrhaClean', CLEAN, 4]] as const) {
      cmd.defineCommand(label, { lua: script, numberOfKeys: keys });
    }
    for (const client of [cmd, sub]) {
      client.on('error', (err: Error) => {
        if (!this.down) contextLog().warn(`HA context store: Redis unavailable (${err.message}); context calls fail until it is back`);
        this.down = true;
      });
    }
    sub.on('message', (_channel: string, text: string) => this.onMessage(text));
    sub.on('close', () => this.mirror.markDown());
    sub.on('ready', () => { void this.resync(); });
    cmd.on('ready', () => { void this.resync(); });

    const ping = setInterval(() => {
      if (sub.status !== 'ready') return;
      const sentAt = performance.now();
      sub.ping().then(() => this.mirror.confirm(sentAt), () => undefined);
    }, Math.max(50, Math.floor(this.staleMs / 4)));
    const hold = setInterval(() => { void this.hold(false); }, HOLDER_TTL_MS / 4);
    this.timers.push(ping, hold);

    const timeoutMs = this.options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.loaded = () => { clearTimeout(timer); resolve(true); };
    });
    if (ready) {
      await this.hold(true);
    } else {
      contextLog().warn(`HA context store: Redis not reachable within ${timeoutMs} ms; Node-RED starts, context calls fail until Redis is back`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timers.forEach((t) => clearInterval(t));
    clearTimeout(this.retryTimer);
    if (this.cmd?.status === 'ready') {
      await this.cmd.nrhaRelease(this.key('ctx', 'holders'), this.activeKey(), this.replica).catch(() => undefined);
    }
    this.sub?.disconnect();
    this.cmd?.disconnect();
  }

  get(scope: string, key: string | string[], callback?: Callback): unknown {
    if (callback) {
      this.readThrough(scope, key).then((values) => callback(undefined, ...values), (err: Error) => callback(err));
      return undefined;
    }
    this.assertFresh();
    const read = (k: string) => {
      const parts = parsePath(k);
      const json = this.mirror.read(scope, topField(parts));
      return json === undefined ? undefined : getPath(JSON.parse(json), parts.slice(1));
    };
    return Array.isArray(key) ? key.map(read) : read(key);
  }

  set(scope: string, key: string | string[], value: unknown, callback?: Callback): void {
    let writes: FieldWrite[];
    let done: Promise<number[]>;
    try {
      writes = this.plan(key, value);
      if (this.cmd?.status !== 'ready') throw new ContextUnavailableError('Redis is not connected; nothing was written');
      done = this.write(scope, writes);
    } catch (err) {
      if (callback) return void callback(err as Error);
      throw err;
    }
    if (callback) {
      done.then((results) => callback(undefined, ...results), (err: Error) => callback(err));
    } else {
      done.catch((err: Error) => contextLog().error(`HA context: set of ${JSON.stringify(key)} in ${scope} was not stored: ${err.message}`));
    }
  }

  keys(scope: string, callback?: Callback): unknown {
    if (callback) {
      this.command(() => this.cmd!.hkeys(this.scopeKey(scope))).then((k) => callback(undefined, k), (err: Error) => callback(err));
      return undefined;
    }
    this.assertFresh();
    return this.mirror.fields(scope);
  }

  async delete(scope: string): Promise<void> {
    await this.command(() => this.cmd!.nrhaDrop(this.scopeKey(scope), this.key('ctx', 'seq'), this.key('ctx', 'scopes'), this.channel, scope));
  }

  /**
   * Node-RED calls this after a deploy with every node id of the new flows. It must not reject:
   * Node-RED would not start the flows.
   */
  async clean(activeNodes: string[]): Promise<void> {
    try {
      const deleted = await this.command(() => this.cmd!.nrhaClean(this.key('ctx', 'holders'), this.activeKey(),
        this.key('ctx', 'seq'), this.key('ctx', 'scopes'), this.replica, HOLDER_TTL_MS, this.channel, this.prefix, ...activeNodes));
      if (deleted < 0) {
        contextLog().info('HA context: kept the context of removed nodes: a replica has not reported its flows yet (it will be removed after the next deploy on every replica)');
      } else if (deleted > 0) {
        contextLog().info(`HA context: removed the context of ${deleted} node(s) or flow(s) no replica runs any more`);
      }
    } catch (err) {
      contextLog().warn(`HA context: clean skipped: ${(err as Error).message}`);
    }
  }

  /** Parses and validates a set call into one write per Redis field; throws for bad input. */
  private plan(key: string | string[], value: unknown): FieldWrite[] {
    const keys = Array.isArray(key) ? key : [key];
    const values = Array.isArray(key) ? (Array.isArray(value) ? value : [value]) : [value];
    const byField = new Map<string, ContextOp[]>();
    keys.forEach((k, i) => {
      const op = makeOp(k, i < values.length ? values[i] : null);
      byField.set(op.field, [...(byField.get(op.field) ?? []), op]);
    });
    return [...byField].map(([field, ops]) => {
      const only = ops.length === 1 && isTopLevel(ops[0]) ? ops[0] : undefined;
      const mode = !only ? 'c' : only.kind === 'incr' ? 'i' : only.json === undefined ? 'd' : 's';
      return { field, ops, mode };
    });
  }

  /**
   * Starts a write and shows it in this replica's copy at once. Nested updates (compare-and-set)
   * of one field are sent one at a time per replica, and later writes to that field wait behind
   * them, so the replica's own updates never race each other and keep their order; other writes
   * go out immediately (the connection keeps their order). Throws for an update its current copy
   * already shows to be impossible.
   */
  private write(scope: string, writes: FieldWrite[]): Promise<number[]> {
    for (const w of writes) {
      if (w.mode === 'c') this.compute(w, this.mirror.read(scope, w.field));
    }
    const ids = writes.map((w) => this.mirror.beginWrite(scope, w.field, this.guess(scope, w)));
    const keys = writes.map((w) => `${scope}\u0000${w.field}`);
    const prior = keys.map((k) => this.queues.get(k)).filter((p): p is Promise<unknown> => p !== undefined);
    let run: Promise<number[]>;
    if (prior.length === 0) {
      run = this.send(scope, writes, ids);
    } else {
      run = Promise.allSettled(prior).then(() => {
        for (const w of writes) {
          const key = `${scope}\u0000${w.field}`;
          if (w.mode === 'c') this.compute(w, this.lastWritten.has(key) ? this.lastWritten.get(key) : this.mirror.readCommitted(scope, w.field));
        }
        return this.send(scope, writes, ids);
      });
    }
    if (prior.length > 0 || writes.some((w) => w.mode === 'c')) {
      const tail = run.then(() => undefined, () => undefined);
      keys.forEach((k) => this.queues.set(k, tail));
      void tail.then(() => keys.forEach((k) => {
        if (this.queues.get(k) !== tail) return;
        this.queues.delete(k);
        this.lastWritten.delete(k);
      }));
    }
    return run;
  }

  private async send(scope: string, writes: FieldWrite[], ids: number[]): Promise<number[]> {
    try {
      for (let attempt = 1; ; attempt++) {
        const args: Array<string | number> = [];
        for (const w of writes) {
          const op = w.ops[0];
          if (w.mode === 's') args.push(w.field, 's', op.json as string, '');
          else if (w.mode === 'd') args.push(w.field, 'd', '', '');
          else if (w.mode === 'i') args.push(w.field, 'i', String(op.by), '');
          else args.push(w.field, 'c', w.base === undefined ? '' : sha1(w.base), w.next ?? '');
        }
        const reply = await this.command(() => this.cmd!.nrhaWrite(this.scopeKey(scope), this.key('ctx', 'seq'),
          this.key('ctx', 'scopes'), this.channel, scope, ...args)) as Array<string | number | null>;
        if (reply[0] === 1) {
          const seq = Number(reply[1]);
          const results: number[] = [];
          writes.forEach((w, i) => {
            let json: string | null = w.mode === 'd' ? null : w.mode === 's' ? w.ops[0].json as string : w.next ?? null;
            if (w.mode === 'i') {
              json = String(reply[2 + i]);
              results.push(Number(json));
            } else if (w.results) {
              results.push(...w.results);
            }
            this.mirror.settle(scope, w.field, ids[i], seq, json);
            const key = `${scope}\u0000${w.field}`;
            if (this.queues.has(key)) this.lastWritten.set(key, json ?? undefined);
          });
          return results;
        }
        if (reply[0] === -1) {
          const w = writes[Number(reply[1])];
          throw new ContextValueError(w.ops[0].key, 'cannot increment it: it does not hold a number');
        }
        if (attempt >= MAX_ATTEMPTS) throw new ContextConflictError(writes.find((w) => w.mode === 'c')!.ops[0].key, attempt);
        // Another replica changed a nested field since it was read: recompute from what Redis holds.
        const current = reply.slice(1);
        writes.filter((w) => w.mode === 'c').forEach((w, i) => this.compute(w, current[i] === null ? undefined : String(current[i])));
        if (attempt > 3) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
      }
    } catch (err) {
      writes.forEach((w, i) => this.mirror.settle(scope, w.field, ids[i]));
      throw err;
    }
  }

  private compute(w: FieldWrite, base: string | undefined): void {
    const update = applyOps(base, w.ops);
    w.base = base;
    w.next = update.json;
    w.results = update.results;
  }

  /** What a synchronous get on this replica shows until the write's result is known. */
  private guess(scope: string, w: FieldWrite): string | undefined {
    if (w.mode === 's') return w.ops[0].json;
    if (w.mode === 'c') return w.next;
    if (w.mode === 'd') return undefined;
    const current = this.mirror.read(scope, w.field);
    const before: unknown = current === undefined ? 0 : JSON.parse(current);
    // A non-number fails on the server; until then the copy keeps showing what it holds.
    return typeof before === 'number' ? String(before + (w.ops[0].by as number)) : current;
  }

  private async readThrough(scope: string, key: string | string[]): Promise<unknown[]> {
    const keys = Array.isArray(key) ? key : [key];
    const paths = keys.map(parsePath);
    const fields = [...new Set(paths.map(topField))];
    const values = await this.command(() => this.cmd!.hmget(this.scopeKey(scope), ...fields));
    const byField = new Map(fields.map((f, i) => [f, values[i]]));
    return paths.map((parts) => {
      const json = byField.get(topField(parts));
      return json === null || json === undefined ? undefined : getPath(JSON.parse(json), parts.slice(1));
    });
  }

  /** Runs a Redis command, turning "not connected" into an error that says what happened. */
  private async command<T>(run: () => Promise<T>): Promise<T> {
    if (this.closed) throw new ContextUnavailableError('the store is closed');
    if (this.cmd?.status !== 'ready') throw new ContextUnavailableError('Redis is not connected; nothing was read or written');
    try {
      return await run();
    } catch (err) {
      if (err instanceof Error && !/^(ERR|WRONGTYPE|NOSCRIPT)/.test(err.message)) {
        throw new ContextUnavailableError(`${err.message}; the outcome of the last write is unknown, read it back before retrying`);
      }
      throw err;
    }
  }

  private assertFresh(): void {
    const reason = this.mirror.unfreshReason(performance.now(), this.staleMs);
    if (reason) throw new ContextUnavailableError(`${reason}; synchronous get/set cannot be served (async calls with a callback report errors the same way)`);
  }

  private onMessage(text: string): void {
    const message = decodeMessage(text);
    if (message && this.mirror.receive(message) === 'resync') void this.resync();
  }

  /** Subscribes, then loads a snapshot; messages that arrive meanwhile are applied after it. */
  private async resync(): Promise<void> {
    if (this.closed) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    if (this.sub?.status !== 'ready' || this.cmd?.status !== 'ready') return;
    this.syncing = true;
    try {
      do {
        this.syncAgain = false;
        this.mirror.beginLoad();
        await this.sub.subscribe(this.channel);
        const requestedAt = performance.now();
        const reply = await this.cmd.nrhaLoad(this.key('ctx', 'seq'), this.key('ctx', 'scopes'), this.key('ctx', 'scope', '')) as unknown[];
        const snapshot = new Map<string, Map<string, string>>();
        for (let i = 1; i < reply.length; i += 2) {
          const flat = reply[i + 1] as string[];
          const fields = new Map<string, string>();
          for (let j = 0; j < flat.length; j += 2) fields.set(flat[j], flat[j + 1]);
          snapshot.set(String(reply[i]), fields);
        }
        if (this.mirror.finishLoad(Number(reply[0]), snapshot, requestedAt) === 'resync') this.syncAgain = true;
      } while (this.syncAgain);
      if (this.down) contextLog().info('HA context store: Redis connection restored, shared context reloaded');
      this.down = false;
      this.loaded?.();
    } catch {
      this.mirror.markDown();
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => { void this.resync(); }, 500);
    } finally {
      this.syncing = false;
    }
  }

  /** Keeps this replica registered as a user of the store, so clean never deletes what it runs. */
  private async hold(reset: boolean): Promise<void> {
    if (this.cmd?.status !== 'ready') return;
    await this.cmd.nrhaHold(this.key('ctx', 'holders'), this.activeKey(), this.replica, HOLDER_TTL_MS, reset ? '1' : '0')
      .catch(() => undefined);
  }

  private key(...parts: string[]): string {
    return instanceKey(this.options.instance, ...parts);
  }

  private scopeKey(scope: string): string {
    return this.key('ctx', 'scope', scope);
  }

  private activeKey(): string {
    return this.key('ctx', 'active', this.replica);
  }
}

function sha1(text: string): string {
  return crypto.createHash('sha1').update(text, 'utf8').digest('hex');
}

/** The command connection with the store's scripts defined on it. */
type ScriptClient = Redis & {
  nrhaWrite(...args: Array<string | number>): Promise<unknown>;
  nrhaLoad(...args: string[]): Promise<unknown>;
  nrhaDrop(...args: string[]): Promise<string>;
  nrhaHold(...args: Array<string | number>): Promise<number>;
  nrhaRelease(...args: string[]): Promise<number>;
  nrhaClean(...args: Array<string | number>): Promise<number>;
};
