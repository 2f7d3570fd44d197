import type { HAConfig } from '../config';
import { decideReadiness, Readiness, ReadinessFacts } from './readiness';

/** One row of the replica table in /ha/status. */
export interface ReplicaRow {
  id: string;
  revision: number | null;
  ready: boolean;
  leader: boolean;
  lastSeen: string;
}

export interface StatusReport {
  instance: string | null;
  replica: string;
  ha: boolean;
  leader: string | null;
  revision: number | null;
  replicas: ReplicaRow[];
}

/** This replica's own view of itself: readiness facts, role and revision. */
export class ReplicaRuntime {
  readonly facts: ReadinessFacts = { flowsStarted: false, rollingOut: false, stopping: false };
  /** Flow revision this replica runs, once flows come from the shared store. */
  revision: number | null = null;
  leader = false;
  /** Leader replica id as last read from Redis; undefined when there is no election (HA off or no Redis). */
  leaderId?: string | null;
  /** The other replicas of the instance as last read from the membership table in Redis. */
  peers: ReplicaRow[] = [];

  constructor(readonly config: HAConfig) {}

  readiness(): Readiness {
    return decideReadiness(this.facts);
  }

  ownRow(now = new Date()): ReplicaRow {
    return {
      id: this.config.replica,
      revision: this.revision,
      ready: this.readiness().ready,
      leader: this.leader,
      lastSeen: now.toISOString(),
    };
  }

  status(): StatusReport {
    return {
      instance: this.config.instance ?? null,
      replica: this.config.replica,
      ha: this.config.enabled,
      leader: this.leaderId !== undefined ? this.leaderId : this.leader ? this.config.replica : null,
      revision: this.revision,
      replicas: [this.ownRow(), ...this.peers.filter((p) => p.id !== this.config.replica)].sort((a, b) => a.id.localeCompare(b.id)),
    };
  }
}
