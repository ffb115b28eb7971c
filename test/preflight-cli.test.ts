import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeRun } from '../analysis/fixtures.js';

/**
 * Bad input is refused before anything starts, by the real CLI (`node bin/mcpbench.js`, built by
 * `npm run build`): exit 2, with a message naming the flag, config field or file. The commands that
 * are refused here must never get as far as starting a server, so each is given a time limit that a
 * command which did start one would overrun.
 */
const cli = fileURLToPath(new URL('../bin/mcpbench.js', import.meta.url));

type Outcome = { code: number | null; stdout: string; stderr: string; killed?: boolean };
const mcpbench = (args: string[], timeoutMs = 20_000): Promise<Outcome> =>
  new Promise((done) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { timeout: timeoutMs, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; killed?: boolean }) | null;
        done({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          stdout,
          stderr,
          killed: e?.killed,
        });
      },
    );
  });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpbench-preflight-'));
});

const noStackTrace = (o: Outcome) => expect(o.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);

describe('durations need a unit and a sane range (finding 3)', () => {
  it.each([
    [['run', '--duration', '5'], /--duration: "5" has no unit: write 5s or 5ms/],
    [['run', '--duration', ''], /--duration needs a value/],
    [['run', '--duration', '500ms'], /--duration: "500ms" is too short: at least 1s/],
    [['run', '--duration', '700h'], /--duration: "700h" is too long/],
    [['load', '--url', 'http://127.0.0.1:9/mcp', '--duration', '5'], /--duration: "5" has no unit/],
    [['load', '--url', 'http://127.0.0.1:9/mcp', '--duration', ''], /--duration: a duration is needed/],
  ])('%j exits 2 naming --duration', async (args, message) => {
    const out = await mcpbench([...args, '--out', join(dir, `never-${Math.random()}`)]);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toMatch(message);
    noStackTrace(out);
  });

  it('a number without a unit in the config file is refused, naming the field', async () => {
    const config = join(dir, 'bare-duration.yaml');
    await writeFile(
      config,
      'duration: 5\noverrides:\n  hpa:\n    load: { model: open, rate: 4, stages: [{ duration: 2, target: 8 }] }\n',
    );
    const out = await mcpbench(['run', '--config', config, '--out', join(dir, 'never-bare')]);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toContain(`${config}: duration: 5 has no unit: write 5s or 5ms`);
    expect(out.stderr).toContain(`${config}: overrides.hpa.load.stages[0].duration: 2 has no unit`);
  });
});

describe('usage errors exit 2, and --help says what the codes mean', () => {
  it.each([
    [['run', '--bogus'], /unknown option '--bogus'/],
    [['compare', 'only-one'], /missing required argument 'candidate'/],
    [['load'], /required option '--url <url>' not specified/],
    [['serve', 'nope'], /'nope' is invalid for argument 'kind'/],
    [['run', '--cluster', 'mars'], /Allowed choices are local, kind, kube/],
    [['nonsense'], /unknown command 'nonsense'/],
  ])('%j exits 2', async (args, message) => {
    const out = await mcpbench(args);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toMatch(message);
  });

  it('every --help lists the exit codes and exits 0', async () => {
    for (const args of [['--help'], ['run', '--help'], ['compare', '--help'], ['load', '--help']]) {
      const out = await mcpbench(args);
      expect(out.code, args.join(' ')).toBe(0);
      expect(out.stdout).toMatch(/Exit codes:[\s\S]*2 {4}usage or input error[\s\S]*130 {2}interrupted/);
    }
  });
});

describe('an empty value is an error naming the flag, never a default (finding 7)', () => {
  it.each([
    [['serve', 'rc', '--host', '', '--port', '0'], '--host'],
    [['serve', 'legacy', '--redis-url', '', '--port', '0'], '--redis-url'],
    [['run', '--out', ''], '--out'],
    [['run', '--config', ''], '--config'],
    [['run', '--context', ''], '--context'],
    [['load', '--url', ''], '--url'],
    [['report', ''], 'RUN_DIR'],
    [['compare', '', 'x'], 'BASELINE_DIR'],
  ])('%j exits 2 naming %s', async (args, flag) => {
    // Before the fix `serve --host ""` listened on every interface and never exited: the time limit kills it.
    const out = await mcpbench(args, 10_000);
    expect(out.killed, 'the command started instead of refusing').toBeFalsy();
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toContain(`${flag} needs a value, got an empty string`);
  });

  it('an empty out or context in the config file is refused the same way', async () => {
    const config = join(dir, 'empty.yaml');
    await writeFile(config, 'out: ""\ncontext: "  "\n');
    const out = await mcpbench(['run', '--config', config]);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toContain(`${config}: out: needs a value`);
    expect(out.stderr).toContain(`${config}: context: needs a value`);
  });
});

describe('the preflight refuses a run before any replica starts, listing every problem (finding 8)', () => {
  it('bad serverEnv, an unknown scenario and a threshold selecting nothing are all named at once', async () => {
    const config = join(dir, 'bad.yaml');
    await writeFile(
      config,
      [
        'experiments: [ttl-cache, rolling-update]',
        'variants: [legacy-sticky, rc]',
        'overrides:',
        '  ttl-cache:',
        '    serverEnv: { MCPBENCH_CATALOGUE_SIZE: 5000, MCPBENCH_CATALOG_SIZE: 20 }',
        '    cases: [{ id: fast, serverEnv: { MCPBENCH_TTL_MS: -1 } }]',
        '  rolling-update:',
        '    scenario: warp-drive',
        '    serverEnv: { MCPBENCH_LEGACY_MAX_SESSIONS: 0 }',
        'thresholds:',
        '  "turn{experiment:pod-kill}": ["p(50)<30"]',
        '  "latency{variant:legacy-redis}": ["p(50)<30"]',
        '  "latency{experiment:ttl-cache~fast,variant:rc}": ["p(50)<30"]',
        '',
      ].join('\n'),
    );
    const runDir = join(dir, 'never-started');
    const out = await mcpbench(['run', '--config', config, '--out', runDir], 15_000);
    expect(out.killed, 'the run started').toBeFalsy();
    expect(out.code, out.stderr).toBe(2);
    const lines = out.stderr;
    expect(lines).toContain('overrides.ttl-cache.serverEnv.MCPBENCH_CATALOGUE_SIZE: Too big');
    expect(lines).toContain(
      'overrides.ttl-cache.serverEnv.MCPBENCH_CATALOG_SIZE: no server reads this variable',
    );
    expect(lines).toContain('overrides.ttl-cache.cases[0].serverEnv.MCPBENCH_TTL_MS: Too small');
    expect(lines).toContain('overrides.rolling-update.serverEnv.MCPBENCH_LEGACY_MAX_SESSIONS: Too small');
    expect(lines).toContain('overrides.rolling-update.scenario: unknown scenario "warp-drive"');
    expect(lines).toContain('thresholds.turn{experiment:pod-kill}: selects no experiment × variant');
    expect(lines).toContain('thresholds.latency{variant:legacy-redis}: selects no experiment × variant');
    expect(lines).not.toContain('ttl-cache~fast,variant:rc}: selects');
    expect(lines).toContain('7 problem(s) found before starting; nothing was run');
    // Nothing started: the run directory was never created.
    expect(existsSync(runDir)).toBe(false);
  });

  it('--out that is not empty, or a file, is refused before anything starts', async () => {
    const full = join(dir, 'full');
    await mkdir(full);
    await writeFile(join(full, 'keep.txt'), 'x');
    const a = await mcpbench(['run', '--experiments', 'ttl-cache', '--out', full], 15_000);
    expect(a.code, a.stderr).toBe(2);
    expect(a.stderr).toContain(`--out ${full}: directory is not empty`);
    expect(a.stderr).not.toContain('bringing up');
    expect(await readdir(full)).toEqual(['keep.txt']);

    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const b = await mcpbench(['run', '--out', join(file, 'run')], 15_000);
    expect(b.code, b.stderr).toBe(2);
    expect(b.stderr).toContain(`--out ${join(file, 'run')}: ${file} is a file, not a directory`);
  });

  // Where the offline kind build exists the run would be a real one: this is about a machine without it.
  const builtKind = existsSync(fileURLToPath(new URL('../.cache/offline/bin/kind', import.meta.url)));
  it.skipIf(builtKind)(
    '--cluster kind without the binaries it needs is refused in the preflight',
    async () => {
      const out = await mcpbench(['run', '--cluster', 'kind', '--out', join(dir, 'never-kind')], 15_000);
      expect(out.code, out.stderr).toBe(2);
      expect(out.stderr).toMatch(/--cluster kind: no (kind|docker) binary|--cluster kind: no node image/);
      expect(existsSync(join(dir, 'never-kind'))).toBe(false);
    },
  );
});

describe('file errors name the flag and the file and say what is wrong (finding 9)', () => {
  let a: string;
  let b: string;
  beforeAll(async () => {
    const trials = (variant: string) =>
      [1, 2, 3].map((trial) => ({
        experimentId: 'ttl-cache',
        variant,
        trial,
        samples: Array.from({ length: 200 }, (_, i) => 1000 + i),
      }));
    a = await writeRun([...trials('rc')], join(dir, 'run-a'));
    b = await writeRun([...trials('rc')], join(dir, 'run-b'));
  });

  it('compare --junit on a directory and --markdown under a missing parent exit 2, naming both', async () => {
    const junitDir = join(dir, 'junit-dir');
    await mkdir(junitDir);
    const j = await mcpbench(['compare', a, b, '--threshold', '5%', '--junit', junitDir]);
    expect(j.code, j.stderr).toBe(2);
    expect(j.stderr).toContain(`--junit ${junitDir}: is a directory`);
    expect(await readdir(junitDir)).toEqual([]);

    const md = join(dir, 'missing', 'summary.md');
    const m = await mcpbench(['compare', a, b, '--threshold', '5%', '--markdown', md]);
    expect(m.code, m.stderr).toBe(2);
    expect(m.stderr).toContain(`--markdown ${md}: parent directory ${join(dir, 'missing')} does not exist`);
    noStackTrace(m);
  });

  it('load --out on a directory is refused before any load is driven', async () => {
    const outDir = join(dir, 'load-out-dir');
    await mkdir(outDir);
    const out = await mcpbench([
      'load',
      '--url',
      'http://127.0.0.1:9/mcp',
      '--duration',
      '1s',
      '--out',
      outDir,
    ]);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toContain(`--out ${outDir}: is a directory`);
  });

  it('a truncated run.json is named and called truncated, exit 2', async () => {
    const c = await writeRun(
      [{ experimentId: 'ttl-cache', variant: 'rc', trial: 1, samples: [1000, 2000] }],
      join(dir, 'run-truncated'),
    );
    const manifest = join(c, 'run.json');
    const size = (await readFile(manifest)).length;
    await truncate(manifest, Math.floor(size / 2));
    const out = await mcpbench(['report', c]);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toContain(`${manifest}: not valid JSON (truncated? the file ends early)`);
    const cmp = await mcpbench(['compare', a, c, '--threshold', '5%']);
    expect(cmp.code, cmp.stderr).toBe(2);
    expect(cmp.stderr).toContain(`${manifest}: not valid JSON (truncated?`);
  });

  it('--config on a directory or a missing file names the flag and the file', async () => {
    const d = await mcpbench(['run', '--config', dir]);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain(`--config ${dir}: is a directory`);
    const missing = join(dir, 'nope.yaml');
    const m = await mcpbench(['run', '--config', missing]);
    expect(m.code).toBe(2);
    expect(m.stderr).toContain(`--config ${missing}: does not exist`);
  });
});

describe('a percentage needs its % (finding 10)', () => {
  it.each([
    ['1', 'write 1%'],
    ['0.99', 'write 99% or 0.99%'],
    ['5', 'write 5%'],
    ['lots', '"lots" is not a percentage'],
  ])('compare --threshold %s exits 2', async (value, message) => {
    const out = await mcpbench(['compare', 'x', 'y', '--threshold', value]);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toContain(`--threshold: ${message}`);
  });
});
