import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { orphanGuarded } from './orphan-guard.js';
import { freePort } from './ports.js';

export interface RedisProcess {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
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
 * Starts a real `redis-server` (Debian's package) on loopback with persistence off.
 * Fails with a clear message when redis-server is not installed.
 */
export async function startRedis(options: { port?: number; binary?: string } = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const binary = options.binary ?? process.env.MCPBENCH_REDIS_SERVER ?? 'redis-server';
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
        `cannot start ${binary}: ${spawnError.message} (install Debian's redis-server: apt-get install -y redis-server)`,
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
    pid: child.pid!,
    child,
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
