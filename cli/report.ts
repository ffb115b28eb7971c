import { resolve } from 'node:path';
import type { Command } from 'commander';
import { analyseRun } from '../analysis/index.js';
import { text } from './flags.js';

/** `mcpbench report RUN_DIR`: re-render summary and reports from a run directory's raw results. */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      're-render summary.json, report.md, report.html (and junit.xml when the run has thresholds) from a run directory; exit 1 if a threshold fails',
    )
    .argument('<run-dir>', 'a run directory written by mcpbench run', text('RUN_DIR'))
    .action(async (dir: string) => {
      try {
        const result = await analyseRun(resolve(dir));
        if (result.summary.problems.length) {
          for (const p of result.summary.problems) process.stderr.write(`mcpbench report: skipped ${p}\n`);
        }
        process.stderr.write(
          `${result.summaryPath}\n${result.reportMdPath}\n${result.reportHtmlPath}\n${result.junitPath ? `${result.junitPath}\n` : ''}`,
        );
        if (!result.summary.complete)
          process.stderr.write(
            `mcpbench report: the run is ${result.summary.status}${result.summary.statusNote ? ` (${result.summary.statusNote})` : ''}; figures cover what was written\n`,
          );
        for (const t of result.summary.interruptedTrials ?? [])
          process.stderr.write(`mcpbench report: left out ${t}\n`);
        for (const f of result.thresholdFailures) process.stderr.write(`mcpbench report: threshold ${f}\n`);
        if (result.thresholdFailures.length) process.exitCode = 1;
      } catch (err) {
        program.error(`mcpbench report: ${(err as Error).message}`, { exitCode: 2 });
      }
    });
}
