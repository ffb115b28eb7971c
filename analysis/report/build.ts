import { comparisonMark, describeComparison } from '../describe.js';
import { fmt, METRICS } from '../metrics.js';
import { analysisOf } from '../plugins/registry.js';
import type { RunSummary } from '../summary-types.js';
import { describeThresholdResult } from '../thresholds.js';
import { verdictLines } from '../verdict.js';
import { capacitySection } from './capacity.js';
import { type Block, cell, type ReportModel, type Section, table } from './model.js';
import { scorecardBlocks } from './scorecard.js';

/** Which manifests the run deployed (run config `deployment`). */
function deploymentLabel(deployment: RunSummary['deployment']): string {
  if (deployment === 'prepared')
    return 'prepared (preStop delay, readiness off on SIGTERM, grace to match, PDB)';
  if (deployment === 'unprepared') return 'unprepared (no preStop, no PDB, SIGTERM stops listening at once)';
  return 'not recorded (runs before this field deployed unprepared manifests)';
}

/**
 * What "prepared" means for a server that is not ours: the parts that need nothing from the server
 * apply; the ones a server does itself on SIGTERM are its own (ours turn unready and drain).
 */
const FOREIGN_PREPARED_NOTE: Block = {
  kind: 'note',
  text: [
    'Prepared deployment, for these servers: the preStop delay, the grace period and the PodDisruptionBudget apply as for ours; ',
    'turning unready on SIGTERM while still serving, Connection: close and draining in-flight work are each server’s own, ',
    'so one that exits at once on SIGTERM drops what it was serving, and its rollout and kill errors include that.',
  ],
};

const MECHANISM_WORDS: Record<string, string> = {
  'cgroup-v1': 'a CFS quota per replica, cgroup v1',
  'cgroup-v2': 'a CFS quota per replica, cgroup v2',
  kubernetes: 'resources.limits.cpu, enforced by the kubelet',
};

/** Whether "one pod" meant a pod (its CPU limit held) or could use the whole host. */
function cpuLimitsLabel(c: RunSummary['cpuLimits']): string {
  if (!c?.recorded)
    return 'not recorded (runs before this field did not enforce limits on the local cluster)';
  const limits = c.limitsMillicores.map((m) => `${m}m`).join(', ');
  const how = c.mechanisms.map((m) => MECHANISM_WORDS[m] ?? m).join('; ');
  if (c.notEnforced.length === 0) return `enforced (${limits} per pod; ${how})`;
  const reasons = [...new Set(c.notEnforced.map((n) => n.reason))].join('; ');
  if (c.enforced.length === 0)
    return `NOT enforced: pods could use the whole host, so per-pod figures are not per-pod capacity (${reasons})`;
  return (
    `enforced for ${c.enforced.length} of ${c.enforced.length + c.notEnforced.length} deployments (${how}); ` +
    `not for ${c.notEnforced.map((n) => n.where).join(', ')} (${reasons})`
  );
}

/**
 * The report of a run as a model (analysis/report/model.ts): the scorecard first, then the verdict,
 * then one section per experiment in the order the run ran them.
 */
/** Where the load came from: the host, or generator pods in the cluster (with their health). */
function loadSourceLabel(l: RunSummary['loadSource']): string {
  if (!l) return 'the host (runs before this field always loaded from the host)';
  const parts: string[] = [];
  if (l.inCluster > 0) {
    const pods = l.generatorCounts.join(' or ');
    const skew =
      l.maxClockSkewMs === null
        ? 'clock skew not measured'
        : `pod clocks within ${Math.round(l.maxClockSkewMs)} ms of the harness's (an upper bound: it includes the log line's delivery)`;
    parts.push(`${pods} generator pods in the cluster for ${l.inCluster} trial(s) (${skew})`);
  }
  if (l.fromHost > 0) parts.push(`the host for ${l.fromHost} trial(s)`);
  let text = parts.join('; ');
  if (l.faults.length) text += `. HARNESS FAULTS (a share of the load is missing): ${l.faults.join('; ')}`;
  if (l.saturated.length)
    text += `. SATURATED GENERATORS (the generator may have been the limit): ${l.saturated.join('; ')}`;
  return text;
}

export function buildReport(summary: RunSummary): ReportModel {
  const sections: Section[] = [{ title: 'Scorecard', blocks: scorecardBlocks(summary) }];
  const verdict = verdictLines(summary);
  sections.push({
    title: 'Verdict',
    blocks: [{ kind: 'list', items: verdict.length ? verdict : [['No comparable experiment ran.']] }],
  });
  if (summary.thresholds.length) {
    const failed = summary.thresholds.filter((r) => !r.ok).length;
    sections.push({
      title: `Thresholds: ${failed ? `${failed} of ${summary.thresholds.length} FAILED` : `all ${summary.thresholds.length} passed`}`,
      blocks: [{ kind: 'list', items: summary.thresholds.map((r) => [describeThresholdResult(r)]) }],
    });
  }
  if (summary.servers && Object.keys(summary.servers).length)
    sections.push({
      title: 'Servers that are not ours',
      blocks: [
        {
          kind: 'table',
          table: table(
            ['variant', 'protocol', 'tools called', 'left out', 'not applicable', 'measured by'],
            Object.entries(summary.servers).map(([name, s]) => [
              cell(name),
              cell(s.detectedBy ? `${s.protocol} (detected: ${s.detectedBy})` : s.protocol),
              cell(
                s.tools.join(', ') +
                  (s.inferred.length ? ` (arguments inferred: ${s.inferred.join(', ')})` : ''),
              ),
              cell(s.skipped.map((x) => `${x.tool}: ${x.reason}`).join('; ') || '–'),
              cell(
                Object.entries(s.notApplicable)
                  .map(([k, why]) => `${k}: ${why}`)
                  .join('; ') || '–',
              ),
              cell(
                Object.entries(s.measuredBy ?? {})
                  .map(([k, how]) => `${k}: ${how}`)
                  .join('; ') || '–',
              ),
            ]),
          ),
        },
        ...(summary.deployment === 'prepared' ? [FOREIGN_PREPARED_NOTE] : []),
      ],
    });
  if (summary.interruptedTrials?.length)
    sections.push({
      title: 'Trials left out (interrupted)',
      blocks: [{ kind: 'list', items: summary.interruptedTrials.map((t) => [t]) }],
    });
  if (summary.problems.length)
    sections.push({
      title: 'Files that could not be read',
      blocks: [{ kind: 'list', items: summary.problems.map((p) => [p]) }],
    });
  const ids = [...new Set(summary.variants.map((v) => v.experimentId))];
  for (const id of ids) {
    const rows = summary.variants.filter((v) => v.experimentId === id);
    const blocks: Block[] = [];
    blocks.push({
      kind: 'table',
      table: table(
        ['variant', 'trials:', 'requests:', 'req/s:', 'p50:', 'p99:', 'p99.9:', 'errors:', 'by class'],
        rows.map((v) => {
          const byClass = Object.entries(v.errors)
            .filter(([, n]) => n > 0)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ');
          const throughput = METRICS.throughputPerSecond.fromSummary(v);
          const errorRate = METRICS.errorRate.fromSummary(v);
          return [
            cell(v.variant),
            cell(String(v.trials), v.trials),
            cell(String(v.requests), v.requests),
            cell(fmt.int(throughput), throughput),
            cell(fmt.ms(METRICS.p50Us.fromSummary(v)), METRICS.p50Us.fromSummary(v)),
            cell(fmt.ms(METRICS.p99Us.fromSummary(v)), METRICS.p99Us.fromSummary(v)),
            cell(fmt.ms(v.latency.p999Us), v.latency.p999Us),
            cell(fmt.pct(errorRate), errorRate),
            cell(byClass || '–'),
          ];
        }),
      ),
    });
    const plugin = rows[0] ? analysisOf(rows[0].experiment) : null;
    if (plugin) blocks.push({ kind: 'table', table: plugin.table(rows) });
    if (plugin?.blocks) blocks.push(...plugin.blocks(rows));
    const comps = summary.comparisons.filter((c) => c.experimentId === id);
    if (comps.length)
      blocks.push({
        kind: 'table',
        table: table(
          ['compared (legacy − rc)', 'result'],
          comps.map((c) => [
            cell(`${c.metric} (${c.baseline})`),
            {
              ...cell(describeComparison(c), c.interval.diff),
              interval: { low: c.interval.low, high: c.interval.high },
              mark: comparisonMark(c),
            },
          ]),
        ),
      });
    for (const v of rows.filter((v) => v.engineFaults.missedArrivals > 0 || v.engineFaults.notes.length))
      blocks.push({
        kind: 'note',
        text: [`load generator (${v.variant}): ${v.engineFaults.notes.join('; ')}`],
      });
    sections.push({ title: id, experimentId: id, blocks });
  }
  const capacity = capacitySection(summary);
  if (capacity) sections.push(capacity);
  return {
    title: `mcpbench: ${summary.run}`,
    meta: {
      cluster: summary.cluster.provider,
      kubernetesVersion: summary.cluster.kubernetesVersion,
      status: summary.status,
      generatedAt: summary.generatedAt,
      deployment: deploymentLabel(summary.deployment),
      cpuLimits: cpuLimitsLabel(summary.cpuLimits),
      loadFrom: loadSourceLabel(summary.loadSource),
    },
    sections,
  };
}
