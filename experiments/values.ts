/**
 * The value syntaxes every flag and config field shares, parsed in one place so that `--duration`,
 * `duration:` in a config file and a load stage's `duration` mean the same thing, and every
 * percentage flag reads the same way. Errors carry no flag name: the caller prefixes its own.
 */

/** The longest delay Node's timers can hold (2^31 − 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The shortest load a run or `mcpbench load` accepts: shorter ones measure start-up, not a server. */
export const MIN_LOAD_DURATION_MS = 1_000;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

export class ValueError extends Error {}

function formatLimit(ms: number): string {
  if (ms === MAX_TIMER_MS) return "596h (the longest delay Node's timers can hold)";
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

/**
 * "30s", "2m", "1500ms", "1.5h" → milliseconds. A unit is required: a bare number is ambiguous
 * (milliseconds? seconds?), so "5" is refused with a hint rather than read as 5 ms.
 */
export function parseDuration(value: unknown, range: { minMs?: number; maxMs?: number } = {}): number {
  const minMs = range.minMs ?? 1;
  const maxMs = Math.min(range.maxMs ?? MAX_TIMER_MS, MAX_TIMER_MS);
  if (typeof value === 'number')
    throw new ValueError(`${value} has no unit: write ${value}s or ${value}ms (units: ms, s, m, h)`);
  if (typeof value !== 'string' || value.trim() === '')
    throw new ValueError('a duration is needed, e.g. 30s (units: ms, s, m, h)');
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text))
    throw new ValueError(`"${text}" has no unit: write ${text}s or ${text}ms (units: ms, s, m, h)`);
  const m = DURATION.exec(text);
  if (!m) throw new ValueError(`"${text}" is not a duration (e.g. 30s, 2m, 1500ms; units: ms, s, m, h)`);
  const ms = Math.round(Number(m[1]) * (DURATION_UNITS[m[2] as string] as number));
  if (ms < minMs) throw new ValueError(`"${text}" is too short: at least ${formatLimit(minMs)}`);
  if (ms > maxMs) throw new ValueError(`"${text}" is too long: at most ${formatLimit(maxMs)}`);
  return ms;
}

/**
 * "5%" → 0.05. The % is required: a bare 5 could mean 5% or 500%, and a bare 0.05 could mean 5% or
 * 0.05%, so bare numbers are refused rather than guessed.
 */
export function parsePercent(value: unknown, range: { maxPercent?: number } = {}): number {
  const maxPercent = range.maxPercent ?? 1000;
  const text = typeof value === 'string' ? value.trim() : String(value ?? '');
  if (text === '') throw new ValueError('a percentage is needed, e.g. 5%');
  if (/^\d+(?:\.\d+)?$/.test(text)) {
    const n = Number(text);
    const hint = n < 1 ? `${Number((n * 100).toFixed(6))}% or ${text}%` : `${text}%`;
    throw new ValueError(`write ${hint} (a bare number is ambiguous: a percentage needs its %)`);
  }
  const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(text);
  if (!m) throw new ValueError(`"${text}" is not a percentage (e.g. 5%)`);
  const percent = Number(m[1]);
  if (percent > maxPercent) throw new ValueError(`${text} is above ${maxPercent}%`);
  return percent / 100;
}
