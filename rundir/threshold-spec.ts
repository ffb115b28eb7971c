import type { Histogram } from 'hdr-histogram-js';
/**
 * The thresholds of a run config, as written in run.json: their syntax, parsed once for the run's
 * preflight and again by analysis when it re-checks an old run (evaluating them: analysis/thresholds.ts).
 *
 * Pass/fail criteria in k6's style, checked against a run's raw results after it finishes:
 *
 *   thresholds:
 *     latency: ['p(95)<200', 'avg<50']            # request latency in ms, every experiment × variant
 *     errors: ['rate<0.1%']                        # share of failed requests
 *     'turn{experiment:ttl-cache,variant:rc}': ['p(50)<30']
 *
 * A metric name may carry a `{tag:value,...}` filter (experiment, variant, method); every matching
 * experiment × variant is checked on its own, with percentiles from the merged HDR histograms of
 * all its trials. k6's own names (http_req_duration, http_req_failed, http_reqs) are accepted.
 */

export const THRESHOLD_METRICS = {
  latency: { aggregations: ['p', 'avg', 'med', 'min', 'max'], unit: 'ms' },
  turn: { aggregations: ['p', 'avg', 'med', 'min', 'max'], unit: 'ms' },
  errors: { aggregations: ['rate', 'count'], unit: '' },
  throughput: { aggregations: ['rate'], unit: '/s' },
  sessions_lost: { aggregations: ['count'], unit: '' },
  tasks_lost: { aggregations: ['count'], unit: '' },
  round_trips: { aggregations: ['avg'], unit: '/turn' },
} as const;
type ThresholdMetric = keyof typeof THRESHOLD_METRICS;

const K6_ALIASES: Record<string, ThresholdMetric> = {
  http_req_duration: 'latency',
  http_req_failed: 'errors',
  http_reqs: 'throughput',
};
const TAGS = ['experiment', 'variant', 'method'] as const;

export interface ThresholdSpec {
  /** as written, e.g. "latency{variant:rc}" */
  source: string;
  metric: ThresholdMetric;
  tags: Partial<Record<(typeof TAGS)[number], string>>;
  expression: string;
  aggregation: 'p' | 'avg' | 'med' | 'min' | 'max' | 'rate' | 'count';
  percentile?: number;
  op: '<' | '<=' | '>' | '>=' | '==' | '!=';
  value: number;
}

class ThresholdSyntaxError extends Error {}

const EXPRESSION =
  /^\s*(p\(\s*(\d+(?:\.\d+)?)\s*\)|avg|med|min|max|rate|count)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*$/;
const NAME = /^([a-z_]+)(?:\{([^}]*)\})?$/;

/** Parses one `metric{tags}: [expr, ...]` entry; errors say what is wrong with which part. */
export function parseThreshold(name: string, expression: string): ThresholdSpec {
  const m = NAME.exec(name.trim());
  if (!m)
    throw new ThresholdSyntaxError(`"${name}" is not a metric name (e.g. latency or latency{variant:rc})`);
  const metric = (K6_ALIASES[m[1] as string] ?? m[1]) as ThresholdMetric;
  if (!(metric in THRESHOLD_METRICS))
    throw new ThresholdSyntaxError(
      `unknown metric "${m[1]}" (choose from ${[...Object.keys(THRESHOLD_METRICS), ...Object.keys(K6_ALIASES)].join(', ')})`,
    );
  const tags: ThresholdSpec['tags'] = {};
  for (const part of (m[2] ?? '').split(',').filter((s) => s.trim())) {
    const [k, v] = part.split(':').map((s) => s.trim());
    if (!k || !v || !(TAGS as readonly string[]).includes(k))
      throw new ThresholdSyntaxError(
        `"${part}" in ${name}: tags are ${TAGS.join(', ')} written as tag:value`,
      );
    tags[k as (typeof TAGS)[number]] = v;
  }
  if (tags.method && metric !== 'latency')
    throw new ThresholdSyntaxError(`${name}: only latency can be filtered by method`);
  const e = EXPRESSION.exec(expression);
  if (!e)
    throw new ThresholdSyntaxError(
      `"${expression}" is not a threshold (e.g. p(95)<200, avg<50, rate<0.1%, count==0)`,
    );
  const aggregation = (e[1]?.startsWith('p(') ? 'p' : e[1]) as ThresholdSpec['aggregation'];
  const allowed = THRESHOLD_METRICS[metric].aggregations as readonly string[];
  if (!allowed.includes(aggregation))
    throw new ThresholdSyntaxError(
      `"${expression}": ${metric} takes ${allowed.map((a) => (a === 'p' ? 'p(N)' : a)).join(', ')}`,
    );
  const percentile = aggregation === 'p' ? Number(e[2]) : undefined;
  if (percentile !== undefined && (percentile <= 0 || percentile > 100))
    throw new ThresholdSyntaxError(`"${expression}": a percentile is between 0 and 100`);
  let value = Number(e[4]);
  if (e[5] === '%') {
    if (aggregation !== 'rate' || metric !== 'errors')
      throw new ThresholdSyntaxError(`"${expression}": % only applies to errors rate`);
    value /= 100;
  }
  return {
    source: name,
    metric,
    tags,
    expression: expression.trim(),
    aggregation,
    ...(percentile !== undefined ? { percentile } : {}),
    op: e[3] as ThresholdSpec['op'],
    value,
  };
}

/** Parses the `thresholds` mapping of a run config; each error names the key (thresholds.latency[1]). */
export function parseThresholds(raw: unknown): ThresholdSpec[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ThresholdSyntaxError('thresholds: expected a mapping of metric → list of expressions');
  const out: ThresholdSpec[] = [];
  for (const [name, list] of Object.entries(raw as Record<string, unknown>)) {
    const items = typeof list === 'string' ? [list] : list;
    if (!Array.isArray(items))
      throw new ThresholdSyntaxError(`thresholds.${name}: expected a list of expressions like "p(95)<200"`);
    for (const [i, expr] of items.entries()) {
      if (typeof expr !== 'string')
        throw new ThresholdSyntaxError(`thresholds.${name}[${i}]: expected a string like "p(95)<200"`);
      try {
        out.push(parseThreshold(name, expr));
      } catch (err) {
        throw new ThresholdSyntaxError(`thresholds.${name}[${i}]: ${(err as Error).message}`);
      }
    }
  }
  return out;
}

/**
 * Whether a threshold's {experiment, variant} tags select this experiment × variant (an experiment
 * tag names the experiment or one of its cases, `ttl-cache~rtt-0`). The run's preflight asks this of
 * the planned experiments, so a selector that selects nothing is refused before the run, not after.
 */
export function plannedMatch(
  spec: ThresholdSpec,
  group: { experiment: string; experimentId: string; variant: string },
): boolean {
  const { experiment, variant } = spec.tags;
  if (experiment && experiment !== group.experiment && experiment !== group.experimentId) return false;
  return !variant || variant === group.variant;
}

/** Whether an observed figure keeps the threshold (`observed op value`). */
export function thresholdHolds(spec: ThresholdSpec, observed: number): boolean {
  switch (spec.op) {
    case '<':
      return observed < spec.value;
    case '<=':
      return observed <= spec.value;
    case '>':
      return observed > spec.value;
    case '>=':
      return observed >= spec.value;
    case '==':
      return observed === spec.value;
    case '!=':
      return observed !== spec.value;
  }
}

/** A latency threshold's aggregation of a histogram of µs values, in ms; null when it holds nothing. */
export function latencyAggregateMs(spec: ThresholdSpec, h: Histogram): number | null {
  if (h.totalCount === 0) return null;
  const us =
    spec.aggregation === 'p'
      ? h.getValueAtPercentile(spec.percentile as number)
      : spec.aggregation === 'med'
        ? h.getValueAtPercentile(50)
        : spec.aggregation === 'min'
          ? h.minNonZeroValue
          : spec.aggregation === 'max'
            ? h.maxValue
            : h.mean;
  return us / 1000;
}
