import { Redis } from 'ioredis';
import type { RedisStats } from '../provider.js';

/** One INFO field as a number, or null when the reply lacks it. */
function infoField(info: string, field: string): number | null {
  const m = new RegExp(`^${field}:([0-9.]+)\\r?$`, 'm').exec(info);
  return m ? Number(m[1]) : null;
}

/**
 * Reads the shared Redis's own cost figures: CPU time it has used (INFO cpu: used_cpu_sys +
 * used_cpu_user, seconds since it started), memory in use (INFO memory: used_memory, bytes) and the
 * number of keys (DBSIZE). One connection, kept between samples; a Redis that is down (pod-kill) or
 * slow gives null figures for that sample, never zeros.
 */
export class RedisStatsReader {
  private client: Redis | undefined;
  private clientUrl: string | undefined;

  async read(url: string): Promise<RedisStats | null> {
    if (this.clientUrl !== url) {
      this.close();
      this.client = new Redis(url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: true,
        connectTimeout: 1_000,
        retryStrategy: () => 500,
      });
      this.client.on('error', () => {});
      this.clientUrl = url;
    }
    const client = this.client as Redis;
    try {
      if (client.status === 'wait') await client.connect();
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('timeout')), 1_000).unref(),
      );
      const [cpu, memory, keys] = await Promise.race([
        Promise.all([client.info('cpu'), client.info('memory'), client.dbsize()]),
        timeout,
      ]);
      const sys = infoField(cpu, 'used_cpu_sys');
      const user = infoField(cpu, 'used_cpu_user');
      return {
        cpuSecondsTotal: sys === null || user === null ? null : sys + user,
        usedMemoryBytes: infoField(memory, 'used_memory'),
        keys,
      };
    } catch {
      return null;
    }
  }

  close(): void {
    this.client?.disconnect();
    this.client = undefined;
    this.clientUrl = undefined;
  }
}
