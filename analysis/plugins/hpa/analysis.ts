import { describeComparison } from '../../describe.js';
import type { AnalysedExperiment } from '../../experiment.js';
import type { Trial } from '../../load-run.js';
import {
  COMMON_COMPARED,
  fmt,
  METRICS,
  type MetricName,
  notApplicableWhy,
  perEventOf,
  perStepCycle,
} from '../../metrics.js';
import { type Block, cell, strong, table } from '../../report/model.js';
import { meanPerEvent } from '../../stats.js';
import type { VariantSummary } from '../../summary-types.js';
import { scalingSummary } from './scaling.js';

/** Which count a load spread came from, where it is not the replica header (a server that names no replica). */
const spreadSourceNote = (spread: { source?: string }) =>
  spread.source === 'service-proxy'
    ? " (from the Service proxy's per-replica counts)"
    : spread.source === 'cpu'
      ? ' (of per-pod CPU: the server names no replica)'
      : '';

/** Per-step metrics (one value per load step whose premise held), each tested legacy vs rc over steps. */
const PER_STEP: readonly MetricName[] = [
  'timeToFirstScaleUpMs',
  'peakReplicas',
  'loadSpreadCv',
  'stepP99Us',
  'scaleDownMs',
];

/** The comparisons the verdict names. */
const VERDICT_METRICS = new Set<string>(['timeToFirstScaleUpMs', 'loadSpreadCv', 'stepP99Us']);

function summarise(trials: Trial[]): { scaling: VariantSummary['scaling'] } {
  const scaling = scalingSummary(trials);
  if (!scaling) return { scaling };
  const perStepSummary: NonNullable<NonNullable<VariantSummary['scaling']>['perStepSummary']> = {};
  for (const m of PER_STEP) {
    const f = perEventOf(m);
    const xs = f ? trials.flatMap(f) : [];
    if (xs.length) perStepSummary[m] = meanPerEvent(xs);
  }
  return { scaling: { ...scaling, perStepSummary } };
}

const withInterval = (
  m: MetricName,
  s: { mean: number; low: number | null; high: number | null } | undefined,
) => {
  if (!s) return '–';
  const unit = METRICS[m].unit;
  const digits = unit === 'CV' ? 2 : 1;
  const v = (x: number) => (unit === 'µs' ? fmt.ms(x) : unit === 'ms' ? fmt.s(x) : fmt.num(x, digits));
  return s.low === null || s.high === null ? v(s.mean) : `${v(s.mean)} [${v(s.low)}, ${v(s.high)}]`;
};

/** Every load step of every trial: its premise and what the HPA did. */
function stepTable(rows: VariantSummary[]): Block[] {
  const all = rows.flatMap((v) => (v.scaling?.steps ?? []).map((s) => ({ v, s })));
  if (!all.length) return [];
  const blocks: Block[] = [
    {
      kind: 'table',
      table: table(
        [
          'variant',
          'trial:',
          'step:',
          'at:',
          'premise',
          'first scale-up:',
          'peak replicas:',
          'at peak:',
          'load spread CV:',
          'p99 base → step:',
          'back at min after:',
        ],
        all.map(({ v, s }) => [
          cell(v.variant),
          cell(String(s.trial), s.trial),
          cell(String(s.step), s.step),
          cell(fmt.s(s.startMs), s.startMs),
          cell(
            s.premise
              ? s.premise.failed
                ? s.premise.failed.replace(/^premise failed: /, 'failed: ')
                : 'held'
              : '–',
          ),
          cell(s.counted ? fmt.s(s.timeToScaleUpMs) : '–', s.timeToScaleUpMs),
          cell(String(s.peakReplicas), s.peakReplicas),
          cell(fmt.s(s.timeToPeakMs), s.timeToPeakMs),
          cell(
            v.notApplicable?.replicaHeader ? 'n/a' : fmt.num(s.loadSpread?.cv, 2),
            v.notApplicable?.replicaHeader ? null : (s.loadSpread?.cv ?? null),
          ),
          cell(`${fmt.ms(s.baseP99Us)} → ${fmt.ms(s.stepP99Us)}`, s.stepP99Us),
          cell(
            s.scaleDownMs !== null
              ? fmt.s(s.scaleDownMs)
              : s.counted && s.peakReplicas > 1
                ? 'not back before the next step'
                : '–',
            s.scaleDownMs,
          ),
        ]),
      ),
    },
  ];
  const failed = rows
    .map((v) => ({ v, n: (v.scaling?.steps ?? []).filter((s) => !s.counted).length }))
    .filter((x) => x.n > 0)
    .map((x) => `${x.v.variant} ${x.n}`);
  blocks.push({
    kind: 'note',
    text: [
      'Per-step figures count only the steps whose premise held (back at minReplicas, base below the target, no scale-up at base load)',
      failed.length ? `; steps left out: ${failed.join(', ')}` : '',
      '. Latency and error rate are compared over step cycles (from one step’s fall to the next one’s: the base and the step), each cycle’s p50 and p99 the request-weighted mean of its seconds’.',
    ],
  });
  for (const v of rows) {
    const pending = v.scaling?.unschedulable ?? [];
    if (!pending.length) continue;
    const reasons = [...new Set(pending.map((p) => p.message))].join('; ');
    blocks.push({
      kind: 'note',
      text: [
        strong(`${v.variant}: ${pending.length} pod(s) never scheduled`),
        ` (${reasons}): the HPA asked for more replicas than the nodes had room for (CPU requests), so its figures are those of the pods that fit. A capacity limit of the cluster, not of the server.`,
      ],
    });
  }
  return blocks;
}

/** hpa: how each variant scales under a CPU HPA, step after step, and how evenly the new replicas get load. */
export const hpa: AnalysedExperiment = {
  perTrial: PER_STEP,
  compared: [...COMMON_COMPARED, ...PER_STEP],
  perEvent: {
    p50Us: perStepCycle((c) => c.p50Us),
    p99Us: perStepCycle((c) => c.p99Us),
    errorRate: perStepCycle((c) => c.errorRate),
  },
  summarise,
  verdict: ({ id, rc, legacies, comparisons }) => {
    const parts = [rc, ...legacies].map((v: VariantSummary) => {
      const s = v.scaling;
      if (!s) return `${v.variant}: no scaling data`;
      const steps = s.steps ?? [];
      const held = steps.filter((x) => x.counted).length;
      const first = s.premise?.failed
        ? s.premise.failed
        : s.timeToFirstScaleUpMs === null
          ? s.stepSyncs?.withoutMetrics
            ? `never scaled up after a load step (${s.stepSyncs.withoutMetrics} of ${s.stepSyncs.total} syncs during the steps had no CPU from a ready pod: the replica failed readiness under the step)`
            : 'never scaled up after a load step'
          : `first scale-up ${fmt.s(s.timeToFirstScaleUpMs)} after a step on average`;
      const premise = steps.length ? ` (${held} of ${steps.length} steps with the premise held)` : '';
      return `${v.variant}: scaled to ${s.maxReplicas}, ${first}${premise}`;
    });
    const lines = [[strong(id), `: ${parts.join('; ')}.`]];
    for (const legacy of legacies) {
      const tested = comparisons
        .filter((c) => c.baseline === legacy.variant && VERDICT_METRICS.has(c.metric))
        .map((c) => `${METRICS[c.metric as MetricName].label}: ${describeComparison(c)}`);
      if (tested.length)
        lines.push([strong(id), ` per step, ${legacy.variant} vs ${rc.variant}: ${tested.join('; ')}.`]);
    }
    return lines;
  },
  table: (rows) =>
    table(
      [
        'variant',
        'steps:',
        'base CPU / target:',
        'premise',
        'max replicas:',
        'first scale-up / step:',
        'peak replicas / step:',
        'load spread CV / step:',
        'p99 in step:',
        'scale-down / step:',
        'busiest / idlest share:',
      ],
      rows.map((v) => {
        const s = v.scaling;
        const spread = s?.loadSpread;
        const p = s?.premise;
        const steps = s?.steps ?? [];
        const held = steps.filter((x) => x.counted).length;
        const sum = s?.perStepSummary ?? {};
        const m = (k: MetricName) => {
          const why = notApplicableWhy(v, k);
          return why ? cell(`n/a (${why})`, null) : cell(withInterval(k, sum[k]), sum[k]?.mean ?? null);
        };
        return [
          cell(v.variant),
          cell(String(steps.length), steps.length),
          cell(
            p?.baseUtilisation != null ? `${Math.round(p.baseUtilisation)}% / ${p.targetUtilisation}%` : '–',
            p?.baseUtilisation ?? null,
          ),
          cell(
            p
              ? p.failed
                ? p.failed.replace(/^premise failed: /, 'failed: ')
                : held === steps.length
                  ? 'held'
                  : `held in ${held} of ${steps.length}`
              : '–',
          ),
          cell(s ? String(s.maxReplicas) : '–', s?.maxReplicas ?? null),
          m('timeToFirstScaleUpMs'),
          m('peakReplicas'),
          m('loadSpreadCv'),
          m('stepP99Us'),
          m('scaleDownMs'),
          cell(
            spread && !v.notApplicable?.replicaHeader
              ? `${fmt.pct(spread.busiestShare)} / ${fmt.pct(spread.idlestShare)}${spreadSourceNote(spread)}`
              : '–',
          ),
        ];
      }),
    ),
  blocks: stepTable,
};
