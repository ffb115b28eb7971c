import type { AgentContext } from '../../models/agent-core.ts';
import type { BackoffState } from '../../models/backoff.ts';
import type { ListCache } from '../../models/list-cache.ts';
import type { McpSession } from '../mcp-session.js';
import type { Recorder } from '../recorder.js';
import type { Segment } from './segment.ts';

/**
 * A load model of the built-in engine, named as k6 names its executors: `constant-vus` and
 * `ramping-vus` (closed model: a number of agents, each starting its next session when the last one
 * ends), `constant-arrival-rate` and `ramping-arrival-rate` (open model: sessions or single requests
 * arrive on a schedule, whatever the server's latency). An executor decides when work starts; the
 * engine gives it sessions and agent contexts, and collects the result.
 */
export interface Executor {
  readonly name: ExecutorName;
  /** Runs until `ctx.stopping()`; work it started is registered with `ctx.track`. */
  run(ctx: ExecutorContext): Promise<void>;
}

type ExecutorName = 'constant-vus' | 'ramping-vus' | 'constant-arrival-rate' | 'ramping-arrival-rate';

export interface Stage {
  durationMs: number;
  target: number;
}

/** What the engine counts against itself, never against the server. */
export interface EngineFaults {
  missedArrivals: number;
  maxSchedulingLagUs: number;
  intended: number;
  started: number;
}

export interface ExecutorContext {
  startNs: bigint;
  durationMs: number;
  seed: number;
  /** this generator's share of the load (WHOLE when it runs all of it) */
  segment: Segment;
  recorder: Recorder;
  faults: EngineFaults;
  elapsedMs(): number;
  stopping(): boolean;
  /** resolves once the engine is stopping */
  stopped: Promise<void>;
  /** A new client; a closed-model agent passes its identity and back-off, which outlive its sessions. */
  newSession(agentId?: string, backoff?: BackoffState): McpSession;
  agentContext(rng: () => number, cache: ListCache): AgentContext;
  /** registers in-flight work: the engine waits for it (bounded) before it reports */
  track(p: Promise<void>): void;
}

/** The load level (agents or arrivals/s) at `t` ms: stages ramp linearly from the previous level. */
export function levelAt(initial: number, stages: readonly Stage[], t: number): number {
  let from = initial;
  let at = 0;
  for (const s of stages) {
    if (t < at + s.durationMs) return from + ((s.target - from) * (t - at)) / Math.max(1, s.durationMs);
    from = s.target;
    at += s.durationMs;
  }
  return from;
}
