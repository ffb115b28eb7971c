/**
 * The k6 side of mcpbench: one simulated MCP client per VU, speaking either protocol era with the
 * shared wire builders (`../../models/protocol.ts`) and running the shared scenario definitions
 * (`../../models/scenarios.ts`), so k6 and the built-in engine drive exactly the same workload.
 *
 * What it records (all tagged, read back by scenarios/k6-runner):
 * - `mcpbench_req` (Trend, ms): one point per completed HTTP exchange, tags `rpc` (JSON-RPC method,
 *   `DELETE`, or `tools/call long_operation`), `replica` (x-mcpbench-replica) and `outcome`
 *   (`ok`, an error class, or `none` when the exchange was neither counted ok nor failed);
 * - `mcpbench_err` (Counter): exchanges that got no response, tag `class` = transport | timeout;
 * - `mcpbench_event` (Counter): life-cycle events, tag `event` (sessions, sessionsLost, tasksStarted...);
 * - `mcpbench_turn` (Trend, ms): one agent turn (discovery + its calls, no think time, no back-off);
 * - `mcpbench_backoff` (Trend, ms): one back-off wait after a failed exchange (never in a latency).
 */

import { sleep } from 'k6';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import { createRng, intBetween, pick, weighted } from '../../../util/prng.ts';
import { BACKOFF_CLASSES, BackoffState } from '../../models/backoff.ts';
import { ListCache } from '../../models/list-cache.ts';
import {
  type ClientIdentity,
  decideProtocol,
  LEGACY,
  legacyDelete,
  legacyInitialize,
  legacyInitialized,
  legacyRequest,
  MODERN,
  modernRequest,
  notificationProblem,
  type ProbeAnswer,
  type ProtocolVersion,
  parseRpcBody,
  probeDiscover,
  probeInitialize,
  REPLICA_HEADER,
  readRpcAnswer,
  type WireRequest,
} from '../../models/protocol.ts';
import {
  type ActionKind,
  resolveScenario,
  type ScenarioDefinition,
  toolArguments,
} from '../../models/scenarios.ts';

declare const console: { log(...args: unknown[]): void };

const reqTrend = new Trend('mcpbench_req', true);
const errCounter = new Counter('mcpbench_err');
const eventCounter = new Counter('mcpbench_event');
const turnTrend = new Trend('mcpbench_turn', true);
const backoffTrend = new Trend('mcpbench_backoff', true);

const LONG_OPERATION = 'tools/call long_operation';

type Outcome =
  | 'ok'
  | 'none'
  | 'jsonrpc'
  | 'http_status'
  | 'invalid_response'
  | 'session_lost'
  | 'task_lost'
  | 'task_failed'
  | 'handle_rejected';

// ---------------------------------------------------------------------------------------------
// Configuration from the environment (k6 `-e NAME=value` or the process environment)
// ---------------------------------------------------------------------------------------------

function env(name: string): string | undefined {
  const v = __ENV[name];
  return v === undefined || v === '' ? undefined : v;
}

function fail(message: string): never {
  throw new Error(message);
}

function num(name: string, fallback?: number): number {
  const raw = env(name);
  if (raw === undefined) {
    if (fallback === undefined) fail(`${name} is required`);
    return fallback as number;
  }
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) fail(`${name} must be a non-negative number, got "${raw}"`);
  return n;
}

/** A duration: plain milliseconds ("10000") or with a unit ("500ms", "10s", "2m"). */
function durationMs(name: string, fallback: number): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) fail(`${name} must be a duration such as 10s, 500ms or 2m, got "${raw}"`);
  const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * factor);
}

function json<T>(name: string): T | undefined {
  const raw = env(name);
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    return fail(`${name} must be JSON: ${(err as Error).message}`);
  }
}

interface Stage {
  durationMs: number;
  target: number;
}

export interface RunConfig {
  url: string;
  protocol: 'auto' | ProtocolVersion;
  model: 'open' | 'closed';
  unit: 'sessions' | 'requests';
  rate: number;
  agents: number;
  durationMs: number;
  stages: Stage[] | undefined;
  seed: number;
  timeoutMs: number;
  maxVUs: number;
  preAllocatedVUs: number;
}

export function readConfig(): RunConfig {
  const url =
    env('MCPBENCH_URL') ??
    fail('MCPBENCH_URL is required (the MCP endpoint, e.g. http://127.0.0.1:3000/mcp)');
  const protocol = env('MCPBENCH_PROTOCOL') ?? 'auto';
  if (protocol !== 'auto' && protocol !== LEGACY && protocol !== MODERN) {
    fail(`MCPBENCH_PROTOCOL must be auto, ${LEGACY} or ${MODERN}, got "${protocol}"`);
  }
  const modelRaw = env('MCPBENCH_MODEL') ?? (env('MCPBENCH_RATE') !== undefined ? 'open' : 'closed');
  if (modelRaw !== 'open' && modelRaw !== 'closed')
    fail(`MCPBENCH_MODEL must be open or closed, got "${modelRaw}"`);
  const unit = env('MCPBENCH_UNIT') ?? 'sessions';
  if (unit !== 'sessions' && unit !== 'requests')
    fail(`MCPBENCH_UNIT must be sessions or requests, got "${unit}"`);
  const stages = json<Stage[]>('MCPBENCH_STAGES');
  if (stages !== undefined) {
    if (!Array.isArray(stages)) fail('MCPBENCH_STAGES must be a JSON array of {durationMs, target}');
    for (const s of stages) {
      if (
        typeof s?.durationMs !== 'number' ||
        typeof s?.target !== 'number' ||
        s.durationMs < 0 ||
        s.target < 0
      ) {
        fail('MCPBENCH_STAGES must be a JSON array of {durationMs, target} with non-negative numbers');
      }
    }
  }
  const rate = modelRaw === 'open' ? num('MCPBENCH_RATE') : 0;
  const agents = modelRaw === 'closed' ? Math.max(1, Math.round(num('MCPBENCH_AGENTS', 10))) : 0;
  const peakRate = Math.max(rate, ...(stages ?? []).map((s) => s.target));
  const maxVUs = Math.round(num('MCPBENCH_MAX_VUS', Math.min(1_000, Math.max(50, Math.ceil(peakRate)))));
  return {
    url,
    protocol: protocol as RunConfig['protocol'],
    model: modelRaw,
    unit,
    rate,
    agents,
    durationMs: durationMs('MCPBENCH_DURATION', 10_000),
    stages,
    seed: Math.round(num('MCPBENCH_SEED', 1)),
    timeoutMs: durationMs('MCPBENCH_TIMEOUT', 10_000),
    maxVUs,
    preAllocatedVUs: Math.min(
      maxVUs,
      Math.round(num('MCPBENCH_PREALLOCATED_VUS', Math.min(100, Math.max(5, Math.ceil(peakRate / 10))))),
    ),
  };
}

/** The scenario: a registry name (MCPBENCH_SCENARIO or the script's own) + MCPBENCH_SCENARIO_PARAMS,
 * or a whole definition in MCPBENCH_SCENARIO_DEFINITION. */
export function readScenario(defaultName?: string): ScenarioDefinition {
  const definition = json<ScenarioDefinition>('MCPBENCH_SCENARIO_DEFINITION');
  if (definition) return definition;
  const name = env('MCPBENCH_SCENARIO') ?? defaultName ?? fail('MCPBENCH_SCENARIO is required');
  return resolveScenario(name, json<Record<string, unknown>>('MCPBENCH_SCENARIO_PARAMS') ?? {});
}

const ms = (n: number) => `${Math.max(0, Math.round(n))}ms`;

/** k6 options: open model = arrival-rate executors, closed model = VU executors. */
export function buildOptions(config: RunConfig): Record<string, unknown> {
  let executor: Record<string, unknown>;
  const stages = config.stages?.map((s) => ({ duration: ms(s.durationMs), target: s.target }));
  if (config.model === 'open') {
    executor = stages
      ? {
          executor: 'ramping-arrival-rate',
          startRate: config.rate,
          timeUnit: '1s',
          stages,
          preAllocatedVUs: config.preAllocatedVUs,
          maxVUs: config.maxVUs,
        }
      : {
          executor: 'constant-arrival-rate',
          rate: config.rate,
          timeUnit: '1s',
          duration: ms(config.durationMs),
          preAllocatedVUs: config.preAllocatedVUs,
          maxVUs: config.maxVUs,
        };
  } else {
    executor = stages
      ? {
          executor: 'ramping-vus',
          startVUs: config.agents,
          stages,
          gracefulRampDown: ms(config.timeoutMs + 1_000),
        }
      : { executor: 'constant-vus', vus: config.agents, duration: ms(config.durationMs) };
  }
  return {
    scenarios: { mcpbench: { ...executor, gracefulStop: ms(config.timeoutMs + 1_000) } },
    // Fewer system tags keep k6's per-sample work and its JSON output small.
    systemTags: ['status', 'method', 'scenario', 'error_code'],
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
    setupTimeout: ms(config.timeoutMs + 5_000),
  };
}

// ---------------------------------------------------------------------------------------------
// One MCP client
// ---------------------------------------------------------------------------------------------

function header(res: http.RefinedResponse<'text'>, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const key in res.headers) {
    if (key.toLowerCase() === want) return res.headers[key];
  }
  return undefined;
}

/** k6 error codes: 1050 request timeout, 1211 dial timeout; everything else without a response is transport. */
function noResponseClass(res: http.RefinedResponse<'text'>): 'transport' | 'timeout' | null {
  if (res.status !== 0) return null;
  return res.error_code === 1050 || res.error_code === 1211 ? 'timeout' : 'transport';
}

interface Exchange {
  status: number;
  contentType: string | undefined;
  text: string;
  sessionId: string | undefined;
}

interface RpcOutcome {
  ok: boolean;
  status: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
  /** set when the exchange already counted as a failure of this class */
  failure?: string;
}

class McpClient {
  private sessionId: string | undefined;
  private nextId = 1;
  private pending: { rpc: string; ms: number; replica: string } | undefined;

  constructor(
    readonly url: string,
    readonly protocol: ProtocolVersion,
    readonly identity: ClientIdentity,
    private readonly timeoutMs: number,
    private readonly tasks: boolean,
    /** the agent's back-off (scenarios/models/backoff.ts), kept across its sessions */
    readonly backoff: BackoffState = new BackoffState(),
  ) {}

  get legacy(): boolean {
    return this.protocol === LEGACY;
  }

  get hasSession(): boolean {
    return this.sessionId !== undefined;
  }

  /** Emits the last exchange's sample with its outcome (once). */
  settle(outcome: Outcome): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    reqTrend.add(p.ms, { rpc: p.rpc, replica: p.replica, outcome });
  }

  /** A failed exchange of class `kind`: its sample is settled, then (for the classes that call for it) the client backs off. */
  private failed(kind: string, backOff = BACKOFF_CLASSES.has(kind)): void {
    this.settle(kind as Outcome);
    if (!backOff) return;
    const delay = this.backoff.failed();
    const from = Date.now();
    sleep(delay / 1_000);
    const slept = Date.now() - from;
    this.backoff.waited(slept);
    backoffTrend.add(slept);
  }

  exchange(req: WireRequest): Exchange | { failure: 'transport' | 'timeout' } {
    this.settle('none');
    const res = http.request(req.method, this.url, req.body ?? null, {
      headers: req.headers,
      timeout: this.timeoutMs,
      responseType: 'text',
    });
    const lost = noResponseClass(res);
    if (lost) {
      errCounter.add(1, { class: lost, rpc: req.rpcMethod });
      this.failed(lost);
      return { failure: lost };
    }
    const t = res.timings;
    this.pending = {
      rpc: req.rpcMethod,
      ms: t.connecting + t.tls_handshaking + t.sending + t.waiting + t.receiving,
      replica: header(res, REPLICA_HEADER) ?? '',
    };
    return {
      status: res.status,
      contentType: header(res, 'content-type'),
      text: typeof res.body === 'string' ? res.body : '',
      sessionId: header(res, 'mcp-session-id'),
    };
  }

  /** Legacy: initialize + notifications/initialized. Modern: nothing (optionally server/discover). */
  open(discover: boolean): boolean {
    if (!this.legacy) {
      if (!discover) return true;
      const r = this.rpc('server/discover', {});
      this.settle(r.ok ? 'ok' : r.failure ? (r.failure as Outcome) : 'jsonrpc');
      return r.ok;
    }
    const id = this.nextId++;
    const init = this.exchange(legacyInitialize(id, this.identity));
    if ('failure' in init) return false;
    if (init.status < 200 || init.status >= 300) {
      this.failed('http_status');
      return false;
    }
    const answer = readRpcAnswer(init.contentType, init.text, id);
    if (answer.kind === 'invalid' || (answer.kind === 'result' && answer.result.protocolVersion !== LEGACY)) {
      this.failed('invalid_response');
      return false;
    }
    if (answer.kind === 'error') {
      // Refused: the client cannot start, and trying again at once would be a retry storm.
      this.failed('jsonrpc', true);
      return false;
    }
    this.settle('ok');
    this.sessionId = init.sessionId ?? '';
    const done = this.exchange(legacyInitialized(this.sessionId));
    if ('failure' in done) return false;
    if (done.status < 200 || done.status >= 300) {
      this.failed('http_status');
      return false;
    }
    if (notificationProblem(done.status, done.text)) {
      this.failed('invalid_response');
      return false;
    }
    this.settle('ok');
    return true;
  }

  /** One JSON-RPC request; the caller settles its outcome unless `failure` is set (already settled). */
  rpc(method: string, params: Record<string, unknown>): RpcOutcome {
    if (this.legacy && this.sessionId === undefined) {
      eventCounter.add(1, { event: 'reinitialisations' });
      if (!this.open(false)) return { ok: false, status: 0, failure: 'session_lost' };
    }
    const id = this.nextId++;
    const req = this.legacy
      ? legacyRequest(id, this.sessionId as string, method, params)
      : modernRequest(id, this.identity, method, params, { tasks: this.tasks });
    if (method === 'tools/call' && params.name === 'long_operation') req.rpcMethod = LONG_OPERATION;
    const res = this.exchange(req);
    if ('failure' in res) return { ok: false, status: 0, failure: res.failure };
    if (this.legacy && res.status === 404 && this.sessionId) {
      this.settle('session_lost');
      eventCounter.add(1, { event: 'sessionsLost' });
      this.sessionId = undefined;
      return { ok: false, status: 404, failure: 'session_lost' };
    }
    if (res.status < 200 || res.status >= 300) {
      const body = parseRpcBody(res.contentType, res.text, undefined);
      this.failed('http_status');
      return {
        ok: false,
        status: res.status,
        error: body?.error as RpcOutcome['error'],
        failure: 'http_status',
      };
    }
    const answer = readRpcAnswer(res.contentType, res.text, id);
    if (answer.kind === 'invalid') {
      this.failed('invalid_response');
      return { ok: false, status: res.status, failure: 'invalid_response' };
    }
    this.backoff.succeeded();
    if (answer.kind === 'error') return { ok: false, status: res.status, error: answer.error };
    return { ok: true, status: res.status, result: answer.result };
  }

  /** Legacy: DELETE the session. */
  close(): void {
    if (this.legacy && this.sessionId) {
      const res = this.exchange(legacyDelete(this.sessionId));
      if (!('failure' in res)) {
        if ((res.status >= 200 && res.status < 300) || res.status === 404 || res.status === 405)
          this.settle('ok');
        else this.failed('http_status');
      }
    }
    this.sessionId = undefined;
    this.settle('none');
  }
}

// ---------------------------------------------------------------------------------------------
// The agent (mirrors scenarios/engine/agent.ts)
// ---------------------------------------------------------------------------------------------

interface AgentContext {
  scenario: ScenarioDefinition;
  rng: () => number;
  cache: ListCache;
  /** true once the run's duration is over: finish the current step and return (as the built-in engine) */
  stopping: () => boolean;
}

function classifyToolResult(client: McpClient, outcome: RpcOutcome): boolean {
  if (!outcome.ok) {
    if (!outcome.failure) client.settle('jsonrpc');
    return false;
  }
  const r = outcome.result ?? {};
  if (r.isError === true) {
    const code = (r.structuredContent as { code?: string } | undefined)?.code;
    const text = JSON.stringify(r.content ?? '');
    if (code === 'HANDLE_REJECTED' || text.includes('is not open in this session')) {
      eventCounter.add(1, { event: 'handlesRejected' });
      client.settle('handle_rejected');
    } else {
      client.settle('jsonrpc');
    }
    return false;
  }
  client.settle('ok');
  return true;
}

function discover(client: McpClient, ctx: AgentContext, firstTurn: boolean): void {
  const policy = ctx.scenario.discovery[client.protocol];
  if (policy === 'none' || (policy === 'once-per-session' && !firstTurn)) return;
  const key = ListCache.key('tools/list', {});
  if (policy === 'ttl' && ctx.cache.fresh(key, Date.now(), client.identity.agentId)) {
    eventCounter.add(1, { event: 'listCacheHits' });
    return;
  }
  if (policy === 'ttl') eventCounter.add(1, { event: 'listCacheMisses' });
  const outcome = client.rpc('tools/list', {});
  if (outcome.ok) {
    client.settle('ok');
    if (policy === 'ttl') ctx.cache.store(key, outcome.result, Date.now(), client.identity.agentId);
  } else if (!outcome.failure) client.settle('jsonrpc');
}

function plainCall(client: McpClient, ctx: AgentContext): void {
  const tool = pick(ctx.rng, ctx.scenario.tools);
  const args = ctx.scenario.fixedArguments ?? toolArguments(tool, Math.floor(ctx.rng() * 1e6));
  classifyToolResult(client, client.rpc('tools/call', { name: tool, arguments: args }));
}

function workflow(client: McpClient, ctx: AgentContext): void {
  const open = client.rpc('tools/call', { name: 'open_workspace', arguments: { name: 'agent-ws' } });
  if (!classifyToolResult(client, open)) return;
  const sc = (open.result?.structuredContent ?? {}) as { handle?: string; workspace?: string };
  eventCounter.add(1, { event: 'handlesOpened' });
  const ref = client.legacy ? { workspace: sc.workspace } : { handle: sc.handle };
  for (let i = 0; i < ctx.scenario.workflowSteps && !ctx.stopping(); i++) {
    const step = client.rpc('tools/call', {
      name: 'workspace_exec',
      arguments: { ...ref, command: `step-${i}` },
    });
    if (!classifyToolResult(client, step)) return;
  }
  classifyToolResult(client, client.rpc('tools/call', { name: 'close_workspace', arguments: ref }));
}

function task(client: McpClient, ctx: AgentContext): void {
  const call = client.rpc('tools/call', { name: 'long_operation', arguments: { operation: 'migrate' } });
  if (!call.ok || call.result?.resultType !== 'task') {
    classifyToolResult(client, call); // an error, or a synchronous long operation
    return;
  }
  client.settle('ok');
  eventCounter.add(1, { event: 'tasksStarted' });
  const taskId = String(call.result.taskId);
  let interval = Number(call.result.pollIntervalMs ?? 250);
  const cancel = ctx.rng() < ctx.scenario.cancelTaskProbability;
  const deadline = Date.now() + 120_000;
  for (let polls = 0; ; polls++) {
    sleep(Math.max(10, interval) / 1_000);
    if (cancel && polls === 1) {
      const c = client.rpc('tasks/cancel', { taskId });
      if (c.ok) client.settle('ok');
    }
    const got = client.rpc('tasks/get', { taskId });
    if (!got.ok) {
      if (got.error?.code === -32602) {
        eventCounter.add(1, { event: 'tasksLost' });
        client.settle('task_lost');
        return;
      }
      if (!got.failure) client.settle('jsonrpc');
      if (ctx.stopping() || Date.now() > deadline) return;
      continue;
    }
    client.settle('ok');
    const status = got.result?.status;
    interval = Number(got.result?.pollIntervalMs ?? interval);
    if (status === 'completed') {
      eventCounter.add(1, { event: 'tasksCompleted' });
      return;
    }
    if (status === 'cancelled') {
      eventCounter.add(1, { event: 'tasksCancelled' });
      return;
    }
    if (status === 'failed') {
      const reason = (got.result?.error as { data?: { reason?: string } } | undefined)?.data?.reason;
      if (reason === 'owner_lost' || reason === 'owner_shutdown') {
        eventCounter.add(1, { event: 'tasksLost' });
        client.settle('task_lost');
      } else {
        eventCounter.add(1, { event: 'tasksFailed' });
        client.settle('task_failed');
      }
      return;
    }
    if (ctx.stopping() || Date.now() > deadline) return;
  }
}

function runAction(kind: ActionKind, client: McpClient, ctx: AgentContext): void {
  if (kind === 'workflow') workflow(client, ctx);
  else if (kind === 'task') task(client, ctx);
  else plainCall(client, ctx);
  client.settle('none');
}

/** One agent session: open, turns (discovery + actions, think time between), close. */
function runSession(client: McpClient, ctx: AgentContext): void {
  eventCounter.add(1, { event: 'sessions' });
  const { scenario } = ctx;
  if (!client.open(scenario.discoverOnStart)) {
    client.close();
    return;
  }
  for (let turn = 0; turn < scenario.turnsPerSession && !ctx.stopping(); turn++) {
    if (turn > 0 && scenario.thinkTimeMs > 0) sleep(scenario.thinkTimeMs / 1_000);
    const start = Date.now();
    const backedOffMs = client.backoff.totalMs;
    discover(client, ctx, turn === 0);
    const calls = intBetween(ctx.rng, scenario.callsPerTurn[0], scenario.callsPerTurn[1]);
    for (let i = 0; i < calls && !ctx.stopping(); i++)
      runAction(weighted(ctx.rng, scenario.mix).action, client, ctx);
    // Back-off waits are recorded on their own (mcpbench_backoff), never as part of the turn.
    turnTrend.add(Date.now() - start - (client.backoff.totalMs - backedOffMs));
  }
  client.close();
}

// ---------------------------------------------------------------------------------------------
// Script glue: setup() + the VU iteration, shared by every scenarios/k6/<name>.ts
// ---------------------------------------------------------------------------------------------

function probe(url: string, req: WireRequest, timeoutMs: number): ProbeAnswer & { sessionId?: string } {
  const res = http.request(req.method, url, req.body ?? null, {
    headers: req.headers,
    timeout: timeoutMs,
    responseType: 'text',
    tags: { mcpbench: 'probe' },
  });
  if (res.status === 0) return { error: String(res.error || 'no answer') };
  return {
    status: res.status,
    contentType: header(res, 'content-type'),
    text: typeof res.body === 'string' ? res.body : '',
    sessionId: header(res, 'mcp-session-id') || undefined,
  };
}

/**
 * auto: the built-in engine's decision (`decideProtocol`): a `server/discover` listing 2026-07-28
 * means modern, else an `initialize` answered with 2025-11-25 means legacy (its session is closed
 * again), else the run stops in setup naming both answers.
 */
function detectProtocol(url: string, timeoutMs: number): { protocol: ProtocolVersion; reason: string } {
  const discover = probe(url, probeDiscover(), timeoutMs);
  let decision = decideProtocol(discover);
  if ('next' in decision) {
    const init = probe(url, probeInitialize(), timeoutMs);
    decision = decideProtocol(discover, init);
    if ('sessionId' in init && init.sessionId) probe(url, legacyDelete(init.sessionId), timeoutMs);
  }
  if ('next' in decision || decision.protocol === null)
    return fail(
      `MCPBENCH_PROTOCOL=auto: ${url}: ${'next' in decision ? decision.discover : decision.reason}`,
    );
  return { protocol: decision.protocol, reason: decision.reason };
}

export interface SetupData {
  protocol: ProtocolVersion;
  /** epoch ms when setup finished: load starts right after */
  startedAtMs: number;
}

export function setupRun(config: RunConfig): SetupData {
  let protocol: ProtocolVersion;
  if (config.protocol === 'auto') {
    const detected = detectProtocol(config.url, config.timeoutMs);
    protocol = detected.protocol;
    console.log(`mcpbench protocol ${protocol} detected: ${detected.reason}`);
  } else protocol = config.protocol;
  const startedAtMs = Date.now();
  // Read by scenarios/k6-runner to align the run's time axis (k6 prints it on stderr).
  console.log(`mcpbench-start protocol=${protocol} startedAtMs=${startedAtMs}`);
  return { protocol, startedAtMs };
}

interface VuState {
  rng: () => number;
  cache: ListCache;
  /** a closed-model VU is one agent: its back-off carries over from one session to the next */
  backoff: BackoffState;
  client: McpClient | undefined;
  sessions: number;
}

let vu: VuState | undefined;

/** One k6 iteration: a whole agent session, or (open model, unit requests) one plain call. */
export function iterate(config: RunConfig, scenario: ScenarioDefinition, data: SetupData): void {
  if (!vu) {
    vu = {
      rng: createRng(config.seed * 7919 + (__VU - 1)),
      cache: new ListCache(),
      backoff: new BackoffState(),
      client: undefined,
      sessions: 0,
    };
  }
  const state = vu;
  const tasks = scenario.mix.some((m) => m.action === 'task');
  const newClient = () =>
    new McpClient(
      config.url,
      data.protocol,
      {
        name: 'mcpbench-agent',
        version: '0.1.0',
        // A closed-model VU is one agent (one caller) across its sessions; an open-model arrival is a new one.
        agentId:
          config.model === 'closed'
            ? `agent-${config.seed}-${__VU}`
            : `agent-${config.seed}-${__VU}-${state.sessions++}`,
      },
      config.timeoutMs,
      tasks,
      // An open-model arrival is a new agent with a back-off of its own.
      config.model === 'closed' ? state.backoff : new BackoffState(),
    );
  const endsAt =
    data.startedAtMs +
    (config.stages ? config.stages.reduce((sum, s) => sum + s.durationMs, 0) : config.durationMs);
  const ctx: AgentContext = {
    scenario,
    rng: state.rng,
    cache: state.cache,
    stopping: () => Date.now() >= endsAt,
  };
  if (config.model === 'open' && config.unit === 'requests') {
    // One long-lived client per VU, as the built-in engine reuses idle sessions.
    state.client ??= newClient();
    const client = state.client;
    if (client.legacy && !client.hasSession && !client.open(false)) return;
    runAction('call', client, ctx);
    return;
  }
  runSession(newClient(), ctx);
}
