import { existsSync } from 'node:fs';
import { request } from 'node:http';
import {
  type AptHost,
  aptHost,
  aptInstall,
  cannotAptInstall,
  findOnPath,
  isExecutable,
  type ProvisionMode,
  provisionMode,
  stopDebianService,
} from '../../util/system-provision.js';

/**
 * Where the embedded cluster (and the tests) get Redis from, in this order:
 *   1. an explicit URL (`--redis-url`, `redisUrl` in the run config, or REDIS_URL): used as is; the
 *      harness cannot kill it, so pod-kill's kill-redis action is skipped with that reason;
 *   2. a redis-server binary: MCPBENCH_REDIS_SERVER when set (then nothing else is searched for a
 *      binary), else redis-server on PATH, else /usr/bin/redis-server;
 *   3. Docker through testcontainers, when a Docker daemon answers (the offline build's
 *      mcpbench/redis:dev image when it is there, else redis:7-alpine);
 *   4. Debian's redis-server installed with apt-get, when the machine is Debian or Ubuntu, the user is
 *      root and MCPBENCH_PROVISION is not `off`.
 * Otherwise it throws RedisUnavailable, naming every way to provide Redis.
 */

export type RedisSource =
  | { kind: 'url'; url: string; from: string }
  | { kind: 'binary'; binary: string; from: string }
  | { kind: 'docker'; image: string };

/** Debian's package installs the server here. */
const DEBIAN_REDIS_SERVER = '/usr/bin/redis-server';
/** The offline build's Redis image (cluster/offline/build.sh step_redis). */
export const OFFLINE_REDIS_IMAGE = 'mcpbench/redis:dev';
const REGISTRY_REDIS_IMAGE = 'redis:7-alpine';

const REDIS_WAYS =
  'Provide Redis in one of these ways: set REDIS_URL=redis://HOST:PORT (or pass --redis-url, or set redisUrl in the run config); ' +
  'install redis-server (Debian: apt-get install redis-server) or point MCPBENCH_REDIS_SERVER at a redis-server binary; ' +
  'or start a Docker daemon (testcontainers then runs Redis in a container). ' +
  'As root on Debian or Ubuntu, mcpbench installs redis-server with apt-get itself unless MCPBENCH_PROVISION=off.';

export class RedisUnavailable extends Error {
  constructor(readonly tried: string[]) {
    super(`no Redis found:\n${tried.map((t) => `  - ${t}`).join('\n')}\n${REDIS_WAYS}`);
  }
}

/** A URL given for Redis, checked; the error names where it came from. */
function checkRedisUrl(url: string, from: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${from}: "${url}" is not a URL (expected redis://HOST:PORT)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new Error(`${from}: "${url}" is not a redis:// or rediss:// URL`);
  if (!parsed.hostname) throw new Error(`${from}: "${url}" has no host`);
  return url;
}

export interface RedisProbe {
  env: NodeJS.ProcessEnv;
  mode: ProvisionMode;
  apt: AptHost;
  /** Where Debian's package puts redis-server. */
  debianBinary: string;
  /** Whether a Docker daemon answers, or why not. */
  docker: () => Promise<string | null>;
  /** Stops the service Debian's package starts on install. */
  stopService: (name: string) => Promise<void>;
  log: (line: string) => void;
}

function defaultRedisProbe(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): RedisProbe {
  return {
    env: process.env,
    mode: provisionMode(),
    apt: aptHost(),
    debianBinary: DEBIAN_REDIS_SERVER,
    docker: dockerUnavailable,
    stopService: stopDebianService,
    log,
  };
}

/** The Docker daemon's socket (DOCKER_HOST=unix://... or the default one). */
function dockerSocket(env: NodeJS.ProcessEnv): string | null {
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  if (host) return null;
  return '/var/run/docker.sock';
}

/** Why no Docker daemon can be used, or null when one answers /_ping within a second. */
export async function dockerUnavailable(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const socketPath = dockerSocket(env);
  if (!socketPath) return `DOCKER_HOST=${env.DOCKER_HOST} is not a unix socket (only a local daemon is used)`;
  if (!existsSync(socketPath)) return `no Docker daemon (${socketPath} does not exist)`;
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? null : `Docker daemon at ${socketPath} answered ${res.statusCode}`);
    });
    req.once('timeout', () => {
      req.destroy();
      resolve(`Docker daemon at ${socketPath} did not answer within 1 s`);
    });
    req.once('error', (err) => resolve(`no Docker daemon answers at ${socketPath} (${err.message})`));
    req.end();
  });
}

/** Step 2: a redis-server binary, or why there is none. */
function findBinary(probe: RedisProbe): { source?: RedisSource; why?: string } {
  const explicit = probe.env.MCPBENCH_REDIS_SERVER;
  if (explicit) {
    if (isExecutable(explicit))
      return { source: { kind: 'binary', binary: explicit, from: 'MCPBENCH_REDIS_SERVER' } };
    return {
      why: `MCPBENCH_REDIS_SERVER=${explicit}: not an executable file (no other binary was looked for)`,
    };
  }
  const onPath = findOnPath('redis-server', probe.env.PATH);
  if (onPath) return { source: { kind: 'binary', binary: onPath, from: 'PATH' } };
  if (isExecutable(probe.debianBinary))
    return { source: { kind: 'binary', binary: probe.debianBinary, from: probe.debianBinary } };
  return { why: `redis-server: not on PATH, not at ${probe.debianBinary}, MCPBENCH_REDIS_SERVER not set` };
}

/**
 * A Redis the caller can start, stop and kill (steps 2–4): what the tests and the pod-kill experiment
 * need. `tried` collects why earlier steps gave nothing (for the error).
 */
export async function resolveOwnedRedis(
  probe: RedisProbe = defaultRedisProbe(),
  tried: string[] = [],
): Promise<RedisSource> {
  const binary = findBinary(probe);
  if (binary.source) return binary.source;
  tried.push(binary.why ?? 'redis-server: not found');

  if (probe.mode === 'off') tried.push('Docker: not tried (MCPBENCH_PROVISION=off)');
  else {
    const why = await probe.docker();
    if (why === null) return { kind: 'docker', image: await dockerRedisImage() };
    tried.push(`Docker: ${why}`);
  }

  const cannot = cannotAptInstall(probe.apt, probe.mode);
  if (cannot) {
    tried.push(`apt-get install redis-server: not tried (${cannot})`);
    throw new RedisUnavailable(tried);
  }
  const installed = () => isExecutable(probe.debianBinary);
  const installedNow = await aptInstall(
    probe.apt,
    ['redis-server'],
    installed,
    probe.log,
    'no Redis found otherwise',
  );
  if (installedNow) await probe.stopService('redis-server');
  if (!installed()) {
    tried.push(`apt-get install redis-server: ran, but ${probe.debianBinary} is still missing`);
    throw new RedisUnavailable(tried);
  }
  const from = installedNow ? 'installed now with apt-get' : "Debian's package, already installed";
  return { kind: 'binary', binary: probe.debianBinary, from };
}

/**
 * The whole chain (steps 1–4) for a run: an explicit URL first (`url` from the flag or config, named
 * by `urlFrom`), then REDIS_URL, then a Redis the harness starts itself.
 */
export async function resolveRedis(
  options: { url?: string; urlFrom?: string; probe?: RedisProbe } = {},
): Promise<RedisSource> {
  const probe = options.probe ?? defaultRedisProbe();
  if (options.url) {
    const from = options.urlFrom ?? '--redis-url';
    return { kind: 'url', url: checkRedisUrl(options.url, from), from };
  }
  const envUrl = probe.env.REDIS_URL;
  if (envUrl) return { kind: 'url', url: checkRedisUrl(envUrl, 'REDIS_URL'), from: 'REDIS_URL' };
  return resolveOwnedRedis(probe, ['REDIS_URL / --redis-url / redisUrl: not set']);
}

/** One line saying where Redis comes from, for the run's log. */
export function describeRedisSource(source: RedisSource): string {
  switch (source.kind) {
    case 'url':
      return `Redis at ${redactUrl(source.url)} (from ${source.from}; not started or killed by mcpbench)`;
    case 'binary':
      return `Redis: ${source.binary} (from ${source.from})`;
    case 'docker':
      return `Redis: Docker image ${source.image} through testcontainers`;
  }
}

/** A URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** The offline build's image when Docker has it (no registry needed), else the registry's redis image. */
async function dockerRedisImage(): Promise<string> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await getContainerRuntimeClient();
    const { ImageName } = await import('testcontainers');
    if (await client.image.exists(ImageName.fromString(OFFLINE_REDIS_IMAGE))) return OFFLINE_REDIS_IMAGE;
  } catch {
    // fall through to the registry image
  }
  return REGISTRY_REDIS_IMAGE;
}
