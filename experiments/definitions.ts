import type { VariantName } from '../cluster/provider.js';

/**
 * The four experiments, as data: what to deploy, what load to drive, and a short script of timed
 * actions. The runner (experiments/runner.ts) interprets them the same way on every cluster provider.
 *
 * Defaults are sized so that the whole default suite (4 experiments × 3 variants) finishes within
 * about 3 minutes on a 2-core machine; every field can be overridden from the run config for real
 * capacity-planning runs (longer durations, more trials, bigger sweeps).
 */

export const EXPERIMENT_NAMES = ['ttl-cache', 'rolling-update', 'pod-kill', 'hpa'] as const;
export type ExperimentName = (typeof EXPERIMENT_NAMES)[number];

/** Load as the engine understands it (scenarios/engine). Stages follow k6's ramping executors. */
export type LoadSpec =
  | { model: 'closed'; agents: number; stages?: Array<{ durationMs: number; target: number }> }
  | {
      model: 'open';
      rate: number;
      unit: 'sessions' | 'requests';
      stages?: Array<{ durationMs: number; target: number }>;
      maxInFlight?: number;
    };

/** A timed action on the variant under test, relative to the start of the trial's load. */
export type TimedAction =
  | { atMs: number; action: 'rollout' }
  | { atMs: number; action: 'kill-pod' }
  | { atMs: number; action: 'kill-redis' }
  | { atMs: number; action: 'scale'; replicas: number };

/** One point of an experiment's sweep (e.g. a catalogue size × RTT); `id` becomes `<experiment>~<id>`. */
export interface ExperimentCase {
  id: string;
  /** MCPBENCH_* overrides for every replica of every variant in this case */
  serverEnv?: Record<string, string>;
  rttMs?: number;
}

export interface ExperimentDefinition {
  name: ExperimentName;
  summary: string;
  durationMs: number;
  trials: number;
  replicas: number;
  /** MCPBENCH_* environment shared by all variants (tool cost, catalogue size, ttl...). */
  serverEnv: Record<string, string>;
  rttMs: number;
  scenario: string;
  /** Parameter overrides for the scenario (think time, turns, calls per turn, mix weights...). */
  scenarioParams: Record<string, unknown>;
  load: LoadSpec;
  /** Distinct client source addresses (127.0.0.x), so ClientIP affinity sees many clients. */
  sourceAddresses: number;
  actions: TimedAction[];
  /** Seconds of the trial, on the load's time axis, that count as "before" any action. */
  beforeWindowMs: number;
  cases: ExperimentCase[];
  /** HPA for the variant (hpa experiment only); fields follow autoscaling/v2. */
  hpa?: {
    minReplicas: number;
    maxReplicas: number;
    targetCpuUtilization: number;
    cpuRequestMillicores: number;
    syncPeriodSeconds: number;
    scaleUpStabilizationSeconds: number;
    scaleDownStabilizationSeconds: number;
    /** CPU of pods younger than this is ignored (kube-controller-manager's cpu-initialization-period, 300 s by default) */
    cpuInitializationSeconds: number;
  };
  /** Only these variants take part (e.g. kill-redis only means something where Redis is used). */
  variants?: VariantName[];
}

/** Why each default is what it is is part of the contract with the reader of a report. */
export const DEFAULT_EXPERIMENTS: Record<ExperimentName, ExperimentDefinition> = {
  'ttl-cache': {
    name: 'ttl-cache',
    summary:
      'Agents run turns of discovery + tool calls. Legacy clients re-list tools every turn; rc clients honour ttlMs. ' +
      'Measures per-turn latency and round trips saved. A 5 ms round trip is emulated at the Service, since on ' +
      'loopback a round trip is nearly free and in production it is not.',
    durationMs: 3_000,
    trials: 3,
    replicas: 2,
    serverEnv: { MCPBENCH_CATALOGUE_SIZE: '100', MCPBENCH_TTL_MS: '60000', MCPBENCH_TOOL_LATENCY_MS: '2' },
    rttMs: 5,
    scenario: 'turns',
    scenarioParams: {},
    load: { model: 'closed', agents: 8 },
    sourceAddresses: 8,
    actions: [],
    beforeWindowMs: 0,
    cases: [{ id: 'catalogue-100-rtt-5ms' }],
  },
  'rolling-update': {
    name: 'rolling-update',
    summary:
      'Steady agent traffic (plain calls, handle workflows, tasks), then a rolling update (maxSurge 1, maxUnavailable 1). ' +
      'Measures failed requests by kind, sessions lost and re-initialised, tasks lost, p99 during vs before, rollout duration.',
    durationMs: 10_000,
    trials: 1,
    replicas: 3,
    serverEnv: {
      MCPBENCH_TOOL_LATENCY_MS: '5',
      MCPBENCH_TASK_DURATION_MS: '1500',
      MCPBENCH_SHUTDOWN_GRACE_MS: '3000',
    },
    rttMs: 0,
    scenario: 'steady',
    scenarioParams: {},
    load: { model: 'closed', agents: 12 },
    sourceAddresses: 12,
    actions: [{ atMs: 3_000, action: 'rollout' }],
    beforeWindowMs: 3_000,
    cases: [{ id: 'default' }],
  },
  'pod-kill': {
    name: 'pod-kill',
    summary:
      'Steady agent traffic; one pod is SIGKILLed, later Redis is killed once (variants that use it). ' +
      'Measures failed requests, sessions lost, tasks lost and the time to recover.',
    durationMs: 10_000,
    trials: 1,
    replicas: 3,
    serverEnv: { MCPBENCH_TOOL_LATENCY_MS: '5', MCPBENCH_TASK_DURATION_MS: '1500' },
    rttMs: 0,
    scenario: 'steady',
    scenarioParams: {},
    load: { model: 'closed', agents: 12 },
    sourceAddresses: 12,
    actions: [
      { atMs: 2_500, action: 'kill-pod' },
      { atMs: 6_000, action: 'kill-redis' },
    ],
    beforeWindowMs: 2_500,
    cases: [{ id: 'default' }],
  },
  hpa: {
    name: 'hpa',
    summary:
      'Open-model load ramps up and down under a CPU HPA (sync period and stabilisation windows shortened to fit the ' +
      'default suite; Kubernetes defaults are 15 s and 300 s). Measures the replica timeline, time to scale, per-pod load ' +
      'spread after scale-up (sticky sessions leave new pods idle) and latency while scaling.',
    durationMs: 15_000,
    trials: 1,
    replicas: 1,
    serverEnv: { MCPBENCH_TOOL_CPU_MS: '3' },
    rttMs: 0,
    scenario: 'cpu-ramp',
    scenarioParams: {},
    load: {
      model: 'open',
      rate: 4,
      unit: 'sessions',
      maxInFlight: 256,
      stages: [
        { durationMs: 2_000, target: 4 },
        { durationMs: 1_000, target: 30 },
        { durationMs: 7_000, target: 30 },
        { durationMs: 1_000, target: 4 },
        { durationMs: 4_000, target: 4 },
      ],
    },
    sourceAddresses: 8,
    actions: [],
    beforeWindowMs: 2_000,
    cases: [{ id: 'default' }],
    hpa: {
      minReplicas: 1,
      maxReplicas: 4,
      targetCpuUtilization: 50,
      cpuRequestMillicores: 250,
      syncPeriodSeconds: 1,
      scaleUpStabilizationSeconds: 0,
      scaleDownStabilizationSeconds: 3,
      cpuInitializationSeconds: 2,
    },
  },
};

export function experimentId(name: ExperimentName, c: ExperimentCase, cases: number): string {
  return cases > 1 || c.id !== 'default' ? `${name}~${c.id}` : name;
}
