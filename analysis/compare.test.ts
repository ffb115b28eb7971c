import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { createRng } from '../util/prng.ts';
import { compareRunDirs } from './compare-runs.js';
import { type TrialSpec, writeRun } from './fixtures.js';
import { holm, trialTest } from './significance.js';

const cli = fileURLToPath(new URL('../bin/mcpbench.js', import.meta.url));

/** A run of `trials` trials per variant whose request latencies centre on `medianUs` × a per-trial wobble. */
function trials(seed: number, medianUs: Record<string, number>, count = 3, wobble = 0.02): TrialSpec[] {
  const rng = createRng(seed);
  const out: TrialSpec[] = [];
  for (const [variant, median] of Object.entries(medianUs))
    for (let trial = 1; trial <= count; trial++) {
      const shift = 1 + (rng() - 0.5) * 2 * wobble;
      out.push({
        experimentId: 'ttl-cache~x',
        variant,
        trial,
        samples: Array.from({ length: 2_000 }, () => Math.round(median * shift * (0.8 + 0.4 * rng()))),
        turnSamples: Array.from({ length: 500 }, () => Math.round(3 * median * shift * (0.8 + 0.4 * rng()))),
      });
    }
  return out;
}

describe('significance', () => {
  it('pooled t-test matches a hand-computed case and Holm matches its definition', () => {
    // baseline mean 10, candidate mean 13, both sample variance 1, n = 3: t = 3 / sqrt(2/3) = 3.674, df = 4
    const t = trialTest([9, 10, 11], [12, 13, 14]);
    expect(t.diff).toBe(3);
    expect(t.pGreater).toBeCloseTo(0.01066, 4);
    expect(t.pLess).toBeCloseTo(1 - 0.01066, 4);
    expect(t.low).toBeCloseTo(3 - 2.7764 * Math.sqrt(2 / 3), 3);
    expect(holm([0.01, 0.04, null, 0.03])).toEqual([0.03, 0.06, null, 0.06]);
  });

  it('constant identical values are untestable, constant different values are exact', () => {
    expect(trialTest([0, 0, 0], [0, 0, 0]).identical).toBe(true);
    const exact = trialTest([0, 0, 0], [2, 2, 2]);
    expect(exact.pGreater).toBe(0);
    expect(exact.identical).toBe(false);
    expect(trialTest([1], [2]).pGreater).toBeNull();
  });
});

describe('mcpbench compare', () => {
  it('says "no significant change" on two runs of the same distribution', async () => {
    const a = await writeRun(trials(1, { rc: 5_000, 'legacy-redis': 6_000 }));
    const b = await writeRun(trials(2, { rc: 5_000, 'legacy-redis': 6_000 }));
    const result = await compareRunDirs(a, b, { threshold: 0.05 });
    expect(result.regressions).toEqual([]);
    expect(result.changes.filter((c) => c.metric === 'p50Us')).toHaveLength(2);
    expect(result.changes.every((c) => c.verdict !== 'worse')).toBe(true);
  });

  it('names a 30% slowdown of one variant as a regression and a 30% speed-up as better', async () => {
    const a = await writeRun(trials(1, { rc: 5_000, 'legacy-redis': 6_000 }));
    const b = await writeRun(trials(2, { rc: 6_500, 'legacy-redis': 4_200 }));
    const result = await compareRunDirs(a, b, { threshold: 0.05 });
    const names = result.regressions.map((c) => `${c.variant} ${c.metric}`);
    expect(names).toContain('rc p50Us');
    expect(names.every((n) => n.startsWith('rc '))).toBe(true);
    const faster = result.changes.find((c) => c.variant === 'legacy-redis' && c.metric === 'p50Us');
    expect(faster?.verdict).toBe('better');
    expect(faster?.relative).toBeLessThan(-0.2);
  });

  it('a significant change inside the threshold is reported as worse but does not fail', async () => {
    const a = await writeRun(trials(1, { rc: 5_000 }, 5, 0.002));
    const b = await writeRun(trials(2, { rc: 5_150 }, 5, 0.002));
    const result = await compareRunDirs(a, b, { threshold: 0.05 });
    const p50 = result.changes.find((c) => c.metric === 'p50Us');
    expect(p50?.verdict).toBe('worse');
    expect(p50?.regression).toBe(false);
    expect(result.regressions).toEqual([]);
    const strict = await compareRunDirs(a, b, { threshold: 0.01 });
    expect(strict.regressions.map((c) => c.metric)).toContain('p50Us');
  });

  it('does not test single-trial metrics and says why', async () => {
    const a = await writeRun(trials(1, { rc: 5_000 }, 1));
    const b = await writeRun(trials(2, { rc: 50_000 }, 1));
    const result = await compareRunDirs(a, b, { threshold: 0.05 });
    expect(result.regressions).toEqual([]);
    expect(result.changes.every((c) => c.verdict === 'not tested')).toBe(true);
    expect(result.changes[0]?.note).toMatch(/--trials/);
  });

  it('CLI: exit 0 / 1 / 2, names the metric, writes JUnit and Markdown', async () => {
    const a = await writeRun(trials(1, { rc: 5_000 }));
    const same = await writeRun(trials(2, { rc: 5_000 }));
    const slow = await writeRun(trials(3, { rc: 7_000 }));
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, [cli, 'compare', ...args]).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const ok = await run(a, same);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/Verdict: OK/);

    const junit = join(slow, '..', 'compare.xml');
    const markdown = join(slow, '..', 'compare.md');
    const bad = await run(a, slow, '--threshold', '10%', '--junit', junit, '--markdown', markdown);
    expect(bad.code, bad.stderr).toBe(1);
    expect(bad.stderr).toMatch(/REGRESSION.*rc request p50/);
    const xml = await readFile(junit, 'utf8');
    expect(xml).toMatch(/<failure message="regression: request p50: \+\d+%/);
    expect(await readFile(markdown, 'utf8')).toContain('**REGRESSION**');

    const missing = await run(a, join(a, 'nope'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/not a run directory/);
    const badFlag = await run(a, same, '--threshold', 'lots');
    expect(badFlag.code).not.toBe(0);
    expect(badFlag.stderr).toMatch(/--threshold: "lots" is not a percentage/);
  });

  it('warns when the runs differ in environment or configuration', async () => {
    const a = await writeRun(trials(1, { rc: 5_000 }));
    const b = await writeRun(trials(2, { rc: 5_000 }));
    const manifest = JSON.parse(await readFile(join(b, 'run.json'), 'utf8'));
    manifest.fingerprint.cores = 64;
    manifest.config = { overrides: { 'ttl-cache': { serverEnv: { MCPBENCH_SLOWDOWN: '1.2' } } } };
    await writeJsonAtomic(join(b, 'run.json'), manifest);
    const result = await compareRunDirs(a, b, { threshold: 0.05 });
    expect(result.warnings.join('\n')).toMatch(/cores: 2 vs 64/);
    expect(result.warnings.join('\n')).toMatch(
      /overrides\.ttl-cache\.serverEnv\.MCPBENCH_SLOWDOWN: unset vs "1\.2"/,
    );
  });
});
