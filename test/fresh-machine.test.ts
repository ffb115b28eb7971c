import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveOwnedRedis } from '../cluster/local/redis-provision.js';
import { startRedis } from '../cluster/local/redis-server.js';

/**
 * The fresh-machine check: `mcpbench run` (the CLI `npm run bench` calls) with redis-server hidden
 * from it. PATH keeps no directory holding redis-server, MCPBENCH_REDIS_SERVER points nowhere, and
 * MCPBENCH_PROVISION=off turns off the Docker and apt-get steps, so the outcome is fixed: the run
 * stops in its preflight, before any server starts, with exit 2 and every way to provide Redis. With
 * the binary named explicitly the same run gets Redis and completes.
 */
const cli = fileURLToPath(new URL('../bin/mcpbench.js', import.meta.url));

/** PATH without any directory that holds redis-server (or k6). */
const hiddenPath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((d) => d && !existsSync(join(d, 'redis-server')) && !existsSync(join(d, 'k6')))
  .join(delimiter);

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: hiddenPath, ...extra };
  for (const k of ['REDIS_URL', 'K6_BINARY', 'MCPBENCH_K6']) if (!(k in extra)) delete env[k];
  return env;
}

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stderr: string; stdout: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr, stdout, ms: Date.now() - started }));
  });
}

const SHORT_RUN = [
  'run',
  '--experiments',
  'ttl-cache',
  '--variants',
  'legacy-redis',
  '--trials',
  '1',
  '--duration',
  '2s',
];

describe('fresh machine: Redis absent', () => {
  it('stops in the preflight with exit 2, naming every way to provide Redis, before any server starts', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'mcpbench-fresh-')), 'run');
    const r = await runCli(
      [...SHORT_RUN, '--out', out],
      cleanEnv({
        MCPBENCH_REDIS_SERVER: '/nonexistent/redis-server',
        MCPBENCH_PROVISION: 'off',
      }),
    );
    expect(r.stderr).toContain('no Redis found');
    expect(r.stderr).toContain('MCPBENCH_REDIS_SERVER=/nonexistent/redis-server: not an executable file');
    for (const way of ['REDIS_URL', '--redis-url', 'redisUrl', 'apt-get install redis-server', 'Docker'])
      expect(r.stderr).toContain(way);
    expect(r.code).toBe(2);
    // Nothing was brought up and no run directory was started.
    expect(r.stderr).not.toContain('bringing up');
    expect(existsSync(out)).toBe(false);
    // "Within the first second" on a quiet machine; the bound here allows a busy one (Node's start-up
    // and loading the CLI), far below bringing up a replica and running the load.
    expect(r.ms).toBeLessThan(15_000);
  });

  it('gets Redis from an explicitly named binary and completes the run', async () => {
    const owned = await resolveOwnedRedis();
    if (owned.kind !== 'binary')
      throw new Error(`this test needs a redis-server binary; the chain gave ${owned.kind}`);
    const out = join(await mkdtemp(join(tmpdir(), 'mcpbench-fresh-')), 'run');
    const r = await runCli(
      [...SHORT_RUN, '--out', out, '--json'],
      cleanEnv({
        MCPBENCH_REDIS_SERVER: owned.binary,
        MCPBENCH_PROVISION: 'off',
      }),
    );
    expect(r.stderr).toContain(`Redis: ${owned.binary} (from MCPBENCH_REDIS_SERVER)`);
    expect(r.code).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(manifest.status).toBe('complete');
    const experiments = readdirSync(join(out, 'raw'));
    expect(experiments.length).toBeGreaterThan(0);
    for (const e of experiments) {
      expect(readdirSync(join(out, 'raw', e, 'legacy-redis'))).toEqual(['trial-1']);
      const trial = join(out, 'raw', e, 'legacy-redis', 'trial-1');
      const result = JSON.parse(await readFile(join(trial, 'engine.json'), 'utf8'));
      expect(result.counts.requests).toBeGreaterThan(0);
    }
  });

  it('a run whose variants need no Redis does not look for it', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'mcpbench-fresh-')), 'run');
    const r = await runCli(
      [
        'run',
        '--experiments',
        'ttl-cache',
        '--variants',
        'legacy-sticky',
        '--trials',
        '1',
        '--duration',
        '2s',
        '--out',
        out,
      ],
      cleanEnv({ MCPBENCH_REDIS_SERVER: '/nonexistent/redis-server', MCPBENCH_PROVISION: 'off' }),
    );
    expect(r.stderr).not.toContain('no Redis found');
    expect(r.code).toBe(0);
  });
});

describe('an external Redis (--redis-url)', () => {
  it('is used as given and never killed: pod-kill records kill-redis as skipped with the reason', async () => {
    const redis = await startRedis();
    try {
      const out = join(await mkdtemp(join(tmpdir(), 'mcpbench-fresh-')), 'run');
      const r = await runCli(
        [
          'run',
          '--experiments',
          'pod-kill',
          '--variants',
          'legacy-redis',
          '--duration',
          '4s',
          '--out',
          out,
          '--redis-url',
          redis.url,
        ],
        cleanEnv({ MCPBENCH_REDIS_SERVER: '/nonexistent/redis-server', MCPBENCH_PROVISION: 'off' }),
      );
      expect(r.stderr).toContain(`Redis at ${redis.url}`);
      expect(r.code).toBe(0);
      const experiments = readdirSync(join(out, 'raw'));
      expect(experiments).toHaveLength(1);
      const events = (
        await readFile(join(out, 'raw', experiments[0]!, 'legacy-redis', 'trial-1', 'events.jsonl'), 'utf8')
      )
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const notes = events.filter((e) => JSON.stringify(e).includes('kill-redis skipped'));
      expect(notes).toHaveLength(1);
      expect(JSON.stringify(notes[0])).toContain('Redis is external');
      expect(events.some((e) => e.kind === 'redis-killed')).toBe(false);
      // The external Redis outlived the run.
      expect(redis.pid !== null && process.kill(redis.pid, 0)).toBe(true);
    } finally {
      await redis.stop();
    }
  });
});

describe('fresh machine: k6 absent', () => {
  it('--engine k6 without a k6 stops in the preflight with exit 2 and says how to install k6', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'mcpbench-fresh-')), 'run');
    const r = await runCli(
      ['run', '--experiments', 'ttl-cache', '--variants', 'legacy-sticky', '--engine', 'k6', '--out', out],
      cleanEnv({}),
    );
    expect(r.stderr).toContain('--engine k6: no k6 found');
    expect(r.stderr).toContain('install k6 >= 1.0 yourself');
    expect(r.stderr).toContain('K6_BINARY');
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('bringing up');
    expect(existsSync(out)).toBe(false);
  });

  it('K6_BINARY naming no executable is an error naming K6_BINARY', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'mcpbench-fresh-')), 'run');
    const r = await runCli(
      ['run', '--experiments', 'ttl-cache', '--variants', 'legacy-sticky', '--engine', 'k6', '--out', out],
      cleanEnv({ K6_BINARY: '/nonexistent/k6' }),
    );
    expect(r.stderr).toContain('K6_BINARY=/nonexistent/k6: not an executable file');
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});
