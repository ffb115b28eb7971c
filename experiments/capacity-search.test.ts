import { describe, expect, it } from 'vitest';
import type { CapacityStep } from '../rundir/layout.js';
import { nextStep } from './capacity-search.js';

/** Drives the search against a server whose knee is `knee`: every rate at or below passes. */
function search(knee: number, spec: Parameters<typeof nextStep>[0], limitAt = Number.POSITIVE_INFINITY) {
  const steps: Array<Pick<CapacityStep, 'rate' | 'verdict'>> = [];
  for (;;) {
    const next = nextStep(spec, steps);
    if ('done' in next) return { steps, result: next.done };
    steps.push({
      rate: next.rate,
      verdict: next.rate >= limitAt ? 'generator-limited' : next.rate <= knee ? 'pass' : 'fail',
    });
  }
}

describe('capacity breakpoint search', () => {
  const spec = { startRate: 10, factor: 2, resolution: 0.05, maxSteps: 12 };

  it('converges within 10 steps at ±5% from a start 10× below the knee, bracketing the knee', () => {
    for (const knee of [100, 137, 180, 311]) {
      const { steps, result } = search(knee, { ...spec, startRate: knee / 10 });
      expect(result.status).toBe('converged');
      expect(steps.length).toBeLessThanOrEqual(10);
      const { sustainableRate: good, firstFailRate: bad } = result;
      expect(good).not.toBeNull();
      expect(good as number).toBeLessThanOrEqual(knee);
      expect(bad as number).toBeGreaterThan(knee);
      expect((bad as number) / (good as number)).toBeLessThanOrEqual(1.05 + 1e-9);
    }
  });

  it('steps down when the first rate already fails, and gives up after three factors', () => {
    const down = search(3, spec);
    expect(down.steps.slice(0, 3).map((s) => s.rate)).toEqual([10, 5, 2.5]);
    expect(down.result.status).toBe('converged');
    const none = search(0, spec);
    expect(none.result).toEqual({ sustainableRate: null, firstFailRate: 1.25, status: 'none-passed' });
  });

  it('stops at a generator-limited step and never counts it as server capacity', () => {
    const { steps, result } = search(1_000, spec, 70);
    expect(steps.at(-1)?.verdict).toBe('generator-limited');
    expect(result).toEqual({ sustainableRate: 40, firstFailRate: null, status: 'generator-limited' });
  });

  it('says when it ran out of steps before converging', () => {
    const { steps, result } = search(1e9, { ...spec, maxSteps: 4 });
    expect(steps).toHaveLength(4);
    expect(result.status).toBe('max-steps');
    expect(result.sustainableRate).toBe(80);
  });
});
