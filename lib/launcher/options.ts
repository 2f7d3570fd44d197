import os from 'node:os';
import path from 'node:path';
import { ID_PATTERN } from '../config';
import { LauncherError } from './errors';

/** What `node-red-ha start` runs; every field is resolved (see resolveLaunchOptions). */
export interface LaunchOptions {
  /** Flows file copied into every replica's user dir at start; none: each replica keeps its own. @default undefined */
  flowsFile?: string;
  /** Number of Node-RED replicas. @default 2 */
  replicas: number;
  /** Port the proxy listens on. @default 1880 */
  port: number;
  /** Address the proxy binds; replicas always bind 127.0.0.1. @default "127.0.0.1" */
  host: string;
  /** Folder holding the shared settings.js, one user dir per replica and the private servers' data. @default ~/.node-red-ha/<instance> */
  userDir: string;
  /** The user's own settings.js (wrap it with withHA); none: a generated one. @default undefined */
  settingsFile?: string;
  /** NR_HA_INSTANCE of every replica. @default NR_HA_INSTANCE, else the flows file's folder name, else "node-red" */
  instance: string;
  /** httpAdminRoot of the settings, where /ha/health/ready is probed. @default "/" */
  adminRoot: string;
  /** Redis URL passed to the replicas; none: a private redis-server if on the PATH. @default NR_HA_REDIS_URL */
  redisUrl?: string;
  /** MQTT URL passed to the replicas; none: a private mosquitto if on the PATH. @default NR_HA_MQTT_URL */
  mqttUrl?: string;
  /** Start private redis-server / mosquitto when no URL is given. @default true */
  privateServers: boolean;
  /** First restart delay after a replica exits unexpectedly; doubles per consecutive crash. @default 500 */
  restartDelayMs: number;
  /** Longest restart delay. @default 30000 */
  maxRestartDelayMs: number;
  /** How often each replica's readiness is probed. @default 500 */
  probeIntervalMs: number;
  /** How long a replica may take to stop after SIGTERM before it is killed. @default 30000 */
  stopTimeoutMs: number;
}

/** The command line as commander hands it over (see LaunchOptions for meanings and defaults). */
export interface LaunchArgs {
  /** `[flows]` argument, relative to cwd. @default undefined */
  flows?: string;
  /** `--replicas`. @default "2" */
  replicas?: string;
  /** `--port`. @default "1880" */
  port?: string;
  /** `--host`. @default "127.0.0.1" */
  host?: string;
  /** `--user-dir`, relative to cwd. @default undefined */
  userDir?: string;
  /** `--settings`, relative to cwd. @default undefined */
  settings?: string;
  /** `--instance`. @default undefined */
  instance?: string;
  /** `--admin-root`. @default "/" */
  adminRoot?: string;
  /** false with `--no-private-servers`. @default true */
  privateServers?: boolean;
  /** `--stop-timeout`, seconds. @default "30" */
  stopTimeout?: string;
}

export const DEFAULT_REPLICAS = 2;
export const MAX_REPLICAS = 64;
export const DEFAULT_PORT = 1880;

/**
 * Validates the command line and fills in defaults. Pure apart from the inputs it is given:
 * `cwd` for relative paths, `env` for NR_HA_* and `home` for the default user dir.
 */
export function resolveLaunchOptions(args: LaunchArgs, env: Record<string, string | undefined>, cwd: string, home = os.homedir()): LaunchOptions {
  const flowsFile = args.flows ? path.resolve(cwd, args.flows) : undefined;
  const instance = args.instance ?? (env.NR_HA_INSTANCE || defaultInstance(flowsFile));
  if (!ID_PATTERN.test(instance)) {
    throw new LauncherError('HA_LAUNCH_OPTION', `--instance must be 1-64 characters of A-Z a-z 0-9 _ . : -, got ${JSON.stringify(instance)}`);
  }
  const adminRoot = args.adminRoot ?? '/';
  if (!adminRoot.startsWith('/')) {
    throw new LauncherError('HA_LAUNCH_OPTION', `--admin-root must start with "/", got ${JSON.stringify(adminRoot)}`);
  }
  return {
    flowsFile,
    replicas: integer('--replicas', args.replicas, DEFAULT_REPLICAS, 1, MAX_REPLICAS),
    port: integer('--port', args.port, DEFAULT_PORT, 0, 65535),
    host: args.host ?? '127.0.0.1',
    userDir: path.resolve(cwd, args.userDir ?? path.join(home, '.node-red-ha', instance)),
    settingsFile: args.settings ? path.resolve(cwd, args.settings) : undefined,
    instance,
    adminRoot: adminRoot.endsWith('/') ? adminRoot : adminRoot + '/',
    redisUrl: env.NR_HA_REDIS_URL || undefined,
    mqttUrl: env.NR_HA_MQTT_URL || undefined,
    privateServers: args.privateServers ?? true,
    restartDelayMs: 500,
    maxRestartDelayMs: 30_000,
    probeIntervalMs: 500,
    stopTimeoutMs: integer('--stop-timeout', args.stopTimeout, 30, 1, 3600) * 1000,
  };
}

/** Replica ids: `<instance>-1` … `<instance>-N`, kept within the 64-character id limit. */
export function replicaId(instance: string, index: number): string {
  const suffix = `-${index + 1}`;
  return instance.slice(0, 64 - suffix.length) + suffix;
}

/** The flows file's folder names the instance (examples/http-counter/flows.json -> "http-counter"). */
function defaultInstance(flowsFile: string | undefined): string {
  const folder = flowsFile ? path.basename(path.dirname(flowsFile)) : '';
  const cleaned = folder.replace(/[^A-Za-z0-9_.:-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60);
  return cleaned || 'node-red';
}

function integer(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
    throw new LauncherError('HA_LAUNCH_OPTION', `${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}
