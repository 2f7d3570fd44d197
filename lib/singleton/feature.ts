import { leadership } from '../leader/leadership';
import type { HAFeature, NodeRedApi } from '../runtime/feature';
import { SendEvent, singletonGate } from './gate';
import { singletonDropped } from './metrics';

const HOOK = 'onSend.ha-singleton';
let hooks: NodeRedApi['hooks'] | undefined;

/**
 * Singleton node types (NR_HA_SINGLETON_TYPES, default inject): only the leader's copies emit, so
 * a repeating inject fires once per instance rather than once per replica. No flow change needed.
 */
export const singletonTypes: HAFeature = {
  name: 'singleton gate',
  start({ RED, config, redis }) {
    if (!config.enabled || config.singletonTypes.length === 0) return;
    const types = config.singletonTypes.join(', ');
    if (!redis) {
      RED.log.warn(`HA singleton gating off: no leader election without NR_HA_REDIS_URL, so ${types} nodes emit on every replica`);
      return;
    }
    const gate = singletonGate(config.singletonTypes, () => leadership.isLeader());
    RED.hooks.add(HOOK, (events: SendEvent[]) => {
      const verdict = gate(events);
      if (verdict === false) singletonDropped.inc({ type: events[0].source?.node?.type });
      return verdict;
    });
    hooks = RED.hooks;
    RED.log.info(`HA singleton types (emit on the leader only): ${types}`);
  },
  stop() {
    hooks?.remove(HOOK);
    hooks = undefined;
  },
};
