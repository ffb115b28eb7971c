import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRunConfig } from './config.js';
import { prepareRunCluster } from './providers.js';

/**
 * Kind teardown deletes only a cluster this run created, decided from a check that succeeded. The
 * `kind` here is a stand-in script that records its arguments and answers `get clusters` as told:
 * the test is about our teardown decision, not about kind. With an offline-built kind in .cache the
 * harness would use that one instead, so the test is skipped there.
 */
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const builtKind = existsSync(join(ROOT, '.cache/offline/bin/kind'));
const cli = join(ROOT, 'bin/mcpbench.js');

let dir: string;
let calls: string;
const savedPath = process.env.PATH;

/** `fail-once`: the first `get clusters` fails (a transient error), later ones list the cluster. */
async function fakeKind(getClusters: 'fail' | 'fail-once' | 'list-mcpbench'): Promise<void> {
  const fail = 'echo "ERROR: failed to list clusters: cannot reach the container runtime" >&2; exit 1';
  const answer =
    getClusters === 'fail'
      ? fail
      : getClusters === 'fail-once'
        ? `if [ "$(grep -c '^get clusters' "${calls}")" -le 1 ]; then ${fail}; fi; echo mcpbench; exit 0`
        : 'echo mcpbench; exit 0';
  await writeFile(
    join(dir, 'kind'),
    `#!/bin/sh\necho "$*" >> "${calls}"\ncase "$1 $2" in\n  "get clusters") ${answer} ;;\n  version*) echo "kind v0.0.0-fake"; exit 0 ;;\nesac\nexit 1\n`,
  );
  await chmod(join(dir, 'kind'), 0o755);
}

const recorded = async () => (existsSync(calls) ? (await readFile(calls, 'utf8')).trim().split('\n') : []);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpbench-fake-kind-'));
  calls = join(dir, 'calls.txt');
  // Only the fake and the system's basic tools: no real kind, no docker.
  process.env.PATH = `${dir}:/usr/bin:/bin`;
});
afterEach(() => {
  process.env.PATH = savedPath;
});

describe.skipIf(builtKind)('kind teardown (prepareRunCluster)', () => {
  const config = buildRunConfig({}, { cluster: 'kind' });

  it('a failed existence check leaves the cluster alone and says so, even if it answers later', async () => {
    await fakeKind('fail-once');
    const lines: string[] = [];
    const teardown = await prepareRunCluster(config, (l) => lines.push(l));
    await teardown();
    const seen = await recorded();
    expect(seen).toContain('get clusters');
    expect(seen.filter((c) => c.startsWith('delete'))).toEqual([]);
    expect(lines.join('\n')).toMatch(/could not check whether the kind cluster is up.*get clusters` failed/);
    expect(lines.join('\n')).toMatch(/kind cluster left alone \(whether it was up before the run is unknown/);
  });

  it('a cluster that was up before the run is left alone', async () => {
    await fakeKind('list-mcpbench');
    const lines: string[] = [];
    await (await prepareRunCluster(config, (l) => lines.push(l)))();
    expect((await recorded()).filter((c) => c.startsWith('delete'))).toEqual([]);
    expect(lines.join('\n')).toMatch(/left alone \(it was up before the run\)/);
  });

  it('with no kind binary at all, the teardown names the missing binary and deletes nothing', async () => {
    const lines: string[] = [];
    await (await prepareRunCluster(config, (l) => lines.push(l)))();
    expect(lines.join('\n')).toMatch(/no kind binary \(kind not found/);
    expect(lines.join('\n')).toMatch(/left alone/);
  });

  it('`mcpbench run --cluster kind` with a failing check: the run fails, no delete cluster call', async () => {
    await fakeKind('fail');
    const r = await promisify(execFile)(
      process.execPath,
      [
        cli,
        'run',
        '--cluster',
        'kind',
        '--experiments',
        'ttl-cache',
        '--variants',
        'rc',
        '--trials',
        '1',
        '--duration',
        '1s',
        '--out',
        join(dir, 'run'),
      ],
      { env: { ...process.env, PATH: `${dir}:/usr/bin:/bin` } },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/kind/);
    expect(r.stderr).not.toMatch(/deleting the kind cluster/);
    expect((await recorded()).filter((c) => c.startsWith('delete'))).toEqual([]);
  });
});
