import { HAError } from '../errors';

/** A context key that is not a valid property expression (`a.b[0]`, `a["x"]`). */
export class ContextKeyError extends HAError {
  constructor(readonly key: string, why: string) {
    super('HA_CONTEXT_KEY_INVALID', `Invalid context key ${JSON.stringify(key)}: ${why}`);
  }
}

/** A value the shared context cannot hold (circular, BigInt, function) or an operation its current value does not allow. */
export class ContextValueError extends HAError {
  constructor(readonly key: string, why: string) {
    super('HA_CONTEXT_VALUE_INVALID', `Cannot store context ${JSON.stringify(key)}: ${why}`);
  }
}

/** Redis cannot be reached, or the local copy cannot be shown to be fresh: nothing was read or written. */
export class ContextUnavailableError extends HAError {
  constructor(why: string) {
    super('HA_CONTEXT_UNAVAILABLE', `Shared context (store "ha") unavailable: ${why}`);
  }
}

/** A nested update lost the race against other replicas too many times in a row; nothing was written. */
export class ContextConflictError extends HAError {
  constructor(readonly key: string, attempts: number) {
    super('HA_CONTEXT_CONFLICT', `Context ${JSON.stringify(key)} changed on other replicas during ${attempts} attempts to update it; nothing was written`);
  }
}
