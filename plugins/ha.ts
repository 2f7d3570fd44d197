import { loadConfig, describeConfig, HAConfig } from '../lib/config';
import { ConfigError } from '../lib/errors';
import { requireAccess } from '../lib/admin/auth';
import { healthRoutes } from '../lib/admin/health-routes';
import { observabilityFeature } from '../lib/console/feature';
import { flowSync } from '../lib/sync/feature';
import { sharedContext } from '../lib/context/feature';
import { leaderElection } from '../lib/leader/feature';
import { membership } from '../lib/membership/heartbeat';
import { singletonTypes } from '../lib/singleton/feature';
import { processState } from '../lib/runtime/state';
import { connectRedis } from '../lib/redis/connection';
import { drainBeforeStop } from '../lib/runtime/shutdown';
import { parseQueueOptions } from '../lib/link/settings';
import { ReplicaRuntime } from '../lib/runtime/replica';
import type { FeatureContext, HAFeature, NodeRedApi } from '../lib/runtime/feature';

/**
 * How long a replica keeps serving after SIGTERM with readiness already down: two probe periods of
 * `node-red-ha start` (500 ms). In Kubernetes the preStop sleep covers endpoint removal as well.
 */
const STOP_GRACE_MS = 1000;

/** Started in this order, stopped in reverse. */
const FEATURES: HAFeature[] = [observabilityFeature(), healthRoutes, flowSync, sharedContext, leaderElection, membership, singletonTypes];

export = function haPlugin(RED: NodeRedApi & { plugins: { registerPlugin(id: string, def: object): void } }) {
  RED.plugins.registerPlugin('node-red-ha', {
    type: 'node-red-ha',
    onadd: () => start(RED),
  });
};

function start(RED: NodeRedApi): void {
  const config = resolveConfig(RED);
  const replica = new ReplicaRuntime(config);
  RED.events.on('flows:started', () => { replica.facts.flowsStarted = true; });
  RED.events.on('flows:stopped', () => { replica.facts.flowsStarted = false; });

  const redis = config.enabled && config.redisUrl ? connectRedis(config.redisUrl, `nrha:${config.replica}`) : undefined;
  // ioredis reports every failed reconnect; one line per outage is enough.
  let redisDown = false;
  redis?.on('error', (err: Error) => {
    if (!redisDown) RED.log.warn(`HA Redis unavailable: ${err.message}`);
    redisDown = true;
  });
  redis?.on('ready', () => {
    if (redisDown) RED.log.info('HA Redis connection restored');
    redisDown = false;
  });

  const ctx: FeatureContext = {
    RED,
    config,
    replica,
    redis,
    access: (level) => requireAccess({
      syncToken: config.syncToken,
      adminAuth: Boolean(RED.settings.adminAuth),
      needsPermission: (permission) => RED.auth.needsPermission(permission),
    }, level),
  };

  RED.log.info(describeConfig(config));
  const missing = missingWithoutWrapper(config);
  if (missing) RED.log.warn(missing);
  if (config.enabled && !redis) {
    RED.log.warn('NR_HA_REDIS_URL not set: shared context, leader election, flow storage and log shipping are off');
  }

  const started = FEATURES.map((feature) => Promise.resolve()
    .then(() => feature.start(ctx))
    .catch((err: Error) => RED.log.error(`HA ${feature.name} failed to start: ${err.message}`)));

  // Node-RED stops its flows on these signals and then exits; features stop in reverse order
  // while the flows drain.
  const stop = async () => {
    replica.facts.stopping = true;
    await Promise.all(started);
    for (const feature of [...FEATURES].reverse()) {
      await Promise.resolve().then(() => feature.stop?.())
        .catch((err: Error) => RED.log.warn(`HA ${feature.name} did not stop cleanly: ${err.message}`));
    }
    redis?.disconnect();
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => { void stop(); });

  if (config.enabled) {
    // Readiness drops at the signal and the flows keep serving for a while, so a load balancer
    // that probes /ha/health/ready sees it before Node-RED removes the HTTP routes. Registered
    // after the stop handlers above so they, like Node-RED's, wait for it.
    drainBeforeStop(async () => {
      replica.facts.stopping = true;
      await new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS));
    });
  }
}

/**
 * withHA has normally read and validated the config already. Installed from the palette with an
 * unwrapped settings.js, the plugin reads it itself; invalid HA configuration must still stop the
 * process rather than leave a half-working replica.
 */
function resolveConfig(RED: NodeRedApi): HAConfig {
  const known = processState().config;
  if (known) return known;
  try {
    parseQueueOptions(process.env, RED.settings.haLink);
    return loadConfig(RED.settings.ha);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    RED.log.error(`HA configuration error: ${err.message}`);
    process.exit(1);
  }
}

/** One line naming what HA mode cannot do because settings.js is not wrapped with withHA. */
function missingWithoutWrapper(config: HAConfig): string | undefined {
  if (!config.enabled || processState().wrapped) return undefined;
  return 'HA mode is on but settings.js is not wrapped with withHA: editor not disabled, admin API not ' +
    'read-only, console lines not tagged with the replica. Use module.exports = require("node-red-ha").withHA({...})';
}
