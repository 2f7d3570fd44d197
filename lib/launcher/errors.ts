import { HAError } from '../errors';

/** Stable codes of the ways `node-red-ha start` can refuse to start. */
export type LauncherErrorCode =
  /** A command-line option is invalid. */
  | 'HA_LAUNCH_OPTION'
  /** node-red cannot be resolved from the project or this package. */
  | 'HA_LAUNCH_NODE_RED_MISSING'
  /** The flows or settings file is missing or is not what Node-RED can load. */
  | 'HA_LAUNCH_FILE'
  /** The proxy port is taken. */
  | 'HA_LAUNCH_PORT_IN_USE'
  /** A private redis-server or mosquitto did not start. */
  | 'HA_LAUNCH_SERVER'
  /** The replicas exit at start-up again and again and none has ever become ready. */
  | 'HA_LAUNCH_REPLICAS_FAIL';

/** `node-red-ha start` cannot run as asked; the message names the option or file at fault. */
export class LauncherError extends HAError {
  constructor(code: LauncherErrorCode, message: string) {
    super(code, message);
  }
}
