import type { EngineResult } from '../rundir/raw-result.js';
import type { MetricDirection, MetricUnit } from './metric-units.js';
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
  } | null;
  scaling: {
    timeline: Array<{ tMs: number; desired: number; ready: number }>;
    timeToFirstScaleUpMs: number | null;
    timeToMaxMs: number | null;
    maxReplicas: number;
    scaleDownMs: number | null;
    /** after the last scale-up: how evenly requests spread over the replicas */
    loadSpread: { replicas: number; cv: number; busiestShare: number; idlestShare: number } | null;
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
    premise: {
      /** median CPU utilisation of the ready replicas over the base window, percent of the request */
      baseUtilisation: number | null;
      targetUtilisation: number;
      /** scale-ups before the step */
      scaleUpsBeforeStep: number;
      failed: string | null;
    } | null;
  } | null;
  /** per-trial values of the metrics compared across variants */
  perTrial: Record<string, number[]>;
  spread: Record<string, { mean: number; min: number; max: number } | null>;
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
  /** the run's k6-style thresholds, each checked per experiment × variant (empty when none are set) */
  thresholds: ThresholdResult[];
}
