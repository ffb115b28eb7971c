import { parseArgs } from 'node:util';
import { loadServerConfig, type ServerConfigInput } from './common/config.js';
import { type McpEndpoint, type RunningServer, startHttpShell } from './common/http-shell.js';

export type ServerKind = 'legacy' | 'rc';

/** Flags every server accepts; each overrides the MCPBENCH_* variable of the same name. */
export const SERVER_FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  replica: { type: 'string' },
  store: { type: 'string' },
  'redis-url': { type: 'string' },
  'tool-latency-ms': { type: 'string' },
  'tool-cpu-ms': { type: 'string' },
  'payload-bytes': { type: 'string' },
  'catalogue-size': { type: 'string' },
  'ttl-ms': { type: 'string' },
  'cache-scope': { type: 'string' },
  'task-duration-ms': { type: 'string' },
  'task-poll-interval-ms': { type: 'string' },
  'shutdown-delay-ms': { type: 'string' },
  'shutdown-grace-ms': { type: 'string' },
} as const;

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Turns `--tool-latency-ms 5` style flags into config overrides. Unknown flags throw, naming the flag. */
export function parseServerFlags(argv: string[]): Partial<ServerConfigInput> {
  const { values } = parseArgs({ args: argv, options: SERVER_FLAGS, strict: true, allowPositionals: false });
  const overrides: Record<string, unknown> = {};
  for (const [flag, value] of Object.entries(values)) if (value !== undefined) overrides[camel(flag)] = value;
  return overrides as Partial<ServerConfigInput>;
}

async function loadEndpointFactory(
  kind: ServerKind,
): Promise<(c: ReturnType<typeof loadServerConfig>) => Promise<McpEndpoint>> {
  if (kind === 'legacy') return (await import('./legacy/server.js')).createLegacyEndpoint;
  return (await import('./rc/server.js')).createRcEndpoint;
}

/** Starts one server as a long-running process: graceful on SIGTERM/SIGINT. */
export async function runServer(
  kind: ServerKind,
  overrides: Partial<ServerConfigInput> = {},
): Promise<RunningServer> {
  const config = loadServerConfig(process.env, overrides);
  const createEndpoint = await loadEndpointFactory(kind);
  const endpoint = await createEndpoint(config);
  const running = await startHttpShell(config, endpoint, { installSignalHandlers: true });
  process.stderr.write(
    `mcpbench ${kind} server ${config.replica} listening on ${running.url}` +
      (kind === 'legacy'
        ? ` (session store: ${config.store})`
        : ` (ttlMs ${config.ttlMs}, ${config.cacheScope})`) +
      '\n',
  );
  return running;
}

/** Entry point shared by servers/legacy/main.ts and servers/rc/main.ts. */
export async function main(kind: ServerKind, argv: string[]): Promise<void> {
  try {
    await runServer(kind, parseServerFlags(argv));
  } catch (err) {
    process.stderr.write(`mcpbench ${kind} server: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
