import Redis, { RedisOptions } from 'ioredis';

/**
 * A Redis connection with the behaviour every HA feature wants during an outage: commands fail
 * fast with an error (no offline queue, one retry) instead of hanging or being silently replayed
 * later, while the client keeps reconnecting in the background with capped backoff.
 */
export function connectRedis(url: string, name: string, overrides: RedisOptions = {}): Redis {
  return new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 4), 2000),
    ...overrides,
  });
}

/** Resolves once the client is connected (or rejects after `timeoutMs`). */
export function redisReady(client: Redis, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => { cleanup(); resolve(); };
    const cleanup = () => { clearTimeout(timer); client.off('ready', onReady); };
    client.on('ready', onReady);
  });
}
