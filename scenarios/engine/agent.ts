import { setTimeout as sleep } from 'node:timers/promises';
import { intBetween, pick, weighted } from '../../util/prng.ts';
import { ListCache } from '../models/list-cache.ts';
import type { ActionKind, ScenarioDefinition } from '../models/scenarios.ts';
import { toolArguments } from '../models/scenarios.ts';
import type { McpSession, RpcOutcome } from './mcp-session.js';
import type { Recorder } from './recorder.js';

/**
 * What one simulated agent does: sessions of turns, each turn discovery + actions, think time in
 * between. Every outcome is classified into the recorder; nothing here throws for a server fault.
 */

export interface AgentContext {
  scenario: ScenarioDefinition;
  recorder: Recorder;
  rng: () => number;
  cache: ListCache;
  /** true once the engine is stopping: finish the current step and return */
  stopping: () => boolean;
}

const now = () => process.hrtime.bigint();

const rpcErrorCause = (o: RpcOutcome) => `JSON-RPC error ${o.error?.code ?? '?'}`;

/** A tool result the server marked as an error: a refused handle, a lost workspace, or a plain tool error. */
function classifyToolResult(ctx: AgentContext, outcome: RpcOutcome): boolean {
  if (!outcome.ok) {
    if (!outcome.failure) ctx.recorder.error('jsonrpc', now(), rpcErrorCause(outcome));
    return false;
  }
  const r = outcome.result ?? {};
  if (r.isError === true) {
    const code = (r.structuredContent as { code?: string } | undefined)?.code;
    const text = JSON.stringify(r.content ?? '');
    if (code === 'HANDLE_REJECTED' || text.includes('is not open in this session')) {
      ctx.recorder.lifecycle.handlesRejected++;
      ctx.recorder.error('handle_rejected', now());
    } else {
      ctx.recorder.error('jsonrpc', now(), 'a tool result marked isError');
    }
    return false;
  }
  ctx.recorder.ok();
  return true;
}

async function discover(session: McpSession, ctx: AgentContext, firstTurn: boolean): Promise<void> {
  const policy = ctx.scenario.discovery[session.protocol];
  if (policy === 'none' || (policy === 'once-per-session' && !firstTurn)) return;
  const key = ListCache.key('tools/list', {});
  if (policy === 'ttl' && ctx.cache.fresh(key, Date.now(), session.identity.agentId)) {
    ctx.recorder.lifecycle.listCacheHits++;
    return;
  }
  if (policy === 'ttl') ctx.recorder.lifecycle.listCacheMisses++;
  const outcome = await session.rpc('tools/list', {});
  if (outcome.ok) {
    ctx.recorder.ok();
    if (policy === 'ttl') ctx.cache.store(key, outcome.result, Date.now(), session.identity.agentId);
  } else if (!outcome.failure) ctx.recorder.error('jsonrpc', now(), rpcErrorCause(outcome));
}

async function plainCall(session: McpSession, ctx: AgentContext, intendedNs?: bigint): Promise<void> {
  const tool = pick(ctx.rng, ctx.scenario.tools);
  const outcome = await session.rpc(
    'tools/call',
    {
      name: tool,
      arguments: ctx.scenario.fixedArguments ?? toolArguments(tool, Math.floor(ctx.rng() * 1e6)),
    },
    intendedNs,
  );
  classifyToolResult(ctx, outcome);
}

async function workflow(session: McpSession, ctx: AgentContext): Promise<void> {
  const open = await session.rpc('tools/call', { name: 'open_workspace', arguments: { name: 'agent-ws' } });
  if (!classifyToolResult(ctx, open)) return;
  const sc = (open.result?.structuredContent ?? {}) as { handle?: string; workspace?: string };
  ctx.recorder.lifecycle.handlesOpened++;
  const ref = session.legacy ? { workspace: sc.workspace } : { handle: sc.handle };
  for (let i = 0; i < ctx.scenario.workflowSteps && !ctx.stopping(); i++) {
    const step = await session.rpc('tools/call', {
      name: 'workspace_exec',
      arguments: { ...ref, command: `step-${i}` },
    });
    if (!classifyToolResult(ctx, step)) return;
  }
  classifyToolResult(ctx, await session.rpc('tools/call', { name: 'close_workspace', arguments: ref }));
}

async function task(session: McpSession, ctx: AgentContext): Promise<void> {
  const call = await session.rpc('tools/call', {
    name: 'long_operation',
    arguments: { operation: 'migrate' },
  });
  if (!call.ok) {
    classifyToolResult(ctx, call);
    return;
  }
  if (call.result?.resultType !== 'task') {
    classifyToolResult(ctx, call); // a synchronous long operation (legacy, or no tasks capability)
    return;
  }
  ctx.recorder.ok();
  ctx.recorder.lifecycle.tasksStarted++;
  const taskId = String(call.result.taskId);
  let interval = Number(call.result.pollIntervalMs ?? 250);
  const cancel = ctx.rng() < ctx.scenario.cancelTaskProbability;
  const deadline = Date.now() + 120_000;
  for (let polls = 0; ; polls++) {
    await sleep(Math.max(10, interval));
    if (cancel && polls === 1) {
      const c = await session.rpc('tasks/cancel', { taskId });
      if (c.ok) ctx.recorder.ok();
    }
    const got = await session.rpc('tasks/get', { taskId });
    if (!got.ok) {
      if (got.error?.code === -32602) {
        ctx.recorder.lifecycle.tasksLost++;
        ctx.recorder.error('task_lost', now());
        return;
      }
      if (!got.failure) ctx.recorder.error('jsonrpc', now(), rpcErrorCause(got));
      if (ctx.stopping() || Date.now() > deadline) return;
      continue;
    }
    ctx.recorder.ok();
    const status = got.result?.status;
    interval = Number(got.result?.pollIntervalMs ?? interval);
    if (status === 'completed') {
      ctx.recorder.lifecycle.tasksCompleted++;
      return;
    }
    if (status === 'cancelled') {
      ctx.recorder.lifecycle.tasksCancelled++;
      return;
    }
    if (status === 'failed') {
      const reason = (got.result?.error as { data?: { reason?: string } } | undefined)?.data?.reason;
      if (reason === 'owner_lost' || reason === 'owner_shutdown') {
        ctx.recorder.lifecycle.tasksLost++;
        ctx.recorder.error('task_lost', now());
      } else {
        ctx.recorder.lifecycle.tasksFailed++;
        ctx.recorder.error('task_failed', now());
      }
      return;
    }
    if (ctx.stopping() || Date.now() > deadline) return;
  }
}

export async function runAction(
  kind: ActionKind,
  session: McpSession,
  ctx: AgentContext,
  intendedNs?: bigint,
) {
  if (kind === 'workflow') return workflow(session, ctx);
  if (kind === 'task') return task(session, ctx);
  return plainCall(session, ctx, intendedNs);
}

/** One agent session: open, turns, close. `intendedNs` is when an open-model arrival was due. */
export async function runSession(session: McpSession, ctx: AgentContext, intendedNs?: bigint): Promise<void> {
  ctx.recorder.counts.sessions++;
  const { scenario } = ctx;
  if (intendedNs !== undefined) session.dueAt(intendedNs);
  if (!(await session.open(scenario.discoverOnStart))) {
    await session.close();
    return;
  }
  for (let turn = 0; turn < scenario.turnsPerSession && !ctx.stopping(); turn++) {
    if (turn > 0 && scenario.thinkTimeMs > 0) await sleep(scenario.thinkTimeMs);
    const start = now();
    const backedOffMs = session.backoff.totalMs;
    await discover(session, ctx, turn === 0);
    const calls = intBetween(ctx.rng, scenario.callsPerTurn[0], scenario.callsPerTurn[1]);
    for (let i = 0; i < calls && !ctx.stopping(); i++) {
      await runAction(weighted(ctx.rng, scenario.mix).action, session, ctx);
    }
    // The client's back-off waits are recorded on their own, never as part of the turn.
    ctx.recorder.turn(Number(now() - start) / 1000 - (session.backoff.totalMs - backedOffMs) * 1000);
  }
  await session.close();
}
