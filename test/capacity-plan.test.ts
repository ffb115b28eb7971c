import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { writeRun } from '../analysis/fixtures.js';
import { analyseRun } from '../analysis/index.js';
import { fitUsl, planVariant, tInterval, uslHoldout, uslRate } from '../analysis/plugins/capacity/model.js';
import { DEFAULT_CAPACITY_SLO } from '../rundir/capacity-judge.js';
import { type CapacityTrial, RUN_FILES, stepDir, trialDir } from '../rundir/layout.js';
import type { EngineResult } from '../rundir/raw-result.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'mcpbench.js');

function histogramOf(valueUs: number, count: number): string {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (let i = 0; i < count; i++) h.recordValue(valueUs);
  const e = hdr.encodeIntoCompressedBase64(h);
  h.destroy();
  return e;
}

/**
 * A capacity trial whose steps are known: at 10, 20 and 40 turns/s (and the trial's own sustainable
 * rate `sustained`), request p99 of 50, 150, 400 ms; one fail above `sustained`.
 */
async function addCapacity(
  runDir: string,
  variant: string,
  trial: number,
  sustained: number,
  cpuLimitMillicores: number,
): Promise<void> {
  const dir = trialDir(runDir, 'capacity', variant, trial);
  const base = JSON.parse(await readFile(join(dir, RUN_FILES.engine), 'utf8')) as EngineResult;
  const steps: CapacityTrial['steps'] = [];
  const plan: Array<[number, number, 'pass' | 'fail']> = [
    [10, 50_000, 'pass'],
    [sustained, 150_000, 'pass'],
    [sustained * 1.04, 400_000, 'fail'],
  ];
  for (const [index, [rate, p99Us, verdict]] of plan.entries()) {
    const turns = Math.round(rate * 2);
    const engine: EngineResult = {
      ...base,
      load: { model: 'open', rate, unit: 'turns', durationMs: 2_000 },
      histograms: {
        'request:corrected': histogramOf(p99Us, 100),
        request: histogramOf(p99Us, 100),
        turn: histogramOf(p99Us, turns),
      },
      counts: { ...base.counts, requests: 100, ok: 100, errors: 0, turns },
      timeseries: [0, 1].map((t) => ({
        t,
        requests: 50,
        errors: 0,
        p50Us: p99Us,
        p99Us,
        perReplica: { a: 50 },
      })),
    };
    await mkdir(stepDir(dir, index), { recursive: true });
    await writeFile(join(stepDir(dir, index), RUN_FILES.engine), JSON.stringify(engine));
    steps.push({
      index,
      phase: index === 0 ? 'step-up' : 'bisect',
      rate,
      unit: 'turns',
      settleStartMs: index * 3_000,
      measureStartMs: index * 3_000 + 500,
      endMs: index * 3_000 + 2_500,
      requests: 100,
      errors: 0,
      turns,
      toolCalls: turns,
      requestP99Us: p99Us,
      turnP99Us: p99Us,
      errorRate: 0,
      throughputRatio: 1,
      generator: { cpuCores: 0.1, missedArrivals: 0, achievedRateRatio: 1, maxInFlight: 256 },
      verdict,
      reasons: verdict === 'fail' ? ['request p(99)<250 broken'] : [],
    });
  }
  const capacity: CapacityTrial = {
    schema: 'mcpbench/capacity-trial@1',
    replicas: 1,
    unit: 'turns',
    slo: DEFAULT_CAPACITY_SLO,
    search: { startRate: 10, factor: 2, resolution: 0.05, maxSteps: 12, settleMs: 500, measureMs: 2_000 },
    cpuLimitMillicores,
    cpuLimitEnforced: true,
    cpuLimitNote: 'cgroup-v1',
    hostCores: 2,
    steps,
    result: { sustainableRate: sustained, firstFailRate: sustained * 1.04, status: 'converged' },
  };
  await writeFile(join(dir, RUN_FILES.capacity), JSON.stringify(capacity));
  // The step at the sustainable rate (index 1, 3000..5500 ms): the pod's CPU grows 0.2 s a second,
  // i.e. 200 ms per second over `sustained` turns per second.
  const samples = [3_000, 4_000, 5_000].map((tMs, i) => ({
    tMs,
    desired: 1,
    ready: 1,
    replicas: [
      { name: 'p', ready: true, phase: 'Running', cpuMillicores: 200, cpuSecondsTotal: 1 + 0.2 * i },
    ],
  }));
  await writeFile(join(dir, RUN_FILES.samples), `${samples.map((s) => JSON.stringify(s)).join('\n')}\n`);
}

async function knownRun(): Promise<string> {
  const trials = ['rc', 'legacy-sticky'].flatMap((variant) =>
    [1, 2, 3].map((trial) => ({ experimentId: 'capacity', variant, trial, samples: [1_000, 2_000] })),
  );
  const dir = await writeRun(trials);
  // rc: 40, 42, 38 turns/s (mean 40, sd 2); legacy-sticky: 20 in every trial
  for (const [trial, rate] of [40, 42, 38].entries()) await addCapacity(dir, 'rc', trial + 1, rate, 500);
  for (const trial of [1, 2, 3]) await addCapacity(dir, 'legacy-sticky', trial, 20, 500);
  return dir;
}

describe('capacity planning', () => {
  it('fits the USL to points it generated and finds the peak', () => {
    const truth = { lambda: 100, sigma: 0.05, kappa: 0.02 };
    const points = [1, 2, 3, 4, 6].map((n) => ({ replicas: n, rate: uslRate(truth, n) }));
    const fit = fitUsl(points);
    expect(fit?.sigma).toBeCloseTo(0.05, 6);
    expect(fit?.kappa).toBeCloseTo(0.02, 6);
    expect(fit?.peakReplicas).toBeCloseTo(Math.sqrt(0.95 / 0.02), 6);
    const held = uslHoldout(points);
    expect(held?.heldOut).toBe(6);
    expect(Math.abs(held?.error ?? 1)).toBeLessThan(1e-6);
    // two points: σ only
    expect(fitUsl(points.slice(0, 2))?.kappa).toBe(0);
    expect(fitUsl([{ replicas: 2, rate: 10 }])).toBeNull();
  });

  it('computes pods from hand-computed figures, with the interval and --pod-cpu scaling', () => {
    const rate = tInterval([40, 42, 38]);
    // t(0.975, 2) = 4.3027; half width = 4.3027 × 2 / √3 = 4.968
    expect(rate?.low).toBeCloseTo(35.032, 2);
    expect(rate?.high).toBeCloseTo(44.968, 2);
    const cost = {
      cpuMsPerTurn: 5,
      redisCpuMsPerTurn: 0.5,
      redisBytesPerTurn: null,
      rssBytesPerSession: null,
      redisBytesPerSession: 2_048,
      cpuShareOfLimitAtCapacity: 0.4,
    };
    const input = {
      variant: 'rc',
      replicas: 1,
      rate: rate as NonNullable<typeof rate>,
      cpuLimitMillicores: 500,
      cost,
      usesRedis: true,
      generatorLimited: false,
      limitsEnforced: true,
      usl: null,
    };
    const load = { agents: 5_000, turnsPerMinute: 2, headroom: 0.3, podCpuMillicores: null };
    const p = planVariant(input, load);
    // demand 5000 × 2 / 60 = 166.67 turns/s; a pod carries 40 × 0.7 = 28 → 5.95 → 6 pods
    expect(p.demand).toBeCloseTo(166.667, 2);
    expect(p.pods).toBe(6);
    // 44.968 × 0.7 = 31.48 → 5.29 → 6; 35.032 × 0.7 = 24.52 → 6.80 → 7
    expect([p.podsLow, p.podsHigh]).toEqual([6, 7]);
    expect(p.totalCpuCores).toBe(3);
    // Redis: 166.67 turns/s × 0.5 ms = 0.0833 cores; 5000 sessions × 2 KiB
    expect(p.redisCpuCores).toBeCloseTo(0.0833, 3);
    expect(p.redisMemoryBytes).toBe(5_000 * 2_048);
    expect(p.binds).toMatch(/latency SLO/);
    // a 1000m pod, scaled linearly from 500m: 80 × 0.7 = 56 → 2.98 → 3 pods, said in a note
    const big = planVariant(input, { ...load, podCpuMillicores: 1_000 });
    expect(big.pods).toBe(3);
    expect(big.notes.join(' ')).toMatch(/scaled linearly from the measured 500m/);
  });

  it('mcpbench plan reads a run with known capacity and computes the pods; --slo re-judges the kept steps', async () => {
    const dir = await knownRun();
    const { stdout } = await run(process.execPath, [
      CLI,
      'plan',
      dir,
      '--agents',
      '5000',
      '--turns-per-minute',
      '2',
      '--json',
    ]);
    const plan = JSON.parse(stdout) as {
      variants: Array<{
        variant: string;
        pods: number;
        podsLow: number;
        podsHigh: number;
        perPod: { mean: number };
      }>;
    };
    const byVariant = Object.fromEntries(plan.variants.map((v) => [v.variant, v]));
    expect(byVariant.rc?.perPod.mean).toBeCloseTo(40, 6);
    expect([byVariant.rc?.pods, byVariant.rc?.podsLow, byVariant.rc?.podsHigh]).toEqual([6, 6, 7]);
    // 20 turns/s × 0.7 = 14 → 11.9 → 12 pods
    expect(byVariant['legacy-sticky']?.pods).toBe(12);
    // at p(99)<100 only the 10 turns/s steps (50 ms) pass: 10 × 0.7 = 7 → 23.8 → 24 pods
    const strict = JSON.parse(
      (
        await run(process.execPath, [
          CLI,
          'plan',
          dir,
          '--agents',
          '5000',
          '--turns-per-minute',
          '2',
          '--slo',
          'p(99)<100',
          '--json',
        ])
      ).stdout,
    ) as typeof plan;
    expect(strict.variants.map((v) => [v.variant, v.pods]).sort()).toEqual([
      ['legacy-sticky', 24],
      ['rc', 24],
    ]);
    // the report carries the section, with the cost measured from the samples: 0.2 CPU-s/s ÷ rate
    const { summary } = await analyseRun(dir);
    const rc = summary.variants.find((v) => v.variant === 'rc' && v.experiment === 'capacity');
    expect(rc?.capacity?.cost.cpuMsPerTurn).toBeCloseTo((200 / 40 + 200 / 42 + 200 / 38) / 3, 6);
    expect(rc?.capacity?.cost.redisCpuMsPerTurn).toBeNull();
    const md = await readFile(join(dir, RUN_FILES.reportMd), 'utf8');
    expect(md).toContain('## Capacity');
    expect(md).toContain('◀ knee (sustainable)');
    expect(md).toContain('not measured');
  });

  it('mcpbench plan refuses bad or missing values, naming the flag', async () => {
    const dir = await knownRun();
    const fail = async (args: string[]) => {
      const err = await run(process.execPath, [CLI, 'plan', dir, ...args]).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.code).toBe(2);
      return err?.stderr ?? '';
    };
    expect(await fail(['--turns-per-minute', '2'])).toMatch(/--agents/);
    expect(await fail(['--agents', '0', '--turns-per-minute', '2'])).toMatch(/--agents: "0"/);
    expect(await fail(['--agents', '10', '--turns-per-minute', '2', '--headroom', '30'])).toMatch(
      /--headroom: write 30%/,
    );
    expect(await fail(['--agents', '10', '--turns-per-minute', '2', '--pod-cpu', 'lots'])).toMatch(
      /--pod-cpu/,
    );
    expect(await fail(['--agents', '10', '--turns-per-minute', '2', '--slo', 'fast'])).toMatch(/--slo/);
  });
});
