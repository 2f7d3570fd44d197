import { Counter, Gauge } from 'prom-client';
import { haMetrics } from '../metrics/registry';

export const leaderMetrics = {
  isLeader: new Gauge({ name: 'nrha_leader_is_leader', help: 'Whether this replica is the leader of its instance (1) or not (0)', registers: [haMetrics] }),
  term: new Gauge({ name: 'nrha_leader_term', help: 'Term of the leadership this replica last saw', registers: [haMetrics] }),
  changes: new Counter({ name: 'nrha_leader_changes_total', help: 'Times this replica became or stopped being the leader', registers: [haMetrics] }),
};
