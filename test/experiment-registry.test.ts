import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { writeRun } from '../analysis/fixtures.js';
import { analyseRun } from '../analysis/index.js';
import { METRICS } from '../analysis/metrics.js';
import {
  ANALYSED_EXPERIMENT_NAMES,
  type AnalysedExperimentName,
  analysisOf,
} from '../analysis/plugins/registry.js';
import { DEFAULT_EXPERIMENTS, EXPERIMENT_NAMES, type ExperimentName } from '../experiments/registry.js';
import { createRng } from '../util/prng.ts';

/**
 * The runner's registry (experiments/registry.ts) and the analysis registry
 * (analysis/plugins/registry.ts) name the same experiments: an experiment with one side only is a
 * type error here (typecheck) and a failed assertion (test).
 */
describe('experiment registries', () => {
  it('name the same experiments on the runner side and the analysis side', () => {
    expectTypeOf<ExperimentName>().toEqualTypeOf<AnalysedExperimentName>();
    expect([...ANALYSED_EXPERIMENT_NAMES].sort()).toEqual([...EXPERIMENT_NAMES].sort());
    for (const name of EXPERIMENT_NAMES) {
      expect(DEFAULT_EXPERIMENTS[name].name).toBe(name);
      const plugin = analysisOf(name);
      expect(plugin).not.toBeNull();
      for (const m of [...(plugin?.perTrial ?? []), ...(plugin?.compared ?? [])])
        expect(METRICS).toHaveProperty(m);
    }
  });

  it('gives an experiment this version does not know the common figures only, and no verdict', async () => {
    const rng = createRng(11);
    const trials = ['legacy-redis', 'rc'].flatMap((variant) =>
      [1, 2].map((trial) => ({
        experimentId: 'warp-drive',
        variant,
        trial,
        samples: Array.from({ length: 200 }, () => 1_000 + Math.round(rng() * 5_000)),
      })),
    );
    expect(analysisOf('warp-drive')).toBeNull();
    expect(analysisOf('constructor')).toBeNull();
    const dir = await writeRun(trials);
    const { summary } = await analyseRun(dir);
    expect(summary.variants.map((v) => [v.experiment, v.disruption, v.scaling])).toEqual([
      ['warp-drive', null, null],
      ['warp-drive', null, null],
    ]);
    expect(summary.comparisons.map((c) => c.metric)).toEqual(['p50Us', 'p99Us', 'errorRate']);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('## warp-drive');
    expect(md).toContain('- No comparable experiment ran.');
  });
});
