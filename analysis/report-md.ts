import type { RunSummary, VariantSummary } from './summarise.js';
import { describeThresholdResult } from './thresholds.js';
import { describeComparison, fmt, verdictLines } from './verdict.js';

/** Which manifests the run deployed (run config `deployment`). */
export function deploymentLabel(deployment: RunSummary['deployment']): string {
  if (deployment === 'prepared')
    return 'prepared (preStop delay, readiness off on SIGTERM, grace to match, PDB)';
  if (deployment === 'unprepared') return 'unprepared (no preStop, no PDB, SIGTERM stops listening at once)';
  return 'not recorded (runs before this field deployed unprepared manifests)';
}

/** report.md: the verdict and the headline tables, sized for a PR comment or a CI job summary. */
export function renderMarkdown(summary: RunSummary): string {
  const out: string[] = [];
  out.push(`# mcpbench: ${summary.run}`, '');
  out.push(
    `Cluster: ${summary.cluster.provider} (${summary.cluster.kubernetesVersion ?? 'n/a'}) · status: ${summary.status}`,
    '',
    `Deployment: ${deploymentLabel(summary.deployment)}`,
    '',
  );
  out.push('## Verdict', '');
  const verdict = verdictLines(summary);
  out.push(...(verdict.length ? verdict.map((l) => `- ${l}`) : ['- No comparable experiment ran.']), '');
  if (summary.thresholds.length) {
    const failed = summary.thresholds.filter((r) => !r.ok).length;
    out.push(
      `## Thresholds: ${failed ? `${failed} of ${summary.thresholds.length} FAILED` : `all ${summary.thresholds.length} passed`}`,
      '',
      ...summary.thresholds.map((r) => `- ${describeThresholdResult(r)}`),
      '',
    );
  }
  if (summary.interruptedTrials?.length) {
    out.push('## Trials left out (interrupted)', '', ...summary.interruptedTrials.map((t) => `- ${t}`), '');
  }
  if (summary.problems.length) {
    out.push('## Files that could not be read', '', ...summary.problems.map((p) => `- ${p}`), '');
  }
  const ids = [...new Set(summary.variants.map((v) => v.experimentId))];
  for (const id of ids) {
    const rows = summary.variants.filter((v) => v.experimentId === id);
    out.push(`## ${id}`, '');
    out.push('| variant | trials | requests | req/s | p50 | p99 | p99.9 | errors | by class |');
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const v of rows) {
      const byClass = Object.entries(v.errors)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      out.push(
        `| ${v.variant} | ${v.trials} | ${v.requests} | ${fmt.int(v.throughputPerSecond)} | ${fmt.ms(v.latency.p50Us)} | ${fmt.ms(v.latency.p99Us)} | ` +
          `${fmt.ms(v.latency.p999Us)} | ${fmt.pct(v.errorRate)} | ${byClass || '–'} |`,
      );
    }
    out.push('');
    out.push(...experimentTable(rows));
    const comps = summary.comparisons.filter((c) => c.experimentId === id);
    if (comps.length) {
      out.push('', '| compared (legacy − rc) | result |', '|---|---|');
      for (const c of comps) out.push(`| ${c.metric} (${c.baseline}) | ${describeComparison(c)} |`);
    }
    const faults = rows.filter((v) => v.engineFaults.missedArrivals > 0 || v.engineFaults.notes.length);
    for (const v of faults)
      out.push('', `> load generator (${v.variant}): ${v.engineFaults.notes.join('; ')}`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

function experimentTable(rows: VariantSummary[]): string[] {
  const exp = rows[0]?.experiment;
  if (exp === 'ttl-cache') {
    return [
      '| variant | turn p50 | turn p99 | turn mean | round trips / turn | bytes / turn | list cache hits |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (v) =>
          `| ${v.variant} | ${fmt.ms(v.turn?.p50Us)} | ${fmt.ms(v.turn?.p99Us)} | ${fmt.ms(v.turn?.meanUs)} | ${fmt.num(v.roundTripsPerTurn, 2)} | ` +
          `${fmt.int(v.bytesPerTurn)} | ${v.lifecycle.listCacheHits} |`,
      ),
    ];
  }
  if (exp === 'rolling-update' || exp === 'pod-kill') {
    return [
      '| variant | failed requests | sessions lost | re-initialised | tasks lost | tasks failed | handles rejected | p99 before | p99 during | rollout | recovery (pod) | recovery (Redis) |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map((v) => {
        const failed = Object.values(v.errors).reduce((s, n) => s + n, 0);
        const d = v.disruption;
        return (
          `| ${v.variant} | ${failed} | ${v.lifecycle.sessionsLost} | ${v.lifecycle.reinitialisations} | ${v.lifecycle.tasksLost} | ` +
          `${v.lifecycle.tasksFailed} | ${v.lifecycle.handlesRejected} | ${fmt.ms(d?.p99BeforeUs)} | ${fmt.ms(d?.p99DuringUs)} | ` +
          `${fmt.s(d?.rolloutDurationMs)} | ${fmt.s(d?.recoveryMs)} | ${fmt.s(d?.redisRecoveryMs)} |`
        );
      }),
    ];
  }
  if (exp === 'hpa') {
    return [
      '| variant | max replicas | first scale-up | at max | scale-down after | load spread CV | busiest / idlest share |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...rows.map((v) => {
        const s = v.scaling;
        const spread = s?.loadSpread;
        return (
          `| ${v.variant} | ${s?.maxReplicas ?? '–'} | ${fmt.s(s?.timeToFirstScaleUpMs)} | ${fmt.s(s?.timeToMaxMs)} | ${fmt.s(s?.scaleDownMs)} | ` +
          `${fmt.num(spread?.cv, 2)} | ${spread ? `${fmt.pct(spread.busiestShare)} / ${fmt.pct(spread.idlestShare)}` : '–'} |`
        );
      }),
    ];
  }
  return [];
}
