import { describe, expect, it } from 'vitest';
import type { Trial } from '../../load-run.js';
import { judgePremise, trialScaling } from './scaling.js';

/**
 * The hpa experiment's premise (base load below the CPU target, so the scale-up is the step's doing),
 * judged over trials built the way the runner records them: load-stage and window events, the HPA
 * spec, replica changes, and once-a-second samples with each replica's CPU.
 */

const SPEC = { targetCpuUtilization: 50, cpuRequestMillicores: 250 };

type Sample = Trial['samples'][number];
const sample = (tMs: number, cpu: number[]): Sample => ({
  tMs,
  desired: cpu.length,
  ready: cpu.length,
  replicas: cpu.map((c, i) => ({ name: `r${i}`, ready: true, phase: 'running', cpuMillicores: c })),
});

function trial(opts: { baseCpu: number; scaleUps: number[]; scaleDowns?: number[] }): Trial {
  const ev = (
    tMs: number,
    kind: string,
    detail: Record<string, unknown>,
    source: 'cluster' | 'experiment' = 'experiment',
  ) => ({
    tMs,
    atMs: 1_000_000 + tMs,
    source,
    kind,
    variant: 'rc',
    detail,
  });
  let replicas = 1;
  const changes = [
    ...opts.scaleUps.map((t) => ({ t, up: true })),
    ...(opts.scaleDowns ?? []).map((t) => ({ t, up: false })),
  ].sort((a, b) => a.t - b.t);
  const events = [
    ev(0, 'load-stage', { index: 0, rate: 2 }),
    ev(0, 'load-stage', { index: 1, rate: 2, rampMs: 5000 }),
    ev(0, 'window', { name: 'before', startMs: 1000, endMs: 5000 }),
    ev(0, 'hpa-spec', { ...SPEC, syncPeriodSeconds: 1 }),
    ev(5000, 'load-stage', { index: 2, rate: 30, rampMs: 1000 }),
    ev(6000, 'load-stage', { index: 3, rate: 30, rampMs: 9000 }),
    ev(15000, 'load-stage', { index: 4, rate: 2, rampMs: 1000 }),
    ...changes.map((c) => {
      const from = replicas;
      replicas += c.up ? 1 : -1;
      return ev(c.t, 'replicas-changed', { from, to: replicas, reason: 'hpa' }, 'cluster');
    }),
  ].sort((a, b) => a.tMs - b.tMs);
  const samples = Array.from({ length: 22 }, (_, i) => sample(i * 1000, [i < 5 ? opts.baseCpu : 200]));
  return {
    experimentId: 'hpa',
    experiment: 'hpa',
    variant: 'rc',
    trial: 1,
    engine: { timeseries: [] } as unknown as Trial['engine'],
    events,
    samples,
  };
}

describe('judgePremise', () => {
  it('holds when the base is below target and nothing scaled before the step', () => {
    const p = judgePremise(
      SPEC,
      { startMs: 1000, endMs: 5000 },
      [1, 2, 3, 4].map((s) => sample(s * 1000, [55])),
      [6000],
    );
    expect(p).toEqual({ baseUtilisation: 22, targetUtilisation: 50, scaleUpsBeforeStep: 0, failed: null });
  });

  it('fails when a scale-up came before the step, naming when and the utilisation', () => {
    const samples = [1, 2, 3, 4].map((s) => sample(s * 1000, [130]));
    const p = judgePremise(SPEC, { startMs: 1000, endMs: 5000 }, samples, [3000, 7000]);
    expect(p.scaleUpsBeforeStep).toBe(1);
    expect(p.failed).toBe(
      'premise failed: scaled at base load (1 scale-up before the step, the first at 3.0 s; utilisation 52% ≥ target 50%)',
    );
  });

  it('fails when the base utilisation reached the target although the HPA had not acted yet', () => {
    const samples = [1, 2, 3, 4].map((s) => sample(s * 1000, [100, 150]));
    const p = judgePremise(SPEC, { startMs: 1000, endMs: 5000 }, samples, []);
    expect(p.baseUtilisation).toBe(50);
    expect(p.failed).toBe('premise failed: base load at or above the target (utilisation 50% ≥ target 50%)');
  });

  it('uses the median of the window, so one warm-up second does not fail it', () => {
    const samples = [sample(1000, [240]), sample(2000, [50]), sample(3000, [55]), sample(4000, [60])];
    expect(judgePremise(SPEC, { startMs: 1000, endMs: 5000 }, samples, []).failed).toBeNull();
  });
});

describe('trialScaling', () => {
  it('times the first scale-up from the step, and the scale-down from the end of the step', () => {
    const s = trialScaling(trial({ baseCpu: 50, scaleUps: [6200, 8300], scaleDowns: [19000, 20500] }));
    expect(s.premise?.failed).toBeNull();
    expect(s.premise?.baseUtilisation).toBe(20);
    expect(s.timeToFirstScaleUpMs).toBe(1200);
    expect(s.scaleDownMs).toBe(5500);
  });

  it('gives no time to scale when the premise failed, instead of a negative one', () => {
    const s = trialScaling(trial({ baseCpu: 140, scaleUps: [4000, 6500] }));
    expect(s.premise?.failed).toContain('premise failed: scaled at base load');
    expect(s.premise?.failed).toContain('utilisation 56% ≥ target 50%');
    expect(s.timeToFirstScaleUpMs).toBeNull();
    expect(s.timeToMaxMs).toBeNull();
  });

  it('counts the syncs during the step that had no CPU from a ready pod (why nothing scaled)', () => {
    const t = trial({ baseCpu: 50, scaleUps: [] });
    for (const [tMs, utilisation] of [
      [4000, 20],
      [7000, null],
      [8000, null],
      [9000, 130],
      [16000, null],
    ] as const)
      t.events.push({
        tMs,
        atMs: 1_000_000 + tMs,
        source: 'cluster',
        kind: 'hpa-decision',
        variant: 'rc',
        detail: { utilisation, current: 1, desired: 1 },
      });
    const s = trialScaling(t);
    expect(s.timeToFirstScaleUpMs).toBeNull();
    expect(s.stepSyncs).toEqual({ total: 3, withoutMetrics: 2 });
  });

  it('has no premise without a recorded HPA spec (a run from before it was recorded)', () => {
    const t = trial({ baseCpu: 50, scaleUps: [6200] });
    t.events = t.events.filter((e) => e.kind !== 'hpa-spec');
    const s = trialScaling(t);
    expect(s.premise).toBeNull();
    expect(s.timeToFirstScaleUpMs).toBe(1200);
  });

  it("spreads load by the Service's per-replica counts when the answers name no replica", () => {
    // A server that is not ours: no replica header, so the engine's per-second points name none;
    // the samples carry the Service's running count of requests sent to each replica.
    const t = trial({ baseCpu: 50, scaleUps: [6200] });
    t.samples = t.samples.map((s) => {
      const sec = s.tMs / 1000;
      const r0 = { name: 'r0', ready: true, phase: 'running', cpuMillicores: 100, serviceRequests: 30 * sec };
      const r1 = {
        name: 'r1',
        ready: true,
        phase: 'running',
        cpuMillicores: 100,
        serviceRequests: 10 * (sec - 7),
      };
      return { ...s, replicas: sec >= 7 ? [r0, r1] : [r0] };
    });
    // the engine's seconds name no replica (perReplica empty), as for a server that sends no header
    t.engine = {
      timeseries: Array.from({ length: 21 }, (_, sec) => ({
        t: sec,
        requests: 40,
        errors: 0,
        perReplica: {},
      })),
    } as unknown as Trial['engine'];
    // while both are ready in the step, r0 got 30 a second and r1 10: three to one
    const s = trialScaling(t);
    expect(s.loadSpread).toEqual({
      replicas: 2,
      cv: 0.5,
      busiestShare: 0.75,
      idlestShare: 0.25,
      source: 'service-proxy',
    });
    // The replica header, where the answers carry it, is the source instead.
    const withHeader = trial({ baseCpu: 50, scaleUps: [6200] });
    withHeader.samples = t.samples;
    withHeader.engine = {
      timeseries: [10, 11].map((sec) => ({ t: sec, perReplica: { r0: 5, r1: 5 } })),
    } as unknown as Trial['engine'];
    expect(trialScaling(withHeader).loadSpread).toMatchObject({ cv: 0, source: 'replica-header' });
  });
});

describe('load spread', () => {
  /** One scale-up to two replicas at 6.2 s; samples after it carry each pod's CPU. */
  function scaledTrial(perReplica: Record<string, number> | null): Trial {
    const t = trial({ baseCpu: 50, scaleUps: [6200] });
    t.samples = Array.from({ length: 22 }, (_, i) => ({
      tMs: i * 1000,
      desired: i < 7 ? 1 : 2,
      ready: i < 7 ? 1 : 2,
      replicas: [
        // base load (before the step at 5 s) below the 50% target, so the step's premise holds
        { name: 'pod-a', ready: true, phase: 'running', cpuMillicores: i < 5 ? 50 : 150 },
        ...(i < 7
          ? []
          : [{ name: 'pod-b', ready: i < 20, phase: 'running', cpuMillicores: i < 20 ? 50 : null }]),
      ],
    }));
    t.engine = {
      timeseries: Array.from({ length: 22 }, (_, s) => ({ t: s, perReplica: perReplica ?? {} })),
    } as unknown as Trial['engine'];
    return t;
  }

  it('counts requests per replica where the answers name the replica', () => {
    const s = trialScaling(scaledTrial({ 'pod-a': 30, 'pod-b': 10 }));
    expect(s.loadSpread).toEqual({
      replicas: 2,
      cv: 0.5,
      busiestShare: 0.75,
      idlestShare: 0.25,
      source: 'replica-header',
    });
  });

  it('uses each pod’s mean CPU where no answer names a replica, and says so', () => {
    const s = trialScaling(scaledTrial(null));
    // pod-a 150m, pod-b 50m (its unready and figure-less samples left out): mean 100, sd 50.
    expect(s.loadSpread).toEqual({
      replicas: 2,
      cv: 0.5,
      busiestShare: 0.75,
      idlestShare: 0.25,
      source: 'cpu',
    });
  });
});

describe('pods no node had room for', () => {
  it('are listed once each with the scheduler reason, so the figures say they are of fewer replicas', () => {
    const t = trial({ baseCpu: 50, scaleUps: [6200, 7200] });
    const message = '0/1 nodes are available: 1 Insufficient cpu.';
    t.events.push({
      tMs: 7300,
      atMs: 1_007_300,
      source: 'cluster',
      kind: 'pod-unschedulable',
      variant: 'rc',
      detail: { pod: 'rc-3', message },
    });
    expect(trialScaling(t).unschedulable).toEqual([{ trial: 1, pod: 'rc-3', message }]);
    expect(trialScaling(trial({ baseCpu: 50, scaleUps: [6200] })).unschedulable).toBeUndefined();
  });
});
