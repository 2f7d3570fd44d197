/**
 * Timing of the leader lease, apart from Redis I/O so it can be tested without servers.
 *
 * Redis starts a lease's time-to-live when it runs the command, which is after the client sent
 * it; so a lease granted by a command sent at `sentAt` lasts at least until `sentAt + leaseMs`.
 * The leader counts itself leader only until `sentAt + leaseMs - safetyMs` of its last successful
 * renewal: it steps down locally before any other replica could take the lease over, and the
 * margin absorbs clock-rate differences and the time between a check and the send it allows.
 */
export interface LeaseTiming {
  /** Lease length (NR_HA_LEASE_MS). */
  leaseMs: number;
  /** The leader renews this often: three chances before the lease could run out. */
  renewMs: number;
  /** Local validity ends this long before the lease could expire in Redis. */
  safetyMs: number;
  /** After a failed renewal or acquisition, the next try comes this soon. */
  retryMs: number;
}

export function leaseTiming(leaseMs: number): LeaseTiming {
  return {
    leaseMs,
    renewMs: Math.floor(leaseMs / 3),
    safetyMs: Math.max(100, Math.floor(leaseMs / 5)),
    retryMs: Math.max(50, Math.floor(leaseMs / 10)),
  };
}

/** The leader's own view of its lease, on a monotonic clock. */
export class LeaseClock {
  private validUntil = -Infinity;

  constructor(private readonly timing: LeaseTiming) {}

  /** A command sent at `sentAt` acquired or renewed the lease. */
  granted(sentAt: number): void {
    this.validUntil = Math.max(this.validUntil, sentAt + this.timing.leaseMs - this.timing.safetyMs);
  }

  revoke(): void {
    this.validUntil = -Infinity;
  }

  valid(now: number): boolean {
    return now < this.validUntil;
  }

  /** Milliseconds until local validity ends (0 when it has). */
  remaining(now: number): number {
    return Math.max(0, this.validUntil - now);
  }
}

/**
 * When a follower tries again after seeing the lease held with `holderTtlMs` left: right after it
 * can expire (so a dead leader is replaced within about one lease), and at least every renewMs so
 * the follower notices a new leader.
 */
export function followerDelay(timing: LeaseTiming, holderTtlMs: number): number {
  if (holderTtlMs < 0) return timing.retryMs;
  return Math.min(holderTtlMs + 5, timing.renewMs);
}

/** The lease value: `<replica> <token> <term>`; replica ids have no spaces. */
export interface LeaseHolder {
  replica: string;
  token: string;
  term: number;
}

export function parseHolder(value: string): LeaseHolder | undefined {
  const parts = value.split(' ');
  if (parts.length !== 3 || !/^\d+$/.test(parts[2])) return undefined;
  return { replica: parts[0], token: parts[1], term: Number(parts[2]) };
}
