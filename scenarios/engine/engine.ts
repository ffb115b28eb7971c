import type { EngineResult } from '../../rundir/raw-result.js';
import { detectProtocol as probeSequence } from '../models/agent-core.ts';
import type { BackoffState } from '../models/backoff.ts';
import type { ProbeAnswer, ProtocolVersion, WireRequest } from '../models/protocol.ts';
import { resolveScenario, type ScenarioDefinition, type ScenarioParams } from '../models/scenarios.ts';
import { type EngineFaults, type ExecutorContext, executorFor, type LoadOptions } from './executors/index.ts';
import { type Segment, validSegment, WHOLE } from './executors/segment.ts';
import { McpSession, recorderSink } from './mcp-session.js';
import { Recorder } from './recorder.js';
import { exchange } from './wire-exchange.js';

/**
 * The built-in load engine: the load model is one of k6's executors (executors/: constant-vus,
 * ramping-vus for the closed model; constant-arrival-rate, ramping-arrival-rate for the open model),
 * each simulated client one keep-alive undici connection (mcp-session.ts) running the shared agent
 * core (scenarios/models/agent-core.ts). The engine probes the protocol, starts the executor, stops
 * it at the end of the run (or on abort), waits for in-flight work and assembles the raw result.
 */

export interface EngineOptions {
  url: string;
  protocol?: 'auto' | ProtocolVersion;
  scenario: string | ScenarioDefinition;
  scenarioParams?: ScenarioParams;
  load: LoadOptions;
  durationMs: number;
  seed?: number;
  /** this generator's share of the load, when several generators run it together (default: all of it) */
  segment?: Segment;
  requestTimeoutMs?: number;
  /** distinct loopback source addresses (127.0.0.10, .11, ...) spread over the simulated clients */
  sourceAddresses?: number;
  signal?: AbortSignal;
  onProgress?: (p: EngineProgress) => void;
}

export interface EngineProgress {
  elapsedMs: number;
  requests: number;
  errors: number;
  ratePerSecond: number;
  p50Us: number;
  p99Us: number;
}

export interface EngineHandle {
  /** epoch ms at which load started: the time axis of the result, events and samples */
  startedAtMs: number;
  protocol: ProtocolVersion;
  /** `--protocol auto`: what the probe saw that decided the protocol */
  detectedBy?: string;
  result: Promise<EngineResult>;
  stop(): void;
}

/** The server speaks neither protocol era (or cannot be reached): found before any load ran. */
export class ProtocolDetectionError extends Error {
  constructor(url: string, reason: string) {
    super(`--protocol auto: ${url}: ${reason}`);
    this.name = 'ProtocolDetectionError';
  }
}

async function probe(
  url: string,
  req: WireRequest,
  timeoutMs: number,
): Promise<ProbeAnswer & { sessionId?: string }> {
  try {
    const { status, contentType, text, sessionId } = await exchange(url, req, timeoutMs);
    return { status, contentType, text, sessionId };
  } catch (err) {
    return { error: (err as Error).message || (err as { code?: string }).code || 'no answer' };
  }
}

/**
 * auto: the agent core's probe sequence (`server/discover`, then `initialize`, whose session is
 * closed again), shared with the k6 scripts; a ProtocolDetectionError names both answers.
 */
async function probeProtocol(
  url: string,
  timeoutMs = 5_000,
): Promise<{ protocol: ProtocolVersion; reason: string }> {
  const steps = probeSequence();
  let r = steps.next();
  while (!r.done) r = steps.next(await probe(url, r.value, timeoutMs));
  if ('problem' in r.value) throw new ProtocolDetectionError(url, r.value.problem);
  return r.value;
}

export async function detectProtocol(url: string, timeoutMs = 5_000): Promise<ProtocolVersion> {
  return (await probeProtocol(url, timeoutMs)).protocol;
}

/** As detectProtocol, with what the probe saw that decided it. */
export const detectProtocolWithReason = probeProtocol;

export async function startEngine(options: EngineOptions): Promise<EngineHandle> {
  const detected =
    !options.protocol || options.protocol === 'auto' ? await probeProtocol(options.url) : undefined;
  const protocol = detected?.protocol ?? (options.protocol as ProtocolVersion);
  const scenario =
    typeof options.scenario === 'string'
      ? resolveScenario(options.scenario, options.scenarioParams)
      : options.scenario;
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const addresses = Math.max(0, options.sourceAddresses ?? 0);
  const seed = options.seed ?? 1;
  const segment = options.segment ?? WHOLE;
  const badSegment = validSegment(segment);
  if (badSegment) throw new Error(badSegment);
  // Open-model arrivals number their agents per generator: the segment keeps them apart across generators.
  const agentPrefix = segment.count > 1 ? `agent-${seed}-g${segment.index}` : `agent-${seed}`;
  const wantsTasks = scenario.mix.some((m) => m.action === 'task');

  const startNs = process.hrtime.bigint();
  const startedAtMs = Date.now();
  const recorder = new Recorder(startNs);
  const sink = recorderSink(recorder);
  let stopping = false;
  let onStopped: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    onStopped = r;
  });
  let clientCounter = 0;
  const inFlight = new Set<Promise<void>>();
  const faults: EngineFaults = { missedArrivals: 0, maxSchedulingLagUs: 0, intended: 0, started: 0 };
  const elapsedMs = () => Number(process.hrtime.bigint() - startNs) / 1e6;

  const context: ExecutorContext = {
    startNs,
    durationMs: options.durationMs,
    seed,
    segment,
    recorder,
    faults,
    elapsedMs,
    stopping: () => stopping,
    stopped,
    // A closed-model agent keeps its identity (it is one caller) across its sessions; an open-model arrival is a new agent.
    newSession: (agentId?: string, backoff?: BackoffState) => {
      const n = clientCounter++;
      const localAddress = addresses > 0 ? `127.0.0.${10 + (n % addresses)}` : undefined;
      return new McpSession(
        options.url,
        protocol,
        { name: 'mcpbench-agent', version: '0.1.0', agentId: agentId ?? `${agentPrefix}-${n}` },
        recorder,
        { timeoutMs, localAddress, tasks: wantsTasks, backoff, sink },
      );
    },
    agentContext: (rng, cache) => ({ scenario, rng, cache, stopping: () => stopping }),
    track: (p) => {
      inFlight.add(p);
      p.finally(() => inFlight.delete(p)).catch(() => {});
    },
  };
  const executor = executorFor(options.load);

  const progressTimer = options.onProgress && reportProgress(recorder, elapsedMs, options.onProgress);

  let stopTimer: NodeJS.Timeout | undefined;
  let abortedEarly = false;
  const stop = () => {
    stopping = true;
    onStopped();
    if (stopTimer) clearTimeout(stopTimer);
  };
  stopTimer = setTimeout(stop, options.durationMs);
  const onAbort = () => {
    abortedEarly = true;
    stop();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const result = (async (): Promise<EngineResult> => {
    try {
      await executor.run(context);
      // In-flight work finishes (bounded by the request timeout) so nothing is cut mid-request.
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((r) => {
          grace = setTimeout(r, timeoutMs + 1_000);
        }),
      ]);
      clearTimeout(grace);
    } finally {
      if (progressTimer) clearInterval(progressTimer);
      options.signal?.removeEventListener('abort', onAbort);
    }
    const endNs = process.hrtime.bigint();
    return rawResult(options, {
      scenario: scenario.name,
      target: detected
        ? { url: options.url, protocol, detectedBy: detected.reason }
        : { url: options.url, protocol },
      startedAtMs,
      durationMs: Number(endNs - startNs) / 1e6,
      recorded: recorder.finish(endNs),
      recorder,
      faults,
      abortedEarly,
    });
  })();

  return { startedAtMs, protocol, detectedBy: detected?.reason, result, stop };
}

/** Once a second, the last full second's figures. */
function reportProgress(
  recorder: Recorder,
  elapsedMs: () => number,
  onProgress: (p: EngineProgress) => void,
): NodeJS.Timeout {
  return setInterval(() => {
    const last = recorder.lastSecond();
    onProgress({
      elapsedMs: elapsedMs(),
      requests: recorder.counts.requests,
      errors: recorder.counts.errors,
      ratePerSecond: last?.requests ?? 0,
      p50Us: last?.p50Us ?? 0,
      p99Us: last?.p99Us ?? 0,
    });
  }, 1_000);
}

/** The raw result of a finished run: what was recorded, and what the engine counts against itself. */
function rawResult(
  options: EngineOptions,
  run: Pick<EngineResult, 'scenario' | 'target' | 'startedAtMs' | 'durationMs'> & {
    recorded: Pick<EngineResult, 'histograms' | 'timeseries'>;
    recorder: Recorder;
    faults: EngineFaults;
    abortedEarly: boolean;
  },
): EngineResult {
  const { load } = options;
  const { recorder, faults } = run;
  const notes: string[] = [];
  if (run.abortedEarly) notes.push('stopped early by the user; figures cover the time that ran');
  if (faults.missedArrivals > 0) {
    notes.push(
      `the engine could not start ${faults.missedArrivals} arrivals (in-flight cap reached): the target rate was not met`,
    );
  }
  return {
    schema: 'mcpbench/engine-result@1',
    engine: 'builtin',
    scenario: run.scenario,
    target: run.target,
    load:
      load.model === 'closed'
        ? { model: 'closed', agents: load.agents, durationMs: options.durationMs }
        : { model: 'open', rate: load.rate, unit: load.unit ?? 'sessions', durationMs: options.durationMs },
    startedAtMs: run.startedAtMs,
    durationMs: run.durationMs,
    histograms: run.recorded.histograms,
    counts: recorder.counts,
    errors: recorder.errors,
    errorCauses: recorder.errorCauses,
    failures: recorder.failures,
    backoff: { count: recorder.backoff.count, totalMs: Math.round(recorder.backoff.totalMs) },
    lifecycle: recorder.lifecycle,
    perReplica: recorder.perReplica,
    timeseries: run.recorded.timeseries,
    engineFaults: {
      missedArrivals: faults.missedArrivals,
      maxSchedulingLagUs: Math.round(faults.maxSchedulingLagUs),
      achievedRateRatio: load.model === 'open' && faults.intended > 0 ? faults.started / faults.intended : 1,
      notes,
    },
  };
}

export async function runEngine(options: EngineOptions): Promise<EngineResult> {
  return (await startEngine(options)).result;
}
