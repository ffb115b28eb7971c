import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive } from '../util/processes.js';
import { descendants } from './process-tree.js';

/**
 * Results that are never wrong about themselves, through the real CLI on real local runs (real
 * server processes, the built-in engine): Ctrl-C during the last trial gives an `interrupted` run
 * whose cut-off trial is not a whole one and exit 130; a SIGKILLed run is reported as died, not
 * running; compare refuses (exit 2) runs it cannot honestly compare; report refuses a run without
 * raw results.
 */
const cli = fileURLToPath(new URL('../bin/mcpbench.js', import.meta.url));

type Outcome = { code: number; stdout: string; stderr: string };
const mcpbench = (...args: string[]): Promise<Outcome> =>
  promisify(execFile)(process.execPath, [cli, ...args], { maxBuffer: 16 * 1024 * 1024 }).then(
    (r) => ({ code: 0, ...r }),
    (e: Outcome) => e,
  );

/** A `mcpbench run` child whose stderr can be awaited line by line. */
function startRun(args: string[]): {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
  waitFor: (re: RegExp) => Promise<void>;
} {
  const child = spawn(process.execPath, [cli, 'run', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    text += d;
    for (const w of waiters.splice(0)) {
      if (w.re.test(text)) w.resolve();
      else waiters.push(w);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      if (re.test(text)) return resolve();
      waiters.push({ re, resolve });
      exited.then(() => reject(new Error(`run exited before ${re}:\n${text}`)));
    });
  return { child, exited, stderr: () => text, waitFor };
}

const survivors: number[] = [];
afterAll(() => {
  for (const pid of survivors) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
});

const RUN = ['--experiments', 'ttl-cache', '--variants', 'rc', '--duration', '3s'];
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpbench-honesty-'));
});

describe('a run that did not finish says so', () => {
  it('Ctrl-C during the last trial: exit 130, run interrupted, the cut-off trial not a whole one, nothing left running', async () => {
    const out = join(dir, 'interrupted');
    const run = startRun([...RUN, '--trials', '2', '--out', out]);
    await run.waitFor(/trial 2\/2: load running/);
    const spawned = descendants(run.child.pid as number);
    survivors.push(...spawned);
    expect(spawned.length, run.stderr()).toBeGreaterThanOrEqual(1);
    run.child.kill('SIGINT');
    expect(await run.exited, run.stderr()).toBe(130);
    // Teardown ran before the exit; give the kernel a moment to reap what it signalled.
    for (let i = 0; i < 20 && spawned.some(pidAlive); i++) await sleep(100);
    expect(spawned.filter(pidAlive)).toEqual([]);

    const manifest = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(manifest.status).toBe('interrupted');
    const key = manifest.experiments[0] ? `${manifest.experiments[0]}/rc` : '';
    expect(manifest.completedTrials[key]).toBe(1);
    expect(manifest.interruptedTrials[key]).toBe(2);
    const trial2 = join(out, 'raw', manifest.experiments[0], 'rc', 'trial-2');
    expect(existsSync(join(trial2, 'engine.json'))).toBe(false);
    const cut = JSON.parse(await readFile(join(trial2, 'interrupted.json'), 'utf8'));
    expect(cut.ranMs).toBeLessThan(cut.plannedMs);
    expect(existsSync(join(trial2, 'engine.partial.json'))).toBe(true);

    // The report summarises the one whole trial and lists the cut-off one as left out.
    const report = await mcpbench('report', out);
    expect(report.code, report.stderr).toBe(0);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/status: interrupted/);
    expect(md).toMatch(/Trials left out \(interrupted\)[\s\S]*trial-2: interrupted after/);
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    expect(summary.complete).toBe(false);
    expect(summary.variants.map((v: { trials: number }) => v.trials)).toEqual([1]);
  }, 120_000);

  it('a SIGKILLed run is reported as died, not running, by report and compare', async () => {
    const out = join(dir, 'killed');
    const run = startRun([...RUN, '--trials', '2', '--out', out]);
    await run.waitFor(/trial 2\/2: load running/);
    survivors.push(...descendants(run.child.pid as number));
    run.child.kill('SIGKILL');
    await run.exited;
    const manifest = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(manifest.status).toBe('running'); // what the dead process left behind

    const report = await mcpbench('report', out);
    expect(report.code, report.stderr).toBe(0);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/status: died/);
    expect(md).toMatch(new RegExp(`process ${run.child.pid} is gone`));
    expect(md).not.toMatch(/status: running/);

    const compare = await mcpbench('compare', out, out);
    expect(compare.code, compare.stderr).toBe(2);
    expect(compare.stderr).toMatch(/baseline .*killed is died \(the run's process died/);
    expect(compare.stderr).toMatch(/--allow-incomplete/);
    const allowed = await mcpbench('compare', out, out, '--allow-incomplete');
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stderr).toMatch(/warning: baseline run did not complete \(status: died/);

    // A manifest left running by another host cannot be judged from here: unknown, not running.
    const foreign = join(dir, 'foreign');
    await cp(out, foreign, { recursive: true });
    const m = JSON.parse(await readFile(join(foreign, 'run.json'), 'utf8'));
    m.process.hostname = 'some-other-host';
    await writeFile(join(foreign, 'run.json'), JSON.stringify(m));
    expect((await mcpbench('report', foreign)).code).toBe(0);
    expect(await readFile(join(foreign, 'report.md'), 'utf8')).toMatch(
      /status: unknown.*started on another host \(some-other-host\), never finished/,
    );
  }, 120_000);
});

describe('compare and report refuse what they cannot honestly judge', () => {
  let complete: string;
  beforeAll(async () => {
    complete = join(dir, 'complete');
    const r = await mcpbench('run', ...RUN, '--duration', '1s', '--trials', '1', '--out', complete);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  /** A copy of the complete run with its one experiment × variant renamed to another variant. */
  async function renamedCopy(name: string, keepOriginal: boolean): Promise<string> {
    const copy = join(dir, name);
    await cp(complete, copy, { recursive: true });
    const m = JSON.parse(await readFile(join(copy, 'run.json'), 'utf8'));
    const exp = m.experiments[0] as string;
    if (keepOriginal)
      await cp(join(copy, 'raw', exp, 'rc'), join(copy, 'raw', exp, 'legacy-sticky'), { recursive: true });
    else await rename(join(copy, 'raw', exp, 'rc'), join(copy, 'raw', exp, 'legacy-sticky'));
    m.completedTrials = { ...(keepOriginal ? m.completedTrials : {}), [`${exp}/legacy-sticky`]: 1 };
    await writeFile(join(copy, 'run.json'), JSON.stringify(m));
    return copy;
  }

  it('no experiment × variant in common: exit 2, naming what each side has', async () => {
    const other = await renamedCopy('other-variant', false);
    const r = await mcpbench('compare', complete, other);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).not.toMatch(/Verdict: OK/);
    expect(r.stderr).toMatch(/no experiment × variant in common/);
    expect(r.stderr).toMatch(
      /baseline .*complete has ttl-cache[^ ]* \/ rc; candidate .*other-variant has ttl-cache[^ ]* \/ legacy-sticky/,
    );
  });

  it('pairs present on one side only are compared around, with a warning naming them', async () => {
    const more = await renamedCopy('more-variants', true);
    const r = await mcpbench('compare', complete, more);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /warning: not compared, in one run only: ttl-cache[^ ]* \/ legacy-sticky \(candidate only\)/,
    );
  });

  it('a side without raw results: compare exits 2 naming it; report exits 2 and does not say complete', async () => {
    const empty = join(dir, 'no-raw');
    await cp(complete, empty, { recursive: true });
    await rm(join(empty, 'raw'), { recursive: true });
    const r = await mcpbench('compare', complete, empty);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /candidate .*no-raw: no raw results \(.*raw is missing; run.json lists 1 written trial/,
    );
    const report = await mcpbench('report', empty);
    expect(report.code, report.stderr).toBe(2);
    expect(report.stderr).toMatch(/no raw results/);
    expect(report.stderr + report.stdout).not.toMatch(/status: complete/);
  });
});
