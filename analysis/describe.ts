import { formatMetricValue } from './metrics.js';
import type { Comparison } from './summary-types.js';

/** rc better, the legacy variant better, noise, or (one trial) untested. */
export function comparisonMark(c: Comparison): 'rc-better' | 'legacy-better' | 'noise' | null {
  const i = c.interval;
  if (i.includesZero === null) return null;
  if (i.includesZero) return 'noise';
  const rcBetter = c.betterWhen === 'lower' ? i.diff > 0 : i.diff < 0;
  return rcBetter ? 'rc-better' : 'legacy-better';
}

/** "legacy − rc = 3.1 ms [2.0, 4.2]" with a plain-words verdict. */
export function describeComparison(c: Comparison): string {
  const value = (x: number) => formatMetricValue(c.unit, x);
  const i = c.interval;
  const unit = c.events ? 'event' : 'trial';
  const ci =
    i.low === null || i.high === null
      ? `(no interval: one ${unit})`
      : `95% CI [${value(i.low)}, ${value(i.high)}]`;
  const mark = comparisonMark(c);
  const words =
    mark === null
      ? `single ${unit}, not tested`
      : mark === 'noise'
        ? 'not distinguishable from noise'
        : mark === 'rc-better'
          ? `${c.candidate} better`
          : `${c.baseline} better`;
  const over = c.events ? ` over ${c.events.baseline} vs ${c.events.candidate} events` : '';
  const r = c.ratio;
  const ratio = r
    ? `, rate ratio ${r.value.toFixed(2)}×${r.low !== null ? ` [${r.low.toFixed(2)}, ${r.high === null ? '∞' : r.high.toFixed(2)}]` : ''}`
    : '';
  return `${c.baseline} ${value(c.baselineMean)} vs ${c.candidate} ${value(c.candidateMean)}${over}: difference ${value(i.diff)} ${ci}${ratio} — ${words}`;
}
