import type { CapacitySlo, VariantInfo } from '../rundir/layout.js';
import type { EngineResult } from '../rundir/raw-result.js';
import type { MetricDirection, MetricUnit } from './metric-units.js';
import type {
  CapacityCost,
  PlanLoad,
  RateInterval,
  UslFit,
  uslHoldout,
  VariantPlan,
} from './plugins/capacity/model.js';
import type { Interval } from './stats.js';

/**
 * summary.json: per experiment × variant, the headline figures (percentiles from merged HDR
 * histograms), their trial-to-trial spread, and every legacy-vs-rc difference with a 95% interval.
 * Types only, so that the experiment plugins, the metric registry and the reports share them.
 */

export interface ThresholdResult {
  threshold: string;
  experimentId: string;
  variant: string;
  observed: number | null;
  unit: string;
  ok: boolean;
  /** why there was nothing to check, when observed is null */
  note?: string;
}

export interface Percentiles {
  count: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  meanUs: number;
}

/** How evenly load spread over the ready replicas while scaled out. */
interface LoadSpread {
  replicas: number;
  cv: number;
  busiestShare: number;
  idlestShare: number;
  /** what was counted: requests by replica header or by the local Service, or per-pod CPU; absent in older runs (the header) */
  source?: 'replica-header' | 'service-proxy' | 'cpu';
}

export interface VariantSummary {
  experimentId: string;
  experiment: string;
  variant: string;
  trials: number;
  requests: number;
  throughputPerSecond: number;
  errorRate: number;
  errors: Record<string, number>;
  /** corrected for coordinated omission when the load was open-model */
  latency: Percentiles;
  methods: Record<string, Percentiles>;
  turn: Percentiles | null;
  roundTripsPerTurn: number | null;
  bytesPerTurn: number | null;
  lifecycle: EngineResult['lifecycle'];
  engineFaults: { missedArrivals: number; achievedRateRatio: number; notes: string[] };
  disruption: {
    p99BeforeUs: number | null;
    p99DuringUs: number | null;
    rolloutDurationMs: number | null;
    /** after the first pod kill: until 3 s without errors and p99 within 2× before; null if not before the next action */
    recoveryMs: number | null;
    redisRecoveryMs: number | null;
    /** every event of every trial (rollouts, pod kills, the Redis kill) with its failures attributed */
    events?: EventRow[];
    /** failures before the first event, summed over trials */
    beforeFailed?: number;
    /** how failures were placed: per-failure records, or (older results) per second, without classes */
    attribution?: 'records' | 'records+seconds' | 'seconds';
    /** per-event metrics summarised over events and trials: mean per event with a 95% t interval */
    perEventSummary?: Record<
      string,
      { mean: number; low: number | null; high: number | null; events: number }
    >;
  } | null;
  /**
   * hpa: the first trial's replica timeline, every load step of every trial, and the step figures
   * averaged over the steps whose premise held (time to scale, to peak, to scale back down, spread).
   */
  scaling: {
    timeline: Array<{ tMs: number; desired: number; ready: number }>;
    /** mean over the steps whose premise held */
    timeToFirstScaleUpMs: number | null;
    timeToMaxMs: number | null;
    maxReplicas: number;
    scaleDownMs: number | null;
    /**
     * while scaled out after each step: how evenly load spread over the ready replicas (mean over
     * steps): requests counted per replica from the answers' replica header, or, for a server that names
     * no replica, from the local Service's own counts (`service-proxy`) or each pod's mean CPU from the
     * samples (`cpu`: the metrics API on kind/kube)
     */
    loadSpread: LoadSpread | null;
    /**
     * The experiment's premise: the base load sits below the CPU target, so a scale-up is the step's doing.
     * `failed` names why (a scale-up before the step, or base utilisation at or above the target); then
     * there is no time to scale, since it would measure nothing. Null when the trial recorded no HPA spec.
     */
    /**
     * The controller's syncs during the step (from its decisions, where the provider records them) and
     * how many had no CPU from a ready pod: a replica failing readiness under the step leaves the HPA blind.
     */
    stepSyncs: { total: number; withoutMetrics: number } | null;
    /**
     * Pods asked for (by the HPA or the Deployment) that no node had room for, with the scheduler's
     * reason: the scaling figures are then those of fewer replicas than asked (absent: none, or a run
     * from before the field).
     */
    unschedulable?: Array<{ trial: number; pod: string; message: string }>;
    /** over every step: `failed` only when no step's premise held (each step has its own in `steps`) */
    premise: HpaPremise | null;
    /** every load step of every trial (absent in summaries written before steps were repeated) */
    steps?: HpaStepRow[];
    /** the per-step metrics summarised over steps and trials: mean per step with a 95% t interval */
    perStepSummary?: Record<
      string,
      { mean: number; low: number | null; high: number | null; events: number }
    >;
  } | null;
  /** disruption experiments: per-event values of the per-event metrics, one array per trial */
  perEvent?: Record<string, number[][]>;
  /** the protocol era the variant's trials spoke */
  protocol?: '2025-11-25' | '2026-07-28';
  /**
   * Premises the variant's server does not support (`tasks`, `handles`, `ttl`), each with the reason;
   * the metrics that rest on them are "not applicable", never a zero (servers that are not ours).
   */
  notApplicable?: Record<string, string>;
  /** capacity experiment: the breakpoint searches of this experiment × variant (absent elsewhere) */
  capacity?: CapacityVariantSummary | null;
  /** per-trial values of the metrics compared across variants */
  perTrial: Record<string, number[]>;
  spread: Record<string, { mean: number; min: number; max: number } | null>;
}

/** One disruption event of one trial, as summary.json and the report's per-event table show it. */
export interface EventRow {
  trial: number;
  label: string;
  kind: string;
  startMs: number;
  /** action start → end (a rollout: until every new pod was ready) */
  durationMs: number | null;
  lateMs: number;
  /** false: the action had not ended when the load did (shown, but not in the per-event figures) */
  complete: boolean;
  pod: string | null;
  failed: number;
  byClass: Record<string, number> | null;
  p99Us: number | null;
  recoveryMs: number | null;
  /** the event's window, start to the next event (or the end of the load); absent in older summaries */
  windowMs?: number;
  /** where the event's failures fell, most first: "step 2: pod-sigterm rc-1" → count and classes */
  steps: Array<{ step: string; failed: number; byClass: Record<string, number> }>;
}

export interface CapacityVariantSummary {
  replicas: number;
  unit: string;
  slo: CapacitySlo;
  /** per trial: the search's result */
  trials: Array<{ trial: number; sustainableRate: number | null; status: string; steps: number }>;
  /** sustainable rate over trials (those with a result), 95% t-interval */
  rate: RateInterval | null;
  perPod: RateInterval | null;
  generatorLimitedSteps: number;
  /** trials whose result is only a lower bound because the generator was the limit */
  generatorLimitedTrials: number;
  cpuLimitMillicores: number | null;
  cpuLimitEnforced: boolean | null;
  cpuLimitNote: string | null;
  hostCores: number;
  /** mean over trials of each figure that was measured */
  cost: CapacityCost;
  /** every step of every trial: the latency-against-offered-rate curve */
  steps: Array<{
    trial: number;
    rate: number;
    requestP99Us: number | null;
    turnP99Us: number | null;
    verdict: string;
    reasons: string[];
  }>;
}

/** The run-level capacity figures: the scaling curve per variant and the plan for the config's load. */
export interface CapacityRunSummary {
  experiment: string;
  scaling: Array<{
    variant: string;
    points: Array<{ replicas: number; rate: number; low: number | null; high: number | null }>;
    usl: UslFit | null;
    holdout: ReturnType<typeof uslHoldout>;
    /** why the curve says more about the host than about the pods, when it does */
    hostBound: string | null;
  }>;
  plan: { load: PlanLoad; variants: VariantPlan[]; unplanned: Array<{ variant: string; reason: string }> };
}

interface HpaPremise {
  /** median CPU utilisation of the ready replicas over the base window, percent of the request */
  baseUtilisation: number | null;
  targetUtilisation: number;
  /** scale-ups at base load before the step */
  scaleUpsBeforeStep: number;
  failed: string | null;
}

/** One load step of an hpa trial: its premise, and what the HPA did after it. */
export interface HpaStepRow {
  trial: number;
  /** 1-based within the trial */
  step: number;
  startMs: number;
  /** when the load fell back; null when the load ended at the step */
  endMs: number | null;
  /** null when the trial recorded no HPA spec */
  premise: HpaPremise | null;
  /** the premise held: the step's scaling figures count in the per-step metrics */
  counted: boolean;
  timeToScaleUpMs: number | null;
  peakReplicas: number;
  timeToPeakMs: number | null;
  loadSpread: LoadSpread | null;
  /** worst 1 s p99 in the base before the step (at minReplicas) and in the step */
  baseP99Us: number | null;
  stepP99Us: number | null;
  /** from the load's fall to the deployment back at minReplicas; null when it was not back before the next step */
  scaleDownMs: number | null;
  /**
   * The step's cycle (from the previous step's fall to this one's): request-weighted means of its
   * seconds' p50 and p99, and its error rate; the unit over which hpa compares latency and errors.
   */
  cycle: { requests: number; p50Us: number; p99Us: number; errorRate: number } | null;
}

export interface Comparison {
  experimentId: string;
  metric: string;
  unit: MetricUnit;
  /** "legacy-sticky vs rc": value = legacy − rc */
  baseline: string;
  candidate: string;
  baselineMean: number;
  candidateMean: number;
  interval: Interval;
  betterWhen: MetricDirection;
  /** tested over events (disruption counts): how many on each side, and the rate ratio legacy / rc when defined */
  events?: { baseline: number; candidate: number };
  ratio?: { value: number; low: number | null; high: number | null } | null;
}

export interface RunSummary {
  schema: 'mcpbench/summary@1';
  run: string;
  status: string;
  /** why the status differs from what run.json says (a dead process, missing raw results) */
  statusNote?: string | null;
  complete: boolean;
  generatedAt: string;
  problems: string[];
  /** trials cut off by Ctrl-C, left out of every figure */
  interruptedTrials?: string[];
  variants: VariantSummary[];
  comparisons: Comparison[];
  fingerprint: Record<string, unknown>;
  cluster: { provider: string; kubernetesVersion: string | null };
  /** run config `deployment`; null when the run did not record it (older runs used unprepared manifests) */
  deployment: 'prepared' | 'unprepared' | null;
  /** capacity experiment: scaling curves and the plan (absent when it did not run) */
  capacity?: CapacityRunSummary;
  /**
   * Whether "one pod" was held to its CPU limit, from the trials' `cpu-limits` events (absent in
   * summaries written before the field; `recorded: false` for runs whose trials carry no such event).
   */
  cpuLimits?: CpuLimitsSummary;
  /** Where the load came from (absent in summaries written before the field). */
  loadSource?: LoadSourceSummary;
  /** the run's k6-style thresholds, each checked per experiment × variant (empty when none are set) */
  thresholds: ThresholdResult[];
  /** variants whose server is not ours: what was found and planned (run.json's variantInfo) */
  servers?: Record<string, VariantInfo>;
}

export interface CpuLimitsSummary {
  /** whether any trial recorded a cpu-limits event */
  recorded: boolean;
  /** experiment × variant bring-ups whose pods had a CPU limit that was enforced */
  enforced: string[];
  /** bring-ups whose pods ran without an enforced limit (none set, or it could not be enforced) */
  notEnforced: Array<{ where: string; cpuLimitMillicores: number | null; reason: string }>;
  /** how limits were enforced (cgroup-v1, cgroup-v2, kubernetes) */
  mechanisms: string[];
  /** the distinct CPU limits, millicores */
  limitsMillicores: number[];
}

export interface LoadSourceSummary {
  /** trials whose load came from generator pods in the cluster, and from the host */
  inCluster: number;
  fromHost: number;
  /** generator pods per in-cluster trial (distinct counts) */
  generatorCounts: number[];
  /** largest clock skew seen between a generator pod and the harness, ms (null: none measured) */
  maxClockSkewMs: number | null;
  /** `<experiment> × <variant> trial <n>: generator <i> ...`: pods that delivered nothing, or were saturated */
  faults: string[];
  saturated: string[];
}
