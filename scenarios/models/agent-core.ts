import { intBetween, pick, weighted } from '../../util/prng.ts';
import { BACKOFF_CLASSES, BackoffState } from './backoff.ts';
import { ListCache } from './list-cache.ts';
import {
  type ClientIdentity,
  decideProtocol,
  LEGACY,
  legacyDelete,
  legacyInitialize,
  legacyInitialized,
  legacyRequest,
  modernRequest,
  notificationProblem,
  type ProbeAnswer,
  type ProtocolVersion,
  parseRpcBody,
  probeDiscover,
  probeInitialize,
  readRpcAnswer,
  type WireRequest,
} from './protocol.ts';
import type { ActionKind, ScenarioDefinition } from './scenarios.ts';
import { toolArguments } from './scenarios.ts';
import { instantiate, valueAt } from './workload-args.ts';

/**
 * The agent, written once for both engines. Everything an agent decides lives here: the protocol
 * era's life cycle (initialize, session lost → re-initialise, DELETE), how an answer is judged and
 * which error class it is, when to back off, when to re-list tools (discovery policy, ttlMs /
 * cacheScope), which tool mints a workspace handle and how it is carried, how a task is polled and
 * when it is lost, and protocol detection. It does no I/O: it is a generator that yields the two
 * things it needs from the world — send this request (`exchange`), wait this long (`wait`) — and is
 * resumed with the answer. Outcomes go to a synchronous `AgentSink`. The built-in engine drives it
 * with `runAsync` over undici, the k6 scripts with `runSync` over `k6/http`: each keeps only its I/O.
 */

export type AgentErrorClass =
  | 'transport'
  | 'timeout'
  | 'http_status'
  | 'jsonrpc'
  | 'session_lost'
  | 'task_lost'
  | 'task_failed'
  | 'handle_rejected'
  | 'invalid_response';

/** Life-cycle counters (the raw result's `lifecycle`, plus `sessions`). */
export type AgentEvent =
  | 'sessions'
  | 'sessionsLost'
  | 'reinitialisations'
  | 'tasksStarted'
  | 'tasksCompleted'
  | 'tasksCancelled'
  | 'tasksLost'
  | 'tasksFailed'
  | 'handlesOpened'
  | 'handlesRejected'
  | 'listCacheHits'
  | 'listCacheMisses';

/** An HTTP answer, as the engine read it off the wire. */
export interface WireAnswer {
  status: number;
  contentType: string | undefined;
  text: string;
  sessionId: string | undefined;
}

/** No HTTP answer at all; the engine has already counted the request. */
export interface NoAnswer {
  failure: 'transport' | 'timeout';
  cause: string;
}

type Effect =
  /** send `req`; resume with a WireAnswer or a NoAnswer */
  | { op: 'exchange'; req: WireRequest }
  /** wait `ms` (think time, a task's poll interval, a back-off); resume with the ms actually waited */
  | { op: 'wait'; ms: number; why: 'think' | 'poll' | 'backoff' };

export type Step<T> = Generator<Effect, T, unknown>;

/** Where outcomes go: every call is about the exchange that was answered last. */
export interface AgentSink {
  ok(): void;
  error(kind: AgentErrorClass, cause?: string): void;
  event(name: AgentEvent): void;
  /** a back-off wait of `ms`, recorded apart from every latency */
  backedOff(ms: number): void;
  /** one turn: discovery + its actions, without think time or back-off */
  turn(ms: number): void;
  /** a monotonic clock in ms: list-cache freshness, turn time, task deadlines */
  now(): number;
}

export interface RpcOutcome {
  ok: boolean;
  status: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
  /** set when the exchange failed and has already been counted as an error of this class */
  failure?: AgentErrorClass;
}

/**
 * Long operations are kept out of the request histograms (a legacy one holds its request for the whole
 * operation, an rc one returns a task at once): they are measured under their own key instead.
 */
const LONG_OPERATION = 'tools/call long_operation';
/** the JSON-RPC error a 2026-07-28 server answers for a task id it does not know */
const UNKNOWN_TASK = -32602;
/** a task that does not finish within this is given up (not counted lost: the run may simply end) */
const TASK_DEADLINE_MS = 120_000;

const isSuccess = (status: number) => status >= 200 && status < 300;

/** Drives a step with asynchronous I/O (the built-in engine). */
export async function runAsync<T>(
  step: Step<T>,
  io: { exchange(req: WireRequest): Promise<WireAnswer | NoAnswer>; wait(ms: number): Promise<number> },
): Promise<T> {
  let r = step.next();
  while (!r.done) {
    const e = r.value;
    r = step.next(e.op === 'exchange' ? await io.exchange(e.req) : await io.wait(e.ms));
  }
  return r.value;
}

/** Drives a step with blocking I/O (k6). */
export function runSync<T>(
  step: Step<T>,
  io: { exchange(req: WireRequest): WireAnswer | NoAnswer; wait(ms: number): number },
): T {
  let r = step.next();
  while (!r.done) {
    const e = r.value;
    r = step.next(e.op === 'exchange' ? io.exchange(e.req) : io.wait(e.ms));
  }
  return r.value;
}

/**
 * One MCP client's protocol state (the session id, request ids, its back-off) and its decisions
 * about every answer.
 */
export class ClientCore {
  private sessionId: string | undefined;
  private nextId = 1;
  /**
   * Back-off after a failed exchange (100 ms doubling to 1 s; see backoff.ts), as a real client
   * would, so an outage is not turned into a retry storm that inflates error counts. The state
   * belongs to the agent (a closed-model agent keeps it across its sessions); the waits are recorded
   * apart from latency, and taken out of turn time.
   */
  readonly backoff: BackoffState;

  constructor(
    readonly protocol: ProtocolVersion,
    readonly identity: ClientIdentity,
    readonly sink: AgentSink,
    private readonly tasks: boolean,
    backoff?: BackoffState,
  ) {
    this.backoff = backoff ?? new BackoffState();
  }

  get legacy(): boolean {
    return this.protocol === LEGACY;
  }

  get hasSession(): boolean {
    return this.sessionId !== undefined;
  }

  /** Counts a failed exchange of class `kind` and, for the classes that call for it, backs off. */
  *failed(kind: AgentErrorClass, cause: string, backOff = BACKOFF_CLASSES.has(kind)): Step<void> {
    this.sink.error(kind, cause);
    if (!backOff) return;
    const slept = (yield { op: 'wait', ms: this.backoff.failed(), why: 'backoff' }) as number;
    this.backoff.waited(slept);
    this.sink.backedOff(slept);
  }

  private *exchange(req: WireRequest): Step<WireAnswer | NoAnswer> {
    const res = (yield { op: 'exchange', req }) as WireAnswer | NoAnswer;
    if ('failure' in res) yield* this.failed(res.failure, res.cause);
    return res;
  }

  /** Legacy: initialize + notifications/initialized. Modern: nothing (optionally server/discover). */
  *open(discover = false): Step<boolean> {
    if (!this.legacy) {
      if (!discover) return true;
      const r = yield* this.rpc('server/discover', {});
      if (r.ok) this.sink.ok();
      else if (!r.failure) this.sink.error('jsonrpc', rpcErrorCause(r));
      return r.ok;
    }
    const id = this.nextId++;
    const init = yield* this.exchange(legacyInitialize(id, this.identity));
    if ('failure' in init) return false;
    if (!isSuccess(init.status)) {
      yield* this.failed('http_status', `HTTP ${init.status} to initialize`);
      return false;
    }
    const answer = readRpcAnswer(init.contentType, init.text, id);
    if (answer.kind === 'invalid') {
      yield* this.failed('invalid_response', `initialize answered with ${answer.reason}`);
      return false;
    }
    if (answer.kind === 'error') {
      // Refused: the client cannot start, and trying again at once would be a retry storm.
      yield* this.failed('jsonrpc', `initialize refused: JSON-RPC error ${answer.error.code}`, true);
      return false;
    }
    if (answer.result.protocolVersion !== LEGACY) {
      yield* this.failed(
        'invalid_response',
        `initialize answered protocolVersion ${JSON.stringify(answer.result.protocolVersion ?? null)}, not ${LEGACY}`,
      );
      return false;
    }
    this.sink.ok();
    // A stateless 2025 server answers without a session id: carry on without one.
    this.sessionId = init.sessionId ?? '';
    const done = yield* this.exchange(legacyInitialized(this.sessionId));
    if ('failure' in done) return false;
    if (!isSuccess(done.status)) {
      yield* this.failed('http_status', `HTTP ${done.status} to notifications/initialized`);
      return false;
    }
    const problem = notificationProblem(done.status, done.text);
    if (problem) {
      yield* this.failed('invalid_response', problem);
      return false;
    }
    this.sink.ok();
    return true;
  }

  /**
   * One JSON-RPC request. On a legacy 404 for a held session the loss is counted once, the client
   * re-initialises before its next request (its cost is part of the result) and this one is failed.
   * The caller classifies the outcome unless `failure` is set.
   */
  *rpc(method: string, params: Record<string, unknown>, long = false): Step<RpcOutcome> {
    if (this.legacy && this.sessionId === undefined) {
      this.sink.event('reinitialisations');
      if (!(yield* this.open())) return { ok: false, status: 0, failure: 'session_lost' };
    }
    const id = this.nextId++;
    const req = this.legacy
      ? legacyRequest(id, this.sessionId as string, method, params)
      : modernRequest(id, this.identity, method, params, { tasks: this.tasks });
    if (long || (method === 'tools/call' && params.name === 'long_operation')) req.rpcMethod = LONG_OPERATION;
    const res = (yield { op: 'exchange', req }) as WireAnswer | NoAnswer;
    if ('failure' in res) {
      yield* this.failed(res.failure, res.cause);
      return { ok: false, status: 0, failure: res.failure };
    }
    if (this.legacy && res.status === 404 && this.sessionId) {
      this.sink.error('session_lost', 'HTTP 404 on a held session');
      this.sink.event('sessionsLost');
      this.sessionId = undefined;
      return { ok: false, status: 404, failure: 'session_lost' };
    }
    if (!isSuccess(res.status)) {
      const body = parseRpcBody(res.contentType, res.text, undefined);
      yield* this.failed('http_status', `HTTP ${res.status}`);
      return {
        ok: false,
        status: res.status,
        error: body?.error as RpcOutcome['error'],
        failure: 'http_status',
      };
    }
    const answer = readRpcAnswer(res.contentType, res.text, id);
    if (answer.kind === 'invalid') {
      yield* this.failed('invalid_response', answer.reason);
      return { ok: false, status: res.status, failure: 'invalid_response' };
    }
    this.backoff.succeeded();
    if (answer.kind === 'error') return { ok: false, status: res.status, error: answer.error };
    return { ok: true, status: res.status, result: answer.result };
  }

  /** Legacy: DELETE the session (a 404 or 405 is fine: it is gone, or the server keeps none). */
  *close(): Step<void> {
    if (this.legacy && this.sessionId) {
      const res = yield* this.exchange(legacyDelete(this.sessionId));
      if (!('failure' in res)) {
        if (isSuccess(res.status) || res.status === 404 || res.status === 405) this.sink.ok();
        else yield* this.failed('http_status', `HTTP ${res.status} to DELETE`);
      }
    }
    this.sessionId = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The agent: sessions of turns, each turn discovery + actions
// ---------------------------------------------------------------------------------------------

export interface AgentContext {
  scenario: ScenarioDefinition;
  rng: () => number;
  cache: ListCache;
  /** true once the engine is stopping: finish the current step and return */
  stopping: () => boolean;
}

const rpcErrorCause = (o: RpcOutcome) => `JSON-RPC error ${o.error?.code ?? '?'}`;

/**
 * Judges a tool call's outcome: a JSON-RPC error, a refused handle (the server's HANDLE_REJECTED, or a
 * legacy workspace that is not open in this session), a tool result marked as an error, or ok.
 */
function classifyToolResult(sink: AgentSink, outcome: RpcOutcome): boolean {
  if (!outcome.ok) {
    if (!outcome.failure) sink.error('jsonrpc', rpcErrorCause(outcome));
    return false;
  }
  const r = outcome.result;
  if (r !== undefined && r.isError === true) {
    const code = (r.structuredContent as { code?: string } | undefined)?.code;
    if (
      code === 'HANDLE_REJECTED' ||
      JSON.stringify(r.content ?? '').includes('is not open in this session')
    ) {
      sink.event('handlesRejected');
      sink.error('handle_rejected');
    } else sink.error('jsonrpc', 'a tool result marked isError');
    return false;
  }
  sink.ok();
  return true;
}

const TOOLS_LIST_KEY = ListCache.key('tools/list', {});

/**
 * Discovery at the start of a turn, by the scenario's policy for this protocol era: `every-turn`
 * lists, `once-per-session` lists on the first turn, `ttl` lists unless the cache holds a fresh
 * result for this caller (ttlMs / cacheScope, list-cache.ts), `none` never lists.
 */
function* discover(client: ClientCore, ctx: AgentContext, firstTurn: boolean): Step<void> {
  const policy = ctx.scenario.discovery[client.protocol];
  if (policy === 'none' || (policy === 'once-per-session' && !firstTurn)) return;
  const sink = client.sink;
  if (policy === 'ttl') {
    if (ctx.cache.fresh(TOOLS_LIST_KEY, sink.now(), client.identity.agentId)) {
      sink.event('listCacheHits');
      return;
    }
    sink.event('listCacheMisses');
  }
  const outcome = yield* client.rpc('tools/list', {});
  if (outcome.ok) {
    sink.ok();
    if (policy === 'ttl')
      ctx.cache.store(TOOLS_LIST_KEY, outcome.result, sink.now(), client.identity.agentId);
  } else if (!outcome.failure) sink.error('jsonrpc', rpcErrorCause(outcome));
}

/** A changing number for `{{seq}}` argument generators. */
let argumentSeq = 0;

/** A foreign server's plain call: a tool by weight, its argument generators filled in. */
function* foreignCall(client: ClientCore, ctx: AgentContext): Step<void> {
  const tools = ctx.scenario.foreign?.tools ?? [];
  if (tools.length === 0) return;
  const tool = weighted(ctx.rng, tools);
  const args = instantiate(tool.arguments, ctx.rng, argumentSeq++) as Record<string, unknown>;
  classifyToolResult(client.sink, yield* client.rpc('tools/call', { name: tool.name, arguments: args }));
}

/** A foreign server's handle flow: the minting tool, then each tool that takes the handle back. */
function* foreignWorkflow(client: ClientCore, ctx: AgentContext): Step<void> {
  const h = ctx.scenario.foreign?.handle;
  if (!h) return yield* foreignCall(client, ctx);
  const seq = argumentSeq++;
  const open = yield* client.rpc('tools/call', {
    name: h.tool,
    arguments: instantiate(h.arguments, ctx.rng, seq) as Record<string, unknown>,
  });
  const answered = open.ok && open.result?.isError !== true;
  const handle = answered ? valueAt(open.result, h.path) : undefined;
  if (answered && handle === undefined) {
    // The exchange is judged once: a minting answer without its handle is not a success.
    client.sink.error('invalid_response', `${h.tool}: no handle at ${h.path}`);
    return;
  }
  if (!classifyToolResult(client.sink, open)) return;
  client.sink.event('handlesOpened');
  for (let i = 0; i < ctx.scenario.workflowSteps && !ctx.stopping(); i++) {
    const use = h.use[i % h.use.length];
    if (!use) return;
    const args = { ...(instantiate(use.arguments, ctx.rng, seq) as object), [use.argument]: handle };
    if (
      !classifyToolResult(client.sink, yield* client.rpc('tools/call', { name: use.tool, arguments: args }))
    )
      return;
  }
}

function* plainCall(client: ClientCore, ctx: AgentContext): Step<void> {
  if (ctx.scenario.foreign) return yield* foreignCall(client, ctx);
  const tool = pick(ctx.rng, ctx.scenario.tools);
  const args = ctx.scenario.fixedArguments ?? toolArguments(tool, Math.floor(ctx.rng() * 1e6));
  classifyToolResult(client.sink, yield* client.rpc('tools/call', { name: tool, arguments: args }));
}

/**
 * A workspace workflow: `open_workspace` mints the state, carried as a signed `handle` (2026-07-28)
 * or as the session's `workspace` name (2025-11-25), then `workspace_exec` steps and `close_workspace`.
 */
function* workflow(client: ClientCore, ctx: AgentContext): Step<void> {
  if (ctx.scenario.foreign) return yield* foreignWorkflow(client, ctx);
  const open = yield* client.rpc('tools/call', { name: 'open_workspace', arguments: { name: 'agent-ws' } });
  if (!classifyToolResult(client.sink, open)) return;
  const sc = (open.result?.structuredContent ?? {}) as { handle?: string; workspace?: string };
  client.sink.event('handlesOpened');
  const ref = client.legacy ? { workspace: sc.workspace } : { handle: sc.handle };
  for (let i = 0; i < ctx.scenario.workflowSteps && !ctx.stopping(); i++) {
    const step = yield* client.rpc('tools/call', {
      name: 'workspace_exec',
      arguments: { ...ref, command: `step-${i}` },
    });
    if (!classifyToolResult(client.sink, step)) return;
  }
  classifyToolResult(
    client.sink,
    yield* client.rpc('tools/call', { name: 'close_workspace', arguments: ref }),
  );
}

/** What a `tasks/get` answer means for the agent: poll again (after `intervalMs`) or stop. */
type TaskPoll =
  | { next: 'poll'; intervalMs: number }
  | { next: 'done'; event: AgentEvent; error?: 'task_lost' | 'task_failed' };

function readTaskStatus(result: Record<string, unknown> | undefined, intervalMs: number): TaskPoll {
  const status = result?.status;
  if (status === 'completed') return { next: 'done', event: 'tasksCompleted' };
  if (status === 'cancelled') return { next: 'done', event: 'tasksCancelled' };
  if (status === 'failed') {
    const reason = (result?.error as { data?: { reason?: string } } | undefined)?.data?.reason;
    // The replica that ran it went away: the task is lost, not failed.
    return reason === 'owner_lost' || reason === 'owner_shutdown'
      ? { next: 'done', event: 'tasksLost', error: 'task_lost' }
      : { next: 'done', event: 'tasksFailed', error: 'task_failed' };
  }
  return { next: 'poll', intervalMs: Number(result?.pollIntervalMs ?? intervalMs) };
}

/**
 * A long operation: on 2026-07-28 with the tasks capability it returns a task, polled with
 * `tasks/get` at the server's `pollIntervalMs` (a share is cancelled after the first poll); an
 * unknown task id or an owner gone is a lost task. Otherwise it is a synchronous call.
 */
function* task(client: ClientCore, ctx: AgentContext): Step<void> {
  const sink = client.sink;
  const foreignLong = ctx.scenario.foreign?.longRunning;
  if (ctx.scenario.foreign && !foreignLong) return yield* foreignCall(client, ctx);
  const call = yield* client.rpc(
    'tools/call',
    foreignLong
      ? {
          name: foreignLong.tool,
          arguments: instantiate(foreignLong.arguments, ctx.rng, argumentSeq++) as Record<string, unknown>,
        }
      : { name: 'long_operation', arguments: { operation: 'migrate' } },
    true,
  );
  if (!call.ok || call.result?.resultType !== 'task') {
    classifyToolResult(sink, call); // an error, or a synchronous long operation
    return;
  }
  sink.ok();
  sink.event('tasksStarted');
  const taskId = String(call.result.taskId);
  let interval = Number(call.result.pollIntervalMs ?? 250);
  const cancel = ctx.rng() < ctx.scenario.cancelTaskProbability;
  const deadline = sink.now() + TASK_DEADLINE_MS;
  for (let polls = 0; ; polls++) {
    yield { op: 'wait', ms: Math.max(10, interval), why: 'poll' };
    if (cancel && polls === 1) {
      const c = yield* client.rpc('tasks/cancel', { taskId });
      if (c.ok) sink.ok();
    }
    const got = yield* client.rpc('tasks/get', { taskId });
    if (!got.ok) {
      if (got.error?.code === UNKNOWN_TASK) {
        sink.event('tasksLost');
        sink.error('task_lost');
        return;
      }
      if (!got.failure) sink.error('jsonrpc', rpcErrorCause(got));
    } else {
      sink.ok();
      const poll = readTaskStatus(got.result, interval);
      if (poll.next === 'done') {
        sink.event(poll.event);
        if (poll.error) sink.error(poll.error);
        return;
      }
      interval = poll.intervalMs;
    }
    if (ctx.stopping() || sink.now() > deadline) return;
  }
}

export function runAction(kind: ActionKind, client: ClientCore, ctx: AgentContext): Step<void> {
  if (kind === 'workflow') return workflow(client, ctx);
  if (kind === 'task') return task(client, ctx);
  return plainCall(client, ctx);
}

/**
 * One agent turn on an open client: discovery by the scenario's policy, then its actions. The
 * client's back-off waits are recorded on their own, never as part of the turn.
 */
function* runTurn(client: ClientCore, ctx: AgentContext, firstTurn: boolean): Step<void> {
  const sink = client.sink;
  const start = sink.now();
  const backedOffMs = client.backoff.totalMs;
  yield* discover(client, ctx, firstTurn);
  const calls = intBetween(ctx.rng, ctx.scenario.callsPerTurn[0], ctx.scenario.callsPerTurn[1]);
  for (let i = 0; i < calls && !ctx.stopping(); i++) {
    yield* runAction(weighted(ctx.rng, ctx.scenario.mix).action, client, ctx);
  }
  sink.turn(sink.now() - start - (client.backoff.totalMs - backedOffMs));
}

/**
 * One open-model turn arrival on an agent's client, which is kept across arrivals the way a real
 * agent keeps its session (k6's arrival-rate executors reuse VU state alike): a new agent's client is
 * counted as a session and opened (legacy: initialize) before its first turn, and a legacy client that
 * has lost its session opens a new one; otherwise the turn runs on the session it holds.
 */
export function* runTurnArrival(client: ClientCore, ctx: AgentContext, firstTurn: boolean): Step<void> {
  if (firstTurn) {
    client.sink.event('sessions');
    if (!(yield* client.open(ctx.scenario.discoverOnStart))) return;
  } else if (client.legacy && !client.hasSession && !(yield* client.open())) return;
  yield* runTurn(client, ctx, firstTurn);
}

/** One agent session: open, turns (discovery + actions, think time between), close. */
export function* runSession(client: ClientCore, ctx: AgentContext): Step<void> {
  const { scenario } = ctx;
  const sink = client.sink;
  sink.event('sessions');
  if (!(yield* client.open(scenario.discoverOnStart))) {
    yield* client.close();
    return;
  }
  for (let turn = 0; turn < scenario.turnsPerSession && !ctx.stopping(); turn++) {
    if (turn > 0 && scenario.thinkTimeMs > 0) yield { op: 'wait', ms: scenario.thinkTimeMs, why: 'think' };
    yield* runTurn(client, ctx, turn === 0);
  }
  yield* client.close();
}

// ---------------------------------------------------------------------------------------------
// Protocol detection (`--protocol auto`)
// ---------------------------------------------------------------------------------------------

/**
 * The probe sequence: `server/discover`, then (when that does not settle it) `initialize`, whose
 * session is closed again; the decision is `decideProtocol`. Yields each probe request and is
 * resumed with its answer (with the `mcp-session-id` it carried, if any).
 */
export function* detectProtocol(): Generator<
  WireRequest,
  { protocol: ProtocolVersion; reason: string } | { problem: string },
  ProbeAnswer & { sessionId?: string }
> {
  const discoverAnswer = yield probeDiscover();
  let decision = decideProtocol(discoverAnswer);
  if ('next' in decision) {
    const init = yield probeInitialize();
    decision = decideProtocol(discoverAnswer, init);
    if ('sessionId' in init && init.sessionId) yield legacyDelete(init.sessionId);
  }
  if ('next' in decision) return { problem: decision.discover };
  if (decision.protocol === null) return { problem: decision.reason };
  return { protocol: decision.protocol, reason: decision.reason };
}
