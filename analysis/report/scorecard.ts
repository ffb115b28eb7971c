import jStat from 'jstat';
import { comparisonMark } from '../describe.js';
import { METRICS, type MetricName } from '../metrics.js';
import { bootstrapDiff } from '../stats.js';
import type { Comparison, RunSummary, VariantSummary } from '../summary-types.js';
import { type Block, type Cell, cell, type RichText, secondary, strong, table } from './model.js';

/**
 * The scorecard that opens both reports: one row per variant (run order), one column per headline
 * figure the run has. Every column is declared here, as data: a new headline is one more entry
 * naming its experiment and its metric from analysis/metrics.ts.
 */
export interface ScorecardColumn {
  /** the column's heading, without the unit */
  title: string;
  /** the experiment (its name, not a case id) whose trials hold the metric */
  experiment: string;
  metric: MetricName;
  /** the unit the heading states ('' for a count, whose title says what it counts); `format` prints a number in it */
  unit: string;
  format: (x: number) => string;
  /**
   * How a variant's cell is marked against rc's: 'difference' marks it worse or better when the 95%
   * bootstrap interval of (variant − rc) over trials excludes 0, the test the experiment's own
   * section uses (its comparison when it has one, else the same test on the same trials);
   * 'none' never marks.
   */
  vsRc: 'difference' | 'none';
  /** why a variant that ran the experiment has no value (a trial recorded none), in words */
  absent?: string;
}

const ms = (us: number) => (us / 1000).toFixed(us < 10_000 ? 2 : 1);
const num = (digits: number) => (x: number) => x.toFixed(digits);
const seconds = (msValue: number) => (msValue / 1000).toFixed(1);

export const SCORECARD_COLUMNS: readonly ScorecardColumn[] = [
  {
    title: 'turn latency',
    experiment: 'ttl-cache',
    metric: 'turnMeanUs',
    unit: 'ms',
    format: ms,
    vsRc: 'difference',
  },
  {
    title: 'round trips / turn',
    experiment: 'ttl-cache',
    metric: 'roundTripsPerTurn',
    unit: '',
    format: num(2),
    vsRc: 'difference',
  },
  {
    title: 'failed requests / rollout',
    experiment: 'rolling-update',
    metric: 'failedPerEvent',
    unit: '',
    format: num(1),
    vsRc: 'difference',
  },
  {
    title: 'sessions lost / rollout',
    experiment: 'rolling-update',
    metric: 'sessionsLostPerEvent',
    unit: '',
    format: num(1),
    vsRc: 'difference',
  },
  {
    title: 'tasks lost / rollout',
    experiment: 'rolling-update',
    metric: 'tasksLostPerEvent',
    unit: '',
    format: num(1),
    vsRc: 'difference',
  },
  {
    title: 'failed requests / kill',
    experiment: 'pod-kill',
    metric: 'failedPerEvent',
    unit: '',
    format: num(1),
    vsRc: 'difference',
  },
  {
    title: 'sessions lost / kill',
    experiment: 'pod-kill',
    metric: 'sessionsLostPerEvent',
    unit: '',
    format: num(1),
    vsRc: 'difference',
  },
  {
    title: 'tasks lost / kill',
    experiment: 'pod-kill',
    metric: 'tasksLostPerEvent',
    unit: '',
    format: num(1),
    vsRc: 'difference',
  },
  {
    title: 'time to scale',
    experiment: 'hpa',
    metric: 'timeToFirstScaleUpMs',
    unit: 's',
    format: seconds,
    vsRc: 'difference',
    absent: 'never scaled up',
  },
  {
    title: 'load spread CV',
    experiment: 'hpa',
    metric: 'loadSpreadCv',
    unit: '',
    format: num(2),
    vsRc: 'difference',
    absent: 'no scale-up, so no spread',
  },
  {
    // pods needed for the run's planned load are in the Capacity section's planning table
    title: 'capacity / pod',
    experiment: 'capacity',
    metric: 'capacityPerPod',
    unit: 'turns/s',
    format: num(1),
    vsRc: 'difference',
    absent: 'no step passed the SLO',
  },
];

/** Units whose figures cannot be negative: an interval is cut at 0 there (times count from a step or an event's start). */
const NON_NEGATIVE = new Set([
  'ms',
  'per s',
  'requests',
  'sessions',
  'tasks',
  'round trips',
  'bytes',
  'CV',
  'share',
  'req/s',
]);

/** Mean of per-trial values with its two-sided 95% Student-t interval (null with fewer than two trials). */
function meanInterval(xs: number[]): { mean: number; low: number | null; high: number | null } {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  if (xs.length < 2) return { mean, low: null, high: null };
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1));
  const half = jStat.studentt.inv(0.975, xs.length - 1) * (sd / Math.sqrt(xs.length));
  return { mean, low: mean - half, high: mean + half };
}

interface ColumnInstance {
  column: ScorecardColumn;
  experimentId: string;
  heading: string;
}

/**
 * A variant's values of a metric: its events' (a per-event disruption metric: one value per rollout or
 * kill, over every trial), else its trials' (perTrial), else a summary-level figure with no interval.
 */
function valuesOf(v: VariantSummary, metric: MetricName): { trials: number[] } | { whole: number } | null {
  const perEvent = v.perEvent?.[metric];
  if (perEvent) {
    const events = perEvent.flat();
    return events.length ? { trials: events } : null;
  }
  const perTrial = v.perTrial[metric];
  if (perTrial) return perTrial.length ? { trials: perTrial } : null;
  const whole = METRICS[metric].fromSummary(v);
  return whole === null || !Number.isFinite(whole) ? null : { whole };
}

/** The columns this run can fill: a declared column per experiment id of its experiment that has the metric. */
function columnsOf(summary: RunSummary, columns: readonly ScorecardColumn[]): ColumnInstance[] {
  const out: ColumnInstance[] = [];
  for (const column of columns) {
    const ids = [
      ...new Set(
        summary.variants.filter((v) => v.experiment === column.experiment).map((v) => v.experimentId),
      ),
    ];
    for (const id of ids) {
      const rows = summary.variants.filter((v) => v.experimentId === id);
      if (!rows.some((v) => valuesOf(v, column.metric) !== null)) continue;
      const unit = column.unit ? ` (${column.unit})` : '';
      const caseId = ids.length > 1 ? ` [${id.slice(column.experiment.length + 1) || id}]` : '';
      out.push({ column, experimentId: id, heading: `${column.title}${caseId}${unit}:` });
    }
  }
  return out;
}

/** The legacy-vs-rc comparison of this metric: the one summary.json holds, else the same test run here. */
function comparisonFor(
  summary: RunSummary,
  experimentId: string,
  metric: MetricName,
  variant: VariantSummary,
  rc: VariantSummary,
): Comparison | null {
  const held = summary.comparisons.find(
    (c) => c.experimentId === experimentId && c.metric === metric && c.baseline === variant.variant,
  );
  if (held) return held;
  const a = variant.perTrial[metric] ?? [];
  const b = rc.perTrial[metric] ?? [];
  if (!a.length || !b.length) return null;
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  return {
    experimentId,
    metric,
    unit: METRICS[metric].unit,
    baseline: variant.variant,
    candidate: 'rc',
    baselineMean: mean(a),
    candidateMean: mean(b),
    interval: bootstrapDiff(a, b),
    betterWhen: METRICS[metric].betterWhen,
  };
}

function scoreCell(summary: RunSummary, col: ColumnInstance, variant: string): Cell {
  const { column, experimentId } = col;
  const v = summary.variants.find((x) => x.experimentId === experimentId && x.variant === variant);
  if (!v) return cell('n/a: not run');
  // an hpa whose premise failed (it scaled at base load) has no time to scale: say why, not "never scaled"
  if (column.experiment === 'hpa' && v.scaling?.premise?.failed)
    return cell(`n/a: premise failed (${v.scaling.premise.failed})`);
  const values = valuesOf(v, column.metric);
  if (!values) return cell(`n/a: ${column.absent ?? 'not measured'}`);
  if ('whole' in values)
    return { ...cell([column.format(values.whole), secondary('(no interval)')], values.whole) };
  const est = meanInterval(values.trials);
  const clamp = (x: number) => (NON_NEGATIVE.has(METRICS[column.metric].unit) ? Math.max(0, x) : x);
  const interval =
    est.low === null || est.high === null ? null : { low: clamp(est.low), high: clamp(est.high) };
  const text: RichText = [column.format(est.mean)];
  text.push(
    secondary(interval ? `[${column.format(interval.low)}, ${column.format(interval.high)}]` : '(1 trial)'),
  );
  let mark: Cell['mark'] = null;
  const rc = summary.variants.find((x) => x.experimentId === experimentId && x.variant === 'rc');
  if (column.vsRc === 'difference' && variant !== 'rc' && rc) {
    const c = comparisonFor(summary, experimentId, column.metric, v, rc);
    const m = c ? comparisonMark(c) : null;
    if (m === 'rc-better') mark = 'worse';
    if (m === 'legacy-better') mark = 'better';
  }
  if (mark) text.push(' ', strong(mark));
  return { text, value: est.mean, interval, mark };
}

/**
 * The scorecard section's blocks: the legend, then the table (rows = variants in run order, rc the
 * reference), or a note when the run has none of the headline figures.
 */
export function scorecardBlocks(
  summary: RunSummary,
  columns: readonly ScorecardColumn[] = SCORECARD_COLUMNS,
): Block[] {
  const cols = columnsOf(summary, columns);
  const blocks: Block[] = [];
  if (!summary.complete)
    blocks.push({
      kind: 'note',
      text: [
        strong(`This run did not complete (status: ${summary.status}); figures cover what was written.`),
      ],
    });
  if (!cols.length) {
    blocks.push({ kind: 'note', text: ['No headline figure of the scorecard was measured in this run.'] });
    return blocks;
  }
  const variants = [...new Set(summary.variants.map((v) => v.variant))];
  blocks.push({
    kind: 'note',
    text: [
      'Each cell: the mean per trial and its 95% interval [low, high]; ',
      strong('worse'),
      ' / ',
      strong('better'),
      ': differs from rc (the reference row) beyond noise, by the 95% bootstrap interval of the difference the experiment’s section uses; unmarked: not distinguishable, or one trial.',
    ],
  });
  blocks.push({
    kind: 'table',
    table: table(
      ['variant', ...cols.map((c) => c.heading)],
      variants.map((variant) => [
        cell(variant === 'rc' ? [strong('rc'), ' (reference)'] : variant),
        ...cols.map((c) => scoreCell(summary, c, variant)),
      ]),
    ),
  });
  return blocks;
}
