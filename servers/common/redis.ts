import { Redis } from 'ioredis';

/**
 * A Redis client for a server under test: fail fast instead of queueing while Redis is away (a
 * request must see the outage, not hang), reconnect quickly, and expose whether it is connected.
 */
export function connectRedis(url: string): { redis: Redis; connected: () => boolean } {
  let connected = false;
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (times) => Math.min(50 * times, 1_000),
  });
  redis.on('ready', () => {
    connected = true;
  });
  for (const event of ['close', 'error'] as const) {
    redis.on(event, () => {
      connected = false;
    });
  }
  return { redis, connected: () => connected };
}
