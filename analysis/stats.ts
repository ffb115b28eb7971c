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
