import { Counter } from 'prom-client';
import { haMetrics } from '../metrics/registry';

export const singletonDropped = new Counter({
  name: 'nrha_singleton_dropped_total',
  help: 'Sends of singleton node types dropped because this replica is not the leader, by node type',
  labelNames: ['type'],
  registers: [haMetrics],
});
