import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type EngineResult, ERROR_CLASSES, type ErrorClass } from '../../rundir/raw-result.js';
import { onOutputLines, orphanGuarded } from '../../util/processes.js';
import { findOnPath, isExecutable } from '../../util/system-provision.js';
import { detectProtocol, type EngineHandle, type EngineOptions } from '../engine/engine.js';
import { Recorder } from '../engine/recorder.js';
import type { ProtocolVersion } from '../models/protocol.ts';

/**
 * Runs a scenario with k6 (scenarios/k6/*.ts) instead of the built-in engine and folds k6's
 * per-sample JSON output into the same EngineResult the built-in engine writes, so analysis cannot
 * tell the two apart except by `engine: 'k6'`. Options are the built-in engine's (EngineOptions).
 *
 * k6 is brought by the user (K6_BINARY or PATH, k6 >= 1.0): the project never builds or ships it.
 */

/** The checkout's root: the directory holding scenarios/k6 (works from the sources and from dist/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'scenarios', 'k6', 'lib', 'agent.ts'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find scenarios/k6 above the k6 runner');
}

export const K6_INSTALL_HINT =
  'k6 is not part of mcpbench (it is AGPL-licensed and is never built or shipped here): install k6 >= 1.0 yourself ' +
  "(a release binary or your system's package, see https://grafana.com/docs/k6/latest/set-up/install-k6/), " +
  'then put it on PATH or set K6_BINARY=/path/to/k6';

/**
 * The k6 binary: $K6_BINARY (or the older $MCPBENCH_K6) when set, else k6 on PATH; null when there is
 * none. A variable that names no executable file is an error naming it, not a silent fallback.
 */
export function k6Binary(env: NodeJS.ProcessEnv = process.env): string | null {
  for (const name of ['K6_BINARY', 'MCPBENCH_K6'] as const) {
    const value = env[name];
    if (!value) continue;
    if (!isExecutable(value))
      throw new Error(`${name}=${value}: not an executable file (${K6_INSTALL_HINT})`);
    return resolve(value);
  }
  return findOnPath('k6', env.PATH);
}

/** k6's version as [major, minor, patch] from `k6 version`, or an error naming the binary. */
export async function k6Version(bin: string): Promise<[number, number, number]> {
  const out = await new Promise<string>((res, rej) =>
    execFile(bin, ['version'], { timeout: 10_000 }, (err, stdout) =>
      err ? rej(new Error(`${bin} version failed: ${err.message.split('\n')[0]}`)) : res(String(stdout)),
    ),
  );
  const m = /\bv?(\d+)\.(\d+)\.(\d+)/.exec(out);
  if (!m) throw new Error(`${bin} version: cannot read a version in "${out.trim().slice(0, 80)}"`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/**
 * What `--engine k6` needs, checked before a run starts anything: a k6 >= 1.0 (it runs the TypeScript
 * scripts directly). Returns the binary, or throws with how to install one.
 */
export async function requireK6(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const bin = k6Binary(env);
  if (!bin)
    throw new Error(
      `--engine k6: no k6 found (K6_BINARY is not set and there is no k6 on PATH). ${K6_INSTALL_HINT}`,
    );
  const [major, minor, patch] = await k6Version(bin);
  if (major < 1)
    throw new Error(
      `--engine k6: ${bin} is k6 v${major}.${minor}.${patch}; the scripts need k6 >= 1.0. ${K6_INSTALL_HINT}`,
    );
  return bin;
}

/** The script for a scenario: scenarios/k6/<name>.ts, or the generic run.ts. */
export function k6Script(scenario: EngineOptions['scenario']): {
  script: string;
  env: Record<string, string>;
} {
  const dir = join(repoRoot(), 'scenarios', 'k6');
  if (typeof scenario !== 'string') {
    return { script: join(dir, 'run.ts'), env: { MCPBENCH_SCENARIO_DEFINITION: JSON.stringify(scenario) } };
  }
  if (!/^[a-z0-9-]+$/.test(scenario)) throw new Error(`scenario: "${scenario}" is not a scenario name`);
  const own = join(dir, `${scenario}.ts`);
  if (existsSync(own)) return { script: own, env: {} };
  return { script: join(dir, 'run.ts'), env: { MCPBENCH_SCENARIO: scenario } };
}

/** The k6 command line (`k6 run ...`) for the options; exposed for the bench and for users. */
export function k6Args(
  options: EngineOptions,
  protocol: ProtocolVersion,
  outputs: { json?: string },
): string[] {
  const { script, env } = k6Script(options.scenario);
  const vars: Record<string, string> = {
    ...env,
    MCPBENCH_URL: options.url,
    MCPBENCH_PROTOCOL: protocol,
    MCPBENCH_DURATION: `${Math.round(options.durationMs)}ms`,
    MCPBENCH_SEED: String(options.seed ?? 1),
    MCPBENCH_TIMEOUT: `${options.requestTimeoutMs ?? 10_000}ms`,
  };
  if (options.scenarioParams && Object.keys(options.scenarioParams).length > 0) {
    vars.MCPBENCH_SCENARIO_PARAMS = JSON.stringify(options.scenarioParams);
  }
  const load = options.load;
  vars.MCPBENCH_MODEL = load.model;
  if (load.model === 'open') {
    vars.MCPBENCH_RATE = String(load.rate);
    vars.MCPBENCH_UNIT = load.unit ?? 'sessions';
    if (load.maxInFlight !== undefined) vars.MCPBENCH_MAX_VUS = String(load.maxInFlight);
  } else {
    vars.MCPBENCH_AGENTS = String(load.agents);
  }
  if (load.stages?.length)
    vars.MCPBENCH_STAGES = JSON.stringify(
      fitStages(load.model === 'open' ? load.rate : load.agents, load.stages, options.durationMs),
    );
  const args = ['run', '--no-color', '--quiet', '--no-usage-report', '--no-summary', '--no-thresholds'];
  if (outputs.json) args.push('--out', `json=${outputs.json}`);
  const addresses = Math.max(0, options.sourceAddresses ?? 0);
  if (addresses > 0) args.push('--local-ips', `127.0.0.10-127.0.0.${10 + addresses - 1}`);
  for (const [k, v] of Object.entries(vars)) args.push('-e', `${k}=${v}`);
  args.push(script);
  return args;
}

/**
 * k6's ramping executors run exactly their stages; the built-in engine runs `durationMs` and holds the
 * last level after the stages (levels ramp linearly from `initial`). Stages are cut at `durationMs`
 * (the cut stage ends at the level it had reached) or extended with a hold, so both run alike.
 */
export function fitStages(
  initial: number,
  stages: Array<{ durationMs: number; target: number }>,
  durationMs: number,
): Array<{ durationMs: number; target: number }> {
  const out: Array<{ durationMs: number; target: number }> = [];
  let at = 0;
  let from = initial;
  for (const s of stages) {
    if (at >= durationMs) break;
    const d = Math.min(s.durationMs, durationMs - at);
    const target = d < s.durationMs ? from + ((s.target - from) * d) / Math.max(1, s.durationMs) : s.target;
    out.push({ durationMs: d, target });
    from = target;
    at += d;
  }
  if (at < durationMs) out.push({ durationMs: durationMs - at, target: from });
  return out;
}

/** "2026-11-25T02:40:01.123456789+01:00" → epoch ms with sub-millisecond precision. */
export function parseK6Time(s: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/.exec(s);
  if (!m) return Date.parse(s);
  const whole = Date.parse(`${m[1]}${m[3]}`);
  return whole + (m[2] ? Number(`0.${m[2]}`) * 1000 : 0);
}

interface K6Point {
  metric: string;
  type: string;
  data: { time: string; value: number; tags?: Record<string, string> };
}

const WANTED = new Set([
  'mcpbench_req',
  'mcpbench_err',
  'mcpbench_event',
  'mcpbench_turn',
  'mcpbench_backoff',
  'data_sent',
  'data_received',
  'dropped_iterations',
  'iterations',
]);
const CLASSES = new Set<string>(ERROR_CLASSES);
type Lifecycle = EngineResult['lifecycle'];

/** Folds k6's JSON output (one sample per line) into an EngineResult. */
export async function foldK6Output(
  file: string,
  meta: {
    options: EngineOptions;
    protocol: ProtocolVersion;
    scenario: string;
    startedAtMs: number;
    notes?: string[];
  },
): Promise<EngineResult> {
  const startedAtMs = meta.startedAtMs;
  const recorder = new Recorder(0n);
  let bytesSent = 0;
  let bytesReceived = 0;
  let dropped = 0;
  let iterations = 0;
  let lastMs = startedAtMs;
  let unknown = 0;
  const nsOf = (timeMs: number) => BigInt(Math.max(0, Math.round((timeMs - startedAtMs) * 1e6)));

  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) {
    // Cheap pre-filter: most lines are k6's own per-request metrics the result does not need.
    const at = line.indexOf('"metric":"');
    if (at < 0) continue;
    const name = line.slice(at + 10, line.indexOf('"', at + 10));
    if (!WANTED.has(name) || !line.includes('"type":"Point"')) continue;
    const point = JSON.parse(line) as K6Point;
    const tags = point.data.tags ?? {};
    if (tags.mcpbench === 'probe') continue;
    const t = parseK6Time(point.data.time);
    if (t > lastMs) lastMs = t;
    const value = point.data.value;
    switch (name) {
      case 'mcpbench_req': {
        const nowNs = nsOf(t);
        const us = value * 1000;
        recorder.request(tags.rpc ?? 'unknown', us, us, tags.replica || null, nowNs, 0, 0);
        const outcome = tags.outcome ?? 'none';
        if (outcome === 'ok') recorder.ok();
        else if (CLASSES.has(outcome)) recorder.error(outcome as ErrorClass, nowNs);
        break;
      }
      case 'mcpbench_err': {
        if (tags.class !== undefined && tags.class !== 'timeout' && tags.class !== 'transport') {
          // an error about an exchange already counted (a task that failed or was lost): no request
          if (CLASSES.has(tags.class))
            for (let i = 0; i < value; i++) recorder.error(tags.class as ErrorClass, nsOf(t));
          else unknown++;
          break;
        }
        const kind = tags.class === 'timeout' ? 'timeout' : 'transport';
        recorder.counts.requests += value;
        recorder.counts.roundTrips += value;
        for (let i = 0; i < value; i++) recorder.error(kind, nsOf(t));
        break;
      }
      case 'mcpbench_event': {
        const event = tags.event ?? '';
        if (event === 'sessions') recorder.counts.sessions += value;
        else if (event in recorder.lifecycle) recorder.lifecycle[event as keyof Lifecycle] += value;
        else unknown++;
        break;
      }
      case 'mcpbench_turn':
        recorder.turn(value * 1000);
        break;
      case 'mcpbench_backoff':
        recorder.backedOff(value);
        break;
      case 'data_sent':
        bytesSent += value;
        break;
      case 'data_received':
        bytesReceived += value;
        break;
      case 'dropped_iterations':
        dropped += value;
        break;
      case 'iterations':
        iterations += value;
        break;
    }
  }
  const durationMs = Math.max(0, lastMs - startedAtMs);
  const { histograms, timeseries } = recorder.finish(nsOf(lastMs));
  recorder.counts.bytesSent = Math.round(bytesSent);
  recorder.counts.bytesReceived = Math.round(bytesReceived);
  const load = meta.options.load;
  const notes = [
    ...(meta.notes ?? []),
    'k6: bytes are wire bytes (headers included); open-model latency is service time (k6 drops arrivals it cannot start instead of queueing them: see missedArrivals)',
  ];
  if (unknown > 0) notes.push(`k6: ${unknown} samples with an unknown event or error-class tag were ignored`);
  if (dropped > 0) {
    notes.push(`k6 could not start ${dropped} arrivals (no free VU): the target rate was not met`);
  }
  return {
    schema: 'mcpbench/engine-result@1',
    engine: 'k6',
    scenario: meta.scenario,
    target: { url: meta.options.url, protocol: meta.protocol },
    load:
      load.model === 'closed'
        ? { model: 'closed', agents: load.agents, durationMs: meta.options.durationMs }
        : {
            model: 'open',
            rate: load.rate,
            unit: load.unit ?? 'sessions',
            durationMs: meta.options.durationMs,
          },
    startedAtMs,
    durationMs,
    histograms,
    counts: recorder.counts,
    errors: recorder.errors,
    failures: recorder.failures,
    backoff: { count: recorder.backoff.count, totalMs: Math.round(recorder.backoff.totalMs) },
    lifecycle: recorder.lifecycle,
    perReplica: recorder.perReplica,
    timeseries,
    engineFaults: {
      missedArrivals: dropped,
      // k6 does not report how late it started an arrival.
      maxSchedulingLagUs: 0,
      achievedRateRatio:
        load.model === 'open' && iterations + dropped > 0 ? iterations / (iterations + dropped) : 1,
      notes,
    },
  };
}

export interface K6Handle extends EngineHandle {
  /** the k6 process */
  pid: number;
}

/**
 * Starts k6 and resolves once its load has started (after its setup()), like startEngine.
 * `stop()` (or aborting `options.signal`) sends SIGINT: k6 ends the test and flushes its output,
 * and the result covers the time that ran. `onProgress` is not supported (k6 prints no samples live).
 */
export async function startK6(options: EngineOptions): Promise<K6Handle> {
  const bin = k6Binary();
  if (!bin) throw new Error(`--engine k6: no k6 found. ${K6_INSTALL_HINT}`);
  const protocol =
    !options.protocol || options.protocol === 'auto' ? await detectProtocol(options.url) : options.protocol;
  const scenarioName = typeof options.scenario === 'string' ? options.scenario : options.scenario.name;
  const dir = await mkdtemp(join(tmpdir(), 'mcpbench-k6-'));
  const out = join(dir, 'samples.json');
  const cmd = orphanGuarded(bin, k6Args(options, protocol, { json: out }));
  const child: ChildProcess = spawn(cmd.command, cmd.args, {
    cwd: repoRoot(),
    env: { ...process.env, K6_NO_USAGE_REPORT: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid ?? -1;
  const logs: string[] = [];
  const scriptErrors: string[] = [];
  let onStart: ((ms: number) => void) | undefined;
  const started = new Promise<number>((r) => {
    onStart = r;
  });
  const onLine = (line: string) => {
    if (!line) return;
    logs.push(line);
    if (logs.length > 100) logs.shift();
    const m = /mcpbench-start protocol=\S+ startedAtMs=(\d+)/.exec(line);
    if (m) onStart?.(Number(m[1]));
    else if (/level=error/.test(line) && !/test run was aborted because k6 received/.test(line)) {
      // (k6's own note on a SIGINT stop is not a script error)
      if (scriptErrors.length < 1000) scriptErrors.push(line);
    }
  };
  onOutputLines(child, onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const spawnError = new Promise<Error>((r) => child.once('error', r));
  // If this process ends, k6 ends with it (orphanGuarded covers SIGKILL; this covers a normal exit).
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stoppedEarly = false;
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null && !stoppedEarly) {
      stoppedEarly = true;
      child.kill('SIGINT');
    }
  };
  const onAbort = () => stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const cleanup = async () => {
    process.removeListener('exit', killOnExit);
    options.signal?.removeEventListener('abort', onAbort);
    if (!process.env.MCPBENCH_K6_KEEP_OUTPUT) await rm(dir, { recursive: true, force: true });
  };
  const tail = () => logs.slice(-8).join('\n');

  const first = await Promise.race([
    started.then((ms) => ({ kind: 'started' as const, ms })),
    exited.then((e) => ({ kind: 'exited' as const, e })),
    spawnError.then((err) => ({ kind: 'error' as const, err })),
  ]);
  if (first.kind !== 'started') {
    await cleanup();
    if (first.kind === 'error') throw new Error(`cannot start k6 (${bin}): ${first.err.message}`);
    throw new Error(`k6 ended before its load started (exit ${first.e.code ?? first.e.signal}):\n${tail()}`);
  }
  const startedAtMs = first.ms;

  const result = (async (): Promise<EngineResult> => {
    try {
      const { code, signal } = await exited;
      // 0: done; with a SIGINT stop k6 exits 105 (aborted by the user) after flushing its output.
      if (!(code === 0 || (stoppedEarly && (code === 105 || signal === 'SIGINT')))) {
        throw new Error(`k6 failed (exit ${code ?? signal}):\n${tail()}`);
      }
      const notes: string[] = [];
      if (stoppedEarly) notes.push('stopped early by the user; figures cover the time that ran');
      if (scriptErrors.length > 0) {
        notes.push(
          `k6 reported ${scriptErrors.length} script errors (the harness's, not the server's): ${scriptErrors[0]}`,
        );
      }
      return await foldK6Output(out, { options, protocol, scenario: scenarioName, startedAtMs, notes });
    } finally {
      await cleanup();
    }
  })();
  result.catch(() => {});
  return { startedAtMs, protocol, result, stop, pid };
}

/** Runs a scenario with k6 to the end: the k6 twin of runEngine. */
export async function runK6(options: EngineOptions): Promise<EngineResult> {
  return (await startK6(options)).result;
}
