import jStat from 'jstat';
import { mean, quantileSorted } from 'simple-statistics';
import { createRng } from '../util/prng.ts';

// One home for the exact merge (the run directory's format): analysis reads it from here as before.
export { mergeHistograms } from '../rundir/histograms.js';

export interface Interval {
  /** point estimate: mean(a) − mean(b) */
  diff: number;
  low: number | null;
  high: number | null;
  /** true when the interval covers 0: not distinguishable from noise */
  includesZero: boolean | null;
  note?: string;
}

/**
 * 95% percentile-bootstrap interval of mean(a) − mean(b), resampling trials within each group
 * (seeded, so a re-render gives the same interval). Needs two trials per side.
 */
export function bootstrapDiff(a: number[], b: number[], seed = 1, iterations = 4_000): Interval {
  const diff = mean(a) - mean(b);
  if (a.length < 2 || b.length < 2) {
    return {
      diff,
      low: null,
      high: null,
      includesZero: null,
      note: 'one trial per variant: no interval (run --trials 3 or more)',
    };
  }
  const rng = createRng(seed);
  const draws: number[] = [];
  const resampleMean = (xs: number[]) => {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[Math.floor(rng() * xs.length)] as number;
    return s / xs.length;
  };
  for (let i = 0; i < iterations; i++) draws.push(resampleMean(a) - resampleMean(b));
  draws.sort((x, y) => x - y);
  const low = quantileSorted(draws, 0.025);
  const high = quantileSorted(draws, 0.975);
  return { diff, low, high, includesZero: low <= 0 && high >= 0 };
}

export function spread(values: number[]): { mean: number; min: number; max: number } | null {
  if (values.length === 0) return null;
  return { mean: mean(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Mean per event (a rollout, a kill, a load step) with a 95% t interval over every event of every
 * trial. Every per-event figure is a count, a time or a CV, so the interval is cut at 0.
 */
export function meanPerEvent(xs: number[]): {
  mean: number;
  low: number | null;
  high: number | null;
  events: number;
} {
  const n = xs.length;
  const m = xs.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { mean: m, low: null, high: null, events: n };
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1));
  const h = jStat.studentt.inv(0.975, n - 1) * (sd / Math.sqrt(n));
  return { mean: m, low: Math.max(0, m - h), high: m + h, events: n };
}
