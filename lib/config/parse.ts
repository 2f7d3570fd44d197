import { ConfigError } from '../errors';
import {
  DEFAULT_LEASE_MS, DEFAULT_MQTT_URL, DEFAULT_SINGLETON_TYPES, DEFAULT_TEAM, ENV_NAMES,
  HAConfig, HASettingsBlock, MAX_LEASE_MS, MIN_LEASE_MS,
} from './options';

/** Instance, replica and team ids: safe in Redis keys, MQTT topics and share group names. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export interface ConfigSources {
  /** Usually `process.env`. */
  env: Record<string, string | undefined>;
  /** The settings.js `ha` block, if any. */
  block?: unknown;
  /** Fallback replica id (the pod name in Kubernetes). */
  hostname: string;
}

interface RawValue {
  value: unknown;
  /** How to name the value's origin to a user: the variable or the settings key. */
  source: string;
}

/**
 * Merges the environment over the settings `ha` block and validates every field.
 * Pure: the same sources always give the same config or the same ConfigError.
 */
export function parseConfig({ env, block, hostname }: ConfigSources): HAConfig {
  const settings = checkBlock(block);
  const raw = (field: keyof HAConfig): RawValue | undefined => {
    const fromEnv = env[ENV_NAMES[field]];
    // An empty variable is how orchestrators express "unset"; fall through to settings.
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: ENV_NAMES[field] };
    if (settings[field] !== undefined) return { value: settings[field], source: `settings.ha.${field}` };
    return undefined;
  };

  const enabled = parseBoolean(raw('enabled'));
  const instance = parseId(raw('instance'), undefined);
  if (enabled && !instance) {
    throw new ConfigError(ENV_NAMES.instance,
      `${ENV_NAMES.instance} is required when HA mode is on (${ENV_NAMES.enabled}=true); set it to the instance id, e.g. "orders"`);
  }
  return {
    enabled,
    instance,
    replica: parseId(raw('replica'), hostname) as string,
    redisUrl: parseUrl(raw('redisUrl'), ['redis:', 'rediss:']),
    mqttUrl: parseUrl(raw('mqttUrl'), ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:']) ?? DEFAULT_MQTT_URL,
    mqttUsername: parseString(raw('mqttUsername')),
    mqttPassword: parseSecret(raw('mqttPassword')),
    team: parseId(raw('team'), DEFAULT_TEAM) as string,
    syncToken: parseSecret(raw('syncToken')),
    logFormat: parseChoice(raw('logFormat'), ['text', 'json'] as const, 'text'),
    singletonTypes: parseTypeList(raw('singletonTypes')),
    leaseMs: parseInteger(raw('leaseMs'), DEFAULT_LEASE_MS, MIN_LEASE_MS, MAX_LEASE_MS),
  };
}

function checkBlock(block: unknown): HASettingsBlock {
  if (block === undefined || block === null) return {};
  if (typeof block !== 'object' || Array.isArray(block)) {
    throw new ConfigError('settings.ha', `settings.ha must be an object, got ${describe(block)}`);
  }
  for (const key of Object.keys(block)) {
    if (!(key in ENV_NAMES)) {
      throw new ConfigError(`settings.ha.${key}`,
        `settings.ha.${key} is not an HA setting; known keys: ${Object.keys(ENV_NAMES).join(', ')}`);
    }
  }
  return block as HASettingsBlock;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function parseBoolean(raw: RawValue | undefined): boolean {
  if (!raw) return false;
  if (typeof raw.value === 'boolean') return raw.value;
  const text = String(raw.value).trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(text)) return true;
  if (['false', '0', 'no', 'off'].includes(text)) return false;
  throw new ConfigError(raw.source, `${raw.source} must be true/1 or false/0, got ${describe(raw.value)}`);
}

function parseString(raw: RawValue | undefined): string | undefined {
  if (!raw) return undefined;
  if (typeof raw.value !== 'string') {
    throw new ConfigError(raw.source, `${raw.source} must be a string, got ${describe(raw.value)}`);
  }
  return raw.value;
}

/** Like parseString, but the value never appears in the error. */
function parseSecret(raw: RawValue | undefined): string | undefined {
  if (!raw) return undefined;
  if (typeof raw.value !== 'string') {
    throw new ConfigError(raw.source, `${raw.source} must be a string (value not shown: it is a secret)`);
  }
  return raw.value;
}

function parseId(raw: RawValue | undefined, fallback: string | undefined): string | undefined {
  if (!raw) return fallback;
  if (typeof raw.value !== 'string' || !ID_PATTERN.test(raw.value)) {
    throw new ConfigError(raw.source,
      `${raw.source} must be 1-64 characters of A-Z a-z 0-9 _ . : -, got ${describe(raw.value)}`);
  }
  return raw.value;
}

function parseUrl(raw: RawValue | undefined, protocols: string[]): string | undefined {
  if (!raw) return undefined;
  const text = parseString(raw) as string;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(raw.source, `${raw.source} is not a valid URL: ${JSON.stringify(redactUrl(text))}`);
  }
  if (!protocols.includes(url.protocol) || !url.hostname) {
    throw new ConfigError(raw.source,
      `${raw.source} must be a ${protocols.map((p) => p + '//host').join(' or ')} URL, got ${JSON.stringify(redactUrl(text))}`);
  }
  return text;
}

function parseChoice<T extends string>(raw: RawValue | undefined, choices: readonly T[], fallback: T): T {
  if (!raw) return fallback;
  if (typeof raw.value === 'string' && (choices as readonly string[]).includes(raw.value)) return raw.value as T;
  throw new ConfigError(raw.source, `${raw.source} must be one of ${choices.join(', ')}, got ${describe(raw.value)}`);
}

function parseTypeList(raw: RawValue | undefined): string[] {
  if (!raw) return [...DEFAULT_SINGLETON_TYPES];
  const items = Array.isArray(raw.value) ? raw.value : typeof raw.value === 'string' ? raw.value.split(',') : null;
  if (!items || items.some((t) => typeof t !== 'string')) {
    throw new ConfigError(raw.source, `${raw.source} must be a comma-separated list of node types, got ${describe(raw.value)}`);
  }
  const types = (items as string[]).map((t) => t.trim()).filter((t) => t !== '');
  if (types.length === 1 && types[0] === 'none') return [];
  return types;
}

function parseInteger(raw: RawValue | undefined, fallback: number, min: number, max: number): number {
  if (!raw) return fallback;
  const text = typeof raw.value === 'number' ? String(raw.value) : typeof raw.value === 'string' ? raw.value.trim() : '';
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(raw.source, `${raw.source} must be a whole number of milliseconds from ${min} to ${max}, got ${describe(raw.value)}`);
  }
  return Number(text);
}

/** A URL with its password replaced, for error messages and logs. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    // Unparseable: a password could be anywhere in it, so show only what precedes any "@".
    return text.includes('@') ? `${text.slice(0, text.indexOf(':') + 1)}…(redacted)` : text;
  }
}

/** A one-line summary of the config that is safe to log. */
export function describeConfig(config: HAConfig): string {
  if (!config.enabled) return 'HA mode off';
  return `HA mode on: instance ${config.instance}, replica ${config.replica}`;
}
