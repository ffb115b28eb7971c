import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRunConfig, resolveExperiments } from './config.js';
import { formatProblem, PREFLIGHT_CHECKS, preflight } from './preflight.js';

async function problems(file: Record<string, unknown>) {
  const config = buildRunConfig(file, {});
  const runDir = join(await mkdtemp(join(tmpdir(), 'mcpbench-preflight-')), 'run');
  return (
    await preflight({ config, experiments: resolveExperiments(config), runDir, runDirSource: '--out' })
  ).map(formatProblem);
}

describe('preflight', () => {
  it('passes the default run', async () => {
    expect(await problems({})).toEqual([]);
  });

  it('validates serverEnv with the servers own rules, naming the field it came from', async () => {
    const found = await problems({
      experiments: ['ttl-cache'],
      variants: ['rc'],
      overrides: {
        'ttl-cache': {
          serverEnv: { MCPBENCH_TOOL_LATENCY_MS: 'slow', MCPBENCH_CACHE_SCOPE: 'team' },
          cases: [{ id: 'a', serverEnv: { MCPBENCH_PAYLOAD_BYTES: -1 } }, { id: 'b' }],
        },
      },
    });
    expect(found).toHaveLength(3);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^overrides\.ttl-cache\.serverEnv\.MCPBENCH_TOOL_LATENCY_MS: /),
        expect.stringMatching(/^overrides\.ttl-cache\.serverEnv\.MCPBENCH_CACHE_SCOPE: /),
        expect.stringMatching(/^overrides\.ttl-cache\.cases\[0\]\.serverEnv\.MCPBENCH_PAYLOAD_BYTES: /),
      ]),
    );
  });

  it('checks legacy-only variables only when a legacy variant takes part', async () => {
    const env = { overrides: { 'ttl-cache': { serverEnv: { MCPBENCH_LEGACY_JSON_RESPONSE: 'maybe' } } } };
    expect(await problems({ experiments: ['ttl-cache'], variants: ['rc'], ...env })).toEqual([]);
    expect(await problems({ experiments: ['ttl-cache'], variants: ['legacy-redis'], ...env })).toEqual([
      expect.stringMatching(/^overrides\.ttl-cache\.serverEnv\.MCPBENCH_LEGACY_JSON_RESPONSE: /),
    ]);
  });

  it('refuses unknown scenario parameters and accepts known ones', async () => {
    const found = await problems({
      experiments: ['rolling-update'],
      overrides: { 'rolling-update': { scenarioParams: { thinkTimeMs: 10, thinkTime: 10 } } },
    });
    expect(found).toEqual([
      expect.stringMatching(/^overrides\.rolling-update\.scenarioParams\.thinkTime: unknown/),
    ]);
  });

  it('a threshold selecting a case id or an experiment name passes; one selecting a variant not run fails', async () => {
    const found = await problems({
      experiments: ['ttl-cache'],
      variants: ['rc'],
      thresholds: {
        'latency{experiment:ttl-cache}': ['p(50)<10'],
        'latency{experiment:ttl-cache~catalogue-100-rtt-5ms,variant:rc}': ['p(50)<10'],
        'latency{variant:legacy-sticky}': ['p(50)<10'],
      },
    });
    expect(found).toEqual([
      expect.stringMatching(/^thresholds\.latency\{variant:legacy-sticky\}: selects no/),
    ]);
  });

  it('has one list of checks that other checks are added to', () => {
    expect(PREFLIGHT_CHECKS.length).toBeGreaterThanOrEqual(5);
  });
});
