/**
 * The k6 agent's I/O: k6's blocking `http.request`, `sleep` and its metrics, given to the shared
 * agent core (`../../models/agent-core.ts`), which makes every decision. This file imports nothing of
 * k6 (lib/agent.ts hands k6's modules in), so the same glue runs under a test with a scripted stand-in.
 *
 * What it records (all tagged, read back by scenarios/k6-runner):
 * - `mcpbench_req` (Trend, ms): one point per completed HTTP exchange, tags `rpc` (JSON-RPC method,
 *   `DELETE`, or `tools/call long_operation`), `replica` (x-mcpbench-replica) and `outcome`
 *   (`ok`, an error class, or `none` when the exchange was neither counted ok nor failed);
 * - `mcpbench_err` (Counter): exchanges that got no response, tag `class` = transport | timeout, and
 *   errors about an exchange already counted ok (tag `class` = task_lost | task_failed, no `rpc`);
 * - `mcpbench_event` (Counter): life-cycle events, tag `event` (sessions, sessionsLost, tasksStarted...);
 * - `mcpbench_turn` (Trend, ms): one agent turn (discovery + its calls, no think time, no back-off);
 * - `mcpbench_backoff` (Trend, ms): one back-off wait after a failed exchange (never in a latency).
 */

import { createRng } from '../../../util/prng.ts';
import {
  type AgentContext,
  type AgentSink,
  ClientCore,
  type NoAnswer,
  detectProtocol as probeSequence,
  runAction,
  runSession,
  runSync,
  type WireAnswer,
} from '../../models/agent-core.ts';
import { BackoffState } from '../../models/backoff.ts';
import { ListCache } from '../../models/list-cache.ts';
import {
  type ProbeAnswer,
  type ProtocolVersion,
  REPLICA_HEADER,
  type WireRequest,
} from '../../models/protocol.ts';
import type { ScenarioDefinition } from '../../models/scenarios.ts';

export interface RunConfig {
  url: string;
  protocol: 'auto' | ProtocolVersion;
  model: 'open' | 'closed';
  unit: 'sessions' | 'requests';
  rate: number;
  agents: number;
  durationMs: number;
  stages: Array<{ durationMs: number; target: number }> | undefined;
  seed: number;
  timeoutMs: number;
  maxVUs: number;
  preAllocatedVUs: number;
}

export interface SetupData {
  protocol: ProtocolVersion;
  /** epoch ms when setup finished: load starts right after */
  startedAtMs: number;
}

/** The part of a k6 `RefinedResponse<'text'>` the agent reads. */
interface K6Response {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  error: string;
  error_code: number;
  timings: {
    connecting: number;
    tls_handshaking: number;
    sending: number;
    waiting: number;
    receiving: number;
  };
}

interface K6Metric {
  add(value: number, tags?: Record<string, string>): void;
}

/** What k6 provides: `k6/http`'s request, `k6`'s sleep (seconds), `k6/metrics`, `__VU`, console. */
export interface K6Io {
  request(
    method: string,
    url: string,
    body: string | null,
    params: {
      headers: Record<string, string>;
      timeout: number;
      responseType: 'text';
      tags?: Record<string, string>;
    },
  ): K6Response;
  sleep(seconds: number): void;
  metrics: { req: K6Metric; err: K6Metric; event: K6Metric; turn: K6Metric; backoff: K6Metric };
  vu(): number;
  log(line: string): void;
}

function header(res: K6Response, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const key in res.headers) {
    if (key.toLowerCase() === want) return res.headers[key];
  }
  return undefined;
}

/** k6 error codes: 1050 request timeout, 1211 dial timeout; everything else without a response is transport. */
function noResponseClass(res: K6Response): 'transport' | 'timeout' | null {
  if (res.status !== 0) return null;
  return res.error_code === 1050 || res.error_code === 1211 ? 'timeout' : 'transport';
}

/**
 * One client's connection to k6: each exchange's sample waits for its outcome (the core's next
 * ok / error about it) and is emitted with it, or as `none` when the next exchange starts.
 */
class K6Connection implements AgentSink {
  private pending: { rpc: string; ms: number; replica: string } | undefined;

  constructor(
    private readonly io: K6Io,
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  /** Emits the last exchange's sample with its outcome (once). */
  settle(outcome: string): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.io.metrics.req.add(p.ms, { rpc: p.rpc, replica: p.replica, outcome });
  }

  exchange(req: WireRequest): WireAnswer | NoAnswer {
    this.settle('none');
    const res = this.io.request(req.method, this.url, req.body ?? null, {
      headers: req.headers,
      timeout: this.timeoutMs,
      responseType: 'text',
    });
    const lost = noResponseClass(res);
    if (lost) {
      this.io.metrics.err.add(1, { class: lost, rpc: req.rpcMethod });
      return { failure: lost, cause: res.error || lost };
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

  wait(ms: number): number {
    const from = Date.now();
    this.io.sleep(ms / 1_000);
    return Date.now() - from;
  }

  ok(): void {
    this.settle('ok');
  }

  error(kind: string): void {
    // transport and timeout were counted by exchange() (no sample is pending then)
    if (kind === 'transport' || kind === 'timeout') return;
    if (this.pending) this.settle(kind);
    // An error about an exchange already counted ok (a tasks/get that says the task failed or was
    // lost): an error of its own, with no request.
    else this.io.metrics.err.add(1, { class: kind });
  }

  event(name: string): void {
    this.io.metrics.event.add(1, { event: name });
  }

  backedOff(ms: number): void {
    this.io.metrics.backoff.add(ms);
  }

  turn(ms: number): void {
    this.io.metrics.turn.add(ms);
  }

  now(): number {
    return Date.now();
  }
}

interface VuState {
  rng: () => number;
  cache: ListCache;
  /** a closed-model VU is one agent: its back-off carries over from one session to the next */
  backoff: BackoffState;
  client: { core: ClientCore; connection: K6Connection } | undefined;
  sessions: number;
}

/** The k6 agent on the given k6 modules: `setup()` and the VU iteration shared by every scenarios/k6/<name>.ts. */
export function createK6Agent(io: K6Io) {
  function probe(url: string, req: WireRequest, timeoutMs: number): ProbeAnswer & { sessionId?: string } {
    const res = io.request(req.method, url, req.body ?? null, {
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

  /** auto: the agent core's probe sequence; a server that speaks neither stops the run in setup, naming both answers. */
  function detect(url: string, timeoutMs: number): { protocol: ProtocolVersion; reason: string } {
    const steps = probeSequence();
    let r = steps.next();
    while (!r.done) r = steps.next(probe(url, r.value, timeoutMs));
    if ('problem' in r.value) throw new Error(`MCPBENCH_PROTOCOL=auto: ${url}: ${r.value.problem}`);
    return r.value;
  }

  function setupRun(config: RunConfig): SetupData {
    let protocol: ProtocolVersion;
    if (config.protocol === 'auto') {
      const detected = detect(config.url, config.timeoutMs);
      protocol = detected.protocol;
      io.log(`mcpbench protocol ${protocol} detected: ${detected.reason}`);
    } else protocol = config.protocol;
    const startedAtMs = Date.now();
    // Read by scenarios/k6-runner to align the run's time axis (k6 prints it on stderr).
    io.log(`mcpbench-start protocol=${protocol} startedAtMs=${startedAtMs}`);
    return { protocol, startedAtMs };
  }

  let vu: VuState | undefined;

  /** One k6 iteration: a whole agent session, or (open model, unit requests) one plain call. */
  function iterate(config: RunConfig, scenario: ScenarioDefinition, data: SetupData): void {
    const vuNumber = io.vu();
    if (!vu) {
      vu = {
        rng: createRng(config.seed * 7919 + (vuNumber - 1)),
        cache: new ListCache(),
        backoff: new BackoffState(),
        client: undefined,
        sessions: 0,
      };
    }
    const state = vu;
    const tasks = scenario.mix.some((m) => m.action === 'task');
    const newClient = () => {
      const connection = new K6Connection(io, config.url, config.timeoutMs);
      const core = new ClientCore(
        data.protocol,
        {
          name: 'mcpbench-agent',
          version: '0.1.0',
          // A closed-model VU is one agent (one caller) across its sessions; an open-model arrival is a new one.
          agentId:
            config.model === 'closed'
              ? `agent-${config.seed}-${vuNumber}`
              : `agent-${config.seed}-${vuNumber}-${state.sessions++}`,
        },
        connection,
        tasks,
        // An open-model arrival is a new agent with a back-off of its own.
        config.model === 'closed' ? state.backoff : new BackoffState(),
      );
      return { core, connection };
    };
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
      const { core, connection } = state.client;
      if (core.legacy && !core.hasSession && !runSync(core.open(false), connection)) return;
      runSync(runAction('call', core, ctx), connection);
      connection.settle('none');
      return;
    }
    const { core, connection } = newClient();
    runSync(runSession(core, ctx), connection);
    connection.settle('none');
  }

  return { setupRun, iterate };
}
