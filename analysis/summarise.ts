import type * as hdr from 'hdr-histogram-js';
import { type EngineResult, ERROR_CLASSES, HISTOGRAM_KEYS, requestLatencyKey } from '../rundir/raw-result.js';
import { type LoadedRun, type Trial, trialsByGroup } from './load-run.js';
import {
  COMMON_COMPARED,
  COMMON_METRICS,
  METRICS,
  type MetricName,
  notApplicableWhy,
  perEventOf,
  TURN_METRICS,
} from './metrics.js';
import { capacityRunSummary, planLoadOf } from './plugins/capacity/summary.js';
import { analysisOf } from './plugins/registry.js';
import { eventTest } from './significance.js';
import { bootstrapDiff, type Interval, mergeHistograms, spread } from './stats.js';
import type {
  Comparison,
  CpuLimitsSummary,
  LoadSourceSummary,
  Percentiles,
  RunSummary,
  VariantSummary,
} from './summary-types.js';

/**
 * summary.json: per experiment × variant, the headline figures (percentiles from merged HDR
 * histograms), their trial-to-trial spread, and every legacy-vs-rc difference with a 95% interval.
 * What an experiment adds (its metrics, its own blocks) comes from its plugin (analysis/plugins/).
 */

const deploymentOf = (v: unknown): RunSummary['deployment'] =>
  v === 'prepared' || v === 'unprepared' ? v : null;

/** What the trials' cpu-limits events (one per variant bring-up) say about per-pod CPU limits. */
function cpuLimitsOf(trials: Trial[]): CpuLimitsSummary {
  const out: CpuLimitsSummary = {
    recorded: false,
    enforced: [],
    notEnforced: [],
    mechanisms: [],
    limitsMillicores: [],
  };
  const seen = new Set<string>();
  for (const t of trials) {
    const e = t.events.find((x) => x.kind === 'cpu-limits' && x.source === 'cluster');
    if (!e) continue;
    out.recorded = true;
    const where = `${t.experimentId} × ${t.variant}`;
    if (seen.has(where)) continue;
    seen.add(where);
    const limit = typeof e.detail.cpuLimitMillicores === 'number' ? e.detail.cpuLimitMillicores : null;
    if (limit !== null && !out.limitsMillicores.includes(limit)) out.limitsMillicores.push(limit);
    if (e.detail.enforced === true) {
      out.enforced.push(where);
      const mechanism = String(e.detail.mechanism);
      if (!out.mechanisms.includes(mechanism)) out.mechanisms.push(mechanism);
    } else {
      out.notEnforced.push({
        where,
        cpuLimitMillicores: limit,
        reason: typeof e.detail.reason === 'string' ? e.detail.reason : 'not enforced',
      });
    }
  }
  out.limitsMillicores.sort((a, b) => a - b);
  return out;
}

/** Where each trial's load came from (generators.json beside an in-cluster trial), and its generators' health. */
function loadSourceOf(trials: Trial[]): LoadSourceSummary {
  const out: LoadSourceSummary = {
    inCluster: 0,
    fromHost: 0,
    generatorCounts: [],
    maxClockSkewMs: null,
    faults: [],
    saturated: [],
  };
  for (const t of trials) {
    const g = t.generators;
    if (!g) {
      out.fromHost++;
      continue;
    }
    out.inCluster++;
    if (!out.generatorCounts.includes(g.count)) out.generatorCounts.push(g.count);
    const where = `${t.experimentId} × ${t.variant} trial ${t.trial}`;
    for (const f of g.faults)
      out.faults.push(`${where}: generator ${f.index} delivered no result (${f.reason})`);
    for (const p of g.generators) {
      if (p.saturated)
        out.saturated.push(
          `${where}: generator ${p.index} used ${p.cpuCores.toFixed(2)} of ${p.cpuLimitCores} cores, ${p.missedArrivals} arrivals missed`,
        );
      if (p.clockSkewMs !== null)
        out.maxClockSkewMs = Math.max(out.maxClockSkewMs ?? 0, Math.abs(p.clockSkewMs));
    }
  }
  out.generatorCounts.sort((a, b) => a - b);
  return out;
}

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

  const plugin = analysisOf(first.experiment);
  const perTrial: Record<string, number[]> = Object.fromEntries(COMMON_METRICS.map((m) => [m, []]));
  const push = (k: MetricName, t: Trial) => {
    const v = METRICS[k].fromTrial(t);
    if (v === null || !Number.isFinite(v)) return;
    perTrial[k] ??= [];
    perTrial[k].push(v);
  };
  for (const t of trials) {
    for (const m of COMMON_METRICS) push(m, t);
    if (t.engine.counts.turns > 0) for (const m of TURN_METRICS) push(m, t);
    for (const m of plugin?.perTrial ?? []) push(m, t);
  }
  const perEvent: Record<string, number[][]> = {};
  const eventMetrics = new Set([
    ...(plugin?.perTrial ?? []),
    ...(Object.keys(plugin?.perEvent ?? {}) as MetricName[]),
  ]);
  for (const m of eventMetrics) {
    const f = plugin?.perEvent?.[m] ?? perEventOf(m);
    if (!f) continue;
    const groups = trials.map(f);
    if (groups.some((g) => g.length)) perEvent[m] = groups;
  }
  const durationS = sum((e) => e.durationMs) / 1000;
  const summary: VariantSummary = {
    experimentId: first.experimentId,
    experiment: first.experiment,
    variant: first.variant,
    protocol: first.engine.target.protocol,
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
    disruption: null,
    scaling: null,
    ...plugin?.summarise?.(trials),
    ...(Object.keys(perEvent).length ? { perEvent } : {}),
    perTrial,
    spread: Object.fromEntries(Object.entries(perTrial).map(([k, v]) => [k, spread(v)])),
  };
  latencyHist.destroy();
  return summary;
}

const COUNT_UNITS = new Set<string>(['requests', 'sessions', 'tasks', 'handles']);

/** legacy − rc over events (disruption counts): the difference per event with its t interval, and the rate ratio. */
function eventComparison(
  experimentId: string,
  metric: MetricName,
  baseline: string,
  candidate: string,
  legacy: number[][],
  rc: number[][],
): Comparison {
  const test = eventTest(legacy, rc);
  const n = { a: legacy.flat().length, b: rc.flat().length };
  const interval: Interval =
    test.low === null || test.high === null
      ? {
          diff: test.diff,
          low: null,
          high: null,
          includesZero: null,
          note: 'one event per variant: no interval (configure overrides.<experiment>.events.count, for hpa steps.count, 2 or more)',
        }
      : { diff: test.diff, low: test.low, high: test.high, includesZero: test.low <= 0 && test.high >= 0 };
  const meanOf = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  return {
    experimentId,
    metric,
    unit: METRICS[metric].unit,
    baseline,
    candidate,
    baselineMean: meanOf(legacy.flat()),
    candidateMean: meanOf(rc.flat()),
    interval,
    betterWhen: METRICS[metric].betterWhen,
    events: { baseline: n.a, candidate: n.b },
    // a rate ratio for counts only (a ratio of two p99s is no rate)
    ratio: COUNT_UNITS.has(METRICS[metric].unit) ? test.ratio : null,
  };
}

export function summariseLoaded(run: LoadedRun): RunSummary {
  const variants = trialsByGroup(run.trials).map(summariseGroup);
  const servers = run.manifest.variantInfo;
  for (const v of variants) {
    const na = servers?.[v.variant]?.notApplicable;
    if (!na || Object.keys(na).length === 0) continue;
    v.notApplicable = na;
    // A figure whose premise the server lacks is not a measurement: no per-trial values, no comparison.
    for (const m of Object.keys(v.perTrial) as MetricName[]) if (notApplicableWhy(v, m)) delete v.perTrial[m];
    for (const m of Object.keys(v.perEvent ?? {}) as MetricName[])
      if (notApplicableWhy(v, m)) delete v.perEvent?.[m];
  }
  const comparisons: Comparison[] = [];
  // Each 2026-07-28 variant against each 2025-11-25 variant of the same experiment (rc vs legacy-* for the built-ins).
  for (const rc of variants.filter(isModern)) {
    for (const legacy of variants.filter((v) => v.experimentId === rc.experimentId && !isModern(v))) {
      for (const metric of analysisOf(rc.experiment)?.compared ?? COMMON_COMPARED) {
        const ea = legacy.perEvent?.[metric];
        const eb = rc.perEvent?.[metric];
        if (ea && eb) {
          comparisons.push(eventComparison(rc.experimentId, metric, legacy.variant, rc.variant, ea, eb));
          continue;
        }
        const a = legacy.perTrial[metric] ?? [];
        const b = rc.perTrial[metric] ?? [];
        if (!a.length || !b.length) continue;
        comparisons.push({
          experimentId: rc.experimentId,
          metric,
          unit: METRICS[metric].unit,
          baseline: legacy.variant,
          candidate: rc.variant,
          baselineMean: a.reduce((s, x) => s + x, 0) / a.length,
          candidateMean: b.reduce((s, x) => s + x, 0) / b.length,
          interval: bootstrapDiff(a, b),
          betterWhen: METRICS[metric].betterWhen,
        });
      }
    }
  }
  const capacity = capacityRunSummary(variants, planLoadOf(run.manifest.config));
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
    ...(capacity ? { capacity } : {}),
    cpuLimits: cpuLimitsOf(run.trials),
    loadSource: loadSourceOf(run.trials),
    thresholds: [],
    ...(servers ? { servers } : {}),
  };
}

/** Whether a variant spoke 2026-07-28 (summaries written before `protocol` existed: the built-in `rc`). */
export function isModern(v: VariantSummary): boolean {
  return v.protocol ? v.protocol === '2026-07-28' : v.variant === 'rc';
}
