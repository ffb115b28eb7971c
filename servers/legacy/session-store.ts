import type { Redis } from 'ioredis';
import { connectRedis } from '../common/redis.js';

/**
 * Where a legacy session's metadata lives. `memory`: only in the pod that created it (the deployment
 * then needs sticky routing). `redis`: in a shared Redis, so that any replica can rebuild the session
 * on first sight — the store teams bolt onto session-based servers today.
 */
export interface SessionMeta {
  protocolVersion: string;
  clientInfo: { name: string; version: string } | null;
  capabilities: Record<string, unknown>;
  createdAt: number;
  /** workspace ids this session opened */
  workspaces: string[];
}

export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  save(id: string, meta: SessionMeta): Promise<void>;
  load(id: string): Promise<SessionMeta | null>;
  addWorkspace(id: string, workspace: string): Promise<void>;
  removeWorkspace(id: string, workspace: string): Promise<void>;
  hasWorkspace(id: string, workspace: string): Promise<boolean>;
  /**
   * Keeps a live session from expiring and answers whether it still exists in the store: false once
   * another replica ended it (DELETE) or it expired, so a replica never serves a session from a stale
   * local copy.
   */
  touch(id: string): Promise<boolean>;
  delete(id: string): Promise<void>;
  ready(): boolean;
  close(): Promise<void>;
}

export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory';
  private readonly sessions = new Map<string, SessionMeta>();
  async save(id: string, meta: SessionMeta) {
    this.sessions.set(id, meta);
  }
  async load(id: string) {
    return this.sessions.get(id) ?? null;
  }
  async addWorkspace(id: string, workspace: string) {
    this.sessions.get(id)?.workspaces.push(workspace);
  }
  async removeWorkspace(id: string, workspace: string) {
    const meta = this.sessions.get(id);
    if (meta) meta.workspaces = meta.workspaces.filter((w) => w !== workspace);
  }
  async hasWorkspace(id: string, workspace: string) {
    return this.sessions.get(id)?.workspaces.includes(workspace) ?? false;
  }
  async touch(id: string) {
    return this.sessions.has(id);
  }
  async delete(id: string) {
    this.sessions.delete(id);
  }
  ready() {
    return true;
  }
  async close() {
    this.sessions.clear();
  }
}

const KEY = (id: string) => `mcpbench:legacy:session:${id}`;
const WS_KEY = (id: string) => `mcpbench:legacy:session:${id}:workspaces`;

export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis';
  private readonly redis: Redis;
  private readonly connected: () => boolean;

  constructor(
    url: string,
    private readonly ttlSeconds: number,
  ) {
    ({ redis: this.redis, connected: this.connected } = connectRedis(url));
  }

  async save(id: string, meta: SessionMeta) {
    const { workspaces, ...rest } = meta;
    const tx = this.redis.multi().set(KEY(id), JSON.stringify(rest), 'EX', this.ttlSeconds);
    if (workspaces.length) tx.sadd(WS_KEY(id), ...workspaces).expire(WS_KEY(id), this.ttlSeconds);
    await tx.exec();
  }

  async load(id: string): Promise<SessionMeta | null> {
    const [raw, workspaces] = await Promise.all([this.redis.get(KEY(id)), this.redis.smembers(WS_KEY(id))]);
    if (!raw) return null;
    return { ...(JSON.parse(raw) as Omit<SessionMeta, 'workspaces'>), workspaces };
  }

  async addWorkspace(id: string, workspace: string) {
    await this.redis.multi().sadd(WS_KEY(id), workspace).expire(WS_KEY(id), this.ttlSeconds).exec();
  }

  async removeWorkspace(id: string, workspace: string) {
    await this.redis.srem(WS_KEY(id), workspace);
  }

  async hasWorkspace(id: string, workspace: string) {
    return (await this.redis.sismember(WS_KEY(id), workspace)) === 1;
  }

  /**
   * One round trip per request (EXPIRE answers 0 for a missing key, so it both extends the TTL and
   * checks existence). That is the price of a shared session store, as with any session middleware
   * that loads the session on every request, and it is what the benchmark measures.
   */
  async touch(id: string) {
    const results = await this.redis
      .multi()
      .expire(KEY(id), this.ttlSeconds)
      .expire(WS_KEY(id), this.ttlSeconds)
      .exec();
    const [err, alive] = results?.[0] ?? [new Error('transaction aborted'), 0];
    if (err) throw err;
    return alive === 1;
  }

  async delete(id: string) {
    await this.redis.del(KEY(id), WS_KEY(id));
  }

  ready() {
    return this.connected();
  }

  async close() {
    this.redis.disconnect();
  }
}
