import type { HAConfig } from '../config';

/**
 * What settings.js (through withHA), the storage and context modules and the runtime plugin
 * learn about this process and share. They are separate entry points loaded by Node-RED at
 * different times, but from one copy of this package, so module scope is process scope.
 */
export interface ProcessState {
  /** Set by withHA; the plugin falls back to reading the config itself when it is missing. */
  config?: HAConfig;
  /** True once withHA has prepared the settings Node-RED is running with. */
  wrapped: boolean;
}

const state: ProcessState = { wrapped: false };

export function processState(): ProcessState {
  return state;
}
