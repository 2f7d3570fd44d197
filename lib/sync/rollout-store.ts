import type Redis from 'ioredis';
import { instanceKey } from '../redis/keys';
import type { ReplicaReport, RolloutFailure } from './rollout-status';

// Stamped with Redis server time so replicas on hosts with drifting clocks agree on who is live.
const REPORT = `
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ms, ARGV[1])
return ms`;

const LIST = `
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {ms, redis.call('HGETALL', KEYS[1]), redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')}`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/**
 * Rollout coordination in Redis: each replica's report (`flows:replicas`, `flows:seen`), the
 * failure record of a revision (`flows:failed:<n>`) and the lock that lets one replica at a time
 * apply (`flows:lock`).
 */
export class RolloutStore {
  constructor(private readonly redis: Redis, private readonly instance: string) {}

  async report(report: Omit<ReplicaReport, 'seenMs'>): Promise<void> {
    await this.redis.eval(REPORT, 2, this.key('replicas'), this.key('seen'), report.id, JSON.stringify(report));
  }

  async forget(replica: string): Promise<void> {
    await this.redis.multi().hdel(this.key('replicas'), replica).zrem(this.key('seen'), replica).exec();
  }

  async reports(): Promise<{ nowMs: number; reports: ReplicaReport[] }> {
    const [nowMs, fields, seen] = await this.redis.eval(LIST, 2, this.key('replicas'), this.key('seen')) as [number, string[], string[]];
    const seenMs = new Map<string, number>();
    for (let i = 0; i < seen.length; i += 2) seenMs.set(seen[i], Number(seen[i + 1]));
    const reports: ReplicaReport[] = [];
    for (let i = 0; i < fields.length; i += 2) {
      const id = fields[i];
      reports.push({ ...JSON.parse(fields[i + 1]), id, seenMs: seenMs.get(id) ?? 0 });
    }
    return { nowMs, reports };
  }

  async fail(revision: number, failure: RolloutFailure): Promise<void> {
    await this.redis.hset(this.failedKey(revision), 'replica', failure.replica, 'reason', failure.reason);
  }

  async failure(revision: number): Promise<RolloutFailure | null> {
    const fields = await this.redis.hgetall(this.failedKey(revision));
    return fields.replica ? { replica: fields.replica, reason: fields.reason } : null;
  }

  async acquire(owner: string, ttlMs: number): Promise<boolean> {
    return await this.redis.set(this.key('lock'), owner, 'PX', ttlMs, 'NX') === 'OK';
  }

  async renew(owner: string, ttlMs: number): Promise<boolean> {
    return await this.redis.eval(RENEW, 1, this.key('lock'), owner, String(ttlMs)) === 1;
  }

  async release(owner: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key('lock'), owner);
  }

  private key(name: string): string {
    return instanceKey(this.instance, 'flows', name);
  }

  private failedKey(revision: number): string {
    return instanceKey(this.instance, 'flows', 'failed', String(revision));
  }
}
