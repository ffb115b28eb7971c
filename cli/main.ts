import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerClusterCommand } from './cluster.js';
import { registerCompareCommand } from './compare.js';
import { EXIT_CODES_HELP, useExitCodes } from './flags.js';
import { registerLoadCommand } from './load.js';
import { registerPlanCommand } from './plan.js';
import { registerReportCommand } from './report.js';
import { registerRunCommand } from './run.js';
import { registerServeCommand } from './serve.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('mcpbench')
  .description(
    'Benchmark MCP servers the session-based way (2025-11-25) against the stateless way (2026-07-28).',
  )
  .version(pkg.version)
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText('after', EXIT_CODES_HELP);
// Before the subcommands are registered: they inherit it, so every usage error exits 2.
useExitCodes(program);

registerRunCommand(program);
registerLoadCommand(program);
registerReportCommand(program);
registerCompareCommand(program);
registerPlanCommand(program);
registerServeCommand(program);
registerClusterCommand(program);
// `load` lists its own exit codes (1 there means no request succeeded).
for (const command of program.commands)
  if (command.name() !== 'load') command.addHelpText('after', EXIT_CODES_HELP);

await program.parseAsync(process.argv);
