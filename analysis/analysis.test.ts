import { readFile } from 'node:fs/promises';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { createRng } from '../util/prng.ts';
import { compareSummaries } from './compare.js';
import { writeRun } from './fixtures.js';
import { analyseRun } from './index.js';
import { METRICS, type MetricName } from './metrics.js';
import { bootstrapDiff, mergeHistograms } from './stats.js';

const normal = (rng: () => number, mean: number, sd: number) => {
  const u = Math.max(1e-9, rng());
  const v = rng();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};

describe('analysis', () => {
  it('merges histograms exactly: percentiles of the merge equal percentiles of all samples', () => {
    const rng = createRng(7);
    const parts = [0, 1, 2].map(() => Array.from({ length: 5_000 }, () => Math.round(100 + rng() * 100_000)));
    const encode = (xs: number[]) => {
      const h = hdr.build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: 3_600_000_000,
        numberOfSignificantValueDigits: 3,
      });
      for (const x of xs) h.recordValue(x);
      return hdr.encodeIntoCompressedBase64(h);
    };
    const merged = mergeHistograms(parts.map(encode));
    const all = hdr.decodeFromCompressedBase64(encode(parts.flat()));
    for (const p of [50, 90, 99, 99.9])
      expect(merged.getValueAtPercentile(p)).toBe(all.getValueAtPercentile(p));
    expect(merged.totalCount).toBe(15_000);
  });

  it('bootstrap intervals cover a known difference and flag a null one as noise', () => {
    const rng = createRng(3);
    const a = Array.from({ length: 8 }, () => normal(rng, 110, 5));
    const b = Array.from({ length: 8 }, () => normal(rng, 100, 5));
    const shifted = bootstrapDiff(a, b);
    expect(shifted.low).not.toBeNull();
    expect(shifted.low! < 10 && shifted.high! > 10).toBe(true);
    expect(shifted.includesZero).toBe(false);
    const c = Array.from({ length: 8 }, () => normal(rng, 100, 5));
    expect(bootstrapDiff(c, b).includesZero).toBe(true);
    expect(bootstrapDiff([1], [2]).low).toBeNull();
  });

  it('summarises a run: merged percentiles per variant, round trips per turn, and the verdict', async () => {
    const rng = createRng(11);
    const trials = [];
    for (let trial = 1; trial <= 3; trial++) {
      for (const [variant, turnMean, roundTrips] of [
        ['legacy-sticky', 30_000, 36],
        ['rc', 20_000, 20],
      ] as const) {
        trials.push({
          experimentId: 'ttl-cache',
          variant,
          trial,
          samples: Array.from({ length: 1_000 }, () => Math.round(normal(rng, 8_000, 500))),
          turnSamples: Array.from({ length: 10 }, () => Math.round(normal(rng, turnMean, 500))),
          roundTrips,
        });
      }
    }
    const dir = await writeRun(trials);
    const result = await analyseRun(dir);
    const rc = result.summary.variants.find((v) => v.variant === 'rc')!;
    expect(rc.trials).toBe(3);
    expect(rc.requests).toBe(3_000);
    expect(rc.roundTripsPerTurn).toBeCloseTo(2, 5);
    const saved = result.summary.comparisons.find((c) => c.metric === 'turnMeanUs')!;
    expect(saved.interval.includesZero).toBe(false);
    expect(saved.interval.low! > 5_000 && saved.interval.high! < 15_000).toBe(true);
    const md = await readFile(result.reportMdPath, 'utf8');
    expect(md).toContain('## Verdict');
    expect(md).toMatch(/an rc turn takes 2\.00 round trips vs 3\.60 on legacy-sticky/);
    expect(md).toContain('rc better');

    // report.html renders the same model: the same tables, cells with their values and marks
    const html = await readFile(result.reportHtmlPath, 'utf8');
    expect(html).not.toContain('|---');
    expect(html.match(/<table>/g)?.length).toBe(md.match(/^\|---/gm)?.length);
    expect(html).toContain(
      '<strong>ttl-cache</strong>: an rc turn takes 2.00 round trips vs 3.60 on legacy-sticky',
    );
    expect(html).toMatch(
      /<td class="left mark-rc-better" data-value="[\d.e+-]+" data-low="[\d.e+-]+" data-high="[\d.e+-]+">legacy-sticky [\d.]+ ms vs rc/,
    );

    // one unit per metric, whoever states it: summary.json, compare and the registry
    const compared = compareSummaries(
      { dir, summary: result.summary },
      { dir, summary: result.summary },
      { threshold: 0.05 },
    );
    for (const c of result.summary.comparisons) {
      expect(c.unit).toBe(METRICS[c.metric as MetricName].unit);
      for (const change of compared.changes.filter((x) => x.metric === c.metric))
        expect(change.unit).toBe(c.unit);
    }
    expect(result.summary.comparisons.find((c) => c.metric === 'bytesPerTurn')?.unit).toBe('bytes');
  });
});
