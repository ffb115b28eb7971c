import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * A flag beats the config file, per-experiment overrides included, through the real CLI on a real
 * local run (real server processes, the built-in engine): the file asks ttl-cache for 4 s, the
 * command line for 2 s, and the load runs 2 s.
 */
const cli = fileURLToPath(new URL('../bin/mcpbench.js', import.meta.url));

describe('config precedence', () => {
  it('runs an experiment for --duration even when the file gives it a duration of its own', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpbench-precedence-'));
    const config = join(dir, 'run.yaml');
    await writeFile(config, 'overrides:\n  ttl-cache:\n    duration: 4s\n    trials: 2\n');
    const out = join(dir, 'run');
    const args = ['run', '--config', config, '--experiments', 'ttl-cache', '--variants', 'rc'];
    await promisify(execFile)(
      process.execPath,
      [cli, ...args, '--duration', '2s', '--trials', '1', '--out', out],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const manifest = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(manifest.status).toBe('complete');
    expect(manifest.trials).toBe(1);
    const engine = JSON.parse(
      await readFile(
        join(out, 'raw', 'ttl-cache~catalogue-100-rtt-5ms', 'rc', 'trial-1', 'engine.json'),
        'utf8',
      ),
    );
    // the load's own measured length: 2 s planned (the file's 4 s would be at least 4 000 ms)
    expect(engine.durationMs).toBeGreaterThanOrEqual(1_900);
    expect(engine.durationMs).toBeLessThan(3_500);
  }, 120_000);
});
