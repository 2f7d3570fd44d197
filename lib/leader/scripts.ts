/**
 * Lease scripts, atomic on the Redis server. The lease key holds `<replica> <token> <term>`; the
 * term key counts leaderships. A term never goes backwards, even when Redis lost its data: the
 * acquirer passes the highest term it has seen and the new term is above it. That alone is not
 * enough after a data loss (the acquirer may not have seen the newest term yet), so a term
 * counter that starts afresh starts at the server's clock in ms: above every term handed out
 * before, since terms grow by one per change of leader and changes are far rarer than 1 per ms.
 */

/**
 * KEYS: lease, term. ARGV: replica, token, lease ms, highest term seen.
 * Returns {1, value, term} when acquired, {0, holder value, holder ttl ms} when held.
 */
export const ACQUIRE = `
local holder = redis.call('GET', KEYS[1])
if holder then return {0, holder, redis.call('PTTL', KEYS[1])} end
local term = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[4]) + 1
if term == 1 then
  local now = redis.call('TIME')
  floor = math.max(floor, tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
end
if term < floor then
  term = floor
  redis.call('SET', KEYS[2], string.format('%d', term))
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
