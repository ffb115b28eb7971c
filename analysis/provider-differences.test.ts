import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { createRng } from '../util/prng.ts';
import { renderCompareMarkdown } from './compare.js';
import { compareRunDirs } from './compare-runs.js';
import { type TrialSpec, writeRun } from './fixtures.js';

function trials(seed: number, medianUs: number): TrialSpec[] {
  const rng = createRng(seed);
  return [1, 2, 3].map((trial) => ({
    experimentId: 'ttl-cache~x',
    variant: 'rc',
    trial,
    samples: Array.from({ length: 2_000 }, () => Math.round(medianUs * (0.9 + 0.2 * rng()))),
  }));
}

async function onProvider(dir: string, provider: string): Promise<void> {
  const file = join(dir, 'run.json');
  const manifest = JSON.parse(await readFile(file, 'utf8'));
  manifest.cluster = { provider, kubernetesVersion: provider === 'local' ? null : 'v1.34.4' };
  await writeJsonAtomic(file, manifest);
}

describe('compare across providers', () => {
  it('a significant latency change between local and kind carries the load-path mechanism, in the result and the markdown', async () => {
    const local = await writeRun(trials(1, 4_000));
    const kind = await writeRun(trials(2, 9_000));
    await onProvider(kind, 'kind');
    const result = await compareRunDirs(local, kind, { threshold: 0.05 });
    const p50 = result.changes.find((c) => c.metric === 'p50Us');
    expect(p50?.verdict).toBe('worse');
    expect(p50?.explanations?.some((e) => e.startsWith('load path:'))).toBe(true);
    const md = renderCompareMarkdown(result);
    expect(md).toContain('## Why the providers differ');
    expect(md).toContain('on kind it came from the host');
  });

  it('the same change between two local runs gets no provider explanation', async () => {
    const a = await writeRun(trials(1, 4_000));
    const b = await writeRun(trials(2, 9_000));
    const result = await compareRunDirs(a, b, { threshold: 0.05 });
    const p50 = result.changes.find((c) => c.metric === 'p50Us');
    expect(p50?.verdict).toBe('worse');
    expect(p50?.explanations).toBeUndefined();
    expect(renderCompareMarkdown(result)).not.toContain('Why the providers differ');
  });
});
