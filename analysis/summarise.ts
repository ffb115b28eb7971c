import type * as hdr from 'hdr-histogram-js';
import { type EngineResult, ERROR_CLASSES, HISTOGRAM_KEYS, requestLatencyKey } from '../rundir/raw-result.js';
import { type LoadedRun, type Trial, trialsByGroup } from './load-run.js';
import { bootstrapDiff, type Interval, mergeHistograms, spread } from './stats.js';
import type { ThresholdResult } from './thresholds.js';

/**
 * summary.json: per experiment × variant, the headline figures (percentiles from merged HDR
 * histograms), their trial-to-trial spread, and every legacy-vs-rc difference with a 95% interval.
 */

interface Percentiles {
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
  } | null;
  /** per-trial values of the metrics compared across variants */
  perTrial: Record<string, number[]>;
  spread: Record<string, { mean: number; min: number; max: number } | null>;
}

export interface Comparison {
  experimentId: string;
  metric: string;
  unit: string;
  /** "legacy-sticky vs rc": value = legacy − rc */
  baseline: string;
  candidate: string;
  baselineMean: number;
  candidateMean: number;
  interval: Interval;
  betterWhen: 'lower' | 'higher';
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

const deploymentOf = (v: unknown): RunSummary['deployment'] =>
  v === 'prepared' || v === 'unprepared' ? v : null;

function percentiles(h: hdr.Histogram): Percentiles {
  return {
    count: h.totalCount,
    p50Us: h.getValueAtPercentile(50),
    p90Us: h.getValueAtPercentile(90),
    p99Us: h.getValueAtPercentile(99),
    p999Us: h.getValueAtPercentile(99.9),
    maxUs: h.maxValue,
    meanUs: Math.round(h.mean),
  };
}

function merged(trials: Trial[], key: string): hdr.Histogram | null {
  const encoded = trials.map((t) => t.engine.histograms[key]).filter((e): e is string => Boolean(e));
  return encoded.length ? mergeHistograms(encoded) : null;
}

function windowOf(t: Trial, name: string): { startMs: number; endMs: number } | null {
  const e = t.events.find(
    (ev) => ev.source === 'experiment' && ev.kind === 'window' && ev.detail.name === name,
  );
  return e ? { startMs: Number(e.detail.startMs), endMs: Number(e.detail.endMs) } : null;
}

/** Request-weighted p99 over the seconds of a window (from the per-second series). */
function p99Over(t: Trial, w: { startMs: number; endMs: number } | null): number | null {
  if (!w) return null;
  const points = t.engine.timeseries.filter(
    (p) => p.t * 1000 >= w.startMs && p.t * 1000 < w.endMs && p.requests > 0,
  );
  if (!points.length) return null;
  return Math.max(...points.map((p) => p.p99Us));
}

function disruption(t: Trial) {
  const before = p99Over(t, windowOf(t, 'before'));
  const during = p99Over(t, windowOf(t, 'during'));
  const start = t.events.find((e) => e.kind === 'rollout-start');
  const end = t.events.find((e) => e.kind === 'rollout-end');
  const actions = t.events
    .filter((e) => e.source === 'experiment' && e.kind === 'action-start')
    .map((e) => e.tMs);
  const recovery = (kind: string): number | null => {
    const kill = t.events.find((e) => e.kind === kind);
    if (!kill) return null;
    const series = t.engine.timeseries;
    const threshold = before ? 2 * before : Number.POSITIVE_INFINITY;
    const nextAction = Math.min(...actions.filter((a) => a > kill.tMs + 50), t.engine.durationMs);
    for (let s = Math.floor(kill.tMs / 1000); s * 1000 + 3_000 <= nextAction + 999; s++) {
      const window = series.slice(s, s + 3);
      if (window.length === 3 && window.every((p) => p.errors === 0 && p.p99Us <= threshold)) {
        return Math.max(0, s * 1000 - kill.tMs);
      }
    }
    return null;
  };
  return {
    p99BeforeUs: before,
    p99DuringUs: during,
    rolloutDurationMs: start && end ? end.tMs - start.tMs : null,
    recoveryMs: recovery('pod-killed'),
    redisRecoveryMs: recovery('redis-killed'),
  };
}

function scaling(t: Trial) {
  const timeline = t.samples.map((s) => ({ tMs: s.tMs, desired: s.desired, ready: s.ready }));
  const initial = timeline[0]?.desired ?? 0;
  const stageUp = t.events.find((e) => e.kind === 'load-stage' && Number(e.detail.index) === 2);
  const from = stageUp?.tMs ?? 0;
  const ups = t.events.filter(
    (e) => e.kind === 'replicas-changed' && Number(e.detail.to) > Number(e.detail.from),
  );
  const downs = t.events.filter(
    (e) => e.kind === 'replicas-changed' && Number(e.detail.to) < Number(e.detail.from),
  );
  const maxReplicas = Math.max(initial, ...timeline.map((p) => p.desired));
  const reachedMax = timeline.find((p) => p.desired === maxReplicas && p.ready === maxReplicas);
  const lastUp = ups[ups.length - 1];
  let loadSpread: NonNullable<VariantSummary['scaling']>['loadSpread'] = null;
  if (lastUp) {
    const fromSecond = Math.ceil((lastUp.tMs + 2_000) / 1000);
    const until = downs.find((d) => d.tMs > lastUp.tMs)?.tMs ?? Number.POSITIVE_INFINITY;
    const per: Record<string, number> = {};
    for (const p of t.engine.timeseries) {
      if (p.t < fromSecond || p.t * 1000 >= until) continue;
      for (const [r, n] of Object.entries(p.perReplica)) per[r] = (per[r] ?? 0) + n;
    }
    const replicasAfter = Number(lastUp.detail.to);
    const counts = Object.values(per);
    while (counts.length < replicasAfter) counts.push(0); // replicas that got nothing at all
    const total = counts.reduce((s, n) => s + n, 0);
    if (total > 0) {
      const m = total / counts.length;
      const sd = Math.sqrt(counts.reduce((s, n) => s + (n - m) ** 2, 0) / counts.length);
      loadSpread = {
        replicas: counts.length,
        cv: sd / m,
        busiestShare: Math.max(...counts) / total,
        idlestShare: Math.min(...counts) / total,
      };
    }
  }
  return {
    timeline,
    timeToFirstScaleUpMs: ups[0] ? ups[0].tMs - from : null,
    timeToMaxMs: reachedMax && maxReplicas > initial ? reachedMax.tMs - from : null,
    maxReplicas,
    scaleDownMs: downs[0] && lastUp ? downs[downs.length - 1]!.tMs - lastUp.tMs : null,
    loadSpread,
  };
}

function summariseGroup(trials: Trial[]): VariantSummary {
  const first = trials[0] as Trial;
  const sum = (f: (e: EngineResult) => number) => trials.reduce((s, t) => s + f(t.engine), 0);
  const requests = sum((e) => e.counts.requests);
  const errors: Record<string, number> = {};
  for (const c of ERROR_CLASSES) errors[c] = sum((e) => e.errors[c] ?? 0);
  const errorCount = Object.values(errors).reduce((s, n) => s + n, 0);
  const latencyHist = mergeHistograms(trials.map((t) => t.engine.histograms[requestLatencyKey(t.engine)]));
  const methodKeys = [
    ...new Set(
      trials.flatMap((t) => Object.keys(t.engine.histograms).filter((k) => k.startsWith('method:'))),
    ),
  ];
  const methods: Record<string, Percentiles> = {};
  for (const k of methodKeys.sort()) {
    const h = merged(trials, k);
    if (h) methods[k.slice(7)] = percentiles(h);
  }
  const turnHist = merged(trials, HISTOGRAM_KEYS.turn);
  const turns = sum((e) => e.counts.turns);
  const lifecycle = Object.fromEntries(
    Object.keys(first.engine.lifecycle).map((k) => [
      k,
      sum((e) => e.lifecycle[k as keyof EngineResult['lifecycle']]),
    ]),
  ) as EngineResult['lifecycle'];

  const perTrial: Record<string, number[]> = {
    p50Us: [],
    p99Us: [],
    errorRate: [],
    failedRequests: [],
    throughputPerSecond: [],
  };
  const push = (k: string, v: number | null) => {
    if (v === null || !Number.isFinite(v)) return;
    perTrial[k] ??= [];
    perTrial[k].push(v);
  };
  const isDisruption = first.experiment === 'rolling-update' || first.experiment === 'pod-kill';
  const isHpa = first.experiment === 'hpa';
  const disruptions = isDisruption ? trials.map(disruption) : [];
  const scalings = isHpa ? trials.map(scaling) : [];
  for (const [i, t] of trials.entries()) {
    const h = mergeHistograms([t.engine.histograms[requestLatencyKey(t.engine)]]);
    push('p50Us', h.getValueAtPercentile(50));
    push('p99Us', h.getValueAtPercentile(99));
    h.destroy();
    push('errorRate', t.engine.counts.requests ? t.engine.counts.errors / t.engine.counts.requests : 0);
    push('failedRequests', t.engine.counts.errors);
    push('throughputPerSecond', t.engine.counts.requests / (t.engine.durationMs / 1000));
    if (t.engine.counts.turns > 0) {
      const th = mergeHistograms([t.engine.histograms[HISTOGRAM_KEYS.turn]]);
      push('turnMeanUs', th.mean);
      push('turnP50Us', th.getValueAtPercentile(50));
      th.destroy();
      push('roundTripsPerTurn', t.engine.counts.roundTrips / t.engine.counts.turns);
      push(
        'bytesPerTurn',
        (t.engine.counts.bytesSent + t.engine.counts.bytesReceived) / t.engine.counts.turns,
      );
    }
    if (isDisruption) {
      push('sessionsLost', t.engine.lifecycle.sessionsLost);
      push('tasksLost', t.engine.lifecycle.tasksLost);
      push('p99DuringUs', disruptions[i]?.p99DuringUs ?? null);
      push('recoveryMs', disruptions[i]?.recoveryMs ?? null);
    }
    if (isHpa) {
      push('timeToFirstScaleUpMs', scalings[i]?.timeToFirstScaleUpMs ?? null);
      push('loadSpreadCv', scalings[i]?.loadSpread?.cv ?? null);
    }
  }
  const durationS = sum((e) => e.durationMs) / 1000;
  const avg = (xs: Array<number | null | undefined>) => {
    const v = xs.filter((x): x is number => typeof x === 'number');
    return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
  };
  const summary: VariantSummary = {
    experimentId: first.experimentId,
    experiment: first.experiment,
    variant: first.variant,
    trials: trials.length,
    requests,
    throughputPerSecond: durationS > 0 ? requests / durationS : 0,
    errorRate: requests ? errorCount / requests : 0,
    errors,
    latency: percentiles(latencyHist),
    methods,
    turn: turnHist && turnHist.totalCount > 0 ? percentiles(turnHist) : null,
    roundTripsPerTurn: turns ? sum((e) => e.counts.roundTrips) / turns : null,
    bytesPerTurn: turns ? sum((e) => e.counts.bytesSent + e.counts.bytesReceived) / turns : null,
    lifecycle,
    engineFaults: {
      missedArrivals: sum((e) => e.engineFaults.missedArrivals),
      achievedRateRatio: Math.min(...trials.map((t) => t.engine.engineFaults.achievedRateRatio)),
      notes: [...new Set(trials.flatMap((t) => t.engine.engineFaults.notes))],
    },
    disruption: isDisruption
      ? {
          p99BeforeUs: avg(disruptions.map((d) => d.p99BeforeUs)),
          p99DuringUs: avg(disruptions.map((d) => d.p99DuringUs)),
          rolloutDurationMs: avg(disruptions.map((d) => d.rolloutDurationMs)),
          recoveryMs: avg(disruptions.map((d) => d.recoveryMs)),
          redisRecoveryMs: avg(disruptions.map((d) => d.redisRecoveryMs)),
        }
      : null,
    scaling: isHpa ? (scalings[0] ?? null) : null,
    perTrial,
    spread: Object.fromEntries(Object.entries(perTrial).map(([k, v]) => [k, spread(v)])),
  };
  latencyHist.destroy();
  return summary;
}

const COMPARED: Array<{
  metric: string;
  unit: string;
  betterWhen: 'lower' | 'higher';
  experiments?: string[];
}> = [
  { metric: 'turnMeanUs', unit: 'µs', betterWhen: 'lower', experiments: ['ttl-cache'] },
  { metric: 'roundTripsPerTurn', unit: 'round trips', betterWhen: 'lower', experiments: ['ttl-cache'] },
  { metric: 'bytesPerTurn', unit: 'bytes', betterWhen: 'lower', experiments: ['ttl-cache'] },
  { metric: 'p50Us', unit: 'µs', betterWhen: 'lower' },
  { metric: 'p99Us', unit: 'µs', betterWhen: 'lower' },
  { metric: 'errorRate', unit: 'share', betterWhen: 'lower' },
  {
    metric: 'failedRequests',
    unit: 'requests',
    betterWhen: 'lower',
    experiments: ['rolling-update', 'pod-kill'],
  },
  {
    metric: 'sessionsLost',
    unit: 'sessions',
    betterWhen: 'lower',
    experiments: ['rolling-update', 'pod-kill'],
  },
  { metric: 'loadSpreadCv', unit: 'CV', betterWhen: 'lower', experiments: ['hpa'] },
];

export function summariseLoaded(run: LoadedRun): RunSummary {
  const variants = trialsByGroup(run.trials).map(summariseGroup);
  const comparisons: Comparison[] = [];
  for (const rc of variants.filter((v) => v.variant === 'rc')) {
    for (const legacy of variants.filter((v) => v.experimentId === rc.experimentId && v.variant !== 'rc')) {
      for (const c of COMPARED) {
        if (c.experiments && !c.experiments.includes(rc.experiment)) continue;
        const a = legacy.perTrial[c.metric] ?? [];
        const b = rc.perTrial[c.metric] ?? [];
        if (!a.length || !b.length) continue;
        comparisons.push({
          experimentId: rc.experimentId,
          metric: c.metric,
          unit: c.unit,
          baseline: legacy.variant,
          candidate: 'rc',
          baselineMean: a.reduce((s, x) => s + x, 0) / a.length,
          candidateMean: b.reduce((s, x) => s + x, 0) / b.length,
          interval: bootstrapDiff(a, b),
          betterWhen: c.betterWhen,
        });
      }
    }
  }
  return {
    schema: 'mcpbench/summary@1',
    run: run.manifest.name,
    status: run.status,
    statusNote: run.statusNote,
    complete: run.status === 'complete',
    generatedAt: new Date().toISOString(),
    problems: run.problems,
    interruptedTrials: run.interruptedTrials,
    variants,
    comparisons,
    fingerprint: run.manifest.fingerprint,
    cluster: run.manifest.cluster,
    deployment: deploymentOf(run.manifest.config.deployment),
    thresholds: [],
  };
}
