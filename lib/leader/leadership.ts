import { EventEmitter } from 'node:events';

/**
 * How this replica's role is decided: `elected` through the Redis lease; `single` when HA mode
 * is off (one instance, always the leader); `unavailable` when HA is on without Redis (no
 * election possible: every replica acts as the leader, and says so).
 */
export type ElectionMode = 'elected' | 'single' | 'unavailable';

export interface LeadershipState {
  mode: ElectionMode;
  /** This replica is the leader now. */
  leader: boolean;
  /** Term of the current leadership as last seen (null when unknown or not elected). */
  term: number | null;
  /** Replica id of the current leader as last seen in Redis (null when unknown or not elected). */
  leaderId: string | null;
}

/** Whatever decides leadership can answer "leader right now?" more precisely than the last event. */
export interface LeaderCheck {
  isLeader(): boolean;
}

/**
 * The process-wide view of leadership that nodes (`ha gate`) and hooks use. The runtime plugin
 * and the nodes are loaded separately by Node-RED but from one copy of this package, so module
 * scope is process scope. Emits `change` with the new LeadershipState.
 */
class Leadership extends EventEmitter {
  private current: LeadershipState = { mode: 'single', leader: true, term: null, leaderId: null };
  private check?: LeaderCheck;

  state(): LeadershipState {
    return { ...this.current, leader: this.isLeader() };
  }

  /** For gating: asks the election itself, so a lease that ran out counts even before its event. */
  isLeader(): boolean {
    if (this.current.mode !== 'elected') return true;
    return this.check ? this.check.isLeader() : this.current.leader;
  }

  publish(state: LeadershipState, check?: LeaderCheck): void {
    this.current = { ...state };
    this.check = check;
    this.emit('change', this.state());
  }
}

export const leadership = new Leadership();
// Every ha gate node listens; a large flow can have many.
leadership.setMaxListeners(0);
