/**
 * Lease scripts, atomic on the Redis server. The lease key holds `<replica> <token> <term>`; the
 * term key counts leaderships. A term never goes backwards, even when Redis lost its data: the
 * acquirer passes the highest term it has seen and the new term is above it.
 */

/**
 * KEYS: lease, term. ARGV: replica, token, lease ms, highest term seen.
 * Returns {1, value, term} when acquired, {0, holder value, holder ttl ms} when held.
 */
export const ACQUIRE = `
local holder = redis.call('GET', KEYS[1])
if holder then return {0, holder, redis.call('PTTL', KEYS[1])} end
local term = redis.call('INCR', KEYS[2])
local seen = tonumber(ARGV[4])
if term <= seen then
  term = seen + 1
  redis.call('SET', KEYS[2], term)
end
local value = ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. string.format('%d', term)
if not redis.call('SET', KEYS[1], value, 'NX', 'PX', ARGV[3]) then return {0, '', -2} end
return {1, value, term}
`;

/** Extends the lease only if it still holds this value. KEYS: lease. ARGV: value, lease ms. Returns 1 or 0. */
export const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** Gives the lease up only if it still holds this value. KEYS: lease. ARGV: value. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
