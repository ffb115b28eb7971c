import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type AptHost, withInstallLock } from '../../util/system-provision.js';
import {
  dockerUnavailable,
  OFFLINE_REDIS_IMAGE,
  type RedisProbe,
  RedisUnavailable,
  resolveOwnedRedis,
  resolveRedis,
} from './redis-provision.js';
import { startRedis } from './redis-server.js';

/**
 * The Redis provision chain: explicit URL, binary, Docker, apt-get, else an error naming every way.
 * The real redis-server of this machine is used where a binary is needed; it is hidden from the
 * chain by giving it a PATH and a Debian path that do not hold it.
 */

/** The machine's redis-server, got through the chain itself (on a fresh machine: installed by it). */
const owned = await resolveOwnedRedis();
if (owned.kind !== 'binary')
  throw new Error(`these tests need a redis-server binary; the chain gave ${owned.kind}`);
const REDIS_BINARY = owned.binary;

const nowhere = '/nonexistent/mcpbench/redis-server';

async function emptyDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'mcpbench-provision-'));
}

/** A probe that finds nothing unless told, and records what the chain asked of it. */
function probe(overrides: Partial<RedisProbe> = {}) {
  const asked = { docker: 0, stopped: [] as string[], lines: [] as string[] };
  const p: RedisProbe = {
    env: { PATH: '/nonexistent-dir' },
    mode: 'off',
    apt: { osRelease: 'ID=debian\n', isRoot: true, aptGet: null, lockFile: join(tmpdir(), 'unused.lock') },
    debianBinary: nowhere,
    docker: async () => {
      asked.docker++;
      return 'no Docker daemon (test)';
    },
    stopService: async (name) => {
      asked.stopped.push(name);
    },
    log: (line) => asked.lines.push(line),
    ...overrides,
  };
  return { p, asked };
}

describe('Redis provision chain', () => {
  it('takes an explicit URL first, then REDIS_URL, and names the source of a bad one', async () => {
    const env = { REDIS_URL: 'redis://127.0.0.1:7001', MCPBENCH_REDIS_SERVER: REDIS_BINARY };
    await expect(
      resolveRedis({ url: 'redis://127.0.0.1:7000', urlFrom: '--redis-url', probe: probe({ env }).p }),
    ).resolves.toEqual({ kind: 'url', url: 'redis://127.0.0.1:7000', from: '--redis-url' });
    await expect(resolveRedis({ probe: probe({ env }).p })).resolves.toEqual({
      kind: 'url',
      url: 'redis://127.0.0.1:7001',
      from: 'REDIS_URL',
    });
    await expect(resolveRedis({ probe: probe({ env: { REDIS_URL: 'localhost:6379' } }).p })).rejects.toThrow(
      /REDIS_URL: "localhost:6379" is not a redis:\/\/ or rediss:\/\/ URL/,
    );
  });

  it('finds redis-server through MCPBENCH_REDIS_SERVER, PATH, then the Debian path', async () => {
    await expect(
      resolveOwnedRedis(probe({ env: { MCPBENCH_REDIS_SERVER: REDIS_BINARY, PATH: '' } }).p),
    ).resolves.toEqual({ kind: 'binary', binary: REDIS_BINARY, from: 'MCPBENCH_REDIS_SERVER' });
    const dir = await emptyDir();
    await symlink(REDIS_BINARY, join(dir, 'redis-server'));
    await expect(resolveOwnedRedis(probe({ env: { PATH: `/nonexistent-dir:${dir}` } }).p)).resolves.toEqual({
      kind: 'binary',
      binary: join(dir, 'redis-server'),
      from: 'PATH',
    });
    await expect(resolveOwnedRedis(probe({ debianBinary: REDIS_BINARY }).p)).resolves.toMatchObject({
      kind: 'binary',
      binary: REDIS_BINARY,
    });
  });

  it('with nothing to use, fails naming every way to provide Redis (and does not ask Docker when provisioning is off)', async () => {
    const { p, asked } = probe({ env: { PATH: '', MCPBENCH_REDIS_SERVER: nowhere } });
    const err = await resolveRedis({ probe: p }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnavailable);
    const message = (err as Error).message;
    expect(message).toContain(`MCPBENCH_REDIS_SERVER=${nowhere}: not an executable file`);
    expect(message).toContain('REDIS_URL');
    expect(message).toContain('--redis-url');
    expect(message).toContain('Docker');
    expect(message).toContain('apt-get install redis-server: not tried (MCPBENCH_PROVISION=off)');
    expect(asked.docker).toBe(0);
    // startRedis (what the tests and the provider call) goes through the same chain.
    await expect(startRedis({ probe: p })).rejects.toBeInstanceOf(RedisUnavailable);
  });

  it('says why apt-get is not used off Debian or without root', async () => {
    const notRoot = probe({ mode: 'auto', apt: { ...probe().p.apt, isRoot: false } });
    await expect(resolveOwnedRedis(notRoot.p)).rejects.toThrow(
      /apt-get install redis-server: not tried \(not root\)/,
    );
    expect(notRoot.asked.docker).toBe(1);
    const fedora = probe({ mode: 'auto', apt: { ...probe().p.apt, osRelease: 'ID=fedora\n' } });
    await expect(resolveOwnedRedis(fedora.p)).rejects.toThrow(/not tried \(not Debian or Ubuntu\)/);
  });

  it('installs with apt-get once when two callers need it at the same time, and stops the service', async () => {
    const dir = await emptyDir();
    const calls = join(dir, 'calls.log');
    const installed = join(dir, 'usr-bin', 'redis-server');
    await mkdir(join(dir, 'usr-bin'));
    // apt-get as the install needs it, recording how it is called; "install" puts redis-server in place.
    const aptGet = join(dir, 'apt-get');
    await writeFile(
      aptGet,
      `#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >> ${calls}\nsleep 0.3\nif [ "$1" = install ]; then ln -s ${REDIS_BINARY} ${installed}; fi\n`,
    );
    await chmod(aptGet, 0o755);
    const apt: AptHost = { osRelease: 'ID=debian\n', isRoot: true, aptGet, lockFile: join(dir, 'apt.lock') };
    const probes = [0, 1].map(() => probe({ mode: 'auto', apt, debianBinary: installed }));
    const sources = await Promise.all(probes.map(({ p }) => resolveOwnedRedis(p)));
    for (const s of sources) expect(s).toMatchObject({ kind: 'binary', binary: installed });
    const lines = (await readFile(calls, 'utf8')).trim().split('\n');
    expect(lines).toEqual([
      'noninteractive update -qq',
      'noninteractive install -y -qq --no-install-recommends redis-server',
    ]);
    expect(probes.flatMap(({ asked }) => asked.lines)).toEqual([
      "mcpbench: installing Debian's redis-server with apt-get (no Redis found otherwise)",
    ]);
    expect(probes.flatMap(({ asked }) => asked.stopped)).toEqual(['redis-server']);
    // And what it installed runs.
    const redis = await startRedis({ source: sources[0]! });
    await redis.stop();
  });
});

describe('install lock', () => {
  it('lets one holder in at a time', async () => {
    const dir = await emptyDir();
    const lock = join(dir, 'x.lock');
    const spans: Array<[number, number]> = [];
    const hold = () =>
      withInstallLock(
        lock,
        async () => {
          const start = performance.now();
          await sleep(150);
          spans.push([start, performance.now()]);
        },
        { pollMs: 20 },
      );
    await Promise.all([hold(), hold(), hold()]);
    spans.sort((a, b) => a[0] - b[0]);
    expect(spans).toHaveLength(3);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  });

  it('takes over a lock whose owner died, and waits for a live one', async () => {
    const dir = await emptyDir();
    const lock = join(dir, 'x.lock');
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.once('exit', r));
    await writeFile(lock, String(dead.pid));
    await expect(withInstallLock(lock, async () => 'took over', { timeoutMs: 5_000 })).resolves.toBe(
      'took over',
    );
    // A live owner (this process) is waited for until the timeout, naming the file.
    await writeFile(lock, String(process.pid));
    await expect(withInstallLock(lock, async () => 'no', { timeoutMs: 200, pollMs: 20 })).rejects.toThrow(
      `${lock}: still held by pid ${process.pid}`,
    );
  });
});

/** Step 3 for real, where a Docker daemon answers (it has none on a machine without Docker). */
const dockerWhy = await dockerUnavailable();
if (dockerWhy) console.warn(`Redis in Docker test skipped: ${dockerWhy}`);

describe.skipIf(dockerWhy !== null)(
  `Redis through testcontainers${dockerWhy ? ` (skipped: ${dockerWhy})` : ''}`,
  () => {
    it('runs Redis in a container on a fixed loopback port, kills it and starts it again there', async () => {
      const { p } = probe({ mode: 'auto', docker: dockerUnavailable });
      const source = await resolveOwnedRedis(p);
      expect(source.kind).toBe('docker');
      const first = await startRedis({ source });
      let second: Awaited<ReturnType<typeof startRedis>> | undefined;
      try {
        expect(first.pid).toBeNull();
        expect(first.source).toMatch(new RegExp(`${OFFLINE_REDIS_IMAGE}|redis:7-alpine`));
        first.kill();
        second = await startRedis({ source, port: first.port });
        expect(second.url).toBe(first.url);
      } finally {
        await first.stop();
        await second?.stop();
      }
    });
  },
);
