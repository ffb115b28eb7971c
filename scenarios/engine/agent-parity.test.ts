import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineResult } from '../../rundir/raw-result.js';
import { startLoopbackServer } from '../../test/loopback-server.js';
import { createRng } from '../../util/prng.ts';
import { createK6Agent, type K6Io, type RunConfig } from '../k6/lib/client.ts';
import { foldK6Output } from '../k6-runner/run-k6.js';
import { BackoffState } from '../models/backoff.ts';
import { ListCache } from '../models/list-cache.ts';
import { LEGACY, MODERN, type ProtocolVersion } from '../models/protocol.ts';
import type { ScenarioDefinition } from '../models/scenarios.ts';
import { runSession } from './agent.js';
import { detectProtocol, ProtocolDetectionError } from './engine.js';
import { McpSession } from './mcp-session.js';
import { Recorder } from './recorder.js';

/**
 * Both agents — the built-in engine's (undici, against a real loopback HTTP server) and the k6
 * scripts' (their glue driven with a scripted stand-in for k6/http: there is no k6 here) — get the
 * same scripted server answers and must make the same decisions: the same requests in the same
 * order, the same outcomes (ok and every error class), the same life-cycle events, turns and
 * back-offs. The script goes wrong on purpose (a lost session, HTTP 500, unreadable answers, a
 * reset connection, refused handles, lost and failed tasks) so that every decision is exercised.
 */

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** no answer at all: the connection is reset */
  reset?: boolean;
}

type Fault = '404' | '500' | 'invalid' | 'reset' | 'rpc-error' | 'is-error' | 'rejected' | 'sse';

/** A scripted MCP server: answers by method, with faults at given request numbers. */
class Script {
  n = 0;
  tasks = 0;
  readonly polls = new Map<string, number>();
  readonly seen: string[] = [];

  constructor(
    private readonly protocol: ProtocolVersion,
    private readonly faults: Record<number, Fault>,
  ) {}

  answer(method: string, body: string): Answer {
    this.n++;
    if (method === 'DELETE') {
      this.seen.push('DELETE');
      return { status: 200, headers: {}, body: '' };
    }
    const msg = JSON.parse(body) as { id?: number; method: string; params?: Record<string, unknown> };
    const name = msg.params?.name ?? msg.params?.taskId;
    this.seen.push(typeof name === 'string' ? `${msg.method} ${name}` : msg.method);
    const json = (payload: Record<string, unknown>): Answer => ({
      status: 200,
      headers: { 'Content-Type': 'application/json', 'X-Mcpbench-Replica': 'r1' },
      body: JSON.stringify({ jsonrpc: '2.0', id: msg.id, ...payload }),
    });
    if (msg.method === 'notifications/initialized') return { status: 202, headers: {}, body: '' };
    if (msg.method === 'initialize')
      return {
        ...json({ result: { protocolVersion: LEGACY } }),
        headers: { 'Content-Type': 'application/json', 'Mcp-Session-Id': 's1' },
      };
    switch (this.faults[this.n]) {
      case '404':
        return { status: 404, headers: {}, body: '' };
      case '500':
        return { status: 500, headers: { 'Content-Type': 'application/json' }, body: '{}' };
      case 'invalid':
        return { status: 200, headers: { 'Content-Type': 'text/html' }, body: '<h1>hi</h1>' };
      case 'reset':
        return { status: 0, headers: {}, body: '', reset: true };
      case 'rpc-error':
        return json({ error: { code: -32000, message: 'no' } });
      case 'is-error':
        return json({ result: { isError: true, content: [{ type: 'text', text: 'boom' }] } });
      case 'rejected':
        return json({
          result: { isError: true, structuredContent: { code: 'HANDLE_REJECTED' }, content: [] },
        });
      case 'sse':
        return {
          status: 200,
          headers: { 'Content-Type': 'text/event-stream' },
          body: `data: ${JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { content: [] } })}\n\n`,
        };
    }
    const params = msg.params ?? {};
    if (msg.method === 'server/discover') return json({ result: { supportedVersions: [MODERN] } });
    if (msg.method === 'tools/list')
      return json({ result: { tools: [{ name: 'a' }], ttlMs: 60_000, cacheScope: 'private' } });
    if (msg.method === 'tasks/cancel') return json({ result: {} });
    if (msg.method === 'tasks/get') {
      const id = String(params.taskId);
      const polls = (this.polls.get(id) ?? 0) + 1;
      this.polls.set(id, polls);
      const k = Number(id.slice(1)) % 4;
      if (polls === 1) return json({ result: { status: 'working', pollIntervalMs: 10 } });
      if (k === 2) return json({ error: { code: -32602, message: 'unknown task' } });
      if (k === 3) return json({ result: { status: 'failed', error: { data: { reason: 'owner_lost' } } } });
      if (k === 0) return json({ result: { status: 'failed', error: { data: { reason: 'bug' } } } });
      return json({ result: { status: 'completed' } });
    }
    if (params.name === 'open_workspace')
      return json({ result: { structuredContent: { handle: 'h1', workspace: 'w1' }, content: [] } });
    if (params.name === 'long_operation' && this.protocol === MODERN)
      return json({ result: { resultType: 'task', taskId: `t${++this.tasks}`, pollIntervalMs: 10 } });
    return json({ result: { content: [{ type: 'text', text: 'ok' }] } });
  }
}

const SCENARIO: ScenarioDefinition = {
  name: 'parity',
  description: 'every decision an agent makes',
  turnsPerSession: 4,
  thinkTimeMs: 0,
  callsPerTurn: [1, 3],
  discovery: { [LEGACY]: 'every-turn', [MODERN]: 'ttl' } as ScenarioDefinition['discovery'],
  discoverOnStart: true,
  mix: [
    { weight: 0.4, action: 'call' },
    { weight: 0.3, action: 'workflow' },
    { weight: 0.3, action: 'task' },
  ],
  tools: ['get_resource', 'scan_policy'],
  workflowSteps: 2,
  cancelTaskProbability: 0.3,
};
const SESSIONS = 4;
const SEED = 3;

/** What an agent decided, as the raw result counts it. */
interface Decisions {
  requests: string[];
  counts: { requests: number; ok: number; errors: number; sessions: number; turns: number };
  errors: Record<string, number>;
  lifecycle: Record<string, number>;
  backoffs: number;
  perReplica: Record<string, number>;
}

type Counted = Pick<EngineResult, 'counts' | 'errors' | 'lifecycle' | 'perReplica'> & {
  backoff?: { count: number };
};

const nonZero = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([, v]) => v > 0));
const decisionsOf = (requests: string[], r: Counted): Decisions => ({
  requests,
  counts: {
    requests: r.counts.requests,
    ok: r.counts.ok,
    errors: r.counts.errors,
    sessions: r.counts.sessions,
    turns: r.counts.turns,
  },
  errors: nonZero(r.errors),
  lifecycle: nonZero(r.lifecycle),
  backoffs: r.backoff?.count ?? 0,
  perReplica: r.perReplica,
});

let server: Server;
let url = '';
let script: Script;
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpbench-parity-'));
  ({ server: server, url: url } = await startLoopbackServer((req, body, res) => {
    const a = script.answer(req.method ?? 'POST', body);
    if (a.reset) {
      req.socket.destroy();
      return;
    }
    res.writeHead(a.status, a.headers).end(a.body);
  }));
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await rm(dir, { recursive: true, force: true });
});

/** The built-in agent: one closed-model agent's sessions, each on its own undici connection. */
async function builtin(protocol: ProtocolVersion, faults: Record<number, Fault>): Promise<Decisions> {
  script = new Script(protocol, faults);
  const recorder = new Recorder(process.hrtime.bigint());
  const ctx = {
    scenario: SCENARIO,
    rng: createRng(SEED * 7919),
    cache: new ListCache(),
    stopping: () => false,
  };
  const backoff = new BackoffState();
  for (let i = 0; i < SESSIONS; i++) {
    const session = new McpSession(url, protocol, { name: 'p', version: '1', agentId: 'agent' }, recorder, {
      timeoutMs: 5_000,
      tasks: true,
      backoff,
    });
    try {
      await runSession(session, ctx);
    } finally {
      session.destroy();
    }
  }
  return decisionsOf(script.seen, recorder);
}

/**
 * The k6 agent's glue, with a scripted k6: `http.request` answers from the same script, and the
 * metric samples are written as k6's JSON output and folded by the k6 runner, as a real run is.
 */
async function k6(protocol: ProtocolVersion, faults: Record<number, Fault>): Promise<Decisions> {
  script = new Script(protocol, faults);
  const lines: string[] = [];
  const metric = (name: string) => ({
    add: (value: number, tags?: Record<string, string>) => {
      const data = { time: new Date().toISOString(), value, tags: tags ?? {} };
      lines.push(JSON.stringify({ type: 'Point', metric: name, data }));
    },
  });
  const io: K6Io = {
    request: (method, _url, body) => {
      const a = script.answer(method, body ?? '');
      const timings = { connecting: 0, tls_handshaking: 0, sending: 0, waiting: 1, receiving: 0 };
      if (a.reset)
        return { status: 0, headers: {}, body: null, error: 'connection reset', error_code: 1000, timings };
      return { status: a.status, headers: a.headers, body: a.body, error: '', error_code: 0, timings };
    },
    sleep: (s) => {
      const until = Date.now() + s * 1_000;
      while (Date.now() < until) {
        // k6's sleep blocks the VU
      }
    },
    metrics: {
      req: metric('mcpbench_req'),
      err: metric('mcpbench_err'),
      event: metric('mcpbench_event'),
      turn: metric('mcpbench_turn'),
      backoff: metric('mcpbench_backoff'),
    },
    vu: () => 1,
    log: () => {},
  };
  const config: RunConfig = {
    url: 'http://scripted/mcp',
    protocol,
    model: 'closed',
    unit: 'sessions',
    rate: 0,
    agents: 1,
    durationMs: 600_000,
    stages: undefined,
    seed: SEED,
    timeoutMs: 5_000,
    maxVUs: 1,
    preAllocatedVUs: 1,
  };
  const agent = createK6Agent(io);
  const data = agent.setupRun(config);
  for (let i = 0; i < SESSIONS; i++) agent.iterate(config, SCENARIO, data);
  const file = join(dir, `k6-${protocol}.json`);
  await writeFile(file, `${lines.join('\n')}\n`);
  const result = await foldK6Output(file, {
    options: {
      url: config.url,
      scenario: SCENARIO,
      load: { model: 'closed', agents: 1 },
      durationMs: 600_000,
    },
    protocol,
    scenario: SCENARIO.name,
    startedAtMs: data.startedAtMs,
  });
  return decisionsOf(script.seen, result);
}

describe('one agent core: the built-in and the k6 agent decide alike', () => {
  it('2025-11-25: a lost session re-initialises, HTTP 500 and unreadable answers back off, refused workspaces count', async () => {
    const faults: Record<number, Fault> = {
      6: '404',
      11: '500',
      15: 'invalid',
      19: 'rejected',
      23: 'is-error',
      27: 'rpc-error',
      31: 'sse',
      36: '404',
    };
    const a = await builtin(LEGACY, faults);
    const b = await k6(LEGACY, faults);
    expect(b).toEqual(a);
    expect(a.requests.filter((r) => r === 'initialize').length).toBeGreaterThan(SESSIONS);
    expect(a.errors).toMatchObject({
      session_lost: 2,
      http_status: 1,
      invalid_response: 1,
      handle_rejected: 1,
      jsonrpc: 2,
    });
    expect(a.counts.sessions).toBe(SESSIONS);
    expect(a.lifecycle).toMatchObject({ sessionsLost: 2, reinitialisations: 2 });
    expect(a.backoffs).toBe(2);
    expect(a.counts.turns).toBe(SESSIONS * SCENARIO.turnsPerSession);
  });

  it('2026-07-28: ttl discovery, tasks polled to completion, lost and failed, a reset connection', async () => {
    const faults: Record<number, Fault> = {
      5: 'reset',
      9: '500',
      14: 'invalid',
      18: 'rpc-error',
      22: 'is-error',
    };
    const a = await builtin(MODERN, faults);
    const b = await k6(MODERN, faults);
    expect(b).toEqual(a);
    expect(a.requests.filter((r) => r === 'tools/list')).toHaveLength(1); // then served from the cache
    expect(a.lifecycle.listCacheHits).toBe(SESSIONS * SCENARIO.turnsPerSession - 1);
    expect(a.errors).toMatchObject({ transport: 1, http_status: 1, invalid_response: 1 });
    expect(a.errors.jsonrpc).toBeGreaterThanOrEqual(2);
    for (const e of ['tasksStarted', 'tasksCompleted', 'tasksLost', 'tasksFailed', 'handlesOpened'])
      expect(a.lifecycle[e], e).toBeGreaterThan(0);
    expect(a.errors.task_lost).toBe(a.lifecycle.tasksLost);
    expect(a.backoffs).toBe(3);
  });

  it('protocol detection: the same probes, the same decision and the same reason', async () => {
    const cases: Array<[string, (method: string, body: string) => Answer]> = [
      [
        'modern',
        (_m, body) => ({
          status: 200,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: JSON.parse(body).id,
            result: { supportedVersions: [MODERN] },
          }),
        }),
      ],
      [
        'legacy',
        (m, body): Answer => {
          if (m === 'DELETE') return { status: 200, headers: {}, body: '' };
          const msg = JSON.parse(body);
          if (msg.method !== 'initialize') return { status: 400, headers: {}, body: '' };
          return {
            status: 200,
            headers: { 'Content-Type': 'application/json', 'Mcp-Session-Id': 'p1' },
            body: JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: LEGACY } }),
          };
        },
      ],
      ['neither', () => ({ status: 404, headers: {}, body: '' })],
    ];
    for (const [name, answer] of cases) {
      const seenBuiltin: string[] = [];
      script = Object.assign(new Script(MODERN, {}), {
        answer: (m: string, body: string) => {
          seenBuiltin.push(m === 'DELETE' ? 'DELETE' : JSON.parse(body).method);
          return answer(m, body);
        },
      });
      const builtinSays = await detectProtocol(url).then(
        (p) => p as string,
        (err: Error) => {
          expect(err).toBeInstanceOf(ProtocolDetectionError);
          return err.message.replace(`--protocol auto: ${url}: `, '');
        },
      );
      const seenK6: string[] = [];
      let k6Says = '';
      const agent = createK6Agent({
        request: (m, _u, body) => {
          seenK6.push(m === 'DELETE' ? 'DELETE' : JSON.parse(body ?? '').method);
          const a = answer(m, body ?? '');
          return {
            ...a,
            error: '',
            error_code: 0,
            timings: { connecting: 0, tls_handshaking: 0, sending: 0, waiting: 0, receiving: 0 },
          };
        },
        sleep: () => {},
        metrics: {
          req: { add() {} },
          err: { add() {} },
          event: { add() {} },
          turn: { add() {} },
          backoff: { add() {} },
        },
        vu: () => 1,
        log: () => {},
      });
      try {
        k6Says = agent.setupRun({
          url: 'http://scripted/mcp',
          protocol: 'auto',
          timeoutMs: 1_000,
        } as RunConfig).protocol;
      } catch (err) {
        k6Says = (err as Error).message.replace('MCPBENCH_PROTOCOL=auto: http://scripted/mcp: ', '');
      }
      expect(seenK6, name).toEqual(seenBuiltin);
      expect(k6Says, name).toBe(builtinSays);
      if (name === 'modern') expect(builtinSays).toBe(MODERN);
      else if (name === 'legacy') {
        expect(builtinSays).toBe(LEGACY);
        expect(seenBuiltin).toEqual(['server/discover', 'initialize', 'DELETE']); // the probe's session is closed
      } else expect(builtinSays).toMatch(/speaks neither/);
    }
  });
});
