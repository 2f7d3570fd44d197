/** What one replica last reported about itself to the rollout. */
export interface ReplicaReport {
  id: string;
  /** Revision whose flows it runs; null before its flows first started. */
  revision: number | null;
  phase: ReplicaPhase;
  ready: boolean;
  /** Redis server time (ms) of the last report. */
  seenMs: number;
}

export type ReplicaPhase = 'starting' | 'running' | 'draining' | 'applying' | 'rolling back';

/** Why a rollout stopped, written by the replica whose apply failed. */
export interface RolloutFailure {
  replica: string;
  reason: string;
}

export type RolloutState = 'rolling' | 'done' | 'failed' | 'superseded';

/** GET /ha/sync/<revision>: what `node-red-ha push` follows. */
export interface RolloutStatus {
  revision: number;
  /** Revision the instance ran before this one. */
  from: number | null;
  /** Revision replicas converge to now. */
  head: number | null;
  state: RolloutState;
  /** Set when the state is failed or superseded. */
  reason?: string;
  /** Live replicas only: the ones this rollout waits for. */
  replicas: Array<Omit<ReplicaReport, 'seenMs'> & { lastSeen: string }>;
}

export interface RolloutFacts {
  revision: number;
  from: number | null;
  head: number | null;
  failure: RolloutFailure | null;
  reports: ReplicaReport[];
  nowMs: number;
  /** A replica unheard of for longer is gone and not waited for. */
  liveMs: number;
}

/**
 * A rollout is done when every live replica runs its revision, failed when a replica could not
 * apply it, superseded when a newer push replaced it before it finished, and rolling otherwise
 * (including while no replica is live: one may be starting).
 */
export function rolloutStatus(facts: RolloutFacts): RolloutStatus {
  const live = facts.reports
    .filter((r) => facts.nowMs - r.seenMs <= facts.liveMs)
    .sort((a, b) => a.id.localeCompare(b.id));
  const base = {
    revision: facts.revision,
    from: facts.from,
    head: facts.head,
    replicas: live.map(({ seenMs, ...r }) => ({ ...r, lastSeen: new Date(seenMs).toISOString() })),
  };
  if (facts.failure) {
    return { ...base, state: 'failed', reason: `replica ${facts.failure.replica}: ${facts.failure.reason}` };
  }
  if (live.length > 0 && live.every((r) => r.revision === facts.revision && r.phase === 'running')) {
    return { ...base, state: 'done' };
  }
  if (facts.head !== facts.revision) {
    return { ...base, state: 'superseded', reason: `revision ${facts.head} was pushed before this one finished rolling out` };
  }
  return { ...base, state: 'rolling' };
}
