import { HISTOGRAM_KEYS, requestLatencyKey } from '../rundir/raw-result.js';
import {
  latencyAggregateMs,
  plannedMatch,
  THRESHOLD_METRICS,
  type ThresholdSpec,
  thresholdHolds,
} from '../rundir/threshold-spec.js';
import { type LoadedRun, type Trial, trialsByGroup } from './load-run.js';
import { METRICS, type MetricName, notApplicableWhy } from './metrics.js';
import { mergeHistograms } from './stats.js';
import { summariseLoaded } from './summarise.js';
import type { RunSummary, ThresholdResult, VariantSummary } from './summary-types.js';

function histogramKey(spec: ThresholdSpec, t: Trial): string {
  if (spec.metric === 'turn') return HISTOGRAM_KEYS.turn;
  if (spec.tags.method) return `method:${spec.tags.method}`;
  return requestLatencyKey(t.engine);
}

/** A threshold on a count or a rate reads the metric registry's figure for the experiment × variant. */
function observe(spec: ThresholdSpec, trials: Trial[], summary: VariantSummary | undefined): number | null {
  const fromSummary = (m: MetricName) => (summary ? METRICS[m].fromSummary(summary) : null);
  const sum = (f: (t: Trial) => number) => trials.reduce((s, t) => s + f(t), 0);
  switch (spec.metric) {
    case 'latency':
    case 'turn': {
      const encoded = trials.map((t) => t.engine.histograms[histogramKey(spec, t)]).filter(Boolean);
      if (!encoded.length) return null;
      const h = mergeHistograms(encoded);
      try {
        return latencyAggregateMs(spec, h);
      } finally {
        h.destroy();
      }
    }
    case 'errors': {
      const errors = sum((t) => METRICS.failedRequests.fromTrial(t));
      if (spec.aggregation === 'count') return errors;
      const requests = sum((t) => t.engine.counts.requests);
      return requests ? errors / requests : null;
    }
    case 'throughput':
      return sum((t) => t.engine.durationMs) > 0 ? fromSummary('throughputPerSecond') : null;
    case 'sessions_lost':
      return fromSummary('sessionsLost');
    case 'tasks_lost':
      return fromSummary('tasksLost');
    case 'round_trips':
      return fromSummary('roundTripsPerTurn');
  }
}

/** Checks every threshold against every experiment × variant it selects. */
export function evaluateThresholds(
  specs: ThresholdSpec[],
  run: LoadedRun,
  summary: Pick<RunSummary, 'variants'> = summariseLoaded(run),
): ThresholdResult[] {
  const groups = trialsByGroup(run.trials);
  const results: ThresholdResult[] = [];
  for (const spec of specs) {
    const label = `${spec.source}: ${spec.expression}`;
    let matched = 0;
    for (const trials of groups) {
      const first = trials[0] as Trial;
      if (!plannedMatch(spec, first)) continue;
      matched++;
      const variant = summary.variants.find(
        (v) => v.experimentId === first.experimentId && v.variant === first.variant,
      );
      // A metric whose premise the server lacks (no tasks) is not applicable: it neither passes nor reads 0.
      const notApplicable =
        spec.metric === 'tasks_lost' && variant ? notApplicableWhy(variant, 'tasksLost') : null;
      const observed = notApplicable ? null : observe(spec, trials, variant);
      const unit =
        spec.metric === 'errors' && spec.aggregation === 'count' ? '' : THRESHOLD_METRICS[spec.metric].unit;
      results.push({
        threshold: label,
        experimentId: first.experimentId,
        variant: first.variant,
        observed,
        unit,
        // Nothing measured cannot pass: a threshold on turns of a run without turns is a config mistake.
        ok: observed !== null && thresholdHolds(spec, observed),
        ...(observed === null
          ? { note: notApplicable ? `not applicable: ${notApplicable}` : 'nothing recorded for this metric' }
          : {}),
      });
    }
    if (matched === 0)
      results.push({
        threshold: label,
        experimentId: spec.tags.experiment ?? '*',
        variant: spec.tags.variant ?? '*',
        observed: null,
        unit: '',
        ok: false,
        note: 'no experiment × variant in this run matches its tags',
      });
  }
  return results;
}

/** The observed value in the threshold's own terms ("0.100%", "950 ms"), or why there is none. */
function formatObserved(r: ThresholdResult): string {
  if (r.observed === null) return r.note ?? 'no value';
  if (r.threshold.includes('%')) return `${(r.observed * 100).toFixed(3)}%`;
  return `${Number(r.observed.toFixed(3))}${r.unit ? ` ${r.unit}` : ''}`;
}

export function describeThresholdResult(r: ThresholdResult): string {
  return `${r.ok ? 'pass' : 'FAIL'} ${r.threshold} — ${r.experimentId} / ${r.variant}: ${formatObserved(r)}`;
}
