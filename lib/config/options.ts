/**
 * The HA configuration a replica runs with, after environment variables and the settings.js
 * `ha` block have been merged and validated (see ./parse.ts). Environment variables win.
 */
export interface HAConfig {
  /** HA mode on. Env `NR_HA_ENABLED` (`true`/`1`), settings `ha.enabled`. @default false */
  enabled: boolean;
  /**
   * Instance id: shared-subscription group, Redis key namespace and link topic id.
   * Env `NR_HA_INSTANCE`, settings `ha.instance`. Required when HA is on.
   * @default undefined
   */
  instance?: string;
  /** This copy's id, shown in every log line. Env `NR_HA_REPLICA`, settings `ha.replica`. @default os.hostname() */
  replica: string;
  /**
   * Redis for shared state (context, leader, flows, logs); without it those features are off.
   * Env `NR_HA_REDIS_URL`, settings `ha.redisUrl`.
   * @default undefined
   */
  redisUrl?: string;
  /** MQTT v5 broker for project link nodes. Env `NR_HA_MQTT_URL`, settings `ha.mqttUrl`. @default "mqtt://localhost:1883" */
  mqttUrl: string;
  /** Broker user name. Env `NR_HA_MQTT_USERNAME`, settings `ha.mqttUsername`. @default undefined */
  mqttUsername?: string;
  /** Broker password; never logged. Env `NR_HA_MQTT_PASSWORD`, settings `ha.mqttPassword`. @default undefined */
  mqttPassword?: string;
  /** Team id in link topics. Env `NR_HA_TEAM`, settings `ha.team`. @default "default" */
  team: string;
  /**
   * Bearer token that may push flows and read status/logs; never logged.
   * Env `NR_HA_SYNC_TOKEN`, settings `ha.syncToken`.
   * @default undefined (only adminAuth users with flows.write)
   */
  syncToken?: string;
  /** Console line format. Env `NR_HA_LOG_FORMAT`, settings `ha.logFormat`. @default "text" */
  logFormat: 'text' | 'json';
  /**
   * Node types whose output only the leader emits. Env `NR_HA_SINGLETON_TYPES` (comma list,
   * `none` for no type), settings `ha.singletonTypes` (array or comma list).
   * @default ["inject"]
   */
  singletonTypes: string[];
  /** Leader lease length in milliseconds. Env `NR_HA_LEASE_MS`, settings `ha.leaseMs`. @default 5000 */
  leaseMs: number;
}

/** The settings.js `ha` block: the same fields as {@link HAConfig}, every one optional. */
export type HASettingsBlock = Partial<Record<keyof HAConfig, unknown>>;

/** How each field is named in the environment. The settings key is the field name itself. */
export const ENV_NAMES: Record<keyof HAConfig, string> = {
  enabled: 'NR_HA_ENABLED',
  instance: 'NR_HA_INSTANCE',
  replica: 'NR_HA_REPLICA',
  redisUrl: 'NR_HA_REDIS_URL',
  mqttUrl: 'NR_HA_MQTT_URL',
  mqttUsername: 'NR_HA_MQTT_USERNAME',
  mqttPassword: 'NR_HA_MQTT_PASSWORD',
  team: 'NR_HA_TEAM',
  syncToken: 'NR_HA_SYNC_TOKEN',
  logFormat: 'NR_HA_LOG_FORMAT',
  singletonTypes: 'NR_HA_SINGLETON_TYPES',
  leaseMs: 'NR_HA_LEASE_MS',
};

export const DEFAULT_MQTT_URL = 'mqtt://localhost:1883';
export const DEFAULT_TEAM = 'default';
export const DEFAULT_SINGLETON_TYPES = ['inject'];
export const DEFAULT_LEASE_MS = 5000;
/** Below this a lease cannot be renewed reliably across a GC pause or a slow Redis round trip. */
export const MIN_LEASE_MS = 1000;
export const MAX_LEASE_MS = 600_000;
