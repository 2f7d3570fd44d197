import type { HAFeature } from '../runtime/feature';

/** GET /ha/health/live, /ha/health/ready (no auth: they are probes) and GET /ha/status. */
export const healthRoutes: HAFeature = {
  name: 'health routes',
  start({ RED, replica, access }) {
    RED.httpAdmin.get('/ha/health/live', (_req: unknown, res: JsonResponse) => {
      res.json({ live: true, replica: replica.config.replica });
    });
    RED.httpAdmin.get('/ha/health/ready', (_req: unknown, res: JsonResponse) => {
      const { ready, reason } = replica.readiness();
      res.status(ready ? 200 : 503).json({ ready, replica: replica.config.replica, ...(reason ? { reason } : {}) });
    });
    RED.httpAdmin.get('/ha/status', access('read'), (_req: unknown, res: JsonResponse) => {
      res.json(replica.status());
    });
  },
};

interface JsonResponse {
  status(code: number): JsonResponse;
  json(body: unknown): void;
}
