/**
 * Every Redis key node-red-ha uses, in one place, so features cannot collide and an operator can
 * find (or delete) one instance's data with `nrha:{<instance>}:*`. The braces make all keys of an
 * instance hash to one Redis Cluster slot, so multi-key Lua scripts keep working there.
 */
export function instancePrefix(instance: string): string {
  return `nrha:{${instance}}:`;
}

export function instanceKey(instance: string, ...parts: string[]): string {
  return instancePrefix(instance) + parts.join(':');
}
