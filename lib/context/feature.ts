import type { HAFeature } from '../runtime/feature';
import { setContextLog } from './log';

/** Hands Node-RED's log to the context store, which Node-RED loads apart from the plugin. */
export const sharedContext: HAFeature = {
  name: 'shared context',
  start({ RED }) {
    setContextLog({
      info: (msg) => RED.log.info(msg),
      warn: (msg) => RED.log.warn(msg),
      error: (msg) => RED.log.error(msg),
    });
  },
};
