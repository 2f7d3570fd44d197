import type Redis from 'ioredis';
import { instanceKey } from '../redis/keys';
import type { Snapshot } from './snapshot';

/** A numbered snapshot in Redis. */
export interface Revision extends Snapshot {
  revision: number;
  /** The revision the instance ran when this one was pushed: where a failed rollout returns to. */
  from: number | null;
  createdAt: string;
}

/** Options of {@link RevisionStore}. */
export interface RevisionStoreOptions {
  /** Revisions kept in Redis; older ones are deleted when a new one is published. @default 20 */
  keep?: number;
}

// Reads the head and moves it in one step, so two pushes at once get distinct, ordered revisions
// and each records the head it replaced.
const PUBLISH = `
local from = redis.call('GET', KEYS[1]) or ''
redis.call('HSET', KEYS[2], 'snapshot', ARGV[2], 'from', from, 'createdAt', ARGV[3])
redis.call('SET', KEYS[1], ARGV[1])
return from`;

// Seeding only happens while no revision exists, so replicas starting together agree on one.
const SEED = `
local head = redis.call('GET', KEYS[1])
if head then return head end
redis.call('HSET', KEYS[2], 'snapshot', ARGV[2], 'from', '', 'createdAt', ARGV[3])
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]`;

// Puts back a revision a replica still runs, under its own number, after Redis lost its data; the
// counter moves past it so the next push gets a higher number than anything a replica ran.
const RESTORE = `
local head = redis.call('GET', KEYS[1])
if head then return head end
redis.call('HSET', KEYS[3], 'snapshot', ARGV[2], 'from', ARGV[4], 'createdAt', ARGV[3])
redis.call('SET', KEYS[1], ARGV[1])
if (tonumber(redis.call('GET', KEYS[2])) or 0) < tonumber(ARGV[1]) then redis.call('SET', KEYS[2], ARGV[1]) end
return ARGV[1]`;

const COMPARE_AND_SET = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end
return 0`;

/**
 * The flows of one HA instance in Redis: numbered revisions and the head every replica should run.
 * Keys: `flows:seq` (revision counter), `flows:head`, `flows:rev:<n>` (hash: snapshot, from, createdAt).
 */
export class RevisionStore {
  private readonly keep: number;

  constructor(private readonly redis: Redis, private readonly instance: string, options: RevisionStoreOptions = {}) {
    this.keep = options.keep ?? 20;
  }

  async head(): Promise<number | null> {
    return toRevision(await this.redis.get(this.key('head')));
  }

  async get(revision: number): Promise<Revision | null> {
    const fields = await this.redis.hgetall(this.revKey(revision));
    if (!fields.snapshot) return null;
    const snapshot = JSON.parse(fields.snapshot) as Snapshot;
    return { revision, flows: snapshot.flows, credentials: snapshot.credentials, from: toRevision(fields.from), createdAt: fields.createdAt };
  }

  /** The head revision when it holds exactly `snapshot` (same flows, same encrypted credentials). */
  async headHolding(snapshot: Snapshot): Promise<number | null> {
    const head = await this.head();
    if (head === null) return null;
    return await this.redis.hget(this.revKey(head), 'snapshot') === serialise(snapshot) ? head : null;
  }

  /** Stores a new revision and makes it the head. */
  async publish(snapshot: Snapshot): Promise<{ revision: number; from: number | null }> {
    const revision = await this.redis.incr(this.key('seq'));
    const from = await this.redis.eval(PUBLISH, 2, this.key('head'), this.revKey(revision),
      String(revision), serialise(snapshot), new Date().toISOString()) as string;
    const previous = toRevision(from);
    // The revision a failed rollout returns to must survive however many pushes failed since.
    const stale = revision - this.keep;
    if (stale > 0 && stale !== previous) await this.redis.del(this.revKey(stale));
    return { revision, from: previous };
  }

  /** Stores `snapshot` as the first revision unless one exists; returns the head either way. */
  async seed(snapshot: Snapshot): Promise<number> {
    const head = await this.head();
    if (head !== null) return head;
    const revision = await this.redis.incr(this.key('seq'));
    const result = await this.redis.eval(SEED, 2, this.key('head'), this.revKey(revision),
      String(revision), serialise(snapshot), new Date().toISOString()) as string;
    return Number(result);
  }

  /** Stores `revision` under its number as the head unless a head exists; returns the head either way. */
  async restore(revision: Revision): Promise<number> {
    const result = await this.redis.eval(RESTORE, 3, this.key('head'), this.key('seq'), this.revKey(revision.revision),
      String(revision.revision), serialise(revision), revision.createdAt, revision.from === null ? '' : String(revision.from)) as string;
    return Number(result);
  }

  /** Moves the head from `expected` to `next` only if nobody moved it meanwhile. */
  async moveHead(expected: number, next: number): Promise<boolean> {
    return await this.redis.eval(COMPARE_AND_SET, 1, this.key('head'), String(expected), String(next)) === 1;
  }

  private key(name: string): string {
    return instanceKey(this.instance, 'flows', name);
  }

  private revKey(revision: number): string {
    return instanceKey(this.instance, 'flows', 'rev', String(revision));
  }
}

function serialise(snapshot: Snapshot): string {
  return JSON.stringify({ flows: snapshot.flows, credentials: snapshot.credentials });
}

function toRevision(value: string | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}
