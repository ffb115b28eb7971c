import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { orphanGuarded } from '../../util/processes.js';
import { freePort } from './ports.js';

type ServerKind = 'legacy' | 'rc';

/** Compiled entry point of each server (built by `npm run build`). */
function serverEntry(kind: ServerKind): string {
  // From dist/ the compiled servers are siblings; from the sources (tests) they are in dist/.
  const fromDist = import.meta.url.includes('/dist/cluster/');
  return fileURLToPath(
    new URL(`${fromDist ? '../..' : '../../dist'}/servers/${kind}/main.js`, import.meta.url),
  );
}

export interface ServerProcess {
  kind: ServerKind;
  replica: string;
  pid: number;
  port: number;
  /** The MCP endpoint, e.g. http://127.0.0.1:PORT/mcp */
  url: string;
  /** http://127.0.0.1:PORT, for /healthz, /readyz and /metrics */
  baseUrl: string;
  child: ChildProcess;
  /** SIGTERM, then wait for exit (SIGKILL after `graceMs`). Resolves with how the process ended. */
  terminate(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL now (the pod-kill experiment). */
  kill(): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** stderr lines the process printed (bounded). */
  logs: string[];
}

export interface StartServerOptions {
  kind: ServerKind;
  replica?: string;
  port?: number;
  /** MCPBENCH_* variables (see servers/common/config.ts). */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Resolve only once /readyz answers 200 (default); false resolves as soon as the process is spawned. */
  waitReady?: boolean;
  /** Wraps the server's command line (e.g. into its CPU-limited cgroup; cpu-limit.ts) before the orphan guard. */
  wrap?: (command: string, args: string[]) => { command: string; args: string[] };
}

/** Spawns one server process on loopback and resolves once /readyz answers 200. */
export async function startServerProcess(options: StartServerOptions): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const replica = options.replica ?? `${options.kind}-${port}`;
  const inner = options.wrap
    ? options.wrap(process.execPath, [serverEntry(options.kind)])
    : { command: process.execPath, args: [serverEntry(options.kind)] };
  const cmd = orphanGuarded(inner.command, inner.args);
  const child = spawn(cmd.command, cmd.args, {
    env: {
      ...process.env,
      ...options.env,
      MCPBENCH_HOST: '127.0.0.1',
      MCPBENCH_PORT: String(port),
      MCPBENCH_REPLICA: replica,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line) logs.push(line);
    if (logs.length > 200) logs.splice(0, logs.length - 200);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
  let ready = options.waitReady === false;
  while (!ready && Date.now() < deadline && child.exitCode === null) {
    try {
      const res = await fetch(`${baseUrl}/readyz`);
      if (res.status === 200) {
        ready = true;
        break;
      }
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(
      `${options.kind} server ${replica} did not become ready on port ${port}:\n${logs.join('\n')}`,
    );
  }
  const terminate = async (graceMs = 15_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    }
    return exited;
  };
  return {
    kind: options.kind,
    replica,
    pid: child.pid!,
    port,
    url: `${baseUrl}/mcp`,
    baseUrl,
    child,
    terminate,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    exited,
    logs,
  };
}
