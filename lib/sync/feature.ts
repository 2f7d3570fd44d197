import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FeatureContext, HAFeature } from '../runtime/feature';
import { activeFlowSource, FlowSource } from '../storage/flow-source';
import { localFileSystem } from '../storage/local';
import { credentialKey } from './credentials';
import { SnapshotInvalidError } from './errors';
import { parseRolloutOptions } from './options';
import { Reconciler } from './reconciler';
import { RolloutStore } from './rollout-store';
import { rolloutStatus } from './rollout-status';
import { validateSnapshot } from './snapshot';

/** A replica unheard of for this long is not waited for by a rollout. */
const LIVE_MS = 5000;

type Request = IncomingMessage & { body?: unknown; params: Record<string, string>; is(type: string): string | false | null };
interface Response extends ServerResponse {
  status(code: number): Response;
  json(body: unknown): void;
}
type Handler = (req: Request, res: Response) => Promise<void>;
type Express = { use(...handlers: unknown[]): void };

let reconciler: Reconciler | undefined;

/**
 * Flow sync: POST /ha/sync (validate, store a revision, roll it out), GET /ha/sync/<revision>
 * (rollout progress) and GET /ha/snapshot (any instance), plus the rollout on this replica.
 */
export const flowSync: HAFeature = {
  name: 'flow sync',
  start(ctx) {
    const { RED, config, replica, access } = ctx;
    const source = config.enabled ? activeFlowSource() : undefined;
    const rollouts = source && config.instance ? new RolloutStore(source.redis, config.instance) : undefined;
    if (config.enabled && ctx.redis && !source) RED.log.warn(`HA flow sync off: ${unavailableReason(ctx)}`);
    if (source && rollouts) {
      const inFlight = countHttpRequests(RED as unknown as { httpNode?: Express });
      reconciler = new Reconciler(source, rollouts, replica, inFlight, RED.log, parseRolloutOptions(RED.settings.haRollout));
      reconciler.start();
    }
    const unavailable = (res: Response) => {
      res.status(config.enabled ? 503 : 409).json({ code: 'ha_sync_unavailable', message: unavailableReason(ctx) });
    };

    RED.httpAdmin.get('/ha/snapshot', access('read'), route(async (_req, res) => {
      if (source) {
        const head = await source.store.head();
        const revision = head === null ? null : await source.store.get(head);
        if (!revision) return void res.status(503).json({ code: 'ha_no_revision', message: 'no flow revision in Redis yet' });
        return void res.json({ flows: revision.flows, credentials: revision.credentials, revision: revision.revision });
      }
      if (RED.settings.storageModule) {
        return void res.status(501).json({ code: 'ha_snapshot_unavailable', message: 'GET /ha/snapshot reads Node-RED\'s file storage; this instance uses another storageModule' });
      }
      const local = localFileSystem();
      res.json({ flows: await local.getFlows(), credentials: await local.getCredentials(), revision: null });
    }));

    RED.httpAdmin.post('/ha/sync', access('write'), route(async (req, res) => {
      if (!source || !reconciler) return unavailable(res);
      if (!req.is('application/json')) {
        return void res.status(400).json({ code: 'ha_snapshot_invalid', message: 'send the snapshot as JSON with Content-Type: application/json' });
      }
      const snapshot = validateSnapshot(req.body, validationContext(source));
      // Pipelines may push on every commit: the same flows again must not restart every replica.
      const unchanged = await source.store.headHolding(snapshot);
      if (unchanged !== null) return void res.status(200).json({ revision: unchanged, unchanged: true });
      const { revision, from } = await source.store.publish(snapshot);
      RED.log.info(`HA flow sync: stored revision ${revision} (${snapshot.flows.length} nodes, was ${from ?? 'none'}); rolling it out`);
      reconciler.poke();
      res.status(202).json({ revision, from });
    }));

    RED.httpAdmin.get('/ha/sync/:revision', access('read'), route(async (req, res) => {
      if (!source || !rollouts) return unavailable(res);
      const wanted = Number(req.params.revision);
      if (!Number.isSafeInteger(wanted) || wanted < 1) {
        return void res.status(400).json({ code: 'ha_bad_revision', message: `revision must be a positive whole number, got "${req.params.revision}"` });
      }
      const revision = await source.store.get(wanted);
      if (!revision) return void res.status(404).json({ code: 'ha_no_revision', message: `revision ${wanted} is not in Redis` });
      const [head, failure, { nowMs, reports }] = await Promise.all([source.store.head(), rollouts.failure(wanted), rollouts.reports()]);
      res.json(rolloutStatus({ revision: wanted, from: revision.from, head, failure, reports, nowMs, liveMs: LIVE_MS }));
    }));

    // The admin API's JSON parser runs in the editor API's app, which mounts the plugins' app
    // (Express sets `parent` on a mounted app); its errors only reach error handlers there and
    // would otherwise go to the client as Express's HTML error page.
    const adminApp = RED.httpAdmin as unknown as Express & { parent?: Express };
    (adminApp.parent ?? adminApp).use('/ha/sync', (err: { type?: string; message?: string; limit?: number }, _req: Request, res: Response, next: (err?: unknown) => void) => {
      if (err?.type === 'entity.too.large') {
        return res.status(413).json({
          code: 'ha_snapshot_too_large',
          message: `the snapshot is larger than the admin API accepts (${err.limit} bytes): raise apiMaxLength in settings.js (default 5mb)`,
        });
      }
      if (err?.type === 'entity.parse.failed') {
        return res.status(400).json({ code: 'ha_snapshot_invalid', message: `the body is not valid JSON: ${err.message}` });
      }
      next(err);
    });
  },
  async stop() {
    await reconciler?.stop();
    reconciler = undefined;
  },
};

function validationContext(source: FlowSource) {
  const runtime = source.runtime;
  return {
    isKnownType: (type: string) => Boolean(runtime.nodes.getType(type)),
    key: credentialKey((name) => runtime.settings.get(name)),
    ha: true,
  };
}

function unavailableReason({ config, redis }: FeatureContext): string {
  if (!config.enabled) return 'HA mode is off on this instance: push to an HA instance (NR_HA_ENABLED=true)';
  if (!redis) return 'flow sync keeps revisions in Redis: set NR_HA_REDIS_URL';
  return 'the flow storage module is not installed: wrap settings.js with require("node-red-ha").withHA({...}) and do not set storageModule';
}

/** Counts the HTTP requests the flows are serving, so a draining replica can wait for them. */
function countHttpRequests(RED: { httpNode?: Express }): () => number {
  let open = 0;
  RED.httpNode?.use((_req: IncomingMessage, res: ServerResponse, next: () => void) => {
    open++;
    res.once('close', () => { open--; });
    next();
  });
  return () => open;
}

function route(handler: Handler) {
  return (req: Request, res: Response) => {
    handler(req, res).catch((err: Error) => {
      if (err instanceof SnapshotInvalidError) {
        return res.status(400).json({ code: err.code, message: err.message, problems: err.problems, missingTypes: err.missingTypes });
      }
      res.status(500).json({ code: 'ha_sync_error', message: err.message });
    });
  };
}
