import type { ReplicaRow } from '../runtime/replica';

/** Heartbeat period of each replica's row. */
export const HEARTBEAT_MS = 1000;
/** A row disappears this long after its replica's last heartbeat (a crashed or partitioned replica). */
export const ROW_TTL_MS = 5000;

/** Rows as stored (JSON, one per replica) -> valid rows sorted by id; anything malformed is skipped. */
export function decodeRows(values: unknown[]): ReplicaRow[] {
  const rows: ReplicaRow[] = [];
  for (const value of values) {
    if (typeof value !== 'string') continue;
    try {
      const row = JSON.parse(value) as ReplicaRow;
      if (typeof row.id === 'string' && typeof row.ready === 'boolean' && typeof row.leader === 'boolean' &&
          typeof row.lastSeen === 'string' && (row.revision === null || typeof row.revision === 'number')) {
        rows.push({ id: row.id, revision: row.revision, ready: row.ready, leader: row.leader, lastSeen: row.lastSeen });
      }
    } catch {
      // A row from an incompatible version: not shown rather than failing the status.
    }
  }
  return rows.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Writes this replica's row with a time-to-live and reads every live row, in one round trip.
 * Expiry in the index uses the Redis server's clock, so replicas with skewed clocks agree.
 * KEYS: index sorted set. ARGV: row key prefix, replica id, row JSON, ttl ms.
 */
export const HEARTBEAT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('SET', ARGV[1] .. ARGV[2], ARGV[3], 'PX', ARGV[4])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local rows = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local row = redis.call('GET', ARGV[1] .. id)
  if row then rows[#rows + 1] = row end
end
return rows
`;

/** Removes this replica's row (clean stop). KEYS: index, row key. ARGV: replica id. */
export const LEAVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
`;
