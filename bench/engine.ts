import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';
import { type ServerProcess, startServerProcess } from '../cluster/local/server-process.js';
import type { EngineResult } from '../rundir/raw-result.js';
import { type EngineOptions, runEngine } from '../scenarios/engine/engine.js';
import { K6_INSTALL_HINT, k6Args, k6Binary, startK6 } from '../scenarios/k6-runner/run-k6.js';
import { MODERN } from '../scenarios/models/protocol.ts';
import type { ServerMetricsSnapshot } from '../servers/common/http-shell.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { onOutputLines, orphanGuarded } from '../util/processes.js';
import { measureFloor } from './raw-floor.js';
import { benchToolCall } from './tool-call.js';
import { wholeNumber } from './whole-number.js';

/**
 * What the load generator itself costs. Part 1: the built-in engine, k6 (plain, and as the k6 runner
 * uses it, with per-sample JSON output) and autocannon drive the same trivial `tools/call` endpoint
 * (bench/trivial-server.ts, its own process) for the same time at the same load — a closed model
 * with N connections, and a fixed arrival rate — each in its own process so its CPU can be read from
 * /proc/<pid>/stat over the load window only (start-up and the final report excluded). Part 2: the
 * measurement overhead = the engine's p50 minus the handler p50 one of our servers (rc, zero-cost
 * tools) measures itself, at a moderate fixed rate, next to the same figure for a raw socket
 * (bench/raw-floor.ts: the part no client can remove). Every measurement is repeated --rounds times,
 * interleaved, and medians are printed.
 *
 * autocannon's `overallRate` is not an arrival rate: each connection sends its share of the second
 * back to back and then waits for the next one-second tick (lib/httpClient.js), so its open-row CPU
 * is the cost of a burst. The autocannon goal is judged on the closed (saturating) row.
 *
 *   npm run bench:engine [-- --seconds 10 --rounds 3 --connections 20 --rate 1000 --overhead-rate 200]
 */

const SELF = fileURLToPath(import.meta.url);
/** the floor's pause before each request in `closed-1-pause`: a few tens of µs, as a real client's own work */
const FLOOR_PAUSE_US = 40;
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

type Generator = 'builtin' | 'k6' | 'k6-json' | 'autocannon' | 'floor';
type LoadKind = 'closed' | 'open';

interface Measurement {
  requests: number;
  /** open model: arrivals the generator could not start */
  missed: number;
  errors: number;
  rps: number;
  /** CPU-seconds of the generator process over the load window */
  cpuSeconds: number;
  perCpuSecond: number;
  p50Us: number;
  p99Us: number;
  /** CPU-seconds the k6 runner spends folding k6's output afterwards (k6-json only) */
  foldCpuSeconds?: number;
}

interface ChildSummary {
  requests: number;
  errors: number;
  p50Us: number;
  p99Us: number;
  /** open model: arrivals the generator could not start (at its in-flight cap); autocannon does not say */
  missed: number;
}

// ---------------------------------------------------------------------------------------------
// Child mode: one generator in this process, driven by the parent
// ---------------------------------------------------------------------------------------------

interface ChildSpec {
  generator: 'builtin' | 'autocannon' | 'floor';
  url: string;
  load: LoadKind;
  connections: number;
  rate: number;
  seconds: number;
  /** floor only: microseconds the client pauses before each request */
  pauseUs?: number;
}

function p(h: hdr.Histogram, q: number): number {
  return h.totalCount > 0 ? h.getValueAtPercentile(q) : 0;
}

function summarise(result: EngineResult): ChildSummary {
  const encoded = result.histograms.request;
  const h = encoded ? hdr.decodeFromCompressedBase64(encoded) : undefined;
  return {
    requests: result.counts.requests,
    errors: result.counts.errors,
    p50Us: h ? p(h, 50) : 0,
    p99Us: h ? p(h, 99) : 0,
    missed: result.engineFaults.missedArrivals,
  };
}

function engineOptions(
  url: string,
  load: LoadKind,
  connections: number,
  rate: number,
  seconds: number,
): EngineOptions {
  return {
    url,
    protocol: MODERN,
    scenario: 'calls',
    // One long session per agent: a closed-model agent keeps its connection, as autocannon and k6 do.
    scenarioParams: load === 'closed' ? { turnsPerSession: 1_000_000_000 } : {},
    load:
      load === 'closed'
        ? { model: 'closed', agents: connections }
        : // At most `connections` in flight, as autocannon's connections and k6's VUs: the same
          // concurrency cap for every generator (the engine's default cap of 1000 lets an overloaded
          // machine open a connection per late arrival).
          { model: 'open', rate, unit: 'requests', maxInFlight: connections },
    durationMs: seconds * 1_000,
  };
}

async function runChild(spec: ChildSpec): Promise<void> {
  const mark = () => process.stdout.write(`load-start ${Date.now()}\n`);
  let summary: ChildSummary;
  if (spec.generator === 'builtin') {
    mark();
    summary = summarise(
      await runEngine(engineOptions(spec.url, spec.load, spec.connections, spec.rate, spec.seconds)),
    );
  } else if (spec.generator === 'floor') {
    mark();
    const floor = await measureFloor(
      spec.url,
      spec.load === 'open' ? spec.rate : 0,
      spec.seconds,
      spec.pauseUs,
    );
    summary = { requests: floor.requests, errors: 0, p50Us: floor.p50Us, p99Us: 0, missed: 0 };
  } else {
    const req = benchToolCall(2, 'bench');
    const body = req.body ?? '';
    let next = 0;
    mark();
    const r = await autocannon({
      url: spec.url,
      connections: spec.connections,
      duration: spec.seconds,
      ...(spec.load === 'open' ? { overallRate: spec.rate } : {}),
      requests: [
        {
          method: 'POST',
          headers: req.headers,
          setupRequest: (r0) => ({ ...r0, body: body.replace('"id":2,', `"id":${++next},`) }),
        },
      ],
    });
    summary = {
      requests: r.requests.total,
      errors: r.errors + r.timeouts + r.non2xx,
      // autocannon reports milliseconds
      p50Us: r.latency.p50 * 1000,
      p99Us: r.latency.p99 * 1000,
      missed: 0,
    };
  }
  process.stdout.write(`result ${JSON.stringify(summary)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Parent: processes, CPU sampling
// ---------------------------------------------------------------------------------------------

const children = new Set<ChildProcess>();

function spawnTracked(command: string, args: string[]): ChildProcess {
  const cmd = orphanGuarded(command, args);
  const child = spawn(cmd.command, cmd.args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, K6_NO_USAGE_REPORT: 'true' },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** utime + stime of a process (all its threads), in seconds; null once it is gone. */
function cpuOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Samples a process's CPU every 50 ms; `between(a, b)` interpolates CPU-seconds spent in [a, b] (epoch ms). */
function cpuSampler(pid: number) {
  const samples: Array<[number, number]> = [];
  const take = () => {
    const c = cpuOf(pid);
    if (c !== null) samples.push([Date.now(), c]);
  };
  take();
  const timer = setInterval(take, 50);
  const at = (t: number): number => {
    if (samples.length === 0) return 0;
    const first = samples[0] as [number, number];
    if (t <= first[0]) return first[1];
    for (let i = 1; i < samples.length; i++) {
      const [t1, c1] = samples[i] as [number, number];
      if (t1 >= t) {
        const [t0, c0] = samples[i - 1] as [number, number];
        return c0 + ((c1 - c0) * (t - t0)) / Math.max(1, t1 - t0);
      }
    }
    return (samples[samples.length - 1] as [number, number])[1];
  };
  return {
    stop: () => {
      take();
      clearInterval(timer);
    },
    between: (a: number, b: number) => at(b) - at(a),
  };
}

function lines(child: ChildProcess, onLine: (line: string) => void): string[] {
  const tail: string[] = [];
  onOutputLines(child, (l) => {
    tail.push(l);
    if (tail.length > 20) tail.shift();
    onLine(l);
  });
  return tail;
}

async function waitExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

function measurement(summary: ChildSummary, seconds: number, cpuSeconds: number): Measurement {
  return {
    ...summary,
    rps: summary.requests / seconds,
    cpuSeconds,
    perCpuSecond: cpuSeconds > 0 ? summary.requests / cpuSeconds : 0,
  };
}

/** builtin / autocannon: this script in child mode. */
async function measureChild(spec: ChildSpec): Promise<Measurement> {
  const child = spawnTracked(process.execPath, [SELF, '--child', JSON.stringify(spec)]);
  const sampler = cpuSampler(child.pid as number);
  let start = 0;
  let summary: ChildSummary | undefined;
  const tail = lines(child, (l) => {
    if (l.startsWith('load-start ')) start = Number(l.slice(11));
    else if (l.startsWith('result ')) summary = JSON.parse(l.slice(7)) as ChildSummary;
  });
  // Read the CPU just after the load window, before the child's final report.
  while (!start && child.exitCode === null) await sleep(20);
  await sleep(Math.max(0, start + spec.seconds * 1_000 - Date.now()) + 100);
  const code = await waitExit(child);
  sampler.stop();
  if (code !== 0 || !summary)
    throw new Error(`${spec.generator} child failed (exit ${code}):\n${tail.join('\n')}`);
  return measurement(summary, spec.seconds, sampler.between(start, start + spec.seconds * 1_000));
}

/** k6 as a user runs it: end-of-test summary exported as JSON, no per-sample output. */
async function measureK6Plain(bin: string, options: EngineOptions, seconds: number): Promise<Measurement> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpbench-bench-k6-'));
  try {
    const summaryFile = join(dir, 'summary.json');
    const args = k6Args(options, MODERN, {}).filter((a) => a !== '--no-summary');
    args.splice(1, 0, '--summary-export', summaryFile);
    const child = spawnTracked(bin, args);
    const sampler = cpuSampler(child.pid as number);
    let start = 0;
    const tail = lines(child, (l) => {
      const m = /mcpbench-start protocol=\S+ startedAtMs=(\d+)/.exec(l);
      if (m) start = Number(m[1]);
    });
    const code = await waitExit(child);
    sampler.stop();
    if (code !== 0 || !start) throw new Error(`k6 failed (exit ${code}):\n${tail.join('\n')}`);
    const s = JSON.parse(await readFile(summaryFile, 'utf8')) as {
      metrics: Record<string, Record<string, number>>;
    };
    const reqs = s.metrics.http_reqs?.count ?? 0;
    const failed = s.metrics.http_req_failed?.passes ?? 0;
    // mcpbench_req is what the runner reports (connect + send + wait + receive); fall back to k6's own.
    const trend = s.metrics.mcpbench_req ?? s.metrics.http_req_duration ?? {};
    const summary = {
      requests: reqs,
      errors: failed,
      p50Us: (trend.med ?? 0) * 1000,
      p99Us: (trend['p(99)'] ?? 0) * 1000,
      missed: s.metrics.dropped_iterations?.count ?? 0,
    };
    return measurement(summary, seconds, sampler.between(start, start + seconds * 1_000));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** k6 through the k6 runner (per-sample JSON output folded into an EngineResult). */
async function measureK6Runner(options: EngineOptions, seconds: number): Promise<Measurement> {
  const handle = await startK6(options);
  const sampler = cpuSampler(handle.pid);
  const foldStart = process.cpuUsage();
  const result = await handle.result;
  const fold = process.cpuUsage(foldStart);
  sampler.stop();
  const m = measurement(
    summarise(result),
    seconds,
    sampler.between(handle.startedAtMs, handle.startedAtMs + seconds * 1_000),
  );
  m.foldCpuSeconds = (fold.user + fold.system) / 1e6;
  return m;
}

// ---------------------------------------------------------------------------------------------
// Parent: the bench
// ---------------------------------------------------------------------------------------------

interface Options {
  seconds: number;
  rounds: number;
  connections: number;
  rate: number;
  overheadRate: number;
  warmup: number;
  json: string | undefined;
  skip: Set<string>;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      seconds: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '20' },
      rate: { type: 'string', default: '1000' },
      'overhead-rate': { type: 'string', default: '200' },
      warmup: { type: 'string', default: '3' },
      json: { type: 'string' },
      skip: { type: 'string', default: '' },
    },
  });
  const int = (flag: keyof typeof values, min: number, max: number) => wholeNumber(values, flag, min, max);
  const skip = new Set(String(values.skip).split(',').filter(Boolean));
  for (const s of skip) {
    if (!['builtin', 'k6', 'k6-json', 'autocannon', 'floor', 'cost', 'overhead'].includes(s)) {
      throw new Error(`--skip takes builtin, k6, k6-json, autocannon, floor, cost, overhead; got "${s}"`);
    }
  }
  return {
    seconds: int('seconds', 2, 600),
    rounds: int('rounds', 1, 20),
    connections: int('connections', 1, 1000),
    rate: int('rate', 1, 100_000),
    overheadRate: int('overhead-rate', 1, 100_000),
    warmup: int('warmup', 0, 60),
    json: values.json,
    skip,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const pad = (s: string, n: number) => s.padStart(n);

async function startTrivialServer(): Promise<{ url: string; child: ChildProcess }> {
  const entry = fileURLToPath(new URL('./trivial-server.js', import.meta.url));
  const child = spawnTracked(process.execPath, [entry, '--port', '0']);
  const port = await new Promise<number>((resolve, reject) => {
    lines(child, (l) => {
      const m = /^listening (\d+)/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`trivial server exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}/mcp`, child };
}

async function metricsOf(server: ServerProcess, method: 'GET' | 'DELETE' = 'GET') {
  const res = await fetch(`${server.baseUrl}/metrics`, { method });
  return method === 'GET' ? ((await res.json()) as ServerMetricsSnapshot) : undefined;
}

async function warm(url: string, opts: Options): Promise<void> {
  await measureChild({
    generator: 'builtin',
    url,
    load: 'closed',
    connections: opts.connections,
    rate: opts.rate,
    seconds: opts.warmup,
  });
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const bin = k6Binary();
  const generators: Generator[] = (['builtin', 'k6', 'k6-json', 'autocannon'] as Generator[]).filter(
    (g) => !opts.skip.has(g) && (bin || !g.startsWith('k6')),
  );
  if (bin) console.log(`k6: ${bin}`);
  else console.log(`note: no k6 found, measuring without k6 (the k6 rows are left out). ${K6_INSTALL_HINT}`);
  console.log(
    `engine bench: ${opts.seconds} s per measurement, ${opts.rounds} rounds interleaved; closed = ${opts.connections} connections, open = ${opts.rate} req/s with at most ${opts.connections} in flight; ${process.platform} ${process.version}`,
  );

  const trivial = await startTrivialServer();
  const results = new Map<string, Measurement[]>();
  const loads: LoadKind[] = opts.skip.has('cost') ? [] : ['closed', 'open'];
  try {
    // A cold server (and a cold JIT) would penalise whichever generator runs first.
    if (opts.warmup > 0 && loads.length > 0) await warm(trivial.url, opts);
    for (let round = 0; round < opts.rounds; round++) {
      for (const load of loads) {
        // Rotate the order each round so no generator always runs first (or right after another).
        const order = generators.map((_, i) => generators[(i + round) % generators.length] as Generator);
        for (const g of order) {
          const options = engineOptions(trivial.url, load, opts.connections, opts.rate, opts.seconds);
          const spec = {
            url: trivial.url,
            load,
            connections: opts.connections,
            rate: opts.rate,
            seconds: opts.seconds,
          };
          let m: Measurement;
          if (g === 'builtin' || g === 'autocannon') m = await measureChild({ generator: g, ...spec });
          else if (g === 'k6') m = await measureK6Plain(bin as string, options, opts.seconds);
          else m = await measureK6Runner(options, opts.seconds);
          const key = `${load} ${g}`;
          results.set(key, [...(results.get(key) ?? []), m]);
          console.log(
            `  round ${round + 1} ${pad(load, 6)} ${pad(g, 10)}: ${fmt(m.rps)} req/s, ${fmt(m.cpuSeconds, 2)} CPU-s, ${fmt(m.perCpuSecond)} req/CPU-s, p50 ${fmt(m.p50Us)} µs, p99 ${fmt(m.p99Us)} µs, errors ${m.errors}, missed ${m.missed}`,
          );
        }
      }
    }
  } finally {
    trivial.child.kill('SIGTERM');
  }

  if (loads.length > 0) printCost(opts, generators, loads, results);
  const over = opts.skip.has('overhead') ? new Map() : await overhead(opts, generators);
  if (opts.json) {
    await writeJsonAtomic(opts.json, {
      options: { ...opts, skip: [...opts.skip] },
      node: process.version,
      measuredAt: new Date().toISOString(),
      generatorCost: Object.fromEntries(results),
      overhead: Object.fromEntries(over),
    });
    console.log(`\nraw measurements: ${opts.json}`);
  }
}

function printCost(
  opts: Options,
  generators: Generator[],
  loads: LoadKind[],
  results: Map<string, Measurement[]>,
): void {
  console.log('\nPart 1: generator cost against a trivial tools/call endpoint (medians)');
  console.log(
    `${'load'.padEnd(28)}${pad('req/s', 9)}${pad('CPU-s', 8)}${pad('req/CPU-s', 11)}${pad('p50 µs', 9)}${pad('p99 µs', 9)}${pad('errors', 8)}${pad('missed', 8)}`,
  );
  const med = (key: string, f: (m: Measurement) => number) => median((results.get(key) ?? []).map(f));
  for (const load of loads) {
    for (const g of generators) {
      const key = `${load} ${g}`;
      const label = load === 'closed' ? `closed ${opts.connections} conn` : `open ${opts.rate}/s`;
      console.log(
        `${`${label} ${g}`.padEnd(28)}${pad(fmt(med(key, (m) => m.rps)), 9)}${pad(
          fmt(
            med(key, (m) => m.cpuSeconds),
            2,
          ),
          8,
        )}${pad(fmt(med(key, (m) => m.perCpuSecond)), 11)}${pad(fmt(med(key, (m) => m.p50Us)), 9)}${pad(fmt(med(key, (m) => m.p99Us)), 9)}${pad(fmt(med(key, (m) => m.errors)), 8)}${pad(fmt(med(key, (m) => m.missed)), 8)}`,
      );
    }
    const fold = med(`${load} k6-json`, (m) => m.foldCpuSeconds ?? Number.NaN);
    if (Number.isFinite(fold))
      console.log(`  (k6-json: the runner then spends ${fmt(fold, 2)} CPU-s folding k6's output)`);
  }
  console.log('\nRatios (medians)');
  for (const load of loads) {
    const eff = (g: Generator) => med(`${load} ${g}`, (m) => m.perCpuSecond);
    const rps = (g: Generator) => med(`${load} ${g}`, (m) => m.rps);
    if (generators.includes('builtin') && generators.includes('k6')) {
      console.log(`  ${load}: builtin / k6 req per CPU-s = ${fmt(eff('builtin') / eff('k6'), 2)} (goal ≥ 2)`);
    }
    if (generators.includes('builtin') && generators.includes('k6-json')) {
      console.log(
        `  ${load}: builtin / k6 with JSON output req per CPU-s = ${fmt(eff('builtin') / eff('k6-json'), 2)}`,
      );
    }
    if (generators.includes('builtin') && generators.includes('autocannon')) {
      console.log(
        `  ${load}: builtin / autocannon req per CPU-s = ${fmt(eff('builtin') / eff('autocannon'), 2)}, req/s = ${fmt(rps('builtin') / rps('autocannon'), 2)} ${load === 'closed' ? '(goal within 20%: ≥ 0.8)' : "(not the goal: autocannon's rate mode sends each second's requests as one burst)"}`,
      );
    }
    if (generators.includes('k6') && generators.includes('autocannon')) {
      console.log(`  ${load}: k6 / autocannon req per CPU-s = ${fmt(eff('k6') / eff('autocannon'), 2)}`);
    }
  }
}

async function overhead(
  opts: Options,
  generators: Generator[],
): Promise<Map<string, Array<{ engineP50: number; serverP50: number; missed: number }>>> {
  console.log(
    `\nPart 2: measurement overhead against the rc server (zero-cost tools): open ${opts.overheadRate} req/s, and closed with 1 agent`,
  );
  const server = await startServerProcess({
    kind: 'rc',
    env: { MCPBENCH_TOOL_LATENCY_MS: '0', MCPBENCH_TOOL_CPU_MS: '0', MCPBENCH_PAYLOAD_BYTES: '0' },
  });
  const over = new Map<string, Array<{ engineP50: number; serverP50: number; missed: number }>>();
  const overheadGenerators = (['builtin', 'k6-json'] as Generator[]).filter((g) => generators.includes(g));
  // The floor: a raw socket with a pre-serialised request (bench/raw-floor.ts), what no client goes below.
  if (!opts.skip.has('floor')) overheadGenerators.push('floor');
  try {
    if (opts.warmup > 0) await warm(server.url, opts);
    for (let round = 0; round < opts.rounds; round++) {
      // open: the fixed rate; closed-1: one agent back to back (no arrival scheduling involved);
      // closed-1-pause (floor only): back to back with FLOOR_PAUSE_US before each request.
      const runs = overheadGenerators.flatMap((g) => [
        `${g} open`,
        `${g} closed-1`,
        ...(g === 'floor' ? [`${g} closed-1-pause`] : []),
      ]);
      const order = round % 2 ? [...runs].reverse() : runs;
      for (const key of order) {
        const [g, mode] = key.split(' ') as [Generator, string];
        const load: LoadKind = mode === 'open' ? 'open' : 'closed';
        const connections = load === 'open' ? opts.connections : 1;
        const options = engineOptions(server.url, load, connections, opts.overheadRate, opts.seconds);
        await metricsOf(server, 'DELETE');
        const m =
          g === 'builtin' || g === 'floor'
            ? await measureChild({
                generator: g,
                url: server.url,
                load,
                connections,
                rate: opts.overheadRate,
                seconds: opts.seconds,
                pauseUs: mode === 'closed-1-pause' ? FLOOR_PAUSE_US : undefined,
              })
            : await measureK6Runner(options, opts.seconds);
        const snap = (await metricsOf(server)) as ServerMetricsSnapshot;
        const entry = { engineP50: m.p50Us, serverP50: snap.handlerLatencyUs.p50, missed: m.missed };
        over.set(key, [...(over.get(key) ?? []), entry]);
        console.log(
          `  round ${round + 1} ${pad(key, 16)}: client p50 ${fmt(entry.engineP50)} µs, server handler p50 ${fmt(entry.serverP50)} µs (${snap.handlerLatencyUs.count} requests), overhead ${fmt(entry.engineP50 - entry.serverP50)} µs, missed ${entry.missed}`,
        );
      }
    }
  } finally {
    await server.terminate();
  }
  for (const [g, xs] of over) {
    console.log(
      `  median ${g}: client p50 ${fmt(median(xs.map((x) => x.engineP50)))} µs − server p50 ${fmt(median(xs.map((x) => x.serverP50)))} µs = overhead ${fmt(median(xs.map((x) => x.engineP50 - x.serverP50)))} µs${g === 'builtin open' ? ' (goal ≤ 50 µs at a fixed moderate rate)' : g === 'floor closed-1-pause' ? ` (raw socket pausing ${FLOOR_PAUSE_US} µs before each request: the server goes idle in between)` : g.startsWith('floor') ? ' (raw socket: loopback and the server outside its timer)' : ''}`,
    );
  }
  return over;
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) {
  await runChild(JSON.parse(process.argv[childIndex + 1] ?? '{}') as ChildSpec);
} else {
  const killAll = () => {
    for (const c of children) c.kill('SIGKILL');
  };
  process.once('SIGINT', () => {
    killAll();
    process.exit(130);
  });
  process.once('exit', killAll);
  try {
    await main();
  } catch (err) {
    console.error(`bench:engine: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
