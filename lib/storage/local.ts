import { createRequire } from 'node:module';
import path from 'node:path';
import type { Credentials, FlowNode } from './snapshot';

/** The storage module interface Node-RED calls (see @node-red/runtime/lib/storage/index.js). */
export interface StorageModule {
  init(settings: Record<string, unknown>, runtime: unknown): Promise<unknown>;
  getFlows(): Promise<FlowNode[]>;
  saveFlows(flows: FlowNode[], user?: unknown): Promise<unknown>;
  getCredentials(): Promise<Credentials>;
  saveCredentials(credentials: Credentials): Promise<unknown>;
  getSettings(): Promise<unknown>;
  saveSettings(settings: unknown): Promise<unknown>;
  getSessions(): Promise<unknown>;
  saveSessions(sessions: unknown): Promise<unknown>;
  getLibraryEntry(type: string, path: string): Promise<unknown>;
  saveLibraryEntry(type: string, path: string, meta: unknown, body: unknown): Promise<unknown>;
}

const LOCAL_STORAGE = '@node-red/runtime/lib/storage/localfilesystem';

/**
 * Node-RED's own file storage, resolved from the running Node-RED rather than from this package
 * (which is installed in the user dir, where node-red itself usually is not). Requiring it through
 * the same path gives the very instance Node-RED initialised when it is the active storage.
 */
export function localFileSystem(): StorageModule {
  const bases = [require.main?.filename, process.argv[1], path.join(process.cwd(), 'index.js')];
  for (const base of bases) {
    if (!base) continue;
    try {
      return createRequire(base)(LOCAL_STORAGE) as StorageModule;
    } catch {
      // try the next place Node-RED may be installed
    }
  }
  return require(LOCAL_STORAGE) as StorageModule;
}
