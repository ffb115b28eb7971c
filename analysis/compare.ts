import { mean } from 'simple-statistics';
import { type EnvironmentFingerprint, fingerprintDifferences } from '../rundir/fingerprint.js';
import type { MetricDirection, MetricUnit } from './metric-units.js';
import { fmt, METRIC_NAMES, METRICS } from './metrics.js';
import { providerExplanations } from './provider-differences.js';
import { eventTest, holm, trialTest } from './significance.js';
import type { RunSummary } from './summary-types.js';

/**
 * `mcpbench compare BASELINE CANDIDATE`: for every experiment × variant present in both runs and
 * every per-trial metric they share, the change with a 95% interval and a verdict from a one-sided
 * t-test on per-trial values (analysis/significance.ts), "worse" p-values Holm-adjusted over all
 * metrics at once so that the chance of crying "regression" on a run of the same build stays at or
 * below alpha however many metrics are compared. A regression is a significantly worse change
 * larger than the threshold; only regressions fail CI.
 */

type Verdict = 'better' | 'worse' | 'no significant change' | 'not tested';

export interface MetricChange {
  experimentId: string;
  variant: string;
  metric: string;
  label: string;
  unit: MetricUnit;
  betterWhen: MetricDirection;
  baseline: { mean: number; trials: number };
  candidate: { mean: number; trials: number };
  /** candidate − baseline, with its 95% Welch interval (null: fewer than two trials on a side) */
  diff: number;
  low: number | null;
  high: number | null;
  /** diff / baseline mean; null when the baseline mean is 0 */
  relative: number | null;
  /** one-sided p-value that the candidate is worse / better, and the same Holm-adjusted */
  pWorse: number | null;
  pBetter: number | null;
  pWorseAdjusted: number | null;
  pBetterAdjusted: number | null;
  verdict: Verdict;
  /** disruption metrics are tested over events (eventTest), not trials: how many on each side */
  events?: { baseline: number; candidate: number };
  /** worse, significant, and beyond the threshold: fails CI */
  regression: boolean;
  note?: string;
  /**
   * Runs on different providers (local vs kind/kube), a significant change: the mechanisms that bear on
   * this metric (analysis/provider-differences.ts); empty when none is known, so it stands unexplained.
   */
  explanations?: string[];
}

export interface CompareResult {
  schema: 'mcpbench/compare@1';
  baseline: { dir: string; run: string; gitSha: string | null; status: string };
  candidate: { dir: string; run: string; gitSha: string | null; status: string };
  threshold: number;
  alpha: number;
  changes: MetricChange[];
  regressions: MetricChange[];
  /** environment or configuration differences that make the comparison less trustworthy */
  warnings: string[];
  /** experiment × variant groups present in only one run */
  unmatched: string[];
}

export interface CompareOptions {
  /** relative change a regression must exceed, e.g. 0.05 */
  threshold: number;
  alpha?: number;
}

const IGNORED_CONFIG_KEYS = new Set(['out', 'name', 'thresholds']);

/** Leaf paths of a JSON value (`resolvedExperiments[0].serverEnv.MCPBENCH_SLOWDOWN` → "1.2"). */
function flatten(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) for (const [i, v] of value.entries()) flatten(v, `${prefix}[${i}]`, out);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  else out.set(prefix, JSON.stringify(value));
  return out;
}

function environmentWarnings(a: RunSummary, b: RunSummary, configs: [unknown, unknown]): string[] {
  const warnings: string[] = [];
  const fa = a.fingerprint as Partial<EnvironmentFingerprint>;
  const fb = b.fingerprint as Partial<EnvironmentFingerprint>;
  const diffs = fingerprintDifferences(
    { packages: {}, ...fa } as EnvironmentFingerprint,
    { packages: {}, ...fb } as EnvironmentFingerprint,
  );
  for (const d of diffs) warnings.push(`environment differs: ${d}`);
  if (a.cluster.provider !== b.cluster.provider)
    warnings.push(`cluster provider differs: ${a.cluster.provider} vs ${b.cluster.provider}`);
  if (a.cluster.kubernetesVersion !== b.cluster.kubernetesVersion)
    warnings.push(
      `Kubernetes version differs: ${a.cluster.kubernetesVersion ?? 'none'} vs ${b.cluster.kubernetesVersion ?? 'none'}`,
    );
  const ca = flatten(configs[0] ?? {});
  const cb = flatten(configs[1] ?? {});
  for (const key of [...new Set([...ca.keys(), ...cb.keys()])].sort()) {
    if (IGNORED_CONFIG_KEYS.has(key.split(/[.[]/)[0] as string)) continue;
    if (ca.get(key) !== cb.get(key))
      warnings.push(
        `run configuration differs: ${key}: ${ca.get(key) ?? 'unset'} vs ${cb.get(key) ?? 'unset'}`,
      );
  }
  for (const [side, s] of [
    ['baseline', a],
    ['candidate', b],
  ] as const) {
    if (!s.complete)
      warnings.push(
        `${side} run did not complete (status: ${s.status}${s.statusNote ? `: ${s.statusNote}` : ''}): its figures are partial`,
      );
    if (s.problems.length) warnings.push(`${side} run has ${s.problems.length} unreadable file(s)`);
  }
  return warnings;
}

export function compareSummaries(
  baseline: { dir: string; summary: RunSummary; config?: unknown },
  candidate: { dir: string; summary: RunSummary; config?: unknown },
  options: CompareOptions,
): CompareResult {
  const alpha = options.alpha ?? 0.05;
  const key = (v: { experimentId: string; variant: string }) => `${v.experimentId} / ${v.variant}`;
  const candidates = new Map(candidate.summary.variants.map((v) => [key(v), v]));
  const baselines = new Map(baseline.summary.variants.map((v) => [key(v), v]));
  const unmatched = [
    ...[...baselines.keys()].filter((k) => !candidates.has(k)).map((k) => `${k} (baseline only)`),
    ...[...candidates.keys()].filter((k) => !baselines.has(k)).map((k) => `${k} (candidate only)`),
  ];
  const changes: MetricChange[] = [];
  for (const [k, b] of baselines) {
    const c = candidates.get(k);
    if (!c) continue;
    // every per-trial metric of the registry (analysis/metrics.ts); unknown ones are skipped, not guessed
    for (const metric of METRIC_NAMES) {
      const info = METRICS[metric];
      const eb = b.perEvent?.[metric];
      const ec = c.perEvent?.[metric];
      const byEvent = Boolean(eb?.flat().length && ec?.flat().length);
      const xs = byEvent ? (eb as number[][]).flat() : (b.perTrial[metric] ?? []);
      const ys = byEvent ? (ec as number[][]).flat() : (c.perTrial[metric] ?? []);
      if (!xs.length || !ys.length) continue;
      // per-event counts: the event is the unit (failures cluster within one), see eventTest
      const w = byEvent ? eventTest(ec as number[][], eb as number[][]) : trialTest(xs, ys);
      const baseMean = mean(xs);
      const lowerIsBetter = info.betterWhen === 'lower';
      const untested = w.pGreater === null;
      changes.push({
        experimentId: b.experimentId,
        variant: b.variant,
        metric,
        label: info.label,
        unit: info.unit,
        betterWhen: info.betterWhen,
        baseline: { mean: baseMean, trials: byEvent ? b.trials : xs.length },
        candidate: { mean: mean(ys), trials: byEvent ? c.trials : ys.length },
        diff: w.diff,
        low: w.low,
        high: w.high,
        relative: baseMean !== 0 ? w.diff / Math.abs(baseMean) : null,
        // identical constants on both sides cannot be rejected: kept out of the Holm family
        pWorse: w.identical ? null : lowerIsBetter ? w.pGreater : w.pLess,
        pBetter: w.identical ? null : lowerIsBetter ? w.pLess : w.pGreater,
        pWorseAdjusted: null,
        pBetterAdjusted: null,
        verdict: untested ? 'not tested' : 'no significant change',
        regression: false,
        ...(byEvent ? { events: { baseline: xs.length, candidate: ys.length } } : {}),
        ...(untested
          ? {
              note: byEvent
                ? 'fewer than two events on a side: raise overrides.<experiment>.events.count (hpa: steps.count) to test it'
                : 'fewer than two trials on a side: run --trials 3 or more to test it',
            }
          : w.identical
            ? { note: byEvent ? 'identical on every event' : 'identical on every trial' }
            : {}),
      });
    }
  }
  const worseAdjusted = holm(changes.map((c) => c.pWorse));
  const betterAdjusted = holm(changes.map((c) => c.pBetter));
  for (const [i, c] of changes.entries()) {
    c.pWorseAdjusted = worseAdjusted[i] ?? null;
    c.pBetterAdjusted = betterAdjusted[i] ?? null;
    if (c.pWorseAdjusted !== null && c.pWorseAdjusted < alpha) {
      c.verdict = 'worse';
      // A change from exactly zero (errors, sessions lost) has no relative size: any is beyond the threshold.
      c.regression = c.relative === null || Math.abs(c.relative) > options.threshold;
      if (!c.regression) c.note = `significant but within the ${formatPercent(options.threshold)} threshold`;
    } else if (c.pBetterAdjusted !== null && c.pBetterAdjusted < alpha) {
      c.verdict = 'better';
    }
    if (c.verdict === 'better' || c.verdict === 'worse') {
      if (baseline.summary.cluster.provider !== candidate.summary.cluster.provider)
        c.explanations = providerExplanations(
          baseline.summary,
          candidate.summary,
          c.experimentId,
          c.variant,
          c.metric,
        );
    }
  }
  return {
    schema: 'mcpbench/compare@1',
    baseline: {
      dir: baseline.dir,
      run: baseline.summary.run,
      gitSha: (baseline.summary.fingerprint.gitSha as string | null | undefined) ?? null,
      status: baseline.summary.status,
    },
    candidate: {
      dir: candidate.dir,
      run: candidate.summary.run,
      gitSha: (candidate.summary.fingerprint.gitSha as string | null | undefined) ?? null,
      status: candidate.summary.status,
    },
    threshold: options.threshold,
    alpha,
    changes,
    regressions: changes.filter((c) => c.regression),
    warnings: environmentWarnings(baseline.summary, candidate.summary, [baseline.config, candidate.config]),
    unmatched,
  };
}

function formatP(p: number | null): string {
  return p === null ? '–' : p < 0.001 ? '<0.001' : p.toFixed(3);
}

export function formatPercent(x: number): string {
  return `${(x * 100).toFixed(Math.abs(x) < 0.1 ? 1 : 0)}%`;
}

/** A metric value in its unit, for tables. */
function formatValue(unit: MetricUnit, x: number): string {
  switch (unit) {
    case 'µs':
      return fmt.ms(x);
    case 'ms':
      return `${(x / 1000).toFixed(2)} s`;
    case 'share':
      return `${(x * 100).toFixed(3)}%`;
    case 'requests':
    case 'sessions':
    case 'tasks':
    case 'handles':
    case 'replicas':
      return x.toFixed(Number.isInteger(x) ? 0 : 1);
    case 'req/s':
    case 'per s':
      return `${x.toFixed(1)}/s`;
    case 'round trips':
    case 'bytes':
    case 'CV':
      return x.toFixed(Math.abs(x) < 10 ? 3 : 1);
  }
}

/** "+12.3% [+8.1%, +16.4%]" or the absolute change when the baseline is 0. */
export function describeChange(c: MetricChange): string {
  const sign = (x: number) => (x > 0 ? '+' : '');
  const base = Math.abs(c.baseline.mean);
  if (c.relative !== null && base > 0) {
    const rel = (x: number) => `${sign(x)}${formatPercent(x / base)}`;
    const ci = c.low !== null && c.high !== null ? ` [${rel(c.low)}, ${rel(c.high)}]` : '';
    return `${rel(c.diff)}${ci}`;
  }
  const abs = (x: number) => `${sign(x)}${formatValue(c.unit, x)}`;
  const ci = c.low !== null && c.high !== null ? ` [${abs(c.low)}, ${abs(c.high)}]` : '';
  return `${abs(c.diff)}${ci}`;
}

export function headline(result: CompareResult): string {
  const t = formatPercent(result.threshold);
  if (result.regressions.length === 0) {
    const worse = result.changes.filter((c) => c.verdict === 'worse').length;
    return worse
      ? `no significant regression beyond ${t} (${worse} significant change(s) for the worse within the threshold)`
      : 'no significant change for the worse';
  }
  const names = result.regressions.map(
    (c) => `${c.experimentId} / ${c.variant} ${c.label} ${describeChange(c)}`,
  );
  return `${result.regressions.length} significant regression(s) beyond ${t}: ${names.join('; ')}`;
}

/** Markdown for a PR comment or a CI job summary. */
export function renderCompareMarkdown(result: CompareResult): string {
  const out: string[] = [];
  const sha = (s: string | null) => (s ? s.slice(0, 10) : 'unknown');
  out.push('# mcpbench compare', '');
  out.push(
    `Baseline **${result.baseline.run}** (${sha(result.baseline.gitSha)}) → candidate **${result.candidate.run}** (${sha(result.candidate.gitSha)}); ` +
      `one-sided t-tests on per-trial values (per-event values for disruption metrics, n = events), Holm-adjusted over ${result.changes.filter((c) => c.pWorse !== null).length} tested metrics, ` +
      `alpha ${result.alpha}, regression threshold ${formatPercent(result.threshold)}.`,
    '',
  );
  out.push(`**Verdict: ${result.regressions.length ? 'REGRESSION' : 'OK'}** — ${headline(result)}`, '');
  if (result.warnings.length) {
    out.push('> **The runs differ in ways that can move the figures:**');
    for (const w of result.warnings) out.push(`> - ${w}`);
    out.push('');
  }
  if (result.unmatched.length) out.push(`Not compared: ${result.unmatched.join(', ')}.`, '');
  out.push(
    '| experiment | variant | metric | baseline | candidate | change [95% CI] | p worse / better (Holm) | verdict |',
  );
  out.push('|---|---|---|---:|---:|---:|---:|---|');
  for (const c of result.changes) {
    const verdict = c.regression ? '**REGRESSION**' : c.verdict;
    const p = `${formatP(c.pWorseAdjusted)} / ${formatP(c.pBetterAdjusted)}`;
    out.push(
      `| ${c.experimentId} | ${c.variant} | ${c.label} | ${formatValue(c.unit, c.baseline.mean)} (n=${c.events?.baseline ?? c.baseline.trials}) | ` +
        `${formatValue(c.unit, c.candidate.mean)} (n=${c.events?.candidate ?? c.candidate.trials}) | ${describeChange(c)} | ${p} | ${verdict}${c.note ? ` (${c.note})` : ''} |`,
    );
  }
  const explained = result.changes.filter((c) => c.explanations);
  if (explained.length) {
    out.push(
      '',
      `## Why the providers differ (${result.baseline.run} vs ${result.candidate.run})`,
      '',
      'Each significant change between a local and a cluster run, with the mechanisms that bear on it:',
      '',
    );
    for (const c of explained) {
      out.push(`- **${c.experimentId} / ${c.variant} ${c.label}** ${describeChange(c)} (${c.verdict})`);
      if (!c.explanations?.length)
        out.push('  - unexplained: no known provider mechanism bears on this metric');
      for (const e of c.explanations ?? []) out.push(`  - ${e}`);
    }
  }
  return `${out.join('\n')}\n`;
}
