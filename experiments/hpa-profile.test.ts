import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { variantSpec } from '../cluster/manifests.js';
import { buildRunConfig, resolveExperiments } from './config.js';
import { formatProblem, hpaTimingProblems, preflight } from './preflight.js';

/** The hpa experiment's profiles: the default `fast` timing and `realistic` (Kubernetes' defaults), and their checks. */

const hpaOf = (file: Record<string, unknown>, flags: Record<string, unknown> = {}) => {
  const def = resolveExperiments(buildRunConfig(file, flags)).find((d) => d.name === 'hpa');
  if (!def) throw new Error('no hpa experiment');
  return def;
};

async function problems(file: Record<string, unknown>, flags: Record<string, unknown> = {}) {
  const config = buildRunConfig(file, flags);
  const runDir = join(await mkdtemp(join(tmpdir(), 'mcpbench-hpa-profile-')), 'run');
  return (
    await preflight({ config, experiments: resolveExperiments(config), runDir, runDirSource: '--out' })
  ).map(formatProblem);
}

describe('hpa profiles', () => {
  it("realistic is Kubernetes' own autoscaler timing, long enough to scale up and down", () => {
    const def = hpaOf({ experiments: ['hpa'], overrides: { hpa: { profile: 'realistic' } } });
    expect(def.hpa).toMatchObject({
      syncPeriodSeconds: 15,
      tolerance: 0.1,
      scaleUpStabilizationSeconds: 0,
      scaleDownStabilizationSeconds: 300,
      cpuInitializationSeconds: 300,
      initialReadinessDelaySeconds: 30,
      metricResolutionSeconds: 15,
    });
    expect(def.durationMs).toBe(620_000);
    expect(hpaTimingProblems(def)).toEqual([]);
    // the rendered manifests carry it to every provider
    const spec = variantSpec('rc', { hpa: def.hpa, replicas: 1 });
    expect(spec.hpa).toMatchObject({
      syncPeriodSeconds: 15,
      initialReadinessDelaySeconds: 30,
      metricResolutionSeconds: 15,
      scaleDown: { stabilizationWindowSeconds: 300 },
    });
  });

  it("the run's own hpa fields still apply over a profile", () => {
    const def = hpaOf({ overrides: { hpa: { profile: 'realistic', hpa: { maxReplicas: 8 } } } });
    expect(def.hpa?.maxReplicas).toBe(8);
    expect(def.hpa?.syncPeriodSeconds).toBe(15);
  });

  it('the default (fast) step and tail fit its own timing', () => {
    expect(hpaTimingProblems(hpaOf({}))).toEqual([]);
    expect(hpaOf({ overrides: { hpa: { profile: 'fast' } } }).hpa?.syncPeriodSeconds).toBe(1);
  });

  it('the default runs three steps in 20 s, each with time to scale back to minReplicas before the next', () => {
    const def = hpaOf({});
    expect(def.durationMs).toBe(20_000);
    expect(def.steps).toMatchObject({ count: 3, spacingMs: 6_000 });
    // base, then per step: ramp up, hold, ramp down, base
    expect(def.load.stages?.map((s) => [s.durationMs, s.target])).toEqual([
      [2000, 2],
      ...Array.from({ length: 3 }, () => [
        [500, 30],
        [2000, 30],
        [500, 2],
        [3000, 2],
      ]).flat(),
    ]);
    expect(hpaTimingProblems(def)).toEqual([]);
    // realistic stays one step, as long as before
    const realistic = hpaOf({ overrides: { hpa: { profile: 'realistic' } } });
    expect(realistic.load.stages?.map((s) => s.durationMs)).toEqual([
      90_000, 10_000, 120_000, 10_000, 390_000,
    ]);
  });

  it('overrides.hpa.steps changes the count and the spacing; the trial follows', () => {
    const def = hpaOf({ overrides: { hpa: { steps: { count: 5, spacing: '8s' } } } });
    expect(def.durationMs).toBe(2_000 + 5 * 8_000);
    expect(def.load.stages).toHaveLength(1 + 5 * 4);
    expect(def.load.stages?.[4]).toEqual({ durationMs: 5_000, target: 2 });
    expect(hpaTimingProblems(def)).toEqual([]);
    expect(hpaOf({ overrides: { hpa: { profile: 'realistic', steps: { count: 2 } } } }).durationMs).toBe(
      90_000 + 2 * 530_000,
    );
  });

  it('refuses steps on another experiment, steps with stages, a bad count and a spacing shorter than a step', () => {
    expect(() => buildRunConfig({ overrides: { 'pod-kill': { steps: { count: 2 } } } }, {})).toThrow(
      'overrides.pod-kill.steps: only hpa repeats a load step',
    );
    expect(() =>
      buildRunConfig(
        {
          overrides: {
            hpa: {
              steps: { count: 2 },
              load: { model: 'open', rate: 2, stages: [{ duration: '5s', target: 9 }] },
            },
          },
        },
        {},
      ),
    ).toThrow('overrides.hpa.steps: give either steps or load.stages');
    expect(() => buildRunConfig({ overrides: { hpa: { steps: { count: 0 } } } }, {})).toThrow(
      'overrides.hpa.steps.count',
    );
    expect(() => hpaOf({ overrides: { hpa: { steps: { spacing: '3s' } } } })).toThrow(
      'overrides.hpa.steps.spacing: 3 s must be longer than a step with its ramps (3.5 s)',
    );
  });

  it('preflight names the step whose tail is too short for a scale-down', async () => {
    const found = await problems({
      experiments: ['hpa'],
      overrides: { hpa: { profile: 'fast', steps: { spacing: '4s' } } },
    });
    expect(found).toEqual([
      expect.stringMatching(
        /^overrides\.hpa\.profile fast: 1\.5 s of base load after step 1; a scale-down needs at least 3 s/,
      ),
      expect.stringMatching(/1\.5 s of base load after step 2;/),
      expect.stringMatching(/1\.5 s of base load after step 3;/),
    ]);
  });

  it('refuses an unknown profile, and a profile on an experiment without any', () => {
    expect(() => buildRunConfig({ overrides: { hpa: { profile: 'quick' } } }, {})).toThrow(
      'overrides.hpa.profile: unknown profile "quick" (choose from fast, realistic)',
    );
    expect(() => buildRunConfig({ overrides: { 'pod-kill': { profile: 'realistic' } } }, {})).toThrow(
      'overrides.pod-kill.profile: pod-kill has no profiles',
    );
  });

  it('preflight refuses a realistic run shortened below what the HPA needs, naming both numbers', async () => {
    const found = await problems(
      { experiments: ['hpa'], overrides: { hpa: { profile: 'realistic' } } },
      { duration: '120s' },
    );
    expect(found).toEqual([
      expect.stringMatching(
        /^overrides\.hpa\.profile realistic: the step lasts 25\.2 s; the HPA needs at least 30 s .*to scale up/,
      ),
      expect.stringMatching(/: 77\.4 s of base load after the step; a scale-down needs at least 330 s/),
    ]);
    expect(await problems({ experiments: ['hpa'], overrides: { hpa: { profile: 'realistic' } } })).toEqual(
      [],
    );
  });

  it('refuses a metrics resolution under 1 s and a tolerance outside 0..1', () => {
    expect(() =>
      buildRunConfig({ overrides: { hpa: { hpa: { metricResolutionSeconds: 0.5 } } } }, {}),
    ).toThrow('overrides.hpa.hpa.metricResolutionSeconds');
    expect(() => buildRunConfig({ overrides: { hpa: { hpa: { tolerance: 2 } } } }, {})).toThrow(
      'overrides.hpa.hpa.tolerance',
    );
  });
});
