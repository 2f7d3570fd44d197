import { loadConfig } from '../config';
import { connectRedis } from '../redis/connection';
import { processState } from '../runtime/state';
import { FlowSource, NodeRedRuntime, setActiveFlowSource } from './flow-source';
import { localFileSystem, StorageModule } from './local';
import { RevisionStore } from './revisions';

/**
 * The `node-red-ha/storage` storage module. In HA mode with Redis, flows and credentials come from
 * the instance's newest revision in Redis (see FlowSource); everything else (settings, sessions,
 * library, and a local copy of saved flows) stays in Node-RED's own files. Otherwise it is
 * Node-RED's file storage unchanged.
 */
let localStorage: StorageModule | undefined;
let source: FlowSource | undefined;

// Resolved on first use: settings.js loads this file (through withHA) outside Node-RED too, e.g. in tools.
function local(): StorageModule {
  localStorage ??= localFileSystem();
  return localStorage;
}

const haStorage: StorageModule = {
  async init(settings, runtime) {
    await local().init(settings, runtime);
    const config = processState().config ?? loadConfig(settings.ha);
    if (!config.enabled || !config.redisUrl || !config.instance) return;
    const redis = connectRedis(config.redisUrl, `nrha:${config.replica}:storage`);
    // Reconnects are reported by the plugin's own connection; this one only needs to stay quiet.
    redis.on('error', () => undefined);
    source = new FlowSource(new RevisionStore(redis, config.instance), runtime as NodeRedRuntime, redis, local());
    setActiveFlowSource(source);
  },
  getFlows: () => source ? source.flows() : local().getFlows(),
  getCredentials: async () => source ? source.credentials() : local().getCredentials(),
  // Node-RED saves what it runs (e.g. credentials re-encrypted with a new key); the local copy is
  // the fallback a replica seeds Redis from, never a new revision: only pushes make revisions.
  saveFlows: (flows, user) => local().saveFlows(flows, user),
  saveCredentials: (credentials) => local().saveCredentials(credentials),
  getSettings: () => local().getSettings(),
  saveSettings: (settings) => local().saveSettings(settings),
  getSessions: () => local().getSessions(),
  saveSessions: (sessions) => local().saveSessions(sessions),
  getLibraryEntry: (type, path) => local().getLibraryEntry(type, path),
  saveLibraryEntry: (type, path, meta, body) => local().saveLibraryEntry(type, path, meta, body),
};

export = haStorage;
