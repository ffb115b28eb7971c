import jStat from 'jstat';
import { mean, quantileSorted, sampleVariance } from 'simple-statistics';
import { createRng } from '../util/prng.ts';

/**
 * Trial-level significance for `mcpbench compare`. The trial is the unit, never the request:
 * requests within a trial share the machine's mood, so only trial-to-trial spread says what noise
 * is. With equal trial counts (the usual case) the pooled-variance t-test (df = n1 + n2 − 2), which
 * equal sizes make robust to unequal variances; otherwise Welch's. One-sided p-values, because
 * "worse" and "better" are separate questions, each Holm-adjusted over every metric compared.
 */

export interface TrialTest {
  /** mean(candidate) − mean(baseline) */
  diff: number;
  /** two-sided 95% interval of diff (null: fewer than two trials on a side) */
  low: number | null;
  high: number | null;
  /** one-sided p-values for "candidate greater" and "candidate less"; null when untestable */
  pGreater: number | null;
  pLess: number | null;
  /** both sides identical constants: no test can reject, so it is left out of the Holm family */
  identical: boolean;
}

export function trialTest(baseline: number[], candidate: number[], confidence = 0.95): TrialTest {
  const diff = mean(candidate) - mean(baseline);
  const n1 = baseline.length;
  const n2 = candidate.length;
  if (n1 < 2 || n2 < 2) return { diff, low: null, high: null, pGreater: null, pLess: null, identical: false };
  const v1 = sampleVariance(baseline);
  const v2 = sampleVariance(candidate);
  let se: number;
  let df: number;
  if (n1 === n2) {
    const pooled = ((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2);
    se = Math.sqrt(pooled * (1 / n1 + 1 / n2));
    df = n1 + n2 - 2;
  } else {
    const s1 = v1 / n1;
    const s2 = v2 / n2;
    se = Math.sqrt(s1 + s2);
    df = (s1 + s2) ** 2 / (s1 ** 2 / (n1 - 1) + s2 ** 2 / (n2 - 1));
  }
  if (se === 0) {
    // Constant on every trial of both runs (e.g. zero errors): the difference is exact.
    return {
      diff,
      low: diff,
      high: diff,
      pGreater: diff > 0 ? 0 : 1,
      pLess: diff < 0 ? 0 : 1,
      identical: diff === 0,
    };
  }
  const t = diff / se;
  const q = jStat.studentt.inv(1 - (1 - confidence) / 2, df);
  return {
    diff,
    low: diff - q * se,
    high: diff + q * se,
    pGreater: 1 - jStat.studentt.cdf(t, df),
    pLess: jStat.studentt.cdf(t, df),
    identical: false,
  };
}

/** Holm–Bonferroni adjusted p-values (same order as given; nulls stay null and are not counted). */
export function holm(pValues: Array<number | null>): Array<number | null> {
  const tested = pValues
    .map((p, i) => ({ p, i }))
    .filter((x): x is { p: number; i: number } => x.p !== null)
    .sort((a, b) => a.p - b.p);
  const adjusted: Array<number | null> = pValues.map(() => null);
  let running = 0;
  for (const [rank, { p, i }] of tested.entries()) {
    running = Math.max(running, Math.min(1, (tested.length - rank) * p));
    adjusted[i] = running;
  }
  return adjusted;
}

/**
 * Per-event counts (failed requests, sessions or tasks lost in one rollout or kill), grouped by
 * trial, compared between two sides. Failures cluster within an event (one rollout drops many
 * requests at once), so the request is not an independent unit and a Poisson test over requests
 * would be anti-conservative; the event is the unit. The difference in mean count per event gets
 * the t interval and one-sided p-values of `trialTest` over the events (pooled with equal event
 * counts, else Welch); zero on one side is a difference like any other, and zero on both is exact
 * and identical. The rate ratio (mean a / mean b per event) is given only when b's mean is above
 * zero, with a 95% percentile-bootstrap interval that resamples events within each trial (so each
 * trial keeps its share); an upper bound is null when a resample's b mean is zero (unbounded).
 */
export interface EventTest {
  /** mean per event of a − mean per event of b */
  diff: number;
  low: number | null;
  high: number | null;
  /** one-sided p-values for "a greater" and "a less"; null with fewer than two events on a side */
  pGreater: number | null;
  pLess: number | null;
  identical: boolean;
  events: { a: number; b: number };
  ratio: { value: number; low: number | null; high: number | null } | null;
}

export function eventTest(a: number[][], b: number[][], seed = 1, iterations = 4_000): EventTest {
  const fa = a.flat();
  const fb = b.flat();
  const t = trialTest(fb, fa);
  const events = { a: fa.length, b: fb.length };
  const meanB = fb.length ? mean(fb) : 0;
  let ratio: EventTest['ratio'] = null;
  if (fa.length && meanB > 0) {
    const value = mean(fa) / meanB;
    let low: number | null = null;
    let high: number | null = null;
    if (fa.length >= 2 && fb.length >= 2) {
      const rng = createRng(seed);
      const resampledMean = (groups: number[][]) => {
        let s = 0;
        let n = 0;
        for (const g of groups) {
          for (let i = 0; i < g.length; i++) s += g[Math.floor(rng() * g.length)] as number;
          n += g.length;
        }
        return s / n;
      };
      const draws: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const ma = resampledMean(a.filter((g) => g.length));
        const mb = resampledMean(b.filter((g) => g.length));
        draws.push(mb > 0 ? ma / mb : Number.POSITIVE_INFINITY);
      }
      draws.sort((x, y) => x - y);
      low = quantileSorted(draws, 0.025);
      const h = quantileSorted(draws, 0.975);
      high = Number.isFinite(h) ? h : null;
      if (!Number.isFinite(low)) low = null;
    }
    ratio = { value, low, high };
  }
  return {
    diff: t.diff,
    low: t.low,
    high: t.high,
    pGreater: t.pGreater,
    pLess: t.pLess,
    identical: t.identical,
    events,
    ratio,
  };
}
