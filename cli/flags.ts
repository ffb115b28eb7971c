import { type Command, type CommanderError, InvalidArgumentError } from 'commander';
import { MIN_LOAD_DURATION_MS, parseDuration, parsePercent, ValueError } from '../experiments/values.js';

/**
 * What every subcommand shares at the command line: the exit codes, and argument parsers whose
 * errors name the flag. Commander's own usage errors (unknown option, bad choice, missing argument)
 * exit 1 by default, the code reserved for a regression; `useExitCodes` makes them exit 2.
 */

const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0    ok
  1    a regression or a threshold failed (compare, run, report)
  2    usage or input error (a flag, config field, file or run directory is wrong)
  130  interrupted (Ctrl-C)`;

/** Every usage error of `program` and of the subcommands registered after this call exits 2. */
export function useExitCodes(program: Command): Command {
  return program.exitOverride((err: CommanderError) => {
    // program.error(msg, { exitCode }) says its own code; help and --version are 0; the rest is usage.
    if (err.code === 'commander.error' || err.exitCode === 0) process.exit(err.exitCode);
    process.exit(EXIT.usage);
  });
}

/** A string value that must not be empty: `--host ""` would otherwise mean "every interface". */
export function text(flag: string) {
  return (value: string): string => {
    if (value.trim() === '') throw new InvalidArgumentError(`${flag} needs a value, got an empty string`);
    return value;
  };
}

/** A duration with its unit, at least `minMs` (default 1 s: a run's or a load's duration). */
export function duration(flag: string, minMs = MIN_LOAD_DURATION_MS) {
  return (value: string): number => {
    try {
      return parseDuration(value, { minMs });
    } catch (err) {
      if (err instanceof ValueError) throw new InvalidArgumentError(`${flag}: ${err.message}`);
      throw err;
    }
  };
}

/** A percentage written with its % ("5%"), as a fraction (0.05). */
export function percent(flag: string) {
  return (value: string): number => {
    try {
      return parsePercent(value);
    } catch (err) {
      if (err instanceof ValueError) throw new InvalidArgumentError(`${flag}: ${err.message}`);
      throw err;
    }
  };
}
