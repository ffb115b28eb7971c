import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { type RedisProcess, startRedis } from '../cluster/local/redis-server.js';
import { type ServerProcess, startServerProcess } from '../cluster/local/server-process.js';
import {
  type ClientIdentity,
  legacyInitialize,
  legacyInitialized,
  legacyRequest,
  modernRequest,
  parseRpcBody,
  type WireRequest,
} from '../scenarios/models/protocol.ts';
import type { ServerMetricsSnapshot } from '../servers/common/http-shell.js';
import { wholeNumber } from './whole-number.js';

/**
 * Raw throughput of each server under test: one process each, loopback, tools that cost nothing.
 * autocannon keeps N connections busy POSTing the same `tools/call` (legacy: inside one reused
 * session, the best case for sessions). For each server it reports requests/s, client-side p50/p99,
 * the server's own handler p50/p99 and CPU-seconds (both from /metrics), and so requests per
 * CPU-second, the figure that decides how many pods a load needs. With --rounds > 1 the servers are
 * measured in turn, interleaved, and medians are printed.
 *
 *   npm run bench:servers [-- --seconds 10 --connections 20 --rounds 1 --warmup 2]
 */

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  latency: { p50: number; p99: number };
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
// autocannon ships no types; loaded through require so the bench needs no @types package.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface Options {
  seconds: number;
  connections: number;
  rounds: number;
  warmup: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      seconds: { type: 'string', default: '10' },
      connections: { type: 'string', default: '20' },
      rounds: { type: 'string', default: '1' },
      warmup: { type: 'string', default: '2' },
    },
  });
  const positive = (flag: keyof typeof values, min: number, max: number) =>
    wholeNumber(values, flag, min, max);
  return {
    seconds: positive('seconds', 1, 600),
    connections: positive('connections', 1, 1000),
    rounds: positive('rounds', 1, 20),
    warmup: positive('warmup', 0, 60),
  };
}

interface Target {
  label: string;
  server: ServerProcess;
  request: WireRequest;
}

interface Measurement {
  rps: number;
  p50: number;
  p99: number;
  serverP50: number;
  serverP99: number;
  cpuSeconds: number;
  perCpuSecond: number;
  /** connection errors other than timeouts */
  errors: number;
  /** requests with no answer within autocannon's 10 s */
  timeouts: number;
  non2xx: number;
}

/** The first few non-2xx answers, printed under the table so an error count can be explained. */
const failures: string[] = [];

const client: ClientIdentity = { name: 'mcpbench-bench', version: '0.1.0', agentId: 'bench' };
const CALL = { name: 'get_resource', arguments: { kind: 'Pod', name: 'web' } };

async function send(url: string, r: WireRequest): Promise<Response> {
  return fetch(url, { method: r.method, headers: r.headers, body: r.body });
}

/** The request autocannon repeats; for legacy, a session is opened first and reused. */
async function prepare(server: ServerProcess): Promise<WireRequest> {
  if (server.kind === 'rc') return modernRequest(2, client, 'tools/call', CALL);
  const init = await send(server.url, legacyInitialize(1, client));
  await init.text();
  const sessionId = init.headers.get('mcp-session-id');
  if (init.status !== 200 || !sessionId) throw new Error(`initialize answered ${init.status}, no session`);
  await (await send(server.url, legacyInitialized(sessionId))).text();
  return legacyRequest(2, sessionId, 'tools/call', CALL);
}

/** One request by hand: the bench must measure tool results, not errors answered quickly. */
async function check(target: Target): Promise<void> {
  const res = await send(target.server.url, target.request);
  const msg = parseRpcBody(res.headers.get('content-type') ?? undefined, await res.text(), 2);
  const result = msg?.result as { isError?: boolean } | undefined;
  if (res.status !== 200 || !result || result.isError) {
    throw new Error(
      `${target.label}: tools/call answered ${res.status} ${JSON.stringify(msg).slice(0, 200)}`,
    );
  }
}

async function metrics(server: ServerProcess): Promise<ServerMetricsSnapshot> {
  return (await (await fetch(`${server.baseUrl}/metrics`)).json()) as ServerMetricsSnapshot;
}

async function drive(target: Target, seconds: number, connections: number): Promise<AutocannonResult> {
  const { request } = target;
  // Every request gets its own JSON-RPC id: ids must be unique within a session, and the 1.x transport
  // routes each response by id, so 20 concurrent requests sharing one id would answer each other.
  const body = request.body ?? '';
  if (!body.includes('"id":2,')) throw new Error(`${target.label}: cannot make request ids unique`);
  let next = 0;
  return autocannon({
    url: target.server.url,
    connections,
    duration: seconds,
    requests: [
      {
        method: request.method,
        headers: request.headers,
        setupRequest: (req: Record<string, unknown>) => ({
          ...req,
          body: body.replace('"id":2,', `"id":${++next},`),
        }),
        onResponse: (status: number, responseBody: string) => {
          if (status >= 300 && failures.length < 3) {
            failures.push(`${target.label}: ${status} ${String(responseBody).slice(0, 160)}`);
          }
        },
      },
    ],
  });
}

async function measure(target: Target, options: Options): Promise<Measurement> {
  if (options.warmup > 0) await drive(target, options.warmup, options.connections);
  await fetch(`${target.server.baseUrl}/metrics`, { method: 'DELETE' });
  const before = await metrics(target.server);
  const result = await drive(target, options.seconds, options.connections);
  const after = await metrics(target.server);
  const cpuSeconds = (after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs) / 1e6;
  const ok = result['2xx'];
  return {
    rps: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    serverP50: after.handlerLatencyUs.p50 / 1000,
    serverP99: after.handlerLatencyUs.p99 / 1000,
    cpuSeconds,
    perCpuSecond: ok / Math.max(cpuSeconds, 1e-6),
    // autocannon counts a timeout in `errors` too
    errors: result.errors - result.timeouts,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

function printTable(results: Map<string, Measurement[]>, options: Options): void {
  const cols = [
    ['server', 28],
    ['req/s', 8],
    ['p50 ms', 8],
    ['p99 ms', 8],
    ['srv p50', 8],
    ['srv p99', 8],
    ['CPU s', 7],
    ['req/CPU-s', 10],
    ['errors', 7],
    ['t/o', 5],
    ['non-2xx', 8],
  ] as const;
  const row = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(cols[i]?.[1] ?? 0) : c.padStart(cols[i]?.[1] ?? 0))).join(' ');
  console.log(
    `\ntools/call (zero-cost tool), ${options.connections} connections, ${options.seconds} s` +
      `${options.rounds > 1 ? ` × ${options.rounds} rounds interleaved, medians` : ''}; one server process each, loopback`,
  );
  console.log(
    `${availableParallelism()} CPUs, 1-min load average ${loadavg()[0]?.toFixed(1)} at the end ` +
      '(the bench client shares the machine; error columns are totals over all rounds)',
  );
  console.log(row(cols.map(([name]) => name)));
  for (const [label, ms] of results) {
    const m = (f: (x: Measurement) => number) => median(ms.map(f));
    console.log(
      row([
        label,
        m((x) => x.rps).toFixed(0),
        m((x) => x.p50).toFixed(1),
        m((x) => x.p99).toFixed(1),
        m((x) => x.serverP50).toFixed(2),
        m((x) => x.serverP99).toFixed(2),
        m((x) => x.cpuSeconds).toFixed(2),
        m((x) => x.perCpuSecond).toFixed(0),
        String(ms.reduce((s, x) => s + x.errors, 0)),
        String(ms.reduce((s, x) => s + x.timeouts, 0)),
        String(ms.reduce((s, x) => s + x.non2xx, 0)),
      ]),
    );
  }
  const perCpu = (label: string) => median((results.get(label) ?? []).map((x) => x.perCpuSecond));
  const base = 'legacy-memory (1 session)';
  for (const other of ['legacy-redis (1 session)', 'rc (stateless)']) {
    if (results.has(base) && results.has(other)) {
      console.log(
        `${other} / ${base}, requests per CPU-second: ${(perCpu(other) / perCpu(base)).toFixed(2)}`,
      );
    }
  }
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`bench:servers: ${(err as Error).message}`);
    process.exit(2);
  }
  let redis: RedisProcess | undefined;
  const servers: ServerProcess[] = [];
  const cleanup = async () => {
    await Promise.allSettled(servers.map((s) => s.terminate(2_000)));
    await redis?.stop();
  };
  const onSignal = () => {
    process.stderr.write('\ninterrupted: stopping servers\n');
    cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    redis = await startRedis();
    const env = {
      MCPBENCH_REDIS_URL: redis.url,
      MCPBENCH_TOOL_LATENCY_MS: '0',
      MCPBENCH_TOOL_CPU_MS: '0',
      MCPBENCH_PAYLOAD_BYTES: '64',
    };
    const specs = [
      { label: 'legacy-memory (1 session)', kind: 'legacy', env: { ...env, MCPBENCH_STORE: 'memory' } },
      { label: 'legacy-redis (1 session)', kind: 'legacy', env: { ...env, MCPBENCH_STORE: 'redis' } },
      { label: 'rc (stateless)', kind: 'rc', env },
    ] as const;
    const targets: Target[] = [];
    for (const spec of specs) {
      try {
        const server = await startServerProcess({ kind: spec.kind, env: { ...spec.env } });
        servers.push(server);
        const target = { label: spec.label, server, request: await prepare(server) };
        await check(target);
        targets.push(target);
      } catch (err) {
        console.error(`skipping ${spec.label}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    const results = new Map<string, Measurement[]>();
    for (let round = 1; round <= options.rounds; round++) {
      for (const target of targets) {
        process.stderr.write(`round ${round}/${options.rounds}: ${target.label} ...\n`);
        const m = await measure(target, options);
        results.set(target.label, [...(results.get(target.label) ?? []), m]);
      }
    }
    printTable(results, options);
    for (const f of failures) console.log(`  non-2xx sample: ${f}`);
  } finally {
    await cleanup();
  }
}

await main();
