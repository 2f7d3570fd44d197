import type { LeadershipState } from './leadership';

/** Which replicas an `ha gate` node lets messages through on. */
export type GateMode = 'leader' | 'followers';

export function parseGateMode(value: unknown): GateMode {
  return value === 'followers' ? 'followers' : 'leader';
}

export function gatePasses(mode: GateMode, isLeader: boolean): boolean {
  return mode === 'leader' ? isLeader : !isLeader;
}

export interface NodeStatus {
  fill: 'green' | 'grey' | 'yellow';
  shape: 'dot' | 'ring';
  text: string;
}

/** The node status that shows this replica's role and whether the gate is open. */
export function gateStatus(mode: GateMode, state: LeadershipState): NodeStatus {
  const passing = gatePasses(mode, state.leader) ? 'passing' : 'blocking';
  if (state.mode === 'single') return { fill: 'green', shape: 'dot', text: `leader (HA off: single instance), ${passing}` };
  if (state.mode === 'unavailable') return { fill: 'yellow', shape: 'ring', text: `no leader election: Redis not configured (acts as leader), ${passing}` };
  if (state.leader) return { fill: 'green', shape: 'dot', text: `leader${state.term !== null ? ` (term ${state.term})` : ''}, ${passing}` };
  const of = state.leaderId ? ` (leader: ${state.leaderId})` : ' (no leader yet)';
  return { fill: 'grey', shape: 'ring', text: `follower${of}, ${passing}` };
}
