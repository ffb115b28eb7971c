import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { EngineResult } from '../../rundir/raw-result.js';
import { createRng } from '../../util/prng.ts';
import { BackoffState } from '../models/backoff.ts';
import { ListCache } from '../models/list-cache.ts';
import {
  decideProtocol,
  legacyDelete,
  type ProbeAnswer,
  type ProtocolVersion,
  probeDiscover,
  probeInitialize,
  type WireRequest,
} from '../models/protocol.ts';
import { resolveScenario, type ScenarioDefinition, type ScenarioParams } from '../models/scenarios.ts';
import { type AgentContext, runAction, runSession } from './agent.js';
import { McpSession } from './mcp-session.js';
import { Recorder } from './recorder.js';

/**
 * The built-in load engine: closed model (N concurrent agents) or open model (an arrival rate of
 * agent sessions or of single requests, k6's constant/ramping-arrival-rate semantics), over undici
 * with one keep-alive connection per simulated client. Open-model latencies are also recorded from
 * each arrival's due time (coordinated-omission correction); arrivals the engine could not start
 * (at its in-flight cap) are counted as the engine's own fault, never as the server's.
 */

type Stage = { durationMs: number; target: number };
type LoadOptions =
  | { model: 'closed'; agents: number; stages?: Stage[] }
  | { model: 'open'; rate: number; unit?: 'sessions' | 'requests'; stages?: Stage[]; maxInFlight?: number };

export interface EngineOptions {
  url: string;
  protocol?: 'auto' | ProtocolVersion;
  scenario: string | ScenarioDefinition;
  scenarioParams?: ScenarioParams;
  load: LoadOptions;
  durationMs: number;
  seed?: number;
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
    const res = await request(url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    const sid = res.headers['mcp-session-id'];
    return {
      status: res.statusCode,
      contentType: res.headers['content-type'] as string | undefined,
      text,
      sessionId: typeof sid === 'string' && sid ? sid : undefined,
    };
  } catch (err) {
    return { error: (err as Error).message || (err as { code?: string }).code || 'no answer' };
  }
}

/**
 * auto: a 2026-07-28 `server/discover` listing 2026-07-28 in `supportedVersions` means modern; else
 * an `initialize` answered with protocolVersion 2025-11-25 means 2025-11-25 (its session is closed
 * again); else a ProtocolDetectionError naming both answers. The decision is `decideProtocol`,
 * shared with the k6 scripts.
 */
async function probeProtocol(
  url: string,
  timeoutMs = 5_000,
): Promise<{ protocol: ProtocolVersion; reason: string }> {
  const discover = await probe(url, probeDiscover(), timeoutMs);
  let decision = decideProtocol(discover);
  if ('next' in decision) {
    const init = await probe(url, probeInitialize(), timeoutMs);
    decision = decideProtocol(discover, init);
    if ('sessionId' in init && init.sessionId) await probe(url, legacyDelete(init.sessionId), timeoutMs);
  }
  if ('next' in decision || decision.protocol === null)
    throw new ProtocolDetectionError(url, 'next' in decision ? decision.discover : decision.reason);
  return { protocol: decision.protocol, reason: decision.reason };
}

export async function detectProtocol(url: string, timeoutMs = 5_000): Promise<ProtocolVersion> {
  return (await probeProtocol(url, timeoutMs)).protocol;
}

/** The load level (agents or arrivals/s) at `t` ms: stages ramp linearly from the previous level. */
function levelAt(initial: number, stages: Stage[] | undefined, t: number): number {
  if (!stages?.length) return initial;
  let from = initial;
  let at = 0;
  for (const s of stages) {
    if (t < at + s.durationMs) return from + ((s.target - from) * (t - at)) / Math.max(1, s.durationMs);
    from = s.target;
    at += s.durationMs;
  }
  return from;
}

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
  const wantsTasks = scenario.mix.some((m) => m.action === 'task');

  const startNs = process.hrtime.bigint();
  const startedAtMs = Date.now();
  const recorder = new Recorder(startNs);
  let stopping = false;
  let clientCounter = 0;
  const inFlight = new Set<Promise<void>>();
  const faults = { missedArrivals: 0, maxSchedulingLagUs: 0, intended: 0, started: 0, notes: [] as string[] };

  /** A closed-model agent keeps its identity (it is one caller) across its sessions; an open-model arrival is a new agent. */
  const newSession = (agentId?: string, backoff?: BackoffState) => {
    const n = clientCounter++;
    const localAddress = addresses > 0 ? `127.0.0.${10 + (n % addresses)}` : undefined;
    return new McpSession(
      options.url,
      protocol,
      { name: 'mcpbench-agent', version: '0.1.0', agentId: agentId ?? `agent-${seed}-${n}` },
      recorder,
      {
        timeoutMs,
        localAddress,
        tasks: wantsTasks,
        backoff,
      },
    );
  };
  const agentContext = (rng: () => number, cache = new ListCache()): AgentContext => ({
    scenario,
    recorder,
    rng,
    cache,
    stopping: () => stopping,
  });
  const track = (p: Promise<void>) => {
    inFlight.add(p);
    p.finally(() => inFlight.delete(p)).catch(() => {});
  };

  const elapsedMs = () => Number(process.hrtime.bigint() - startNs) / 1e6;

  async function closedModel(load: Extract<LoadOptions, { model: 'closed' }>) {
    const agents: Array<{ stop: boolean }> = [];
    const spawn = () => {
      const agent = { stop: false };
      const index = agents.length;
      agents.push(agent);
      const rng = createRng(seed * 7919 + index);
      const ctx = agentContext(rng);
      const cache = ctx.cache;
      // One agent: its back-off carries over from one of its sessions to the next.
      const backoff = new BackoffState();
      track(
        (async () => {
          while (!stopping && !agent.stop) {
            const session = newSession(`agent-${seed}-a${index}`, backoff);
            try {
              await runSession(session, { ...ctx, cache });
            } finally {
              session.destroy();
            }
          }
        })(),
      );
    };
    while (!stopping) {
      const target = Math.round(levelAt(load.agents, load.stages, elapsedMs()));
      const active = agents.filter((a) => !a.stop);
      for (let i = active.length; i < target; i++) spawn();
      for (let i = active.length - 1; i >= target; i--) (active[i] as { stop: boolean }).stop = true;
      await sleep(100);
    }
  }

  async function openModel(load: Extract<LoadOptions, { model: 'open' }>) {
    const unit = load.unit ?? 'sessions';
    const cap = load.maxInFlight ?? 1_000;
    const rng = createRng(seed * 104729);
    const sharedCache = new ListCache();
    const idle: McpSession[] = [];
    let active = 0;
    let next = 0; // ms offset of the next due arrival
    // Arrivals missed at the in-flight cap: once capacity frees up, each is recorded in the corrected
    // histogram with the time it waited (coordinated-omission correction), as well as counted as a fault.
    const missedDue: bigint[] = [];
    const flushMissed = () => {
      const nowNs = process.hrtime.bigint();
      for (const due of missedDue.splice(0)) recorder.correctedOnly(Number(nowNs - due) / 1000);
    };
    while (!stopping) {
      const rate = Math.max(0, levelAt(load.rate, load.stages, next));
      if (rate <= 0) {
        next += 100;
        await sleep(100);
        continue;
      }
      // Timers have millisecond granularity: an arrival starts at most half a millisecond early (a
      // timer that fired early is re-armed), so arrivals are spread evenly, not started in pairs.
      let wait = next - elapsedMs();
      if (wait > 0.5) {
        do {
          await sleep(wait);
          wait = next - elapsedMs();
        } while (wait > 0.5 && !stopping);
      }
      // Behind schedule: still yield between arrivals, so responses (and idle connections) come back
      // instead of a burst of late arrivals each opening a new connection.
      else await new Promise((r) => setImmediate(r));
      if (stopping) break;
      const dueNs = startNs + BigInt(Math.round(next * 1e6));
      faults.intended++;
      const lagUs = Number(process.hrtime.bigint() - dueNs) / 1000;
      faults.maxSchedulingLagUs = Math.max(faults.maxSchedulingLagUs, lagUs);
      next += 1000 / rate;
      if (active >= cap) {
        faults.missedArrivals++;
        if (missedDue.length < 100_000) missedDue.push(dueNs);
        continue;
      }
      faults.started++;
      active++;
      if (unit === 'sessions') {
        const session = newSession();
        track(
          runSession(session, agentContext(rng, sharedCache), dueNs).finally(() => {
            session.destroy();
            active--;
            flushMissed();
          }),
        );
      } else {
        const session = idle.pop() ?? newSession();
        track(
          (async () => {
            if (session.legacy && !session.hasSession) await session.open();
            session.dueAt(dueNs);
            await runAction('call', session, agentContext(rng, sharedCache));
          })().finally(() => {
            active--;
            idle.push(session);
            flushMissed();
          }),
        );
      }
    }
    // Arrivals that fell due before the end but were never started: the engine fell behind.
    const endMs = Math.min(elapsedMs(), options.durationMs);
    while (next < endMs) {
      const rate = levelAt(load.rate, load.stages, next);
      if (rate <= 0) break;
      faults.intended++;
      faults.missedArrivals++;
      next += 1000 / rate;
    }
    flushMissed();
    for (const s of idle) await s.close();
  }

  let progressTimer: NodeJS.Timeout | undefined;
  if (options.onProgress) {
    const onProgress = options.onProgress;
    progressTimer = setInterval(() => {
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

  let stopTimer: NodeJS.Timeout | undefined;
  let abortedEarly = false;
  const stop = () => {
    stopping = true;
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
      if (options.load.model === 'closed') await closedModel(options.load);
      else await openModel(options.load);
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
    const { histograms, timeseries } = recorder.finish(endNs);
    const load = options.load;
    const notes = [...faults.notes];
    if (abortedEarly) notes.push('stopped early by the user; figures cover the time that ran');
    if (faults.missedArrivals > 0) {
      notes.push(
        `the engine could not start ${faults.missedArrivals} arrivals (in-flight cap reached): the target rate was not met`,
      );
    }
    return {
      schema: 'mcpbench/engine-result@1',
      engine: 'builtin',
      scenario: scenario.name,
      target: detected
        ? { url: options.url, protocol, detectedBy: detected.reason }
        : { url: options.url, protocol },
      load:
        load.model === 'closed'
          ? { model: 'closed', agents: load.agents, durationMs: options.durationMs }
          : { model: 'open', rate: load.rate, unit: load.unit ?? 'sessions', durationMs: options.durationMs },
      startedAtMs,
      durationMs: Number(endNs - startNs) / 1e6,
      histograms,
      counts: recorder.counts,
      errors: recorder.errors,
      errorCauses: recorder.errorCauses,
      backoff: { count: recorder.backoff.count, totalMs: Math.round(recorder.backoff.totalMs) },
      lifecycle: recorder.lifecycle,
      perReplica: recorder.perReplica,
      timeseries,
      engineFaults: {
        missedArrivals: faults.missedArrivals,
        maxSchedulingLagUs: Math.round(faults.maxSchedulingLagUs),
        achievedRateRatio:
          load.model === 'open' && faults.intended > 0 ? faults.started / faults.intended : 1,
        notes,
      },
    };
  })();

  return { startedAtMs, protocol, detectedBy: detected?.reason, result, stop };
}

export async function runEngine(options: EngineOptions): Promise<EngineResult> {
  return (await startEngine(options)).result;
}
