import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { orphanGuarded } from '../../util/processes.js';
import { findOnPath } from '../../util/system-provision.js';
import { freePort } from './ports.js';
import { type RedisProbe, type RedisSource, resolveOwnedRedis } from './redis-provision.js';

export interface RedisProcess {
  url: string;
  port: number;
  /** The redis-server process; null when Redis runs in a Docker container. */
  pid: number | null;
  /** Where it came from (binary path or image), for events and logs. */
  source: string;
  /** SIGKILL (what the pod-kill experiment does to Redis). */
  kill(): void;
  stop(): Promise<void>;
}

async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.setTimeout(500);
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => {
      sock.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
  });
}

/**
 * Starts a real Redis on loopback with persistence off, one the caller owns (can stop and kill): the
 * given binary, or what the provision chain finds (redis-provision.ts: MCPBENCH_REDIS_SERVER, PATH,
 * /usr/bin/redis-server, Docker, apt-get). Fails with a message naming every way to provide Redis.
 */
export async function startRedis(
  options: { port?: number; binary?: string; source?: RedisSource; probe?: RedisProbe } = {},
): Promise<RedisProcess> {
  const source: RedisSource = options.binary
    ? { kind: 'binary', binary: options.binary, from: 'option' }
    : (options.source ?? (await resolveOwnedRedis(options.probe)));
  if (source.kind === 'url')
    throw new Error(`startRedis: ${source.from} is an external Redis, not one to start`);
  const port = options.port ?? (await freePort());
  if (source.kind === 'docker') return startRedisContainer(source.image, port);
  return startRedisBinary(source.binary, port);
}

async function startRedisBinary(binary: string, port: number): Promise<RedisProcess> {
  const cmd = orphanGuarded(binary, [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'yes',
  ]);
  const child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (spawnError) {
      throw new Error(
        `cannot start ${binary}: ${spawnError.message} (set MCPBENCH_REDIS_SERVER to a redis-server binary, or REDIS_URL)`,
      );
    }
    if (child.exitCode !== null)
      throw new Error(`${binary} exited with code ${child.exitCode} on port ${port}`);
    if (await answersPing(port)) break;
    await sleep(50);
  }
  if (!(await answersPing(port))) {
    child.kill('SIGKILL');
    throw new Error(`${binary} did not answer PING on port ${port} within 10 s`);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? null,
    source: binary,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(3000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      await exited;
    },
  };
}

/**
 * Redis in a Docker container through testcontainers, published on the given loopback port (fixed,
 * so a container started again after a kill keeps the Service's address). Ryuk (testcontainers'
 * reaper, an image from a registry) is not used: the container is removed by stop(), and kill() at
 * exit removes it with the docker CLI.
 */
async function startRedisContainer(image: string, port: number): Promise<RedisProcess> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer(image)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'])
    .withExposedPorts({ container: 6379, host: port })
    .start();
  const id = container.getId();
  let gone: Promise<unknown> | undefined;
  const docker = findOnPath('docker');
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: null,
    source: `docker image ${image}`,
    kill: () => {
      if (gone) return;
      if (docker) {
        spawnSync(docker, ['rm', '-f', id], { stdio: 'ignore', timeout: 10_000 });
        gone = Promise.resolve();
      } else gone = container.stop({ timeout: 0 }).catch(() => {});
    },
    stop: async () => {
      gone ??= container.stop({ timeout: 3_000 }).catch(() => {});
      await gone;
    },
  };
}
