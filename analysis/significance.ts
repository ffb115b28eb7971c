import jStat from 'jstat';
import { mean, sampleVariance } from 'simple-statistics';

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
