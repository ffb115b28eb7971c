import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CapacityTrialSchema, RUN_FILES, trialDir } from '../rundir/layout.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'mcpbench.js');

/**
 * A server whose capacity is known from physics: every tool call burns MCPBENCH_TOOL_CPU_MS of CPU and
 * the pod is held to its CPU limit, so one pod carries at most limit ÷ CPU per call calls per second
 * (250m ÷ 20 ms = 12.5/s). One call per turn (scenario `calls`), a latency objective loose enough that
 * the achieved throughput decides, real server processes on the local provider. The margin here is
 * wide (the request handling itself costs CPU too, and the machine is shared); `npm run
 * bench:capacity` prints the exact ratio at ±5%.
 */
const CPU_MS = 20;
const LIMIT_M = 250;
const THEORY = LIMIT_M / CPU_MS;

describe('capacity search on a server of known capacity', () => {
  it('finds limit ÷ CPU per call for every variant, with the limit enforced', async () => {
    const base = await mkdtemp(join(tmpdir(), 'mcpbench-capacity-physics-'));
    const out = join(base, 'run');
    const config = join(base, 'run.yaml');
    await writeFile(
      config,
      [
        'experiments: [capacity]',
        'overrides:',
        '  capacity:',
        '    scenario: calls',
        `    serverEnv: { MCPBENCH_TOOL_CPU_MS: ${CPU_MS} }`,
        `    resources: { cpuLimit: ${LIMIT_M}m, cpuRequest: ${LIMIT_M}m }`,
        '    search: { startRate: 5, factor: 2, resolution: 10%, maxSteps: 10, settle: 1s, measure: 6s }',
        "    slo: { request: 'p(99)<5000', turn: null }",
        '',
      ].join('\n'),
    );
    await run(process.execPath, [CLI, 'run', '--config', config, '--out', out], { timeout: 480_000 });
    for (const variant of ['legacy-sticky', 'legacy-redis', 'rc']) {
      const dir = trialDir(out, 'capacity', variant, 1);
      const capacity = CapacityTrialSchema.parse(
        JSON.parse(await readFile(join(dir, RUN_FILES.capacity), 'utf8')),
      );
      expect(capacity.cpuLimitMillicores).toBe(LIMIT_M);
      expect(capacity.cpuLimitEnforced, `${variant}: ${capacity.cpuLimitNote}`).toBe(true);
      expect(capacity.result.status).toBe('converged');
      const rate = capacity.result.sustainableRate as number;
      // one call per turn: calls per second = turns per second
      const calls = capacity.steps.find((s) => s.rate === rate)?.toolCalls ?? 0;
      expect(calls).toBeGreaterThan(0);
      expect(rate / THEORY, `${variant}: ${rate.toFixed(2)} calls/s vs ${THEORY} in theory`).toBeGreaterThan(
        0.7,
      );
      expect(rate / THEORY).toBeLessThan(1.3);
      expect(capacity.steps.every((s) => s.verdict !== 'generator-limited')).toBe(true);
    }
  }, 600_000);
});
