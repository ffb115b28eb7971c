import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive } from './processes.js';

/**
 * What the harness may do on its own to get a system program it needs (Redis, Chromium for the report
 * test): MCPBENCH_PROVISION=auto (default) may start a Docker container and install Debian packages
 * with apt-get; MCPBENCH_PROVISION=off only uses what is given or already installed.
 */
export type ProvisionMode = 'auto' | 'off';

export function provisionMode(env: NodeJS.ProcessEnv = process.env): ProvisionMode {
  const value = env.MCPBENCH_PROVISION;
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'off') return 'off';
  throw new Error(`MCPBENCH_PROVISION="${value}": expected auto or off`);
}

/** True when `path` is a regular file this process may execute. */
export function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` in PATH's directories, or null. */
export function findOnPath(name: string, path: string | undefined = process.env.PATH): string | null {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** Where apt-get is, when it is anywhere a root shell would find it. */
const APT_GET_PATHS = ['/usr/bin/apt-get', '/bin/apt-get'];

/** What decides whether this machine can install a Debian package by itself; injectable for tests. */
export interface AptHost {
  /** /etc/os-release's text ('' when there is none). */
  osRelease: string;
  isRoot: boolean;
  /** apt-get's path, or null. */
  aptGet: string | null;
  /** The lock file that keeps two installs (two test workers, two runs) from running apt at once. */
  lockFile: string;
}

export function aptHost(): AptHost {
  let osRelease = '';
  try {
    osRelease = readFileSync('/etc/os-release', 'utf8');
  } catch {
    // not Linux, or a minimal system
  }
  return {
    osRelease,
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    aptGet: findOnPath('apt-get') ?? APT_GET_PATHS.find(isExecutable) ?? null,
    lockFile: join(tmpdir(), 'mcpbench-apt-install.lock'),
  };
}

/** Why this machine cannot install a Debian package by itself, or null when it can. */
export function cannotAptInstall(host: AptHost, mode: ProvisionMode): string | null {
  if (mode === 'off') return 'MCPBENCH_PROVISION=off';
  const ids = /^(?:ID|ID_LIKE)=(.*)$/gm;
  const words: string[] = [];
  for (const m of host.osRelease.matchAll(ids)) words.push(...(m[1] ?? '').replace(/"/g, '').split(/\s+/));
  if (!words.some((w) => w === 'debian' || w === 'ubuntu')) return 'not Debian or Ubuntu';
  if (!host.isRoot) return 'not root';
  if (!host.aptGet) return 'no apt-get';
  return null;
}

/**
 * Runs `fn` holding an exclusive lock file (created with O_EXCL, holding the owner's pid), so that
 * concurrent callers in other processes wait instead of running apt-get at the same time. A lock
 * whose owner is gone is taken over.
 */
export async function withInstallLock<T>(
  lockFile: string,
  fn: () => Promise<T>,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx');
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
      // An owner that died leaves its lock behind; an empty file is one being written right now.
      if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
        await unlink(lockFile).catch(() => {});
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`${lockFile}: still held by pid ${owner || '?'} after waiting; remove it if stale`);
      await sleep(options.pollMs ?? 250);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lockFile).catch(() => {});
  }
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (err) {
        const tail = String(stderr).trim().split('\n').slice(-5).join('\n');
        reject(
          new Error(
            `${file} ${args.join(' ')} failed (${err.message.split('\n')[0]})${tail ? `:\n${tail}` : ''}`,
          ),
        );
      } else resolve();
    });
  });
}

/**
 * Installs Debian packages with apt-get (`update -qq`, then `install -y -qq --no-install-recommends`),
 * holding the install lock; `done()` is checked again once the lock is held, so a caller that waited
 * for another one's install does not install a second time. Returns whether this caller installed.
 */
export async function aptInstall(
  host: AptHost,
  packages: string[],
  done: () => boolean,
  log: (line: string) => void,
  why: string,
): Promise<boolean> {
  const aptGet = host.aptGet;
  if (!aptGet) throw new Error('apt-get not found');
  return withInstallLock(host.lockFile, async () => {
    if (done()) return false;
    log(`mcpbench: installing Debian's ${packages.join(', ')} with apt-get (${why})`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run(aptGet, ['update', '-qq'], env);
    await run(aptGet, ['install', '-y', '-qq', '--no-install-recommends', ...packages], env);
    return true;
  });
}

/** Stops a service Debian's package may have started on install (redis-server on port 6379). */
export async function stopDebianService(name: string): Promise<void> {
  const env = { ...process.env };
  const systemd = (() => {
    try {
      return statSync('/run/systemd/system').isDirectory();
    } catch {
      return false;
    }
  })();
  const systemctl =
    findOnPath('systemctl') ?? (isExecutable('/usr/bin/systemctl') ? '/usr/bin/systemctl' : null);
  if (systemd && systemctl) {
    await run(systemctl, ['stop', name], env).catch(() => {});
    return;
  }
  const script = `/etc/init.d/${name}`;
  if (isExecutable(script)) await run(script, ['stop'], env).catch(() => {});
}
