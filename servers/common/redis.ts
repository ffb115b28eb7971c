import { Redis } from 'ioredis';

/**
 * A Redis client for a server under test: fail fast instead of queueing while Redis is away (a
 * request must see the outage, not hang), reconnect quickly, and expose whether it is connected and
 * whether its first connection attempt has ended (connected, or failed), which a server that stays
 * ready without Redis waits for before it says ready: otherwise, on a slow start, requests are sent
 * to it before its client is connected and fail as if Redis were down.
 */
export function connectRedis(url: string): {
  redis: Redis;
  connected: () => boolean;
  settled: () => boolean;
} {
  let connected = false;
  let settled = false;
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (times) => Math.min(50 * times, 1_000),
  });
  redis.on('ready', () => {
    connected = true;
    settled = true;
  });
  for (const event of ['close', 'error'] as const) {
    redis.on(event, () => {
      connected = false;
      settled = true;
    });
  }
  return { redis, connected: () => connected, settled: () => settled };
}
