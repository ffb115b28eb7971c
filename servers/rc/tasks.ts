import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectRedis } from '../common/redis.js';

/**
 * Tasks (extension `io.modelcontextprotocol/tasks`) kept in Redis so that `tasks/get`,
 * `tasks/update` and `tasks/cancel` work on any replica.
 *
 * The work runs on the replica that accepted the `tools/call`. That replica holds a lease on the task
 * (`leaseUntil`), renewed every `heartbeatMs`. Pod-death rule: a `working` task whose lease has expired
 * (its owner was killed, or lost Redis) is failed by whichever replica reads it next, with JSON-RPC
 * error -32603 and `data.reason = "owner_lost"` — the client learns the task is lost within about
 * one lease period instead of polling forever. A replica shutting down gracefully waits for its tasks
 * up to its grace period, then fails the rest with `data.reason = "owner_shutdown"`.
 * Tasks are not re-run elsewhere: the tools are not idempotent in general, and the harness measures
 * the loss.
 */

type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

export interface TaskRecord {
  taskId: string;
  status: TaskStatus;
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number;
  pollIntervalMs: number;
  owner: string;
  caller: string;
  leaseUntil: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

const KEY = (id: string) => `mcpbench:task:${id}`;

/** Atomic compare-and-set: only a `working` task can change state (so cancel and finish never race). */
const TRANSITION = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local task = cjson.decode(raw)
if task.status ~= 'working' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

export class TaskStore {
  private readonly redis: Redis;
  private readonly connected: () => boolean;
  private readonly settled: () => boolean;
  private readonly running = new Map<string, { done: Promise<void>; abort: AbortController }>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    url: string,
    private readonly replica: string,
    private readonly options: { ttlMs: number; pollIntervalMs: number; heartbeatMs: number; leaseMs: number },
  ) {
    ({ redis: this.redis, connected: this.connected, settled: this.settled } = connectRedis(url));
    this.heartbeat = setInterval(() => this.renewLeases().catch(() => {}), options.heartbeatMs);
    this.heartbeat.unref();
  }

  ready(): boolean {
    return this.connected();
  }

  /** Whether the first connection to Redis has ended, connected or failed (see connectRedis). */
  started(): boolean {
    return this.settled();
  }

  /** Creates the task durably, then starts `work` in the background on this replica. */
  async start(
    caller: string,
    work: (signal: AbortSignal) => Promise<Record<string, unknown>>,
  ): Promise<TaskRecord> {
    const now = new Date().toISOString();
    const task: TaskRecord = {
      taskId: randomUUID(),
      status: 'working',
      createdAt: now,
      lastUpdatedAt: now,
      ttlMs: this.options.ttlMs,
      pollIntervalMs: this.options.pollIntervalMs,
      owner: this.replica,
      caller,
      leaseUntil: Date.now() + this.options.leaseMs,
    };
    await this.redis.set(KEY(task.taskId), JSON.stringify(task), 'PX', this.options.ttlMs);
    const abort = new AbortController();
    const done = work(abort.signal)
      .then((result) => this.transition(task, { status: 'completed', result }))
      .catch((err: Error) =>
        abort.signal.aborted
          ? undefined
          : this.transition(task, { status: 'failed', error: { code: -32603, message: err.message } }),
      )
      .catch(() => {})
      .finally(() => this.running.delete(task.taskId));
    this.running.set(task.taskId, { done: done as Promise<void>, abort });
    return task;
  }

  /** The task as the caller may see it; expired leases are turned into failures here. */
  async get(taskId: string, caller: string): Promise<TaskRecord | null> {
    if (typeof taskId !== 'string' || taskId.length > 64) return null;
    const raw = await this.redis.get(KEY(taskId));
    if (!raw) return null;
    const task = JSON.parse(raw) as TaskRecord;
    if (task.caller !== caller) return null;
    if (task.status === 'working' && task.leaseUntil < Date.now() && !this.running.has(taskId)) {
      await this.transition(task, {
        status: 'failed',
        error: {
          code: -32603,
          message: `task owner ${task.owner} stopped renewing its lease (pod lost); the task did not finish`,
          data: { reason: 'owner_lost', owner: task.owner },
        },
      });
      return this.get(taskId, caller);
    }
    return task;
  }

  async cancel(taskId: string, caller: string): Promise<TaskRecord | null> {
    const task = await this.get(taskId, caller);
    if (!task) return null;
    if (task.status === 'working') {
      await this.transition(task, { status: 'cancelled', statusMessage: 'cancelled by the client' });
      this.running.get(taskId)?.abort.abort();
    }
    return this.get(taskId, caller);
  }

  private async transition(task: TaskRecord, change: Partial<TaskRecord>): Promise<boolean> {
    const next: TaskRecord = { ...task, ...change, lastUpdatedAt: new Date().toISOString() };
    const ok = await this.redis.eval(
      TRANSITION,
      1,
      KEY(task.taskId),
      JSON.stringify(next),
      String(this.options.ttlMs),
    );
    return ok === 1;
  }

  private async renewLeases(): Promise<void> {
    if (this.running.size === 0) return;
    const leaseUntil = Date.now() + this.options.leaseMs;
    for (const taskId of this.running.keys()) {
      const raw = await this.redis.get(KEY(taskId));
      if (!raw) continue;
      const task = JSON.parse(raw) as TaskRecord;
      if (task.status === 'working') await this.transition(task, { leaseUntil });
    }
  }

  /** Graceful stop: wait for this replica's tasks up to `graceMs`, then fail the rest as owner_shutdown. */
  async close(graceMs: number): Promise<void> {
    clearInterval(this.heartbeat);
    const pending = [...this.running.values()].map((r) => r.done);
    if (pending.length) {
      await Promise.race([
        Promise.allSettled(pending),
        new Promise((r) => setTimeout(r, Math.max(0, graceMs))),
      ]);
      for (const [taskId, r] of this.running) {
        r.abort.abort();
        const raw = await this.redis.get(KEY(taskId)).catch(() => null);
        if (raw) {
          await this.transition(JSON.parse(raw) as TaskRecord, {
            status: 'failed',
            error: {
              code: -32603,
              message: `replica ${this.replica} shut down before the task finished`,
              data: { reason: 'owner_shutdown', owner: this.replica },
            },
          }).catch(() => {});
        }
      }
    }
    this.redis.disconnect();
  }
}

/** The wire shape of a task (owner/caller/lease are ours and stay server-side). */
export function wireTask(task: TaskRecord): Record<string, unknown> {
  const base: Record<string, unknown> = {
    taskId: task.taskId,
    status: task.status,
    createdAt: task.createdAt,
    lastUpdatedAt: task.lastUpdatedAt,
    ttlMs: task.ttlMs,
    pollIntervalMs: task.pollIntervalMs,
  };
  if (task.statusMessage) base.statusMessage = task.statusMessage;
  if (task.status === 'completed') base.result = task.result ?? {};
  if (task.status === 'failed') base.error = task.error ?? { code: -32603, message: 'failed' };
  return base;
}
