import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * End to end on real runs (local cluster, real servers, the real CLI): thresholds fail a run and
 * write junit.xml; `mcpbench compare` passes two runs of the same build and fails a run whose
 * server was made 3× slower, naming the metric. The threshold is wide (50%) because CI machines are
 * noisy; how often compare errs at the default 5% is what `npm run bench:compare-calibration` measures.
 * The tools sleep 50 ms, so a turn is mostly the server's own time: the 3× slowdown adds ~100 ms per
 * call, far above what a loaded machine adds (with 10 ms tools, queueing on a busy 2-core machine
 * swamped the slowdown and a same-build pair once differed by more than 50%).
 */
const cli = fileURLToPath(new URL('../bin/mcpbench.js', import.meta.url));

type Outcome = { code: number; stdout: string; stderr: string };
const mcpbench = (...args: string[]): Promise<Outcome> =>
  promisify(execFile)(process.execPath, [cli, ...args], { maxBuffer: 16 * 1024 * 1024 }).then(
    (r) => ({ code: 0, ...r }),
    (e: Outcome) => e,
  );

let dir: string;
const runs: Record<string, Outcome> = {};
async function run(name: string, yaml: string): Promise<Outcome> {
  await writeFile(join(dir, `${name}.yaml`), yaml);
  const outcome = await mcpbench(
    'run',
    '--experiments',
    'ttl-cache',
    '--variants',
    'legacy-redis,rc',
    '--trials',
    '3',
    '--duration',
    '2s',
    '--config',
    join(dir, `${name}.yaml`),
    '--out',
    join(dir, name),
  );
  runs[name] = outcome;
  return outcome;
}
const serverEnv = (extra = '') =>
  `overrides:\n  ttl-cache:\n    serverEnv: { MCPBENCH_TOOL_LATENCY_MS: 50${extra} }\n`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpbench-compare-'));
  // The three runs go side by side, so a machine that gets busier or quieter while they run moves all
  // of them alike: one after the other, a same-build pair once differed by +271% in request p99
  // because other work started on the machine between them.
  await Promise.all([
    run('a', `${serverEnv()}thresholds:\n  latency: ['p(50)<10000']\n  errors: ['rate<50%']\n`),
    run('b', `${serverEnv()}thresholds:\n  'latency{variant:rc}': ['p(50)<0.001']\n`),
    run('slow', serverEnv(', MCPBENCH_SLOWDOWN: 3')),
  ]);
}, 240_000);

describe('thresholds and compare on real runs', () => {
  it('a run meeting its thresholds exits 0 with a clean junit.xml', async () => {
    expect(runs.a?.code, runs.a?.stderr).toBe(0);
    const xml = await readFile(join(dir, 'a', 'junit.xml'), 'utf8');
    expect(xml).toMatch(/tests="4" failures="0"/);
  });

  it('a run breaking a threshold exits 1 and names it', async () => {
    expect(runs.b?.code, runs.b?.stderr).toBe(1);
    expect(runs.b?.stderr).toMatch(/FAIL latency\{variant:rc\}: p\(50\)<0\.001 — ttl-cache~[^ ]+ \/ rc/);
    expect(await readFile(join(dir, 'b', 'junit.xml'), 'utf8')).toMatch(/failures="1"/);
    expect(await readFile(join(dir, 'b', 'report.md'), 'utf8')).toMatch(/Thresholds: 1 of 1 FAILED/);
  });

  it('compare: same build → exit 0; server 3× slower → exit 1 naming the metric', async () => {
    expect(runs.slow?.code, runs.slow?.stderr).toBe(0);
    const same = await mcpbench('compare', join(dir, 'a'), join(dir, 'b'), '--threshold', '50%');
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toMatch(/Verdict: OK/);
    const junit = join(dir, 'compare.xml');
    const slow = await mcpbench(
      'compare',
      join(dir, 'a'),
      join(dir, 'slow'),
      '--threshold',
      '50%',
      '--junit',
      junit,
    );
    expect(slow.code, slow.stdout + slow.stderr).toBe(1);
    expect(slow.stderr).toMatch(/REGRESSION.*(request p50|turn mean|turn p50)/);
    expect(slow.stderr).toMatch(/MCPBENCH_SLOWDOWN: unset vs "3"/);
    expect(await readFile(junit, 'utf8')).toMatch(/<failure message="regression: /);
  });
});
