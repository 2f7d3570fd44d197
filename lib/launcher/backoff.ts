/**
 * Delay before restarting a replica that exited on its own: `base` after the first crash,
 * doubling with each consecutive one, never more than `max`.
 */
export function restartDelay(consecutiveCrashes: number, base: number, max: number): number {
  const exponent = Math.max(0, consecutiveCrashes - 1);
  return Math.min(max, base * 2 ** Math.min(exponent, 30));
}

/** A replica that stayed up this long before exiting counts as healthy: its crash count restarts. */
export const STABLE_AFTER_MS = 60_000;
