import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ServerConfigInput } from '../servers/common/config.js';
import { runServer, type ServerKind } from '../servers/run.js';
import { text } from './flags.js';

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}, got "${value}"`);
    }
    return n;
  };
}

/** `mcpbench serve legacy|rc`: runs one server under test in the foreground (Ctrl-C drains and exits). */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'run one MCP server under test on loopback (legacy = 2025-11-25 sessions, rc = 2026-07-28 stateless)',
    )
    .addArgument(program.createArgument('<kind>', 'which server').choices(['legacy', 'rc']))
    .addOption(
      new Option('--store <store>', 'legacy session store (default memory)').choices(['memory', 'redis']),
    )
    .option('--port <n>', 'TCP port, 0 = any free port (default 8080)', integer('--port', 0, 65535))
    .option('--host <addr>', 'address to listen on (default 127.0.0.1)', text('--host'))
    .option(
      '--redis-url <url>',
      'Redis for legacy --store redis and rc tasks (default redis://127.0.0.1:6379)',
      text('--redis-url'),
    )
    .option('--catalogue-size <n>', 'tools in the catalogue (10..500)', integer('--catalogue-size', 10, 500))
    .option('--tool-latency-ms <ms>', 'time each tool call waits', integer('--tool-latency-ms', 0, 600_000))
    .option('--tool-cpu-ms <ms>', 'CPU each tool call burns', integer('--tool-cpu-ms', 0, 60_000))
    .option(
      '--payload-bytes <n>',
      'size of each tool result',
      integer('--payload-bytes', 0, 16 * 1024 * 1024),
    )
    .option('--ttl-ms <ms>', 'rc: ttlMs on list results', integer('--ttl-ms', 0, 86_400_000))
    .addOption(
      new Option('--cache-scope <scope>', 'rc: cacheScope on list results').choices(['public', 'private']),
    )
    .addHelpText(
      'after',
      '\nEvery option can also be set with its MCPBENCH_* environment variable (see README); flags win.',
    )
    .action(async (kind: ServerKind, opts: Record<string, unknown>) => {
      const overrides: Partial<ServerConfigInput> = {};
      for (const [key, value] of Object.entries(opts)) {
        if (value !== undefined) (overrides as Record<string, unknown>)[key] = value;
      }
      try {
        await runServer(kind, overrides);
      } catch (err) {
        program.error(`mcpbench serve ${kind}: ${(err as Error).message}`, { exitCode: 2 });
      }
    });
}
