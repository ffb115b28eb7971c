import { HISTOGRAM_KEYS, requestLatencyKey } from '../rundir/raw-result.js';
import type { Trial } from './load-run.js';
import type { MetricDirection, MetricUnit } from './metric-units.js';
import { type DisruptionEvent, repeatedEvents } from './plugins/disruption-events.js';
import { trialDisruption } from './plugins/disruption-figures.js';
import { countedSteps, trialSteps } from './plugins/hpa/scaling.js';
import { mergeHistograms } from './stats.js';
import type { HpaStepRow, VariantSummary } from './summary-types.js';

/**
 * The one catalogue of per-trial metrics: name, label, unit, which direction is better, how to read
 * it from one trial (summary.json's `perTrial`, compare's t-tests, the legacy-vs-rc intervals) and
 * from an experiment × variant summary (reports, thresholds). Which metrics an experiment records
 * and compares is said by its plugin (analysis/plugins/<name>/).
 */
interface MetricSpec {
  label: string;
  unit: MetricUnit;
  betterWhen: MetricDirection;
  fromTrial: (t: Trial) => number | null;
  fromSummary: (v: VariantSummary) => number | null;
  /**
   * Disruption metrics: one value per repeated event (rollout, pod kill) of the trial. Such a
   * metric's trial value is its mean per event, its summary value the mean over every event, and
   * it is compared over events (analysis/significance.ts `eventTest`), not over trials.
   */
  perEvent?: (t: Trial) => number[];
  /** the server feature the metric rests on: where a server lacks it, the metric is not applicable */
  premise?: 'tasks' | 'handles' | 'ttl' | 'replicaHeader';
}

const latencyCache = new WeakMap<Trial, { p50: number; p99: number }>();
function trialLatency(t: Trial): { p50: number; p99: number } {
  let v = latencyCache.get(t);
  if (!v) {
    const h = mergeHistograms([t.engine.histograms[requestLatencyKey(t.engine)]]);
    v = { p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99) };
    h.destroy();
    latencyCache.set(t, v);
  }
  return v;
}

const turnCache = new WeakMap<Trial, { mean: number; p50: number }>();
function trialTurn(t: Trial): { mean: number; p50: number } | null {
  if (t.engine.counts.turns <= 0) return null;
  let v = turnCache.get(t);
  if (!v) {
    const h = mergeHistograms([t.engine.histograms[HISTOGRAM_KEYS.turn]]);
    v = { mean: h.mean, p50: h.getValueAtPercentile(50) };
    h.destroy();
    turnCache.set(t, v);
  }
  return v;
}

const perTurn = (t: Trial, x: number) => (t.engine.counts.turns > 0 ? x / t.engine.counts.turns : null);
/**
 * A per-event metric: its values per event (a disruption's rollout or kill, an hpa load step), their
 * mean per trial, the mean over all events of a summary.
 */
function eventMetric(
  name: string,
  spec: Omit<MetricSpec, 'fromTrial' | 'fromSummary' | 'perEvent'>,
  values: (t: Trial) => Array<number | null>,
): MetricSpec & { perEvent: (t: Trial) => number[] } {
  const perEvent = (t: Trial) => values(t).filter((x): x is number => x !== null);
  const meanOf = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);
  return {
    ...spec,
    perEvent,
    fromTrial: (t) => meanOf(perEvent(t)),
    fromSummary: (v) => meanOf(v.perEvent?.[name]?.flat() ?? []),
  };
}

/** A disruption metric: one value per repeated event (rollout, pod kill) that ended within the load. */
const perEventMetric = (
  name: string,
  spec: Omit<MetricSpec, 'fromTrial' | 'fromSummary' | 'perEvent'>,
  value: (e: DisruptionEvent) => number | null,
) => eventMetric(name, spec, (t) => repeatedEvents(t).map(value));

/** An hpa metric: one value per load step whose premise held (analysis/plugins/hpa/scaling.ts). */
const perStepMetric = (
  name: string,
  spec: Omit<MetricSpec, 'fromTrial' | 'fromSummary' | 'perEvent'>,
  value: (s: HpaStepRow) => number | null,
) => eventMetric(name, spec, (t) => countedSteps(t).map(value));

/**
 * hpa's latency and error metrics per step cycle (every step, premise or not: the load ran either
 * way): the experiment compares them over cycles, since its trial holds several steps (see
 * AnalysedExperiment.perEvent). The metric's trial value stays the whole trial's.
 */
export const perStepCycle =
  (value: (c: NonNullable<HpaStepRow['cycle']>) => number) =>
  (t: Trial): number[] =>
    trialSteps(t)
      .map((s) => (s.cycle ? value(s.cycle) : null))
      .filter((x): x is number => x !== null);

const failed = (v: VariantSummary) => Object.values(v.errors).reduce((s, n) => s + n, 0);

export const METRICS = {
  p50Us: {
    label: 'request p50',
    unit: 'µs',
    betterWhen: 'lower',
    fromTrial: (t) => trialLatency(t).p50,
    fromSummary: (v) => v.latency.p50Us,
  },
  p99Us: {
    label: 'request p99',
    unit: 'µs',
    betterWhen: 'lower',
    fromTrial: (t) => trialLatency(t).p99,
    fromSummary: (v) => v.latency.p99Us,
  },
  turnMeanUs: {
    label: 'turn mean',
    unit: 'µs',
    betterWhen: 'lower',
    fromTrial: (t) => trialTurn(t)?.mean ?? null,
    fromSummary: (v) => v.turn?.meanUs ?? null,
  },
  turnP50Us: {
    label: 'turn p50',
    unit: 'µs',
    betterWhen: 'lower',
    fromTrial: (t) => trialTurn(t)?.p50 ?? null,
    fromSummary: (v) => v.turn?.p50Us ?? null,
  },
  throughputPerSecond: {
    label: 'throughput',
    unit: 'req/s',
    betterWhen: 'higher',
    fromTrial: (t) => t.engine.counts.requests / (t.engine.durationMs / 1000),
    fromSummary: (v) => v.throughputPerSecond,
  },
  errorRate: {
    label: 'error rate',
    unit: 'share',
    betterWhen: 'lower',
    fromTrial: (t) => (t.engine.counts.requests ? t.engine.counts.errors / t.engine.counts.requests : 0),
    fromSummary: (v) => v.errorRate,
  },
  failedRequests: {
    label: 'failed requests',
    unit: 'requests',
    betterWhen: 'lower',
    fromTrial: (t) => t.engine.counts.errors,
    fromSummary: failed,
  },
  roundTripsPerTurn: {
    label: 'round trips / turn',
    unit: 'round trips',
    betterWhen: 'lower',
    fromTrial: (t) => perTurn(t, t.engine.counts.roundTrips),
    fromSummary: (v) => v.roundTripsPerTurn,
  },
  bytesPerTurn: {
    label: 'bytes / turn',
    unit: 'bytes',
    betterWhen: 'lower',
    fromTrial: (t) => perTurn(t, t.engine.counts.bytesSent + t.engine.counts.bytesReceived),
    fromSummary: (v) => v.bytesPerTurn,
  },
  sessionsLost: {
    label: 'sessions lost',
    unit: 'sessions',
    betterWhen: 'lower',
    fromTrial: (t) => t.engine.lifecycle.sessionsLost,
    fromSummary: (v) => v.lifecycle.sessionsLost,
  },
  tasksLost: {
    label: 'tasks lost',
    unit: 'tasks',
    betterWhen: 'lower',
    fromTrial: (t) => t.engine.lifecycle.tasksLost,
    fromSummary: (v) => v.lifecycle.tasksLost,
    premise: 'tasks',
  },
  p99DuringUs: {
    label: 'p99 during action',
    unit: 'µs',
    betterWhen: 'lower',
    fromTrial: (t) => trialDisruption(t).p99DuringUs,
    fromSummary: (v) => v.disruption?.p99DuringUs ?? null,
  },
  recoveryMs: {
    label: 'recovery time',
    unit: 'ms',
    betterWhen: 'lower',
    fromTrial: (t) => trialDisruption(t).recoveryMs,
    fromSummary: (v) => v.disruption?.recoveryMs ?? null,
  },
  failedPerEvent: perEventMetric(
    'failedPerEvent',
    { label: 'failed requests / event', unit: 'requests', betterWhen: 'lower' },
    (e) => e.failed,
  ),
  sessionsLostPerEvent: perEventMetric(
    'sessionsLostPerEvent',
    { label: 'sessions lost / event', unit: 'sessions', betterWhen: 'lower' },
    (e) => e.byClass?.session_lost ?? null,
  ),
  tasksLostPerEvent: perEventMetric(
    'tasksLostPerEvent',
    { label: 'tasks lost / event', unit: 'tasks', betterWhen: 'lower', premise: 'tasks' },
    (e) => e.byClass?.task_lost ?? null,
  ),
  handlesRejectedPerEvent: perEventMetric(
    'handlesRejectedPerEvent',
    { label: 'handles rejected / event', unit: 'handles', betterWhen: 'lower', premise: 'handles' },
    (e) => e.byClass?.handle_rejected ?? null,
  ),
  eventP99Us: perEventMetric(
    'eventP99Us',
    { label: 'p99 in event window', unit: 'µs', betterWhen: 'lower' },
    (e) => e.p99Us,
  ),
  eventRecoveryMs: perEventMetric(
    'eventRecoveryMs',
    { label: 'time to last failure / event', unit: 'ms', betterWhen: 'lower' },
    // An event still failing at the end of its window (the next event, or the end of the load) has
    // not recovered: it counts at its window's length, a lower bound, so the comparison is conservative
    // against the variant that recovers late instead of dropping its events.
    (e) => e.recoveryMs ?? e.windowEndMs - e.startMs,
  ),
  timeToFirstScaleUpMs: perStepMetric(
    'timeToFirstScaleUpMs',
    { label: 'time to first scale-up', unit: 'ms', betterWhen: 'lower' },
    (s) => s.timeToScaleUpMs,
  ),
  peakReplicas: perStepMetric(
    'peakReplicas',
    { label: 'peak replicas / step', unit: 'replicas', betterWhen: 'lower' },
    (s) => s.peakReplicas,
  ),
  loadSpreadCv: perStepMetric(
    'loadSpreadCv',
    { label: 'load spread CV', unit: 'CV', betterWhen: 'lower', premise: 'replicaHeader' },
    (s) => s.loadSpread?.cv ?? null,
  ),
  stepP99Us: perStepMetric(
    'stepP99Us',
    { label: 'p99 in the step', unit: 'µs', betterWhen: 'lower' },
    (s) => s.stepP99Us,
  ),
  scaleDownMs: perStepMetric(
    'scaleDownMs',
    { label: 'time to scale down / step', unit: 'ms', betterWhen: 'lower' },
    (s) => s.scaleDownMs,
  ),
  capacityPerPod: {
    label: 'sustainable rate per pod',
    unit: 'per s',
    betterWhen: 'higher',
    fromTrial: (t) => {
      const c = t.capacity;
      return c && c.result.sustainableRate !== null ? c.result.sustainableRate / c.replicas : null;
    },
    fromSummary: (v) => v.capacity?.perPod?.mean ?? null,
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;

/** Why a metric is not applicable to a variant (its server lacks the metric's premise), or null. */
export function notApplicableWhy(v: VariantSummary, metric: MetricName): string | null {
  const premise = (METRICS[metric] as MetricSpec).premise;
  return (premise && v.notApplicable?.[premise]) || null;
}

/** A lifecycle count's cell text: the count, or "n/a (why)" where the server lacks the premise. */
export function countOrNotApplicable(v: VariantSummary, premise: string, count: number): string {
  const why = v.notApplicable?.[premise];
  return why ? `n/a (${why})` : String(count);
}

export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

/** The per-event values of a metric that has them (disruption experiments), else null. */
export function perEventOf(metric: MetricName): ((t: Trial) => number[]) | null {
  const spec: MetricSpec = METRICS[metric];
  return spec.perEvent ?? null;
}

/** Recorded for every trial of every experiment (present in perTrial even when empty). */
export const COMMON_METRICS = [
  'p50Us',
  'p99Us',
  'errorRate',
  'failedRequests',
  'throughputPerSecond',
] as const satisfies readonly MetricName[];

/** Recorded for every trial that ran turns. */
export const TURN_METRICS = [
  'turnMeanUs',
  'turnP50Us',
  'roundTripsPerTurn',
  'bytesPerTurn',
] as const satisfies readonly MetricName[];

/** Compared legacy vs rc in every experiment. */
export const COMMON_COMPARED = ['p50Us', 'p99Us', 'errorRate'] as const satisfies readonly MetricName[];

/** A value in its metric's unit, as the legacy-vs-rc comparisons print it ("3.10 ms", "0.5%", "4.00 round trips"). */
export function formatMetricValue(unit: MetricUnit, x: number): string {
  if (unit === 'µs') return fmt.ms(x);
  if (unit === 'share') return fmt.pct(x);
  // times to scale, recover or fail: seconds read better than thousands of ms
  if (unit === 'ms' && Math.abs(x) >= 1000) return `${(x / 1000).toFixed(2)} s`;
  return `${fmt.num(x, 2)} ${unit}`;
}

/** Number formatting shared by both reports and compare. */
export const fmt = {
  ms: (us: number | null | undefined) =>
    us === null || us === undefined ? '–' : `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`,
  pct: (x: number | null | undefined) =>
    x === null || x === undefined ? '–' : `${(x * 100).toFixed(x < 0.01 && x > 0 ? 3 : 1)}%`,
  num: (x: number | null | undefined, digits = 1) =>
    x === null || x === undefined ? '–' : x.toFixed(digits),
  int: (x: number | null | undefined) => (x === null || x === undefined ? '–' : String(Math.round(x))),
  s: (ms: number | null | undefined) =>
    ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`,
};
