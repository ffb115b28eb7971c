import { describe, expect, it } from 'vitest';
import { eventTest } from './significance.js';

/** The per-event count test (analysis/significance.ts eventTest) on hand-computed cases. */
describe('eventTest: per-event counts', () => {
  it('legacy 8, 10, 9 failures per rollout vs rc 0, 0, 0: pooled t interval over events, no ratio', () => {
    // diff 9; pooled variance (2·1 + 2·0) / 4 = 0.5; se = sqrt(0.5 · (1/3 + 1/3)) = 0.57735; t(0.975, 4) = 2.77645
    const t = eventTest([[8, 10, 9]], [[0, 0, 0]]);
    expect(t.diff).toBe(9);
    expect(t.low).toBeCloseTo(9 - 2.77645 * 0.57735, 3);
    expect(t.high).toBeCloseTo(9 + 2.77645 * 0.57735, 3);
    // t = 9 / 0.57735 = 15.59 on 4 df: far beyond any threshold
    expect(t.pGreater).toBeLessThan(0.001);
    expect(t.events).toEqual({ a: 3, b: 3 });
    // rc lost nothing: a ratio would divide by zero, so there is none (the difference says it all)
    expect(t.ratio).toBeNull();
  });

  it('one bad rollout of three is not distinguishable from none (0, 5, 0 vs 0, 0, 0)', () => {
    // diff 5/3; pooled variance (8.333·2 + 0) / 4 = 4.1667, se = sqrt(4.1667 · 2/3) = 1.6667
    const t = eventTest([[0, 5, 0]], [[0, 0, 0]]);
    expect(t.diff).toBeCloseTo(5 / 3, 6);
    expect(t.low).toBeCloseTo(5 / 3 - 2.77645 * 1.66667, 3);
    expect(t.low as number).toBeLessThan(0);
    expect(t.high as number).toBeGreaterThan(0);
  });

  it('zero on both sides is exact and identical; one event per side is not tested', () => {
    const zero = eventTest([[0, 0], [0]], [[0, 0, 0]]);
    expect(zero).toMatchObject({ diff: 0, low: 0, high: 0, identical: true, ratio: null });
    const one = eventTest([[27]], [[3]]);
    expect(one.low).toBeNull();
    expect(one.pGreater).toBeNull();
    // the ratio is defined (rc > 0) but has no interval from one event
    expect(one.ratio).toEqual({ value: 9, low: null, high: null });
  });

  it('rate ratio with a bootstrap interval stratified by trial, unbounded when rc can resample to zero', () => {
    // legacy 6 and 4 per event in each of two trials, rc 2 and 2: ratio 10/4... means 5 vs 2 = 2.5
    const t = eventTest(
      [
        [6, 4],
        [6, 4],
      ],
      [
        [2, 2],
        [2, 2],
      ],
    );
    expect(t.ratio?.value).toBeCloseTo(2.5, 6);
    // every resample of legacy lies in [4, 6] per event and rc is always 2: the interval lies in [2, 3]
    expect(t.ratio?.low as number).toBeGreaterThanOrEqual(2);
    expect(t.ratio?.high as number).toBeLessThanOrEqual(3);
    expect(t.ratio?.low as number).toBeLessThan(2.5);
    // rc 0 and 2: a resample of two zeros has mean 0, so the upper bound is unbounded
    const open = eventTest([[6, 4, 5]], [[0, 2, 0]]);
    expect(open.ratio?.value).toBeCloseTo(5 / (2 / 3), 6);
    expect(open.ratio?.high).toBeNull();
  });
});
