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
 * about 3 minutes on a 2-core machine; every field can be overridden from the run config for real
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
  };
  /** A breakpoint search instead of one fixed load per trial (capacity experiment); `load` gives unit and in-flight cap. */
  search?: SearchSpec;
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
