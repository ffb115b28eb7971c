import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { orphanGuarded } from '../../util/processes.js';
import type { ForeignServer } from '../variants.js';
import { freePort } from './ports.js';

type ServerKind = 'legacy' | 'rc' | 'foreign';

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
  /** kind `foreign`: the server that is not ours (its command, env, port passing and probes) */
  foreign?: ForeignServer;
}

/** Whether a replica is ready: our servers' /readyz, or what a foreign variant says (its path, or the MCP endpoint answering). */
export async function replicaReady(
  baseUrl: string,
  foreign?: ForeignServer,
  timeoutMs = 500,
): Promise<boolean> {
  const readiness = foreign?.readiness ?? { httpPath: '/readyz' };
  try {
    if (readiness === 'mcp') {
      // Any answer below 500 to a JSON-RPC ping on the MCP endpoint: it is listening and speaks HTTP.
      // (A probe that opened a session would leave one behind on every tick.)
      const res = await fetch(`${baseUrl}${foreign?.path ?? '/mcp'}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: '{"jsonrpc":"2.0","id":0,"method":"ping"}',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      return res.status < 500;
    }
    const res = await fetch(`${baseUrl}${readiness.httpPath}`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** The command line and environment of one replica. */
function commandOf(options: StartServerOptions, port: number, replica: string) {
  const f = options.foreign;
  // e.g. into the replica's CPU-limited cgroup (cpu-limit.ts), inside the orphan guard
  const guarded = (command: string, args: string[]) => {
    const inner = options.wrap ? options.wrap(command, args) : { command, args };
    return orphanGuarded(inner.command, inner.args);
  };
  if (options.kind !== 'foreign')
    return {
      ...guarded(process.execPath, [serverEntry(options.kind)]),
      cwd: undefined,
      env: {
        ...process.env,
        ...options.env,
        MCPBENCH_HOST: '127.0.0.1',
        MCPBENCH_PORT: String(port),
        MCPBENCH_REPLICA: replica,
      },
    };
  const local = f?.local;
  if (!local) throw new Error(`${replica}: a foreign variant needs local.command to run on --cluster local`);
  const args = local.args.map((a) => a.replaceAll('{port}', String(port)));
  return {
    ...guarded(local.command, args),
    cwd: local.cwd,
    env: {
      ...process.env,
      ...local.env,
      ...options.env,
      ...(local.portEnv ? { [local.portEnv]: String(port) } : {}),
    },
  };
}

/** Spawns one server process on loopback and resolves once /readyz answers 200. */
export async function startServerProcess(options: StartServerOptions): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const replica = options.replica ?? `${options.kind}-${port}`;
  const logs: string[] = [];
  const cmd = commandOf(options, port, replica);
  const child = spawn(cmd.command, cmd.args, {
    env: cmd.env,
    ...(cmd.cwd ? { cwd: cmd.cwd } : {}),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // A command that cannot be started (ENOENT, EACCES) ends as an exit, with the reason in the logs.
  child.once('error', (err) => {
    logs.push(`cannot start ${cmd.command}: ${err.message}`);
    child.emit('exit', null, null);
  });
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
    if (await replicaReady(baseUrl, options.foreign, 2_000)) {
      ready = true;
      break;
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
    url: `${baseUrl}${options.foreign?.path ?? '/mcp'}`,
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
