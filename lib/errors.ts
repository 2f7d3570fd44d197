/**
 * Named errors with a stable `code`, so callers (and users reading logs) can tell failures apart
 * without matching on message text.
 */
export class HAError extends Error {
  /** Stable machine-readable code; never changes between releases. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration value (environment variable or settings.js `ha` key) is missing or invalid. */
export class ConfigError extends HAError {
  /** The environment variable or settings key at fault, e.g. `NR_HA_INSTANCE`. */
  readonly variable: string;

  constructor(variable: string, message: string) {
    super('HA_CONFIG_INVALID', message);
    this.variable = variable;
  }
}

/** A value (or file) that is not a Node-RED flows export; the message says why. */
export class FlowsFileError extends HAError {
  constructor(message: string) {
    super('HA_FLOWS_INVALID', message);
  }
}
