import { describe, expect, it } from 'vitest';
import type { HpaSpec } from '../provider.js';
import { decide, newHpaState, rawRecommendation } from './hpa.js';

const spec = (over: Partial<HpaSpec> = {}): HpaSpec => ({
  minReplicas: 1,
  maxReplicas: 10,
  targetCpuUtilization: 50,
  cpuRequestMillicores: 200,
  syncPeriodSeconds: 15,
  tolerance: 0.1,
  scaleUp: { stabilizationWindowSeconds: 0, policies: [], selectPolicy: 'Max' },
  scaleDown: { stabilizationWindowSeconds: 300, policies: [], selectPolicy: 'Max' },
  ...over,
});

describe('HPA algorithm (autoscaling/v2, as documented)', () => {
  it('desired = ceil(current × current / target): the worked example 200m of 100m target doubles', () => {
    // Docs: currentMetricValue 200m, desired 100m → ratio 2.0 → double the replicas.
    expect(rawRecommendation(spec({ targetCpuUtilization: 50 }), 2, [200, 200])?.replicas).toBe(4);
    // 50m against 100m halves them.
    expect(rawRecommendation(spec({ targetCpuUtilization: 50 }), 4, [50, 50, 50, 50])?.replicas).toBe(2);
  });

  it('does nothing within the 10% tolerance', () => {
    expect(rawRecommendation(spec(), 3, [105, 105, 105])?.replicas).toBe(3);
  });

  it('scales down only to the highest recommendation of the stabilisation window', () => {
    const s = spec({ scaleDown: { stabilizationWindowSeconds: 60, policies: [], selectPolicy: 'Max' } });
    const state = newHpaState();
    expect(decide(s, state, 4, [100, 100, 100, 100], 0).desired).toBe(4);
    const d = decide(s, state, 4, [10, 10, 10, 10], 30_000);
    expect(d.desired).toBe(4);
    expect(d.reason).toMatch(/stabilisation/);
    expect(decide(s, state, 4, [10, 10, 10, 10], 61_000).desired).toBe(1);
  });

  it('limits scale-up by its policies (Pods 4 per 60 s vs Percent 100% per 60 s, selectPolicy Max)', () => {
    const s = spec({
      maxReplicas: 50,
      scaleUp: {
        stabilizationWindowSeconds: 0,
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 60 },
          { type: 'Percent', value: 100, periodSeconds: 60 },
        ],
        selectPolicy: 'Max',
      },
    });
    const state = newHpaState();
    // Wants 20 from 2: Pods allows 6, Percent allows 4 → Max picks 6.
    expect(decide(s, state, 2, [1000, 1000], 0).desired).toBe(6);
    // Within the same period the budget is spent relative to the period's start (2): still 6.
    expect(decide(s, state, 6, Array(6).fill(1000), 10_000).desired).toBe(6);
    // After the period: from 6, Percent allows 12, Pods 10 → 12.
    expect(decide(s, state, 6, Array(6).fill(1000), 70_000).desired).toBe(12);
  });

  it('stays within min and max replicas and holds without metrics', () => {
    const state = newHpaState();
    expect(decide(spec({ maxReplicas: 3 }), state, 2, [1000, 1000], 0).desired).toBe(3);
    expect(decide(spec(), newHpaState(), 2, [], 0)).toMatchObject({ desired: 2, utilisation: null });
  });
});
