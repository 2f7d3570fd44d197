import type { HAConfig } from '../config';
import haContextStore from '.';

/** The name of the shared store in settings.contextStorage and in `global.get(key, 'ha')`. */
export const STORE_NAME = 'ha';

/**
 * The settings withHA adds for the shared `ha` context store: `contextStorage` with `ha` as the
 * default store when the user configured none; otherwise `ha` added after theirs, their default
 * unchanged (a store of their own named `ha` wins). Nothing without HA mode and Redis: the store
 * could only fail there.
 */
export function sharedContextSettings(userStorage: unknown, config: HAConfig): { contextStorage?: Record<string, unknown> } {
  if (!config.enabled || !config.redisUrl || !config.instance) return {};
  const ha = { module: haContextStore, config: { redisUrl: config.redisUrl, instance: config.instance, replica: config.replica } };
  if (!userStorage || typeof userStorage !== 'object' || Object.keys(userStorage).length === 0) {
    return { contextStorage: { default: STORE_NAME, [STORE_NAME]: ha } };
  }
  // Node-RED takes the first store as the default when there is no `default` key: keep theirs first.
  return { contextStorage: { ...(userStorage as Record<string, unknown>), [STORE_NAME]: (userStorage as Record<string, unknown>)[STORE_NAME] ?? ha } };
}
