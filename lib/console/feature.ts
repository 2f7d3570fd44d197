import fs from 'node:fs';
import path from 'node:path';
import type { EventEmitter } from 'node:events';
import { isLevelName, LevelName } from '../logs/entry';
import { logCollector } from '../logs/collector';
import { LogQueryError, parseLogQuery, queryLogs, redisLogSource } from '../logs/query';
import { LocalLogRing } from '../logs/ring';
import { LogShipper } from '../logs/shipper';
import { haMetrics } from '../metrics/registry';
// Registered here too so /ha/metrics lists the rollout histogram before the first rollout observes it.
import '../metrics/rollout';
import { registerReplicaMetrics } from '../metrics/replica-metrics';
import { instanceKey } from '../redis/keys';
import type { FeatureContext, HAFeature } from '../runtime/feature';

/** The console page's files, served from memory with their content types. */
const PAGE_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

/** The page runs only its own script and talks only to this origin; log text can never become markup or code. */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

const HOOK_ID = 'onComplete.node-red-ha-metrics';

/**
 * Log shipping and the routes to look at the instance: GET /ha/logs (combined logs),
 * GET /ha/metrics (Prometheus) and GET /ha/ (the HA console page).
 */
export function observabilityFeature(): HAFeature {
  let handler: EventEmitter | undefined;
  let shipper: LogShipper | undefined;
  let ctx: FeatureContext | undefined;

  return {
    name: 'logs, metrics and console',
    start(context) {
      ctx = context;
      const { RED, config, replica, redis } = context;
      const ring = new LocalLogRing();
      const streamKey = instanceKey(config.instance ?? config.replica, 'logs');
      if (redis) {
        shipper = new LogShipper(redis, {
          streamKey,
          // The warning goes through the logger, so it must not be raised from inside it.
          onDropping: () => setImmediate(() => RED.log.warn('HA log shipping: Redis is slow or down and the log buffer is full; dropping the oldest entries (see nrha_log_entries_dropped_total)')),
        });
      }
      const logging = RED.settings.logging as { console?: { level?: string } } | undefined;
      const consoleLevel = logging?.console?.level;
      const threshold: LevelName = consoleLevel && isLevelName(consoleLevel) ? consoleLevel : 'info';
      handler = logCollector({ replica: config.replica, threshold, ring, shipper });
      RED.log.addHandler(handler);

      const shipping = shipper;
      const messages = registerReplicaMetrics({
        replica: config.replica,
        status: () => replica.status(),
        logs: shipping ? () => ({ shipped: shipping.shipped, dropped: shipping.dropped, buffered: shipping.buffered }) : undefined,
      });
      RED.hooks.add(HOOK_ID, messages.handled);

      RED.httpAdmin.get('/ha/logs', context.access('read'), async (req: Request, res: Response) => {
        try {
          const query = parseLogQuery(req.query);
          if (!redis) {
            res.json({ source: 'local', ...await queryLogs(ring, query) });
            return;
          }
          try {
            res.json({ source: 'redis', ...await queryLogs(redisLogSource(redis, streamKey), query) });
          } catch (err) {
            res.json({
              source: 'local',
              warning: `Redis unavailable (${(err as Error).message}): showing replica ${config.replica}'s recent entries only`,
              ...await queryLogs(ring, query),
            });
          }
        } catch (err) {
          // An async express 4 handler must answer every error itself: a rejection would escape it.
          if (err instanceof LogQueryError) res.status(400).json({ code: err.code, param: err.param, message: err.message });
          else res.status(500).json({ code: 'ha_logs_failed', message: `reading logs failed: ${(err as Error).message}` });
        }
      });

      RED.httpAdmin.get('/ha/metrics', context.access('read'), async (_req: Request, res: Response) => {
        try {
          const text = await haMetrics.metrics();
          res.set('Content-Type', haMetrics.contentType);
          res.send(text);
        } catch (err) {
          res.status(500).json({ code: 'ha_metrics_failed', message: `collecting metrics failed: ${(err as Error).message}` });
        }
      });

      const pageDir = path.join(__dirname, 'page');
      const files = new Map(Object.entries(PAGE_FILES).map(([name, type]) => [name, { type, body: fs.readFileSync(path.join(pageDir, name)) }]));
      const serve = (name: string) => (req: Request, res: Response) => {
        // Express also routes /ha here; the page's relative URLs need the trailing slash.
        if (name === 'index.html' && !req.originalUrl.split('?')[0].endsWith('/')) {
          res.redirect(301, `${req.originalUrl.split('?')[0]}/`);
          return;
        }
        const file = files.get(name)!;
        res.set({ ...PAGE_HEADERS, 'Content-Type': file.type });
        res.send(file.body);
      };
      RED.httpAdmin.get('/ha/', serve('index.html'));
      RED.httpAdmin.get('/ha/console.js', serve('console.js'));
      RED.httpAdmin.get('/ha/console.css', serve('console.css'));
    },
    async stop() {
      ctx?.RED.hooks.remove(HOOK_ID);
      await shipper?.close();
      if (handler) ctx?.RED.log.removeHandler(handler);
    },
  };
}

/** The parts of express's request and response these routes use. */
interface Request {
  query: Record<string, unknown>;
  originalUrl: string;
}
interface Response {
  status(code: number): Response;
  json(body: unknown): void;
  set(field: string | Record<string, string>, value?: string): void;
  send(body: string | Buffer): void;
  redirect(status: number, url: string): void;
}
