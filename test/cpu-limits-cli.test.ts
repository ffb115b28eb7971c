import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Per-pod CPU limits through the real CLI on real local runs: the limit given by flag reaches every
 * trial's events.jsonl as a cpu-limits event and the report's header, samples carry the cost figures,
 * and no cgroup of the run is left behind, after a whole run or after Ctrl-C.
 */
const cli = fileURLToPath(new URL('../bin/mcpbench.js', import.meta.url));
const V1 = '/sys/fs/cgroup/cpu';
const canLimit = existsSync(join(V1, 'cpu.cfs_quota_us')) && process.getuid?.() === 0;
const runCgroupsOf = (pid: number | undefined) =>
  canLimit ? readdirSync(V1).filter((n) => n.startsWith(`mcpbench-${pid}-`)) : [];

describe('per-pod CPU limits (CLI)', () => {
  it('records the limit in every trial and the report, with cost samples, and leaves no cgroup', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'mcpbench-cpulim-')), 'run');
    const child = execFile(
      process.execPath,
      [
        cli,
        'run',
        '--experiments',
        'ttl-cache',
        '--variants',
        'legacy-redis',
        '--trials',
        '1',
        '--duration',
        '2s',
        '--cpu-limit',
        '500m',
        '--cpu-request',
        '200m',
        '--out',
        out,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(runCgroupsOf(child.pid)).toEqual([]);
    const trial = join(out, 'raw', 'ttl-cache~catalogue-100-rtt-5ms', 'legacy-redis', 'trial-1');
    const events = (await readFile(join(trial, 'events.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const limits = events.filter((e) => e.kind === 'cpu-limits');
    expect(limits).toHaveLength(1);
    expect(limits[0].detail).toMatchObject({
      enforced: canLimit,
      cpuLimitMillicores: 500,
      mechanism: canLimit ? 'cgroup-v1' : 'none',
    });
    const samples = (await readFile(join(trial, 'samples.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const last = samples.at(-1);
    expect(last.replicas[0].cpuSecondsTotal).toBeGreaterThan(0);
    expect(last.replicas[0].rssBytes).toBeGreaterThan(0);
    expect(last.redis.usedMemoryBytes).toBeGreaterThan(0);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toContain(
      canLimit ? 'Per-pod CPU limits: enforced (500m per pod' : 'Per-pod CPU limits: NOT enforced',
    );
  }, 120_000);

  it.skipIf(!canLimit)(
    'removes the run cgroups on Ctrl-C',
    async () => {
      const out = join(await mkdtemp(join(tmpdir(), 'mcpbench-cpulim-')), 'run');
      const child = spawn(
        process.execPath,
        [
          cli,
          'run',
          '--experiments',
          'ttl-cache',
          '--variants',
          'rc',
          '--trials',
          '1',
          '--duration',
          '30s',
          '--out',
          out,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let text = '';
      await new Promise<void>((resolve, reject) => {
        child.stderr?.setEncoding('utf8').on('data', (d: string) => {
          text += d;
          if (/load running/.test(text)) resolve();
        });
        child.on('exit', () => reject(new Error(`run ended before its load started:\n${text}`)));
      });
      expect(runCgroupsOf(child.pid)).toHaveLength(1);
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(runCgroupsOf(child.pid)).toEqual([]);
    },
    120_000,
  );
});
