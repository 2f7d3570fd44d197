import { ContextStoreOptions, RedisContextStore } from './store';

/**
 * The `node-red-ha/context` module: a Node-RED context store factory.
 * `contextStorage: { ha: { module: require('node-red-ha/context'), config: { redisUrl, instance } } }`
 * (withHA adds exactly this in HA mode when NR_HA_REDIS_URL is set).
 */
function haContextStore(config: ContextStoreOptions): RedisContextStore {
  return new RedisContextStore(config);
}
// Node-RED logs `module=<toString()>` for a store given as a module object.
haContextStore.toString = () => 'node-red-ha/context';

export = haContextStore;
