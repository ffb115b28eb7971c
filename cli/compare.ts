import { resolve } from 'node:path';
import type { Command } from 'commander';
import { formatPercent, headline, renderCompareMarkdown } from '../analysis/compare.js';
import { compareRunDirs } from '../analysis/compare-runs.js';
import { compareJunit } from '../analysis/junit.js';
import { FileError, fileWriteProblem, writeOutputFile } from '../util/file-errors.js';
import { percent, text } from './flags.js';

/** `mcpbench compare BASELINE CANDIDATE`: exit 1 only on a significant regression beyond the threshold. */
export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description(
      'compare two run directories metric by metric (one-sided t-test on per-trial values, Holm-adjusted); exit 1 on a significant regression beyond --threshold',
    )
    .argument('<baseline>', 'run directory of the reference build', text('BASELINE_DIR'))
    .argument('<candidate>', 'run directory of the build under review', text('CANDIDATE_DIR'))
    .option(
      '--threshold <pct>',
      'smallest relative change that counts as a regression, with its % (e.g. 5%)',
      percent('--threshold'),
      0.05,
    )
    .option('--junit <file>', 'also write a JUnit XML report (one test case per metric)', text('--junit'))
    .option(
      '--markdown <file>',
      'also write the Markdown report (e.g. a CI job summary file)',
      text('--markdown'),
    )
    .option('--json', 'print the comparison as JSON instead of Markdown')
    .option(
      '--allow-incomplete',
      'compare a run that is not complete (interrupted, failed, died) instead of refusing',
    )
    .action(async (baselineDir: string, candidateDir: string, opts: Record<string, unknown>) => {
      const threshold = opts.threshold as number;
      // Output files are checked before the runs are read, so a typo fails at once and by name.
      for (const flag of ['markdown', 'junit'] as const) {
        const file = opts[flag];
        if (typeof file !== 'string') continue;
        const problem = await fileWriteProblem(resolve(file));
        if (problem) program.error(`mcpbench compare: --${flag} ${file}: ${problem}`, { exitCode: 2 });
      }
      let result: Awaited<ReturnType<typeof compareRunDirs>>;
      try {
        result = await compareRunDirs(resolve(baselineDir), resolve(candidateDir), {
          threshold,
          allowIncomplete: opts.allowIncomplete === true,
        });
      } catch (err) {
        program.error(`mcpbench compare: ${(err as Error).message}`, { exitCode: 2 });
      }
      const markdown = renderCompareMarkdown(result);
      try {
        if (typeof opts.markdown === 'string')
          await writeOutputFile('--markdown', resolve(opts.markdown), markdown);
        if (typeof opts.junit === 'string')
          await writeOutputFile('--junit', resolve(opts.junit), compareJunit(result));
      } catch (err) {
        if (err instanceof FileError) program.error(`mcpbench compare: ${err.message}`, { exitCode: 2 });
        throw err;
      }
      process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : markdown);
      for (const w of result.warnings) process.stderr.write(`mcpbench compare: warning: ${w}\n`);
      for (const u of result.unmatched)
        process.stderr.write(`mcpbench compare: warning: not compared, in one run only: ${u}\n`);
      const tested = result.changes.filter((c) => c.verdict !== 'not tested').length;
      if (tested === 0)
        process.stderr.write(
          'mcpbench compare: warning: no metric had two or more trials on both sides, so nothing was tested (run with --trials 3)\n',
        );
      process.stderr.write(
        `mcpbench compare: ${result.regressions.length ? 'REGRESSION' : 'OK'} (threshold ${formatPercent(threshold)}): ${headline(result)}\n`,
      );
      process.exitCode = result.regressions.length ? 1 : 0;
    });
}
