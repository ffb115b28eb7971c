import { describe, expect, it } from 'vitest';
import type { HpaSpec } from '../provider.js';
import {
  decide,
  type HpaPod,
  newHpaState,
  rawRecommendation,
  readyPods,
  replicaRecommendation,
} from './hpa.js';

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

  it('scale-down policies: Pods 4 vs Percent 10 per 60 s, selectPolicy Max takes the bigger change (docs example)', () => {
    const s = spec({
      maxReplicas: 100,
      scaleDown: {
        stabilizationWindowSeconds: 0,
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 60 },
          { type: 'Percent', value: 10, periodSeconds: 60 },
        ],
        selectPolicy: 'Max',
      },
    });
    const state = newHpaState();
    // 80 replicas at 5% want 8: Percent removes 8 (→72), Pods only 4 (→76): the larger change wins.
    expect(decide(s, state, 80, Array(80).fill(10), 0).desired).toBe(72);
    // Same period: nothing more may go.
    expect(decide(s, state, 72, Array(72).fill(10), 30_000).desired).toBe(72);
    // Next period: 10% of 72 is 7.2, so 8 go (the remaining count is rounded down).
    expect(decide(s, state, 72, Array(72).fill(10), 61_000).desired).toBe(64);
    // Below 40 replicas the Pods policy allows more: from 30, Pods → 26, Percent → 27.
    expect(decide(s, newHpaState(), 30, Array(30).fill(10), 0).desired).toBe(26);
    // selectPolicy Min takes the smaller change.
    expect(
      decide(
        { ...s, scaleDown: { ...s.scaleDown, selectPolicy: 'Min' } },
        newHpaState(),
        80,
        Array(80).fill(10),
        0,
      ).desired,
    ).toBe(76);
    // Disabled: no scale-down at all.
    expect(
      decide(
        { ...s, scaleDown: { ...s.scaleDown, selectPolicy: 'Disabled' } },
        newHpaState(),
        80,
        Array(80).fill(10),
        0,
      ).desired,
    ).toBe(80);
  });

  it('a scale-down within a policy period gives its pods back to the scale-up budget', () => {
    const s = spec({
      scaleUp: {
        stabilizationWindowSeconds: 0,
        policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }],
        selectPolicy: 'Max',
      },
      scaleDown: {
        stabilizationWindowSeconds: 0,
        policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }],
        selectPolicy: 'Max',
      },
    });
    const state = newHpaState();
    expect(decide(s, state, 6, Array(6).fill(10), 0).desired).toBe(4);
    // The period started at 6 replicas: from 4 the scale-up may reach 6 + 2 = 8.
    expect(decide(s, state, 4, Array(4).fill(1000), 10_000).desired).toBe(8);
  });

  it('scale-up stabilisation takes the lowest recommendation of its window', () => {
    const s = spec({ scaleUp: { stabilizationWindowSeconds: 30, policies: [], selectPolicy: 'Max' } });
    const state = newHpaState();
    expect(decide(s, state, 2, [100, 100], 0).desired).toBe(2); // on target
    const d = decide(s, state, 2, [200, 200], 10_000); // wants 4, but 2 was recommended 10 s ago
    expect(d).toMatchObject({ desired: 2, recommendation: 4 });
    expect(d.reason).toMatch(/stabilisation/);
    expect(decide(s, state, 2, [200, 200], 31_000).desired).toBe(4);
  });

  it('dampens a scale-up with unready pods: they count as 0% (uneven case: 1 ready at 260%, 1 unready)', () => {
    const s = spec({ targetCpuUtilization: 50, cpuRequestMillicores: 100, maxReplicas: 20 });
    const pods: HpaPod[] = [
      { name: 'a', ready: true, startedAtMs: -1e9, readyTransitionMs: -1e9, cpuMillicores: 260 },
      { name: 'b', ready: false, startedAtMs: -1e3, readyTransitionMs: -1e3, cpuMillicores: 5 },
    ];
    // Ready only: 260% / 50 = 5.2 → ceil(5.2 × 1) = 6; with b at 0%: 130% / 50 = 2.6 → ceil(2.6 × 2) = 6 as well
    // (equal requests make the two identical), so check the utilisation and the counts instead.
    const r = replicaRecommendation(s, 2, pods, 0);
    expect(r).toMatchObject({ replicas: 6, utilisation: 260, pods: { ready: 1, unready: 1, missing: 0 } });
  });

  it('missing metrics count as 100% on a scale-down, which may cancel it (4 pods, 3 at 40%, 1 missing)', () => {
    const s = spec({ targetCpuUtilization: 50, cpuRequestMillicores: 100 });
    const pods: HpaPod[] = [
      ...readyPods([40, 40, 40]),
      { name: 'new', ready: true, startedAtMs: -1e9, readyTransitionMs: -1e9, cpuMillicores: null },
    ];
    // 40/50 = 0.8 wants 3; with the missing pod at 100%: (120+100)/400 = 55% → 1.1, within tolerance → stay at 4.
    expect(replicaRecommendation(s, 4, pods, 0)?.replicas).toBe(4);
    expect(replicaRecommendation(s, 3, readyPods([40, 40, 40]), 0)?.replicas).toBe(3);
    // On a scale-up the missing pod counts as 0%: 3 at 100% → (300+0)/400 = 75% → 1.5 → ceil(6) = 6.
    expect(
      replicaRecommendation(s, 4, [...readyPods([100, 100, 100]), { ...pods[3]!, cpuMillicores: null }], 0)
        ?.replicas,
    ).toBe(6);
  });

  it('ignores a young pod until one metric window has passed since it became ready; terminating pods always', () => {
    const s = spec({ targetCpuUtilization: 50, cpuRequestMillicores: 100, cpuInitializationSeconds: 300 });
    const young: HpaPod = {
      name: 'young',
      ready: true,
      startedAtMs: 0,
      readyTransitionMs: 1_000,
      cpuMillicores: 900, // start-up burn
      sampledAtMs: 1_500,
      windowMs: 1_000,
    };
    const old = readyPods([50]);
    // The young pod's sample started before it was ready: unready; on target otherwise → stays.
    expect(replicaRecommendation(s, 2, [...old, young], 2_000)).toMatchObject({
      replicas: 2,
      pods: { ready: 1, unready: 1 },
    });
    // A later sample counts.
    expect(replicaRecommendation(s, 2, [...old, { ...young, sampledAtMs: 2_500 }], 3_000)?.pods?.ready).toBe(
      2,
    );
    expect(
      replicaRecommendation(s, 2, [...old, { ...young, terminating: true, sampledAtMs: 2_500 }], 3_000)?.pods,
    ).toMatchObject({ ready: 1, ignored: 1 });
  });

  it('utilisation is truncated to a whole percent before the ratio, as metricsclient does', () => {
    // 3 pods × 100m request, 100m used in total → 33% (not 33.3) → ratio 0.66 → ceil(1.98) = 2.
    const s = spec({ targetCpuUtilization: 50, cpuRequestMillicores: 100 });
    expect(replicaRecommendation(s, 3, readyPods([34, 33, 33]), 0)).toMatchObject({
      utilisation: 33,
      replicas: 2,
    });
  });

  it('corrects a replica count outside min/max without metrics', () => {
    expect(decide(spec({ minReplicas: 2 }), newHpaState(), 1, [], 0)).toMatchObject({ desired: 2 });
    expect(decide(spec({ maxReplicas: 3 }), newHpaState(), 5, [], 0)).toMatchObject({ desired: 3 });
  });
});
