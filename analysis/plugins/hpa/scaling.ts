import type { Trial } from '../../load-run.js';
import type { VariantSummary } from '../../summary-types.js';

/**
 * The replica timeline of one hpa trial and what it says: whether the premise held (base load below
 * the CPU target, no scale-up before the step), time to scale after the step, load spread after
 * scale-up, scale-down after the step.
 */

type TrialScaling = NonNullable<VariantSummary['scaling']>;
type Premise = NonNullable<TrialScaling['premise']>;

type TrialEvent = Trial['events'][number];
type Sample = Trial['samples'][number];

/** When the load's step starts (the first stage that raises the load) and ends (the first that lowers it again). */
function stepOf(events: TrialEvent[]): { startMs: number; endMs: number | null } | null {
  const stages = events
    .filter((e) => e.kind === 'load-stage')
    .map((e) => ({ tMs: e.tMs, level: Number(e.detail.rate ?? e.detail.agents) }))
    .filter((s) => Number.isFinite(s.level));
  const base = stages[0]?.level;
  if (base === undefined) return null;
  const up = stages.findIndex((s) => s.level > base);
  if (up < 0) return null;
  const peak = Math.max(...stages.map((s) => s.level));
  const down = stages.findIndex((s, i) => i > up && s.level < peak);
  return { startMs: stages[up]!.tMs, endMs: down < 0 ? null : stages[down]!.tMs };
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Average utilisation of the ready replicas with a CPU figure in one sample, percent of the request (the HPA's arithmetic). */
function sampleUtilisation(s: Sample, requestMillicores: number): number | null {
  const cpu = s.replicas
    .filter((r) => r.ready && r.cpuMillicores !== null)
    .map((r) => r.cpuMillicores as number);
  if (cpu.length === 0) return null;
  return (cpu.reduce((a, b) => a + b, 0) * 100) / (cpu.length * requestMillicores);
}

/**
 * Judges the premise from the trial's HPA spec (target, request), its base window and its replica
 * changes: failed when a scale-up came before the step, or when the base load's median utilisation
 * reached the target (the HPA would scale at base load, given time).
 */
export function judgePremise(
  spec: { targetCpuUtilization: number; cpuRequestMillicores: number },
  base: { startMs: number; endMs: number },
  samples: Sample[],
  scaleUpTimesMs: number[],
): Premise {
  const inBase = samples.filter((s) => s.tMs >= base.startMs && s.tMs <= base.endMs);
  const util = median(
    inBase.map((s) => sampleUtilisation(s, spec.cpuRequestMillicores)).filter((u): u is number => u !== null),
  );
  const early = scaleUpTimesMs.filter((t) => t < base.endMs);
  const target = spec.targetCpuUtilization;
  const u = util === null ? 'unknown' : `${Math.round(util)}%`;
  let failed: string | null = null;
  if (early.length > 0) {
    const at = (early[0]! / 1000).toFixed(1);
    failed = `premise failed: scaled at base load (${early.length} scale-up${early.length > 1 ? 's' : ''} before the step, the first at ${at} s; utilisation ${u} ${util !== null && util >= target ? '≥' : 'vs'} target ${target}%)`;
  } else if (util !== null && util >= target) {
    failed = `premise failed: base load at or above the target (utilisation ${u} ≥ target ${target}%)`;
  }
  return {
    baseUtilisation: util,
    targetUtilisation: target,
    scaleUpsBeforeStep: early.length,
    failed,
  };
}

/** Each ready pod's mean CPU (millicores) over the samples in [fromMs, untilMs) that carry a figure for it. */
function meanCpuPerPod(samples: Sample[], fromMs: number, untilMs: number): Record<string, number> {
  const sum: Record<string, { total: number; n: number }> = {};
  for (const s of samples) {
    if (s.tMs < fromMs || s.tMs >= untilMs) continue;
    for (const r of s.replicas) {
      if (!r.ready || r.cpuMillicores === null) continue;
      const acc = sum[r.name] ?? { total: 0, n: 0 };
      acc.total += r.cpuMillicores;
      acc.n += 1;
      sum[r.name] = acc;
    }
  }
  return Object.fromEntries(Object.entries(sum).map(([pod, a]) => [pod, a.total / a.n]));
}

function scaling(t: Trial): TrialScaling {
  const timeline = t.samples.map((s) => ({ tMs: s.tMs, desired: s.desired, ready: s.ready }));
  const initial = timeline[0]?.desired ?? 0;
  const step = stepOf(t.events);
  const from = step?.startMs ?? 0;
  const ups = t.events.filter(
    (e) => e.kind === 'replicas-changed' && Number(e.detail.to) > Number(e.detail.from),
  );
  const downs = t.events.filter(
    (e) => e.kind === 'replicas-changed' && Number(e.detail.to) < Number(e.detail.from),
  );
  const specEvent = t.events.find((e) => e.kind === 'hpa-spec');
  const target = Number(specEvent?.detail.targetCpuUtilization);
  const request = Number(specEvent?.detail.cpuRequestMillicores);
  let premise: Premise | null = null;
  if (step && Number.isFinite(target) && Number.isFinite(request) && request > 0) {
    const before = t.events.find((e) => e.kind === 'window' && e.detail.name === 'before');
    const startMs = Number(before?.detail.startMs ?? 0);
    premise = judgePremise(
      { targetCpuUtilization: target, cpuRequestMillicores: request },
      { startMs, endMs: step.startMs },
      t.samples,
      ups.map((e) => e.tMs),
    );
  }
  const upsAfter = ups.filter((e) => e.tMs >= from);
  const maxReplicas = Math.max(initial, ...timeline.map((p) => p.desired));
  const reachedMax = timeline.find((p) => p.desired === maxReplicas && p.ready === maxReplicas);
  const lastUp = ups[ups.length - 1];
  let loadSpread: TrialScaling['loadSpread'] = null;
  if (lastUp) {
    const fromSecond = Math.ceil((lastUp.tMs + 2_000) / 1000);
    const until = downs.find((d) => d.tMs > lastUp.tMs)?.tMs ?? Number.POSITIVE_INFINITY;
    const per: Record<string, number> = {};
    for (const p of t.engine.timeseries) {
      if (p.t < fromSecond || p.t * 1000 >= until) continue;
      for (const [r, n] of Object.entries(p.perReplica)) per[r] = (per[r] ?? 0) + n;
    }
    const replicasAfter = Number(lastUp.detail.to);
    // Requests per replica where the answers name it; else (a server that is not ours) each pod's mean
    // CPU over the same window, from the samples (the metrics API on kind/kube).
    const byRequests = Object.values(per).some((n) => n > 0);
    const counts = byRequests
      ? Object.values(per)
      : Object.values(meanCpuPerPod(t.samples, fromSecond * 1000, until));
    while (counts.length < replicasAfter) counts.push(0); // replicas that got nothing at all
    const total = counts.reduce((s, n) => s + n, 0);
    if (total > 0) {
      const m = total / counts.length;
      const sd = Math.sqrt(counts.reduce((s, n) => s + (n - m) ** 2, 0) / counts.length);
      loadSpread = {
        replicas: counts.length,
        cv: sd / m,
        busiestShare: Math.max(...counts) / total,
        idlestShare: Math.min(...counts) / total,
        ...(byRequests ? {} : { source: 'cpu' as const }),
      };
    }
  }
  // Scale-down: from the end of the step (the load dropping back) to the last scale-down after it.
  const stepEnd = step?.endMs ?? null;
  const downsAfter = stepEnd === null ? [] : downs.filter((d) => d.tMs >= stepEnd);
  const premiseFailed = premise?.failed != null;
  const decisions = step
    ? t.events.filter(
        (e) =>
          e.kind === 'hpa-decision' && e.tMs >= step.startMs && (step.endMs === null || e.tMs < step.endMs),
      )
    : [];
  const stepSyncs = decisions.length
    ? {
        total: decisions.length,
        withoutMetrics: decisions.filter(
          (e) => e.detail.utilisation === null || e.detail.utilisation === undefined,
        ).length,
      }
    : null;
  return {
    timeline,
    // A scale-up before the step measures nothing: no time to scale then, and the premise says why.
    timeToFirstScaleUpMs: premiseFailed || !upsAfter[0] ? null : upsAfter[0].tMs - from,
    timeToMaxMs: !premiseFailed && reachedMax && maxReplicas > initial ? reachedMax.tMs - from : null,
    maxReplicas,
    scaleDownMs:
      stepEnd !== null && downsAfter.length ? downsAfter[downsAfter.length - 1]!.tMs - stepEnd : null,
    loadSpread,
    stepSyncs,
    premise,
  };
}

const cache = new WeakMap<Trial, TrialScaling>();

export function trialScaling(t: Trial): TrialScaling {
  let s = cache.get(t);
  if (!s) {
    s = scaling(t);
    cache.set(t, s);
  }
  return s;
}
