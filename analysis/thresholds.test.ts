import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildRunConfig, ConfigError } from '../experiments/config.js';
import { parseThreshold, parseThresholds } from '../rundir/threshold-spec.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { writeRun } from './fixtures.js';
import { analyseRun } from './index.js';
import { loadRun } from './load-run.js';
import { evaluateThresholds } from './thresholds.js';

const cli = fileURLToPath(new URL('../bin/mcpbench.js', import.meta.url));

/** rc: 1..1000 ms uniformly (p95 = 950 ms); legacy-redis: 10 ms flat with 1 error in 1000. */
async function fixture(): Promise<string> {
  return writeRun([
    {
      experimentId: 'ttl-cache~x',
      variant: 'rc',
      trial: 1,
      samples: Array.from({ length: 1000 }, (_, i) => (i + 1) * 1000),
      turnSamples: [5_000, 6_000],
    },
    {
      experimentId: 'ttl-cache~x',
      variant: 'legacy-redis',
      trial: 1,
      samples: Array.from({ length: 1000 }, () => 10_000),
      errors: { transport: 1 },
    },
  ]);
}

describe('thresholds', () => {
  it('parses k6-style expressions, tags and aliases', () => {
    expect(parseThreshold('latency', 'p(95)<200')).toMatchObject({
      metric: 'latency',
      aggregation: 'p',
      percentile: 95,
      op: '<',
      value: 200,
    });
    expect(parseThreshold('http_req_failed', 'rate<0.1%')).toMatchObject({ metric: 'errors', value: 0.001 });
    expect(parseThreshold('turn{experiment:ttl-cache,variant:rc}', 'avg<=30').tags).toEqual({
      experiment: 'ttl-cache',
      variant: 'rc',
    });
  });

  it('names the field and what is wrong with it', () => {
    expect(() => parseThresholds({ latency: ['p95<200'] })).toThrow(
      /thresholds\.latency\[0\]: "p95<200" is not a threshold/,
    );
    expect(() => parseThresholds({ latenzy: ['p(95)<200'] })).toThrow(/unknown metric "latenzy"/);
    expect(() => parseThresholds({ errors: ['p(95)<1'] })).toThrow(/errors takes rate, count/);
    expect(() => parseThresholds({ 'latency{pod:a}': ['avg<1'] })).toThrow(
      /tags are experiment, variant, method/,
    );
    expect(() => buildRunConfig({ thresholds: { latency: 'p(95)<<1' } }, {}, 'run.yaml')).toThrow(
      ConfigError,
    );
    expect(() => buildRunConfig({ thresholds: { latency: 'p(95)<<1' } }, {}, 'run.yaml')).toThrow(
      /run\.yaml: thresholds: latency\[0\]/,
    );
  });

  it('checks each experiment × variant against merged histograms', async () => {
    const run = await loadRun(await fixture());
    const results = evaluateThresholds(
      parseThresholds({
        'latency{variant:rc}': ['p(95)<900', 'p(95)<1000'],
        errors: ['rate<0.05%', 'count<5'],
        turn: ['avg<10'],
        'latency{variant:legacy-sticky}': ['avg<1'],
      }),
      run,
    );
    const find = (threshold: string, variant: string) =>
      results.find((r) => r.threshold === threshold && r.variant === variant);
    expect(find('latency{variant:rc}: p(95)<900', 'rc')).toMatchObject({ ok: false });
    expect(find('latency{variant:rc}: p(95)<900', 'rc')?.observed).toBeCloseTo(950, -1);
    expect(find('latency{variant:rc}: p(95)<1000', 'rc')?.ok).toBe(true);
    expect(find('errors: rate<0.05%', 'rc')?.ok).toBe(true);
    expect(find('errors: rate<0.05%', 'legacy-redis')).toMatchObject({ ok: false, observed: 0.001 });
    expect(find('errors: count<5', 'legacy-redis')?.ok).toBe(true);
    // no turns recorded for legacy-redis: a threshold with nothing to check fails rather than passes
    expect(find('turn: avg<10', 'legacy-redis')).toMatchObject({ ok: false, observed: null });
    expect(find('turn: avg<10', 'rc')?.ok).toBe(true);
    expect(find('turn: avg<10', 'rc')?.observed).toBeCloseTo(5.5, 1);
    expect(find('latency{variant:legacy-sticky}: avg<1', 'legacy-sticky')?.note).toMatch(
      /no experiment × variant/,
    );
  });

  it('a run whose thresholds fail gets junit.xml, a report section, and `mcpbench report` exits 1', async () => {
    const dir = await fixture();
    const manifest = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8'));
    manifest.config = {
      thresholds: { latency: ['p(99)<2000'], 'errors{variant:legacy-redis}': ['rate<0.01%'] },
    };
    await writeJsonAtomic(join(dir, 'run.json'), manifest);
    const result = await analyseRun(dir);
    expect(result.junitPath).toBe(join(dir, 'junit.xml'));
    expect(result.thresholdFailures).toHaveLength(1);
    expect(result.thresholdFailures[0]).toMatch(
      /FAIL errors\{variant:legacy-redis\}: rate<0.01% — ttl-cache~x \/ legacy-redis: 0\.100%/,
    );
    const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
    expect(xml).toMatch(/tests="3" failures="1"/);
    expect(await readFile(join(dir, 'report.md'), 'utf8')).toMatch(/## Thresholds: 1 of 3 FAILED/);
    const report = await promisify(execFile)(process.execPath, [cli, 'report', dir]).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(report).toBe(1);
  });
});
