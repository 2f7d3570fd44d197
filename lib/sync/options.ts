import { ConfigError } from '../errors';
import type { RolloutOptions } from './reconciler';

const FIELDS: Array<keyof RolloutOptions> = ['drainMs', 'drainTimeoutMs', 'applyTimeoutMs'];

/** Reads settings.js `haRollout: { drainMs, drainTimeoutMs, applyTimeoutMs }`; unknown keys and bad values are errors. */
export function parseRolloutOptions(value: unknown): RolloutOptions {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError('haRollout', `settings haRollout must be an object like { drainMs: 5000 }, got ${JSON.stringify(value)}`);
  }
  const options: RolloutOptions = {};
  for (const [key, raw] of Object.entries(value)) {
    if (!FIELDS.includes(key as keyof RolloutOptions)) {
      throw new ConfigError(`haRollout.${key}`, `settings haRollout.${key} is not a rollout option (known: ${FIELDS.join(', ')})`);
    }
    if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > 3_600_000) {
      throw new ConfigError(`haRollout.${key}`, `settings haRollout.${key} must be a whole number of milliseconds from 0 to 3600000, got ${JSON.stringify(raw)}`);
    }
    options[key as keyof RolloutOptions] = raw;
  }
  return options;
}
