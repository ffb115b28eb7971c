import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pidAlive } from '../util/processes.js';
import { descendants } from './process-tree.js';

/**
 * End to end: the real CLI runs a shortened suite (every experiment × every variant) on the local
 * cluster — real server processes, real Redis, real proxies, the built-in engine — and the run
 * directory it leaves is complete and analysable. Then Ctrl-C mid-run leaves nothing running.
 */
const cli = fileURLToPath(new URL('../bin/mcpbench.js', import.meta.url));

describe('mcpbench run (local cluster, shortened suite)', () => {
  it('runs every experiment against every variant and writes a complete, analysed run directory', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'mcpbench-suite-')), 'run');
    const stderr: string[] = [];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [cli, 'run', '--duration', '3s', '--trials', '1', '--out', out], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
      child.on('exit', (c) => resolve(c));
    });
    expect(code, stderr.join('')).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(manifest.status).toBe('complete');
    const experiments = await readdir(join(out, 'raw'));
    expect(experiments.map((e) => e.split('~')[0]).sort()).toEqual([
      'capacity',
      'hpa',
      'pod-kill',
      'rolling-update',
      'ttl-cache',
    ]);
    for (const experiment of experiments) {
      const variants = await readdir(join(out, 'raw', experiment));
      expect(variants.sort()).toEqual(['legacy-redis', 'legacy-sticky', 'rc']);
      for (const variant of variants) {
        const engine = JSON.parse(
          await readFile(join(out, 'raw', experiment, variant, 'trial-1', 'engine.json'), 'utf8'),
        );
        expect(engine.counts.requests, `${experiment}/${variant}`).toBeGreaterThan(0);
      }
    }
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    expect(summary.schema).toBe('mcpbench/summary@1');
    expect(existsSync(join(out, 'report.md'))).toBe(true);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    const text = stderr.join('');
    expect(text).toContain(join(out, 'report.md'));
  }, 300_000);

  it('on Ctrl-C stops, tears every process down and marks the run interrupted', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'mcpbench-sigint-')), 'run');
    const child = spawn(
      process.execPath,
      [cli, 'run', '--experiments', 'rolling-update', '--duration', '20s', '--out', out],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    // Wait until the variant's replicas (and Redis) are up and load is flowing.
    let spawned: number[] = [];
    for (let i = 0; i < 100 && spawned.length < 3; i++) {
      await sleep(200);
      spawned = descendants(child.pid!);
    }
    await sleep(2_000);
    spawned = descendants(child.pid!);
    expect(spawned.length).toBeGreaterThanOrEqual(3);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    await sleep(500);
    expect(spawned.filter(pidAlive)).toEqual([]);
    const manifest = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(manifest.status).toBe('interrupted');
  }, 120_000);
});
