import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { ReplicaSample, TrialEvent } from '../../../rundir/layout.js';
import type { EngineResult } from '../../../rundir/raw-result.js';
import { compareSummaries } from '../../compare.js';
import { type TrialSpec, writeRun } from '../../fixtures.js';
import { analyseRun } from '../../index.js';

/**
 * The hpa experiment's repeated load steps, on synthetic trials in the exact format the runner
 * writes (load-stage, window, hpa-spec and replicas-changed events, once-a-second replica samples,
 * the engine's 1 s series): each step is judged on its own premise (back at minReplicas, base
 * below the target, no scale-up at base load), measured on its own, and the per-step figures are
 * tested legacy vs rc over steps in the summary, the report and compare.
 */

const STEPS = [2_000, 8_000, 14_000];
const DURATION = 20_000;
const HPA = { minReplicas: 1, maxReplicas: 4, targetCpuUtilization: 50, cpuRequestMillicores: 300 };

const ev = (
  tMs: number,
  source: 'cluster' | 'experiment',
  kind: string,
  detail: Record<string, unknown> = {},
  variant = 'v',
) => ({ tMs, atMs: 1_700_000_000_000 + tMs, source, kind, variant, detail }) as TrialEvent;

interface Shape {
  variant: string;
  trial?: number;
  /** first scale-up (1 → 4) after each step's start, ms */
  upAfterMs?: number[];
  /** back to 1 replica after each step's fall (its ramp down, 2.5 s after its start), ms */
  downAfterMs?: number[];
  /** extra scale-ups (1 → 2) at base load, at these times */
  baseScaleUps?: number[];
  /** all requests to the first replica (sticky sessions), else spread over the ready ones */
  sticky?: boolean;
}

function hpaTrial(shape: Shape): TrialSpec {
  const up = shape.upAfterMs ?? [1_000, 1_000, 1_000];
  const down = shape.downAfterMs ?? [2_500, 2_500, 2_500];
  const events: TrialEvent[] = [
    ev(0, 'experiment', 'load-stage', { index: 0, rate: 2 }),
    ev(0, 'experiment', 'load-stage', { index: 1, rate: 2, rampMs: 2_000 }),
    ev(0, 'experiment', 'window', { name: 'before', startMs: 1_000, endMs: 2_000 }),
    ev(0, 'experiment', 'hpa-spec', { ...HPA, syncPeriodSeconds: 1 }),
  ];
  const changes: Array<{ tMs: number; to: number }> = [];
  STEPS.forEach((start, i) => {
    events.push(
      ev(start, 'experiment', 'load-stage', { index: 2 + 4 * i, rate: 30, rampMs: 500 }),
      ev(start + 500, 'experiment', 'load-stage', { index: 3 + 4 * i, rate: 30, rampMs: 2_000 }),
      ev(start + 2_500, 'experiment', 'load-stage', { index: 4 + 4 * i, rate: 2, rampMs: 500 }),
      ev(start + 3_000, 'experiment', 'load-stage', { index: 5 + 4 * i, rate: 2, rampMs: 3_000 }),
    );
    changes.push(
      { tMs: start + (up[i] as number), to: 4 },
      { tMs: start + 2_500 + (down[i] as number), to: 1 },
    );
  });
  for (const t of shape.baseScaleUps ?? []) changes.push({ tMs: t, to: 2 });
  changes.sort((a, b) => a.tMs - b.tMs);
  let replicas = 1;
  for (const c of changes) {
    if (c.to !== replicas)
      events.push(ev(c.tMs, 'cluster', 'replicas-changed', { from: replicas, to: c.to, reason: 'hpa' }));
    replicas = c.to;
  }
  events.sort((a, b) => a.tMs - b.tMs);
  const desiredAt = (tMs: number) => {
    let d = 1;
    for (const c of changes) if (c.tMs <= tMs) d = c.to;
    return d;
  };
  const inStep = (tMs: number) => STEPS.some((s) => tMs >= s && tMs < s + 2_500);
  // a sample every second, just after it starts; new replicas ready one second after the scale-up
  const replicaSamples: ReplicaSample[] = Array.from({ length: DURATION / 1000 + 1 }, (_, s) => {
    const tMs = s * 1000 + 1;
    const desired = desiredAt(tMs);
    const ready = Math.max(1, desiredAt(tMs - 1_000) >= desired ? desired : 1);
    const cpu = inStep(tMs - 1) ? 200 : 30;
    return {
      tMs,
      desired,
      ready,
      replicas: Array.from({ length: desired }, (_, i) => ({
        name: `${shape.variant}-r${i}`,
        ready: i < ready,
        phase: 'running',
        cpuMillicores: i < ready ? cpu : null,
      })),
    };
  });
  const timeseries: EngineResult['timeseries'] = Array.from({ length: DURATION / 1000 }, (_, s) => {
    const requests = inStep(s * 1000) ? 300 : 20;
    const ready = (replicaSamples[s] as ReplicaSample).replicas.filter((r) => r.ready).map((r) => r.name);
    const perReplica: Record<string, number> = {};
    if (shape.sticky) perReplica[`${shape.variant}-r0`] = requests;
    else for (const r of ready) perReplica[r] = requests / ready.length;
    return {
      t: s,
      requests,
      errors: 0,
      p50Us: inStep(s * 1000) ? 4_000 + 500 * s : 2_000,
      p99Us: inStep(s * 1000) ? 20_000 + 1_000 * s : 5_000,
      perReplica,
    };
  });
  return {
    experimentId: 'hpa',
    variant: shape.variant,
    trial: shape.trial ?? 1,
    samples: [2_000, 3_000, 5_000, 9_000, 20_000],
    events: events.map((e) => ({ ...e, variant: shape.variant })),
    replicaSamples,
    engine: {
      durationMs: DURATION,
      timeseries,
      load: { model: 'open', rate: 2, unit: 'sessions', durationMs: DURATION },
    },
  };
}

async function summaryOf(trials: TrialSpec[]) {
  const dir = await writeRun(trials);
  const { summary } = await analyseRun(dir);
  return { dir, summary, of: (variant: string) => summary.variants.find((v) => v.variant === variant) };
}

describe('hpa steps', () => {
  it('three good steps: three times to scale, each step measured, and a tested comparison for every hpa metric', async () => {
    const { dir, summary, of } = await summaryOf([
      hpaTrial({ variant: 'legacy-sticky', sticky: true, upAfterMs: [1_400, 1_500, 1_600] }),
      hpaTrial({ variant: 'rc', upAfterMs: [900, 1_000, 1_100] }),
    ]);
    const sticky = of('legacy-sticky');
    const rc = of('rc');
    expect(sticky?.perEvent?.timeToFirstScaleUpMs).toEqual([[1_400, 1_500, 1_600]]);
    expect(rc?.perEvent?.timeToFirstScaleUpMs).toEqual([[900, 1_000, 1_100]]);
    expect(rc?.scaling?.steps?.map((s) => [s.step, s.premise?.failed ?? null, s.peakReplicas])).toEqual([
      [1, null, 4],
      [2, null, 4],
      [3, null, 4],
    ]);
    // back at min 2.5 s after each step's fall; the step's p99 against the base before it
    expect(rc?.perEvent?.scaleDownMs).toEqual([[2_500, 2_500, 2_500]]);
    expect(rc?.scaling?.steps?.[1]).toMatchObject({ baseP99Us: 5_000, stepP99Us: 30_000 });
    // sticky: the new replicas get nothing (CV √3 over four); round robin: even
    expect(sticky?.perEvent?.loadSpreadCv?.[0]?.map((x) => Number(x.toFixed(3)))).toEqual([
      1.732, 1.732, 1.732,
    ]);
    expect(rc?.perEvent?.loadSpreadCv).toEqual([[0, 0, 0]]);
    expect(rc?.scaling?.timeToFirstScaleUpMs).toBe(1_000);
    expect(rc?.scaling?.perStepSummary?.timeToFirstScaleUpMs).toMatchObject({ mean: 1_000, events: 3 });

    const compared = summary.comparisons.filter((c) => c.experimentId === 'hpa');
    expect(compared.map((c) => c.metric)).toEqual([
      'p50Us',
      'p99Us',
      'errorRate',
      'timeToFirstScaleUpMs',
      'peakReplicas',
      'loadSpreadCv',
      'stepP99Us',
      'scaleDownMs',
    ]);
    // every one over 3 vs 3 steps, with an interval
    for (const c of compared) {
      expect(c.events).toEqual({ baseline: 3, candidate: 3 });
      expect(c.interval.low).not.toBeNull();
    }
    const spread = compared.find((c) => c.metric === 'loadSpreadCv');
    expect(spread?.interval.includesZero).toBe(false);
    const scale = compared.find((c) => c.metric === 'timeToFirstScaleUpMs');
    expect(scale?.interval.diff).toBe(500);
    expect(scale?.interval.includesZero).toBe(false);

    const md = await readFile(`${dir}/report.md`, 'utf8');
    expect(md).not.toContain('not tested');
    expect(md).toContain('| legacy-sticky | 1 | 2 | 8.0 s | held | 1.5 s | 4 |');
    // the scorecard's hpa columns carry intervals and marks
    expect(md).toMatch(
      /\| legacy-sticky \| 1\.5 \[[0-9.]+, [0-9.]+\] \*\*worse\*\* \| 1\.73 \[1\.73, 1\.73\] \*\*worse\*\* \|/,
    );

    // compare tests the per-step metrics between runs over steps, not trials
    const slower = await summaryOf([
      hpaTrial({ variant: 'legacy-sticky', sticky: true, upAfterMs: [1_400, 1_500, 1_600] }),
      hpaTrial({ variant: 'rc', upAfterMs: [2_000, 2_100, 2_200] }),
    ]);
    const result = compareSummaries(
      { dir, summary },
      { dir: slower.dir, summary: slower.summary },
      { threshold: 0.05 },
    );
    const change = result.changes.find((c) => c.variant === 'rc' && c.metric === 'timeToFirstScaleUpMs');
    expect(change?.events).toEqual({ baseline: 3, candidate: 3 });
    expect(change?.verdict).toBe('worse');
    const same = result.changes.find(
      (c) => c.variant === 'legacy-sticky' && c.metric === 'timeToFirstScaleUpMs',
    );
    expect(same?.verdict).toBe('no significant change');
  });

  it('a scale-up at base load before a step fails that step only', async () => {
    const { of } = await summaryOf([hpaTrial({ variant: 'rc', baseScaleUps: [7_500] })]);
    const steps = of('rc')?.scaling?.steps ?? [];
    expect(steps.map((s) => s.counted)).toEqual([true, false, true]);
    expect(steps[1]?.premise?.failed).toMatch(
      /^premise failed: scaled at base load \(1 scale-up before the step, the first at 7\.5 s; utilisation 10% vs target 50%\)$/,
    );
    expect(steps[1]?.timeToScaleUpMs).toBeNull();
    // the failed step is left out of the per-step figures; the trial's premise still held
    expect(of('rc')?.perEvent?.timeToFirstScaleUpMs).toEqual([[1_000, 1_000]]);
    expect(of('rc')?.scaling?.premise?.failed).toBeNull();
  });

  it('a deployment not back at minReplicas when a step starts fails that step, and the previous one has no scale-down', async () => {
    const { dir, of } = await summaryOf([hpaTrial({ variant: 'rc', downAfterMs: [2_500, 4_000, 2_500] })]);
    const steps = of('rc')?.scaling?.steps ?? [];
    expect(steps[2]?.premise?.failed).toBe(
      'premise failed: not back at minReplicas (1) before step 3 (4 replicas at its start)',
    );
    expect(steps[2]?.counted).toBe(false);
    expect(steps[1]?.scaleDownMs).toBeNull();
    expect(of('rc')?.perEvent?.scaleDownMs).toEqual([[2_500]]);
    const md = await readFile(`${dir}/report.md`, 'utf8');
    expect(md).toContain('failed: not back at minReplicas (1) before step 3 (4 replicas at its start)');
    expect(md).toContain(
      '| rc | 1 | 2 | 8.0 s | held | 1.0 s | 4 | 2.0 s | 0.00 | 5.00 ms → 30.0 ms | not back before the next step |',
    );
  });

  it('a return to minReplicas on the sync just after a step starts counts as back before it (decided on earlier metrics)', async () => {
    // step 2 starts at 8 s: back at 8.004 s holds, back at 8.2 s (beyond a tenth of the 1 s sync) does not
    const onTheSync = await summaryOf([hpaTrial({ variant: 'rc', downAfterMs: [3_504, 2_500, 2_500] })]);
    expect(onTheSync.of('rc')?.scaling?.steps?.map((s) => s.counted)).toEqual([true, true, true]);
    expect(onTheSync.of('rc')?.perEvent?.scaleDownMs).toEqual([[3_504, 2_500, 2_500]]);
    const late = await summaryOf([hpaTrial({ variant: 'rc', downAfterMs: [3_700, 2_500, 2_500] })]);
    expect(late.of('rc')?.scaling?.steps?.map((s) => s.counted)).toEqual([true, false, true]);
  });

  it('every step failing its premise fails the trial, and the scorecard says why', async () => {
    const { dir, of } = await summaryOf([
      hpaTrial({ variant: 'rc', baseScaleUps: [1_500, 7_500, 13_500] }),
      hpaTrial({ variant: 'legacy-redis' }),
    ]);
    const rc = of('rc');
    expect(rc?.scaling?.steps?.every((s) => !s.counted)).toBe(true);
    expect(rc?.scaling?.premise?.failed).toMatch(/^premise failed: scaled at base load/);
    expect(rc?.perEvent?.timeToFirstScaleUpMs).toBeUndefined();
    const md = await readFile(`${dir}/report.md`, 'utf8');
    expect(md).toMatch(
      /\| \*\*rc\*\* \(reference\) \| n\/a: premise failed \(premise failed: scaled at base load/,
    );
  });
});
