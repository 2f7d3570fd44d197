import os from 'node:os';
import { HAConfig } from './options';
import { parseConfig } from './parse';

export * from './options';
export { parseConfig, redactUrl, describeConfig, ID_PATTERN } from './parse';

/** Reads the config of this process: `process.env` over the settings.js `ha` block. */
export function loadConfig(settingsBlock?: unknown): HAConfig {
  return parseConfig({ env: process.env, block: settingsBlock, hostname: os.hostname() });
}
