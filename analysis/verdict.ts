import type { Comparison, RunSummary, VariantSummary } from './summarise.js';

/** Number formatting shared by both reports. */
export const fmt = {
  ms: (us: number | null | undefined) =>
    us === null || us === undefined ? '–' : `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`,
  pct: (x: number | null | undefined) =>
    x === null || x === undefined ? '–' : `${(x * 100).toFixed(x < 0.01 && x > 0 ? 3 : 1)}%`,
  num: (x: number | null | undefined, digits = 1) =>
    x === null || x === undefined ? '–' : x.toFixed(digits),
  int: (x: number | null | undefined) => (x === null || x === undefined ? '–' : String(Math.round(x))),
  s: (ms: number | null | undefined) =>
    ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`,
};

function value(c: Comparison, x: number): string {
  if (c.unit === 'µs') return fmt.ms(x);
  if (c.unit === 'share') return fmt.pct(x);
  return `${fmt.num(x, 2)} ${c.unit}`;
}

/** "legacy − rc = 3.1 ms [2.0, 4.2]" with a plain-words verdict. */
export function describeComparison(c: Comparison): string {
  const i = c.interval;
  const ci =
    i.low === null || i.high === null
      ? '(no interval: one trial)'
      : `95% CI [${value(c, i.low)}, ${value(c, i.high)}]`;
  let words: string;
  if (i.includesZero === null) words = 'single trial, not tested';
  else if (i.includesZero) words = 'not distinguishable from noise';
  else {
    const rcBetter = c.betterWhen === 'lower' ? i.diff > 0 : i.diff < 0;
    words = rcBetter ? 'rc better' : `${c.baseline} better`;
  }
  return `${c.baseline} ${value(c, c.baselineMean)} vs rc ${value(c, c.candidateMean)}: difference ${value(c, i.diff)} ${ci} — ${words}`;
}

/** The few sentences a reviewer reads first: what migrating buys, in numbers with intervals. */
export function verdictLines(summary: RunSummary): string[] {
  const lines: string[] = [];
  const find = (id: string, variant: string) =>
    summary.variants.find((v) => v.experimentId === id && v.variant === variant);
  const ids = [...new Set(summary.variants.map((v) => v.experimentId))];
  for (const id of ids) {
    const exp = id.split('~')[0];
    const rc = find(id, 'rc');
    if (!rc) continue;
    const legacies = summary.variants.filter((v) => v.experimentId === id && v.variant !== 'rc');
    const comps = summary.comparisons.filter((c) => c.experimentId === id);
    if (exp === 'ttl-cache') {
      for (const l of legacies) {
        const rt = comps.find((c) => c.baseline === l.variant && c.metric === 'roundTripsPerTurn');
        const lat = comps.find((c) => c.baseline === l.variant && c.metric === 'turnMeanUs');
        if (rt && lat) {
          lines.push(
            `**${id}**: an rc turn takes ${fmt.num(rc.roundTripsPerTurn, 2)} round trips vs ${fmt.num(l.roundTripsPerTurn, 2)} on ${l.variant}; ` +
              `mean turn latency ${describeComparison(lat)}.`,
          );
        }
      }
    } else if (exp === 'rolling-update' || exp === 'pod-kill') {
      const parts = [rc, ...legacies].map(
        (v) =>
          `${v.variant}: ${v.requests ? fmt.int(v.errors ? Object.values(v.errors).reduce((s, n) => s + n, 0) : 0) : 0} failed requests, ` +
          `${v.lifecycle.sessionsLost} sessions lost, ${v.lifecycle.tasksLost} tasks lost` +
          (v.disruption?.recoveryMs !== null && v.disruption?.recoveryMs !== undefined
            ? `, recovered in ${fmt.s(v.disruption.recoveryMs)}`
            : ''),
      );
      lines.push(`**${id}**: ${parts.join('; ')}.`);
    } else if (exp === 'hpa') {
      const parts = [rc, ...legacies].map((v: VariantSummary) => {
        const s = v.scaling;
        if (!s) return `${v.variant}: no scaling data`;
        const spreadText = s.loadSpread
          ? `busiest replica ${fmt.pct(s.loadSpread.busiestShare)} / idlest ${fmt.pct(s.loadSpread.idlestShare)} of requests after scale-up`
          : 'no scale-up, so no spread';
        const first =
          s.timeToFirstScaleUpMs === null
            ? 'never scaled up'
            : s.timeToFirstScaleUpMs < 0
              ? `first scale-up ${fmt.s(-s.timeToFirstScaleUpMs)} before the load step (at base load)`
              : `first scale-up ${fmt.s(s.timeToFirstScaleUpMs)} after the load step`;
        return `${v.variant}: scaled to ${s.maxReplicas}, ${first}, ${spreadText}`;
      });
      lines.push(`**${id}**: ${parts.join('; ')}.`);
    }
  }
  if (!summary.complete)
    lines.unshift(
      `**This run did not complete (status: ${summary.status}${summary.statusNote ? `: ${summary.statusNote}` : ''}); figures cover what was written${summary.interruptedTrials?.length ? ', interrupted trials left out' : ''}.**`,
    );
  return lines;
}
