import { Registry } from 'prom-client';

/**
 * The one Prometheus registry of this process. Every feature registers its metrics here (never on
 * prom-client's global default registry, which a user's own flows may use) and GET /ha/metrics
 * serves it.
 */
export const haMetrics = new Registry();
