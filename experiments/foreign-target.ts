import type { VariantDefinition } from '../cluster/variants.js';
import type { VariantInfo } from '../rundir/layout.js';
import { detectProtocolWithReason } from '../scenarios/engine/engine.js';
import { discoverServer } from '../scenarios/engine/list-tools.ts';
import { LEGACY, type ProtocolVersion, REPLICA_HEADER } from '../scenarios/models/protocol.ts';
import { resolveScenario } from '../scenarios/models/scenarios.ts';
import { planWorkload, type Workload } from '../scenarios/models/workload.ts';
import type { ExperimentDefinition } from './definitions.js';

/**
 * What the load runs against one variant: its protocol era (detected when the variant says `auto`)
 * and, for a server that is not ours, the workload planned from its own tools/list and the run
 * config's `workload`, with every premise the server does not support named (`notApplicable`).
 */
export interface LoadTarget {
  protocol: ProtocolVersion;
  scenarioParams: Record<string, unknown>;
  /** for a server that is not ours: what was found, planned, left out and not applicable */
  info?: VariantInfo;
}

export async function loadTarget(
  url: string,
  variant: VariantDefinition,
  def: ExperimentDefinition,
  /** how the cluster measures a replica from outside the server */
  options: {
    /** the Service counts requests per replica (local provider): load spread needs no replica header */
    serviceCounts?: boolean;
    /** the cluster samples each pod's CPU (kind/kube: the metrics API): load spread from per-pod CPU */
    perPodCpu?: boolean;
  } = {},
): Promise<LoadTarget> {
  let protocol: ProtocolVersion;
  let detectedBy: string | undefined;
  if (variant.protocol === 'auto') {
    const d = await detectProtocolWithReason(url);
    protocol = d.protocol;
    detectedBy = d.reason;
  } else protocol = variant.protocol;
  if (variant.server !== 'foreign') return { protocol, scenarioParams: def.scenarioParams };

  const offer = await discoverServer(url, protocol);
  const plan = planWorkload(offer.tools, variant.foreign?.workload as Workload | undefined);
  const w = plan.workload;
  const base = resolveScenario(def.scenario, def.scenarioParams);
  const notApplicable: Record<string, string> = {};
  if (!w.longRunning) notApplicable.tasks = 'no long-running tool (workload.longRunning)';
  else if (protocol === LEGACY) notApplicable.tasks = '2025-11-25 has no tasks: long-running calls block';
  else if (!offer.tasks) notApplicable.tasks = 'server/discover names no Tasks extension';
  if (!w.handle) notApplicable.handles = 'no handle flow (workload.handle)';
  if (protocol === LEGACY) notApplicable.ttl = '2025-11-25 list results carry no ttlMs';
  else if (!offer.ttlMs) notApplicable.ttl = 'tools/list answered with no ttlMs: nothing to cache';
  // Without a replica header, the local Service's counts or (kind/kube) each pod's CPU from the metrics
  // API give the load spread (the report says which); elsewhere there is none.
  const serviceCounts = options.serviceCounts === true;
  if (!offer.replicaHeader && !serviceCounts && !options.perPodCpu)
    notApplicable.replicaHeader = `answers name no replica (${REPLICA_HEADER} header): no per-replica load spread`;
  if (protocol !== LEGACY)
    notApplicable.sessions = '2026-07-28 is stateless: no sessions to hold, so no memory per session';
  // Where each figure of a server that is not ours comes from: never its /metrics (that is our servers').
  const measuredBy: Record<string, string> = {
    loadSpread: offer.replicaHeader
      ? `the ${REPLICA_HEADER} response header`
      : serviceCounts
        ? "the Service proxy's own per-replica request counts"
        : options.perPodCpu
          ? "each pod's CPU from the metrics API"
          : 'not measured',
    ...(serviceCounts
      ? {
          cpu: "the OS (/proc: the replica's processes' utime + stime)",
          memory: "the OS (/proc: the replica's processes' VmRSS)",
          ...(protocol === LEGACY
            ? { sessions: 'the Service proxy (Mcp-Session-Id values in use, not yet DELETEd)' }
            : {}),
        }
      : {}),
    ...(options.perPodCpu
      ? {
          cpu: 'the metrics API (metrics-server: a CPU rate per pod)',
          memory: "the metrics API (the pod's working set)",
        }
      : {}),
  };
  const mix = base.mix.filter(
    (m) => (m.action !== 'workflow' || w.handle) && (m.action !== 'task' || w.longRunning),
  );
  if (w.tools.length === 0 && !w.handle && !w.longRunning)
    throw new Error(
      `${variant.name}: no tool to call (${offer.tools.length} listed; left out: ${plan.skipped.map((s) => `${s.tool}: ${s.reason}`).join('; ') || 'none'})`,
    );
  return {
    protocol,
    scenarioParams: {
      ...def.scenarioParams,
      foreign: w,
      mix: mix.length ? mix : [{ weight: 1, action: 'call' }],
    },
    info: {
      server: 'foreign',
      protocol,
      ...(detectedBy ? { detectedBy } : {}),
      tools: [
        ...w.tools.map((t) => t.name),
        ...(w.handle ? [w.handle.tool] : []),
        ...(w.longRunning ? [w.longRunning.tool] : []),
      ],
      inferred: plan.inferred,
      skipped: plan.skipped,
      listTtlMs: offer.ttlMs,
      notApplicable,
      measuredBy,
    },
  };
}

/** One line for the run log. */
export function describeTarget(name: string, t: LoadTarget): string | null {
  const i = t.info;
  if (!i) return null;
  const skipped = i.skipped.length
    ? `; left out: ${i.skipped.map((s) => `${s.tool} (${s.reason})`).join(', ')}`
    : '';
  const na = Object.entries(i.notApplicable);
  return (
    `  ${name}: protocol ${i.protocol}${i.detectedBy ? ` (detected: ${i.detectedBy})` : ''}; ` +
    `calls ${i.tools.join(', ')}${i.inferred.length ? ` (arguments inferred for ${i.inferred.join(', ')})` : ''}${skipped}` +
    (na.length ? `; not applicable: ${na.map(([k, why]) => `${k} (${why})`).join(', ')}` : '')
  );
}
