/**
 * Where link nodes get their configuration: the HAConfig withHA already validated (or, on an
 * unwrapped settings.js, read here), plus the link queue limits from `NR_HA_LINK_*` / `settings.haLink`.
 */
import { HAConfig, loadConfig } from '../config';
import { ConfigError } from '../errors';
import { processState } from '../runtime/state';
import type { LinkConnectionOptions } from './connection';
import { DEFAULT_OUTBOUND, OutboundOptions } from './outbound';

/** The settings.js `haLink` block. */
export interface LinkSettingsBlock {
  /** Most messages waiting for the broker per runtime. Env `NR_HA_LINK_QUEUE_MESSAGES`. @default 100000 */
  queueMessages?: number | string;
  /** Most payload bytes waiting for the broker per runtime. Env `NR_HA_LINK_QUEUE_BYTES`. @default 67108864 */
  queueBytes?: number | string;
  /** How long a message may wait for the broker before its node reports an error. Env `NR_HA_LINK_QUEUE_TIMEOUT_MS`. @default 60000 */
  queueTimeoutMs?: number | string;
}

const LIMITS: Array<{ key: keyof LinkSettingsBlock; env: string; field: keyof OutboundOptions; min: number; max: number }> = [
  { key: 'queueMessages', env: 'NR_HA_LINK_QUEUE_MESSAGES', field: 'maxMessages', min: 1, max: 10_000_000 },
  { key: 'queueBytes', env: 'NR_HA_LINK_QUEUE_BYTES', field: 'maxBytes', min: 1024, max: 16 * 1024 ** 3 },
  { key: 'queueTimeoutMs', env: 'NR_HA_LINK_QUEUE_TIMEOUT_MS', field: 'deadlineMs', min: 100, max: 24 * 3600 * 1000 },
];

export interface LinkSettings {
  config: HAConfig;
  /** The instance id link topics use; undefined when none is configured (link nodes then refuse to start). */
  instance?: string;
  connection: LinkConnectionOptions;
}

/** The HA configuration this process runs with: withHA's when it ran, else read from settings. */
export function runtimeConfig(settings: { ha?: unknown }): HAConfig {
  return processState().config ?? loadConfig(settings.ha);
}

/** Queue limits: environment over `settings.haLink` over the defaults. Throws ConfigError naming a bad value. */
export function parseQueueOptions(env: Record<string, string | undefined>, block: unknown): OutboundOptions {
  if (block !== undefined && (block === null || typeof block !== 'object' || Array.isArray(block))) {
    throw new ConfigError('settings.haLink', 'settings.haLink must be an object');
  }
  const settings = (block ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(settings)) {
    if (!LIMITS.some((l) => l.key === key)) {
      throw new ConfigError(`settings.haLink.${key}`, `settings.haLink.${key} is not a link setting; known keys: ${LIMITS.map((l) => l.key).join(', ')}`);
    }
  }
  const options = { ...DEFAULT_OUTBOUND };
  for (const limit of LIMITS) {
    const fromEnv = env[limit.env];
    const source = fromEnv !== undefined && fromEnv !== '' ? limit.env : settings[limit.key] !== undefined ? `settings.haLink.${limit.key}` : undefined;
    if (!source) continue;
    const raw = source === limit.env ? fromEnv : settings[limit.key];
    const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
    if (!/^\d+$/.test(text) || Number(text) < limit.min || Number(text) > limit.max) {
      throw new ConfigError(source, `${source} must be a whole number from ${limit.min} to ${limit.max}, got ${JSON.stringify(raw)}`);
    }
    (options[limit.field] as number) = Number(text);
  }
  return options;
}

/** Everything a link node needs to join the runtime's connection. Throws ConfigError for bad configuration. */
export function linkSettings(settings: { ha?: unknown; haLink?: unknown }, env: Record<string, string | undefined> = process.env): LinkSettings {
  const config = runtimeConfig(settings);
  const instance = config.instance;
  return {
    config,
    instance,
    connection: {
      url: config.mqttUrl,
      username: config.mqttUsername,
      password: config.mqttPassword,
      ha: config.enabled,
      clientId: `nrha:${config.team}:${instance ?? 'none'}:${config.replica}`,
      queue: parseQueueOptions(env, settings.haLink),
      userProperties: { _projectID: instance ?? '', _applicationID: '' },
    },
  };
}
