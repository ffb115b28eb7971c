import type { VariantName } from '../cluster/provider.js';
import type { CapacitySlo } from '../rundir/layout.js';

/**
 * The runner's side of an experiment: what to deploy, what load to drive, and a short script of
 * timed actions, as data. Each experiment is one folder, experiments/plugins/<name>/definition.ts,
 * listed once in experiments/registry.ts; the runner (experiments/runner.ts) interprets every one
 * the same way on every cluster provider. Its analysis side (metrics, verdict, report section) is
 * analysis/plugins/<name>/.
 *
 * Defaults are sized so that the whole default suite (4 experiments × 3 variants) finishes within
 * 5 minutes (about 4 measured) on a 2-core machine; every field can be overridden from the run config for real
 * capacity-planning runs (longer durations, more trials, bigger sweeps).
 */

/** Load as the engine understands it (scenarios/engine). Stages follow k6's ramping executors. */
export type LoadSpec =
  | { model: 'closed'; agents: number; stages?: Array<{ durationMs: number; target: number }> }
  | {
      model: 'open';
      rate: number;
      unit: 'sessions' | 'turns' | 'requests';
      stages?: Array<{ durationMs: number; target: number }>;
      maxInFlight?: number;
    };

/** A timed action on the variant under test, relative to the start of the trial's load. */
export type TimedAction =
  | { atMs: number; action: 'rollout' }
  | { atMs: number; action: 'kill-pod' }
  | { atMs: number; action: 'kill-redis' }
  | { atMs: number; action: 'scale'; replicas: number };

/**
 * A disruption experiment's repeated event: `count` of `action`, the first at `firstAtMs`, then every
 * `spacingMs`; `last` (e.g. a Redis kill) one spacing after the last. `repeatedActions` expands it
 * into the definition's `actions` and its duration (one spacing after the last action), so that
 * `overrides.<name>.events` in a run config can change the count and the spacing.
 */
export interface RepeatedEvents {
  action: 'rollout' | 'kill-pod';
  count: number;
  firstAtMs: number;
  spacingMs: number;
  last?: 'kill-redis';
}

export function repeatedActions(e: RepeatedEvents): { actions: TimedAction[]; durationMs: number } {
  const actions: TimedAction[] = [];
  for (let i = 0; i < e.count; i++) actions.push({ atMs: e.firstAtMs + i * e.spacingMs, action: e.action });
  if (e.last) actions.push({ atMs: e.firstAtMs + e.count * e.spacingMs, action: e.last });
  return { actions, durationMs: e.firstAtMs + actions.length * e.spacingMs };
}

/**
 * The hpa experiment's repeated load step: base load for `firstAtMs`, then `count` times a ramp of
 * `rampMs` up to `stepRate`, held so that ramp and hold last `holdMs`, a ramp of `rampMs` back down to
 * `baseRate` and base load until the next step, `spacingMs` after this one's start. The spacing leaves
 * the HPA time to scale back to minReplicas before the next step (the analysis checks it per step).
 * `repeatedSteps` expands it into the load's stages and the trial's duration (one spacing after the
 * last step's start), so that `overrides.hpa.steps` in a run config can change the count and the spacing.
 */
export interface RepeatedSteps {
  count: number;
  baseRate: number;
  stepRate: number;
  firstAtMs: number;
  rampMs: number;
  holdMs: number;
  spacingMs: number;
}

export function repeatedSteps(s: RepeatedSteps): {
  stages: Array<{ durationMs: number; target: number }>;
  durationMs: number;
} {
  const stages = [{ durationMs: s.firstAtMs, target: s.baseRate }];
  const after = s.spacingMs - s.holdMs - s.rampMs;
  for (let i = 0; i < s.count; i++)
    stages.push(
      { durationMs: s.rampMs, target: s.stepRate },
      { durationMs: s.holdMs - s.rampMs, target: s.stepRate },
      { durationMs: s.rampMs, target: s.baseRate },
      { durationMs: after, target: s.baseRate },
    );
  return { stages, durationMs: s.firstAtMs + s.count * s.spacingMs };
}

/** One point of an experiment's sweep (e.g. a catalogue size × RTT); `id` becomes `<experiment>~<id>`. */
export interface ExperimentCase {
  id: string;
  /** MCPBENCH_* overrides for every replica of every variant in this case */
  serverEnv?: Record<string, string>;
  rttMs?: number;
  /** Deployment replicas for this case (e.g. the capacity experiment's 1, 2, 3 pods) */
  replicas?: number;
}

/**
 * A breakpoint search (capacity experiment): fixed-rate steps of open-model load, each settled and then
 * measured, stepped up geometrically until the SLO breaks, then bisected between the last good and the
 * first bad rate (experiments/capacity-search.ts).
 */
export interface SearchSpec {
  /** first rate tried, per second in the load's unit */
  startRate: number;
  /** step-up (and step-down) factor */
  factor: number;
  /** converged when the first failing rate is at most this share above the last passing one */
  resolution: number;
  maxSteps: number;
  settleMs: number;
  measureMs: number;
  slo: CapacitySlo;
  /** the generator is the limit at or above this CPU (cores of its own process) */
  generatorCpuLimit: number;
}

type ExperimentProfile = Partial<
  Pick<ExperimentDefinition, 'summary' | 'durationMs' | 'load' | 'beforeWindowMs' | 'hpa' | 'steps'>
>;

export interface ExperimentDefinition<Name extends string = string> {
  name: Name;
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
  /** The repeated event `actions` was expanded from (disruption experiments only). */
  events?: RepeatedEvents;
  /** The repeated load step `load.stages` was expanded from (hpa only). */
  steps?: RepeatedSteps;
  /**
   * An action never starts before the previous one has ended plus this much (ms): a slow rollout
   * delays the next event instead of overlapping it, so every event's window is its own.
   */
  settleMs?: number;
  /** Seconds of the trial, on the load's time axis, that count as "before" any action. */
  beforeWindowMs: number;
  cases: ExperimentCase[];
  /** HPA for the variant (hpa experiment only); fields follow autoscaling/v2. */
  hpa?: {
    minReplicas: number;
    maxReplicas: number;
    /** percent of the pod's CPU request, which is `resources.cpuRequestMillicores` (else the manifests') */
    targetCpuUtilization: number;
    syncPeriodSeconds: number;
    scaleUpStabilizationSeconds: number;
    scaleDownStabilizationSeconds: number;
    /** CPU of pods younger than this is ignored (kube-controller-manager's cpu-initialization-period, 300 s by default) */
    cpuInitializationSeconds: number;
    /** kube-controller-manager's --horizontal-pod-autoscaler-tolerance (0.1) */
    tolerance: number;
    /** kube-controller-manager's --horizontal-pod-autoscaler-initial-readiness-delay (30 s) */
    initialReadinessDelaySeconds: number;
    /** metrics-server's --metric-resolution (15 s; its floor is 10 s): the window CPU is averaged over */
    metricResolutionSeconds: number;
  };
  /** A breakpoint search instead of one fixed load per trial (capacity experiment); `load` gives unit and in-flight cap. */
  search?: SearchSpec;
  /**
   * Named presets (`overrides.<experiment>.profile`): each replaces these fields of the defaults before
   * the run's own overrides apply (e.g. hpa's `realistic`: Kubernetes' own autoscaler timing).
   */
  profiles?: Record<string, ExperimentProfile>;
  /**
   * Per-pod resources (Deployment container resources; on local a CFS quota per replica). Absent: the
   * manifests' defaults (request 250m, limit 1000m). A limit of null runs the pods without a CPU limit.
   */
  resources?: { cpuLimitMillicores?: number | null; cpuRequestMillicores?: number };
  /** Only these variants take part (e.g. kill-redis only means something where Redis is used). */
  variants?: VariantName[];
}

export function experimentId(name: string, c: ExperimentCase, cases: number): string {
  return cases > 1 || c.id !== 'default' ? `${name}~${c.id}` : name;
}
