import { Histogram } from 'prom-client';
import { haMetrics } from './registry';

/**
 * How long a flow rollout took on this replica, from "not ready" to "ready on the new revision"
 * (or back on the old one). The rollout code observes it: `const end = rolloutDuration.startTimer(); … end()`.
 */
export const rolloutDuration = new Histogram({
  name: 'nrha_rollout_duration_seconds',
  help: 'Duration of flow rollouts on this replica, from leaving readiness to being ready again',
  buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  registers: [haMetrics],
});
