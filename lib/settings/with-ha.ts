import { loadConfig } from '../config';
import { readOnlyAdminMiddleware } from '../admin/read-only';
import { replicaConsoleHandler } from '../logs/console-handler';
import { processState } from '../runtime/state';
import { sharedContextSettings } from '../context/settings';
import haStorage from '../storage';
import { parseQueueOptions } from '../link/settings';

/** The parts of Node-RED's settings object withHA reads or changes. */
export interface NodeRedSettings {
  ha?: unknown;
  disableEditor?: boolean;
  httpAdminMiddleware?: unknown;
  logging?: Record<string, Record<string, unknown> | undefined>;
  externalModules?: { palette?: Record<string, unknown>; [key: string]: unknown };
  [key: string]: unknown;
}

/**
 * Wraps the user's settings for HA mode (see README). Throws ConfigError for invalid HA
 * configuration, which makes Node-RED refuse to start: no half-configured replica.
 * With HA off the settings come back unchanged, so the same settings.js serves dev instances.
 */
export function withHA<T extends NodeRedSettings>(settings: T = {} as T): T {
  const config = loadConfig(settings.ha);
  // Link queue limits are read when the first link node starts; a bad one must stop start-up now.
  parseQueueOptions(process.env, settings.haLink);
  const state = processState();
  state.config = config;
  state.wrapped = true;
  if (!config.enabled) return settings;

  const consoleSettings = settings.logging?.console ?? { level: 'info', metrics: false, audit: false };
  return {
    ...settings,
    disableEditor: true,
    // Flows come from the instance's revisions in Redis; a storageModule of the user's own wins.
    ...(config.redisUrl && !settings.storageModule ? { storageModule: haStorage } : {}),
    ...sharedContextSettings(settings.contextStorage, config),
    httpAdminMiddleware: [readOnlyAdminMiddleware, ...userMiddleware(settings.httpAdminMiddleware)],
    logging: {
      ...settings.logging,
      console: { ...consoleSettings, handler: replicaConsoleHandler(config.replica, config.logFormat) },
    },
    externalModules: {
      ...settings.externalModules,
      // The palette would install modules into one replica only; images carry the nodes.
      palette: { ...settings.externalModules?.palette, allowInstall: false, allowUpload: false },
    },
  };
}

function userMiddleware(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}
