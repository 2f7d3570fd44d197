/**
 * Lua scripts of the shared context store. Each runs atomically on the Redis server. Values are
 * stored as the JSON text the client made and are never decoded and re-encoded in Lua: Redis's
 * cjson rounds numbers to 14 digits, turns [] into {} and reorders object keys, which would
 * silently change data that the update did not touch.
 *
 * Layout (all under the instance prefix, one hash slot): `ctx:scope:<scope>` hash field -> JSON
 * of one top-level key; `ctx:scopes` set of scopes that hold data; `ctx:seq` counter of committed
 * changes; `ctx:holders` hash replica -> expiry (ms) and `ctx:active:<replica>` the node ids that
 * replica runs (for clean).
 */

/**
 * Applies a batch of field operations to one scope, all or nothing.
 * KEYS: scope hash, seq, scopes set. ARGV: channel, scope, then per op: field, mode, a, b.
 * Modes: `s` set field to a; `d` delete field; `c` compare-and-set: the field's SHA-1 must be a
 * ('' = absent), then b is stored ('' deletes); `i` add number a to the field (absent = 0).
 * Returns {1, seq, result...} (the new JSON for `i`, '' otherwise), {0, current...} when a `c`
 * did not match (the current JSON of every `c` field, false if absent), or {-1, op index} when
 * an `i` field does not hold a number.
 */
export const WRITE = `
local hash, n = KEYS[1], (#ARGV - 2) / 4
local conflict, current = false, {}
for i = 0, n - 1 do
  local b = 3 + i * 4
  local mode = ARGV[b + 1]
  if mode == 'c' then
    local cur = redis.call('HGET', hash, ARGV[b])
    local sha = cur and redis.sha1hex(cur) or ''
    if sha ~= ARGV[b + 2] then conflict = true end
    current[#current + 1] = cur or false
  elseif mode == 'i' then
    local cur = redis.call('HGET', hash, ARGV[b])
    if cur and not string.match(cur, '^%-?%d+%.?%d*[eE]?[-+]?%d*$') then return {-1, i} end
  end
end
if conflict then
  table.insert(current, 1, 0)
  return current
end
local changes, results = {}, {1, 0}
for i = 0, n - 1 do
  local b = 3 + i * 4
  local field, mode, a, c = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local value = false
  if mode == 's' then
    value = a
  elseif mode == 'c' and c ~= '' then
    value = c
  elseif mode == 'i' then
    local v = tonumber(redis.call('HGET', hash, field) or '0') + tonumber(a)
    if v ~= v or v == math.huge or v == -math.huge then return {-1, i} end
    if v == math.floor(v) and math.abs(v) < 9007199254740992 then
      value = string.format('%d', v)
    else
      value = string.format('%.17g', v)
    end
  end
  if value then redis.call('HSET', hash, field, value) else redis.call('HDEL', hash, field) end
  results[#results + 1] = mode == 'i' and value or ''
  changes[#changes + 1] = field
  changes[#changes + 1] = value
end
if redis.call('EXISTS', hash) == 1 then
  redis.call('SADD', KEYS[3], ARGV[2])
else
  redis.call('SREM', KEYS[3], ARGV[2])
end
local seq = string.format('%d', redis.call('INCR', KEYS[2]))
results[2] = seq
redis.call('PUBLISH', ARGV[1], cjson.encode({seq, ARGV[2], changes}))
return results
`;

/**
 * The whole context of the instance with the sequence number it corresponds to.
 * KEYS: seq, scopes set. ARGV: prefix of scope hashes. Returns {seq, scope, {field, json, ...}, ...}.
 */
export const LOAD = `
local out = {redis.call('GET', KEYS[1]) or '0'}
for _, scope in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  out[#out + 1] = scope
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. scope)
end
return out
`;

/** Deletes one scope. KEYS: scope hash, seq, scopes set. ARGV: channel, scope. Returns the seq. */
export const DROP = `
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], ARGV[2])
local seq = string.format('%d', redis.call('INCR', KEYS[2]))
redis.call('PUBLISH', ARGV[1], cjson.encode({seq, ARGV[2], 'drop'}))
return seq
`;

/**
 * Registers this replica as a user of the store until expiry; with ARGV[3] = '1' it also forgets
 * which nodes it runs (a fresh start: unknown until Node-RED's first clean).
 * KEYS: holders hash, this replica's active set. ARGV: replica, ttl ms, reset flag.
 */
export const HOLD = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))
if ARGV[3] == '1' then redis.call('DEL', KEYS[2]) end
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]))
return now
`;

/** Removes this replica from the holders. KEYS: holders hash, active set. ARGV: replica. */
export const RELEASE = `
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
`;

/**
 * Node-RED's clean for a shared store: records the node ids this replica runs, then deletes the
 * node and flow scopes that no live replica runs. It deletes nothing while any live replica's
 * ids are unknown (started but not yet through a deploy), so a replica on other flows during a
 * rollout never loses its context.
 * KEYS: holders hash, this replica's active set, seq, scopes set.
 * ARGV: replica, ttl ms, channel, key prefix, node id... Returns the number of scopes deleted, or
 * -1 when deletion was deferred.
 */
export const CLEAN = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[2])
local prefix = ARGV[4]
redis.call('DEL', KEYS[2])
redis.call('SADD', KEYS[2], '')
for i = 5, #ARGV, 5000 do
  redis.call('SADD', KEYS[2], unpack(ARGV, i, math.min(i + 4999, #ARGV)))
end
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('HSET', KEYS[1], ARGV[1], now + ttl)
local live = {}
local holders = redis.call('HGETALL', KEYS[1])
for i = 1, #holders, 2 do
  local active = prefix .. 'ctx:active:' .. holders[i]
  if tonumber(holders[i + 1]) < now then
    redis.call('HDEL', KEYS[1], holders[i])
    redis.call('DEL', active)
  elseif redis.call('EXISTS', active) == 0 then
    return -1
  else
    live[#live + 1] = active
  end
end
local deleted = 0
for _, scope in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  local id = string.match(scope, '^[^:]*')
  if scope ~= 'global' then
    local used = false
    for _, active in ipairs(live) do
      if redis.call('SISMEMBER', active, id) == 1 then used = true break end
    end
    if not used then
      redis.call('DEL', prefix .. 'ctx:scope:' .. scope)
      redis.call('SREM', KEYS[4], scope)
      local seq = string.format('%d', redis.call('INCR', KEYS[3]))
      redis.call('PUBLISH', ARGV[3], cjson.encode({seq, scope, 'drop'}))
      deleted = deleted + 1
    end
  end
end
return deleted
`;
