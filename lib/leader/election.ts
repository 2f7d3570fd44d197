import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type Redis from 'ioredis';
import { instanceKey } from '../redis/keys';
import { followerDelay, LeaseClock, LeaseTiming, leaseTiming, parseHolder } from './lease';
import { ACQUIRE, RELEASE, RENEW } from './scripts';

export interface ElectionOptions {
  /** Instance id: one lease per instance. */
  instance: string;
  /** This replica's id, stored in the lease so every replica can name the leader. */
  replica: string;
  /** Lease length (NR_HA_LEASE_MS). */
  leaseMs: number;
}

/** What the election knows; emitted as `change` whenever any field changes. */
export interface ElectionState {
  leader: boolean;
  term: number | null;
  leaderId: string | null;
  /** Why this replica stopped being the leader, on the change that ended it. */
  reason?: string;
}

type LeaseClient = Redis & {
  nrhaLeaseAcquire(lease: string, term: string, replica: string, token: string, ms: number, seen: number): Promise<[number, string, number]>;
  nrhaLeaseRenew(lease: string, value: string, ms: number): Promise<number>;
  nrhaLeaseRelease(lease: string, value: string): Promise<number>;
};

/**
 * Leader election for one replica: acquires the instance's lease when it is free, renews it every
 * leaseMs/3 while leader, and steps down locally when it could not renew by
 * `leaseMs - safetyMs` after the last successful renewal (see lease.ts).
 */
export class LeaderElection extends EventEmitter {
  private readonly timing: LeaseTiming;
  private readonly clock: LeaseClock;
  private readonly client: LeaseClient;
  private readonly token = crypto.randomBytes(8).toString('hex');
  private readonly leaseKey: string;
  private readonly termKey: string;
  /** The lease value while this replica holds (or last held) it. */
  private value?: string;
  private highestTerm = 0;
  private state: ElectionState = { leader: false, term: null, leaderId: null };
  private timer?: NodeJS.Timeout;
  private stepDownTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(redis: Redis, private readonly options: ElectionOptions) {
    super();
    this.timing = leaseTiming(options.leaseMs);
    this.clock = new LeaseClock(this.timing);
    this.client = redis as LeaseClient;
    this.client.defineCommand('nrhaLeaseAcquire', { lua: ACQUIRE, numberOfKeys: 2 });
    this.client.defineCommand('nrhaLeaseRenew', { lua: RENEW, numberOfKeys: 1 });
    this.client.defineCommand('nrhaLeaseRelease', { lua: RELEASE, numberOfKeys: 1 });
    this.leaseKey = instanceKey(options.instance, 'leader');
    this.termKey = instanceKey(options.instance, 'leader', 'term');
  }

  start(): void {
    this.schedule(0);
  }

  /** True only while the lease is locally valid: checked at each use, not just on timer events. */
  isLeader(): boolean {
    return this.state.leader && this.clock.valid(performance.now());
  }

  current(): ElectionState {
    return { ...this.state, leader: this.isLeader() };
  }

  /** Stops taking part; a leader gives the lease up so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.stepDownTimer);
    if (this.state.leader && this.value) {
      this.update({ leader: false, term: this.state.term, leaderId: null, reason: 'stopping' });
      await this.client.nrhaLeaseRelease(this.leaseKey, this.value).catch(() => undefined);
    }
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { void this.tick(); }, delay);
  }

  private async tick(): Promise<void> {
    if (this.state.leader) await this.renew();
    else await this.acquire();
  }

  private async renew(): Promise<void> {
    const sentAt = performance.now();
    let renewed: number;
    try {
      renewed = await this.bounded(this.client.nrhaLeaseRenew(this.leaseKey, this.value as string, this.timing.leaseMs));
    } catch {
      // Keep trying while the lease is locally valid; the step-down timer ends it otherwise.
      return this.schedule(this.timing.retryMs);
    }
    if (this.stopped || !this.state.leader) return;
    if (renewed !== 1) {
      this.stepDown('the lease was taken over');
      return this.schedule(0);
    }
    this.clock.granted(sentAt);
    this.armStepDown();
    this.schedule(this.timing.renewMs);
  }

  private async acquire(): Promise<void> {
    const sentAt = performance.now();
    let reply: [number, string, number];
    try {
      reply = await this.bounded(this.client.nrhaLeaseAcquire(this.leaseKey, this.termKey, this.options.replica, this.token,
        this.timing.leaseMs, this.highestTerm));
    } catch {
      if (this.state.leaderId !== null) this.update({ leader: false, term: this.state.term, leaderId: null });
      return this.schedule(this.timing.retryMs);
    }
    if (this.stopped) return;
    const [won, value, third] = reply;
    if (won === 1) {
      this.value = value;
      this.highestTerm = Math.max(this.highestTerm, Number(third));
      this.clock.granted(sentAt);
      this.update({ leader: true, term: Number(third), leaderId: this.options.replica });
      this.armStepDown();
      return this.schedule(this.timing.renewMs);
    }
    const holder = parseHolder(value);
    if (holder) this.highestTerm = Math.max(this.highestTerm, holder.term);
    if (holder && holder.replica === this.options.replica && holder.token === this.token) {
      // Still our lease in Redis (we stepped down only locally, or the reply to our acquisition
      // was lost): renewing it keeps the same term.
      this.value = value;
      return this.renewReclaimed(holder.term);
    }
    if (holder && (holder.replica !== this.state.leaderId || holder.term !== this.state.term)) {
      this.update({ leader: false, term: holder.term, leaderId: holder.replica });
    }
    this.schedule(followerDelay(this.timing, Number(third)));
  }

  private async renewReclaimed(term: number): Promise<void> {
    const sentAt = performance.now();
    const renewed = await this.bounded(this.client.nrhaLeaseRenew(this.leaseKey, this.value as string, this.timing.leaseMs)).catch(() => 0);
    if (renewed === 1 && !this.stopped) {
      this.clock.granted(sentAt);
      this.update({ leader: true, term, leaderId: this.options.replica });
      this.armStepDown();
      return this.schedule(this.timing.renewMs);
    }
    this.schedule(this.timing.retryMs);
  }

  /**
   * A reply that takes longer than a renewal period is treated as a failure, so a stalled
   * connection never stops the schedule (the lease scripts are safe to repeat).
   */
  private bounded<T>(command: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('Redis did not answer in time')), this.timing.renewMs);
    });
    return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
  }

  /** Fires when local validity ends without a renewal, so the change is reported on time. */
  private armStepDown(): void {
    clearTimeout(this.stepDownTimer);
    this.stepDownTimer = setTimeout(() => {
      if (!this.state.leader) return;
      // Timers run on libuv's millisecond clock and can fire a fraction early by performance.now():
      // check again rather than miss the step-down.
      if (this.clock.valid(performance.now())) return this.armStepDown();
      this.stepDown(`the lease could not be renewed within ${this.timing.leaseMs - this.timing.safetyMs} ms`);
      this.schedule(this.timing.retryMs);
    }, this.clock.remaining(performance.now()) + 1);
  }

  private stepDown(reason: string): void {
    this.clock.revoke();
    clearTimeout(this.stepDownTimer);
    this.update({ leader: false, term: this.state.term, leaderId: null, reason });
  }

  private update(next: ElectionState): void {
    this.state = { leader: next.leader, term: next.term, leaderId: next.leaderId };
    this.emit('change', { ...next });
  }
}
