import type { Trial } from '../../load-run.js';
import type { HpaStepRow, VariantSummary } from '../../summary-types.js';

/**
 * The replica timeline of one hpa trial and what it says, per load step: whether the step's premise
 * held (the deployment back at minReplicas when it started, base load below the CPU target, no
 * scale-up at base load before it), the time to the first scale-up after it, the peak replicas, the
 * load spread while scaled out, p99 in the step against the base before it, and the time to scale
 * back down to minReplicas after it.
 */

type TrialScaling = NonNullable<VariantSummary['scaling']>;
type Premise = NonNullable<TrialScaling['premise']>;

type TrialEvent = Trial['events'][number];
type Sample = Trial['samples'][number];

interface StepWindow {
  /** the first stage that raises the load above the base (its ramp) */
  startMs: number;
  /** the first stage that lowers it again; null when the load ended at the step */
  endMs: number | null;
}

/** Every load step: a rise above the base level, held, then a fall (stages recorded by the runner). */
function stepsOf(events: TrialEvent[]): StepWindow[] {
  const stages = events
    .filter((e) => e.kind === 'load-stage')
    .map((e) => ({ tMs: e.tMs, level: Number(e.detail.rate ?? e.detail.agents) }))
    .filter((s) => Number.isFinite(s.level));
  const base = stages[0]?.level;
  if (base === undefined) return [];
  const steps: StepWindow[] = [];
  let state: 'base' | 'step' | 'falling' = 'base';
  let peak = base;
  for (const s of stages) {
    if (state !== 'step' && s.level <= base) state = 'base';
    if (state === 'base' && s.level > base) {
      steps.push({ startMs: s.tMs, endMs: null });
      state = 'step';
      peak = s.level;
    } else if (state === 'step') {
      if (s.level > peak) peak = s.level;
      else if (s.level < peak) {
        (steps[steps.length - 1] as StepWindow).endMs = s.tMs;
        state = 'falling';
      }
    }
  }
  return steps;
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const meanOf = (xs: number[]): number | null =>
  xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null;

/** Average utilisation of the ready replicas with a CPU figure in one sample, percent of the request (the HPA's arithmetic). */
function sampleUtilisation(s: Sample, requestMillicores: number): number | null {
  const cpu = s.replicas
    .filter((r) => r.ready && r.cpuMillicores !== null)
    .map((r) => r.cpuMillicores as number);
  if (cpu.length === 0) return null;
  return (cpu.reduce((a, b) => a + b, 0) * 100) / (cpu.length * requestMillicores);
}

/**
 * Judges the premise from the trial's HPA spec (target, request), a step's base window and the
 * scale-ups in it: failed when a scale-up came before the step, or when the base load's median
 * utilisation reached the target (the HPA would scale at base load, given time).
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

/**
 * Requests the Service sent each replica in [fromMs, untilMs), from the samples' running counts
 * (serviceRequests): the last count inside the window less the last one before it (0 for a replica
 * that started inside it). Null when the samples carry no counts (a provider that does not count).
 */
export function serviceCounts(
  samples: Sample[],
  fromMs: number,
  untilMs: number,
): Record<string, number> | null {
  const before = new Map<string, number>();
  const last = new Map<string, number>();
  let counted = false;
  for (const s of samples) {
    for (const r of s.replicas) {
      if (r.serviceRequests === undefined) continue;
      counted = true;
      if (s.tMs <= fromMs) before.set(r.name, r.serviceRequests);
      else if (s.tMs < untilMs) last.set(r.name, r.serviceRequests);
    }
  }
  if (!counted) return null;
  const per: Record<string, number> = {};
  for (const [name, n] of last) per[name] = Math.max(0, n - (before.get(name) ?? 0));
  return per;
}

/** Worst per-second p99 over the seconds a window overlaps (the disruption events' convention). */
function worstP99(t: Trial, startMs: number, endMs: number): number | null {
  const points = t.engine.timeseries.filter(
    (p) => p.t * 1000 + 1000 > startMs && p.t * 1000 < endMs && p.requests > 0,
  );
  return points.length ? Math.max(...points.map((p) => p.p99Us)) : null;
}

/**
 * Requests per replica over the seconds of [fromMs, untilMs) in which at least two replicas were
 * ready (the sample at the second's start says which): replicas that were ready and got nothing
 * count as zero, which is what sticky sessions do to new pods.
 */
function spreadOver(t: Trial, fromMs: number, untilMs: number): HpaStepRow['loadSpread'] {
  const per: Record<string, number> = {};
  const seconds: number[] = [];
  for (const p of t.engine.timeseries) {
    const at = p.t * 1000;
    if (at < fromMs || at >= untilMs) continue;
    const sample = t.samples.findLast((s) => s.tMs <= at + 500);
    const ready = (sample?.replicas ?? []).filter((r) => r.ready).map((r) => r.name);
    if (ready.length < 2) continue;
    seconds.push(at);
    for (const r of ready) per[r] ??= 0;
    for (const [r, n] of Object.entries(p.perReplica)) per[r] = (per[r] ?? 0) + n;
  }
  let source: 'replica-header' | 'service-proxy' | 'cpu' = 'replica-header';
  const sum = (xs: number[]) => xs.reduce((a, n) => a + n, 0);
  if (seconds.length && sum(Object.values(per)) === 0) {
    // No answer named its replica (a server that is not ours): what the Service sent each one instead.
    const routed = serviceCounts(t.samples, Math.min(...seconds), Math.max(...seconds) + 1000);
    if (routed) {
      Object.assign(per, routed);
      source = 'service-proxy';
    } else {
      // kind/kube count nothing per replica: each pod's mean CPU over the same seconds (the metrics API)
      Object.assign(per, meanCpuPerPod(t.samples, Math.min(...seconds), Math.max(...seconds) + 1000));
      source = 'cpu';
    }
  }
  const counts = Object.values(per);
  const total = sum(counts);
  if (counts.length < 2 || total === 0) return null;
  const m = total / counts.length;
  const sd = Math.sqrt(counts.reduce((s, n) => s + (n - m) ** 2, 0) / counts.length);
  return {
    replicas: counts.length,
    cv: sd / m,
    busiestShare: Math.max(...counts) / total,
    idlestShare: Math.min(...counts) / total,
    source,
  };
}

/** Request-weighted mean of the seconds' p50 and p99, and the error rate, over [fromMs, untilMs). */
function cycleFigures(t: Trial, fromMs: number, untilMs: number): HpaStepRow['cycle'] {
  const points = t.engine.timeseries.filter((p) => p.t * 1000 >= fromMs && p.t * 1000 < untilMs);
  const requests = points.reduce((s, p) => s + p.requests, 0);
  if (requests === 0) return null;
  const weighted = (f: (p: (typeof points)[number]) => number) =>
    points.reduce((s, p) => s + f(p) * p.requests, 0) / requests;
  return {
    requests,
    p50Us: weighted((p) => p.p50Us),
    p99Us: weighted((p) => p.p99Us),
    errorRate: points.reduce((s, p) => s + p.errors, 0) / requests,
  };
}

interface TrialSteps {
  steps: HpaStepRow[];
  premise: Premise | null;
  stepSyncs: TrialScaling['stepSyncs'];
}

function analyseSteps(t: Trial): TrialSteps {
  const windows = stepsOf(t.events);
  const changes = t.events
    .filter((e) => e.kind === 'replicas-changed')
    .map((e) => ({ tMs: e.tMs, from: Number(e.detail.from), to: Number(e.detail.to) }));
  const ups = changes.filter((c) => c.to > c.from);
  const specEvent = t.events.find((e) => e.kind === 'hpa-spec');
  const target = Number(specEvent?.detail.targetCpuUtilization);
  const request = Number(specEvent?.detail.cpuRequestMillicores);
  const hasSpec = Number.isFinite(target) && Number.isFinite(request) && request > 0;
  const initial = t.samples[0]?.desired ?? changes[0]?.from ?? 1;
  const minReplicas = Number.isFinite(Number(specEvent?.detail.minReplicas))
    ? Number(specEvent?.detail.minReplicas)
    : initial;
  // The HPA acts on its sync grid: a return to minReplicas within a tenth of a sync period after a
  // step starts was decided on metrics from before it (its window ends at the sync), so it counts
  // as back before the step; measured: such returns land 1-40 ms after a step's start.
  const graceMs = 100 * (Number(specEvent?.detail.syncPeriodSeconds) || 0);
  const desiredAt = (tMs: number) => {
    let d = initial;
    for (const c of changes) if (c.tMs <= tMs) d = c.to;
    return d;
  };
  const before = t.events.find((e) => e.kind === 'window' && e.detail.name === 'before');
  const firstBaseStart = Number(before?.detail.startMs ?? 0);
  const steps: HpaStepRow[] = [];
  const decisions = t.events.filter((e) => e.kind === 'hpa-decision');
  let syncs = 0;
  let blind = 0;
  for (const [i, w] of windows.entries()) {
    const prev = windows[i - 1];
    const nextStart = windows[i + 1]?.startMs ?? Number.POSITIVE_INFINITY;
    const index = i + 1;
    // where the base before this step starts: the trial's "before" window, else the deployment's
    // return to minReplicas after the previous step
    let baseStartMs: number | null = firstBaseStart;
    if (prev) {
      const fallMs = prev.endMs ?? prev.startMs;
      const back = changes.find((c) => c.tMs >= fallMs && c.tMs < w.startMs + graceMs && c.to <= minReplicas);
      baseStartMs = back ? back.tMs : desiredAt(fallMs) <= minReplicas ? fallMs : null;
    }
    const atStart = desiredAt(w.startMs + graceMs);
    let premise: Premise | null = null;
    if (hasSpec) {
      const notBack = {
        baseUtilisation: null,
        targetUtilisation: target,
        scaleUpsBeforeStep: 0,
        failed: `premise failed: not back at minReplicas (${minReplicas}) before step ${index} (${atStart} replicas at its start)`,
      };
      if (baseStartMs === null) premise = notBack;
      else {
        const from = baseStartMs;
        premise = judgePremise(
          { targetCpuUtilization: target, cpuRequestMillicores: request },
          { startMs: from, endMs: w.startMs },
          t.samples,
          ups.filter((u) => (prev ? u.tMs >= from : true)).map((u) => u.tMs),
        );
        // a scale-up at base load explains the replicas at the start; else they were never scaled down
        if (!premise.failed && atStart > minReplicas)
          premise = { ...notBack, baseUtilisation: premise.baseUtilisation };
      }
    }
    const held = !premise?.failed;
    const upsAfter = ups.filter((u) => u.tMs >= w.startMs && u.tMs < nextStart);
    const inWindow = t.samples.filter((s) => s.tMs >= w.startMs + graceMs && s.tMs < nextStart);
    const peak = Math.max(atStart, ...upsAfter.map((u) => u.to), ...inWindow.map((s) => s.desired));
    const reachedPeak = inWindow.find((s) => s.desired === peak && s.ready === peak);
    const firstUp = upsAfter[0];
    // scaled out: from the first scale-up to the first scale-down after it (or the next step)
    const firstDown = firstUp
      ? changes.find((c) => c.tMs > firstUp.tMs && c.to < c.from && c.tMs < nextStart)
      : undefined;
    const loadSpread = firstUp
      ? spreadOver(t, firstUp.tMs, Math.min(firstDown?.tMs ?? nextStart, nextStart))
      : null;
    const fall = w.endMs;
    const backAtMin =
      fall === null
        ? undefined
        : changes.find((c) => c.tMs >= fall && c.tMs < nextStart + graceMs && c.to <= minReplicas);
    const stepDecisions = decisions.filter((e) => e.tMs >= w.startMs && (fall === null || e.tMs < fall));
    syncs += stepDecisions.length;
    blind += stepDecisions.filter(
      (e) => e.detail.utilisation === null || e.detail.utilisation === undefined,
    ).length;
    steps.push({
      trial: t.trial,
      step: index,
      startMs: w.startMs,
      endMs: fall,
      premise,
      counted: held,
      timeToScaleUpMs: held && firstUp ? firstUp.tMs - w.startMs : null,
      peakReplicas: peak,
      timeToPeakMs: held && reachedPeak && peak > atStart ? reachedPeak.tMs - w.startMs : null,
      loadSpread: held ? loadSpread : null,
      baseP99Us: baseStartMs === null ? null : worstP99(t, baseStartMs, w.startMs),
      stepP99Us: worstP99(t, w.startMs, fall ?? t.engine.durationMs),
      scaleDownMs: held && fall !== null && backAtMin && peak > minReplicas ? backAtMin.tMs - fall : null,
      cycle: cycleFigures(
        t,
        prev?.endMs ?? 0,
        windows[i + 1] ? (w.endMs ?? nextStart) : Number.POSITIVE_INFINITY,
      ),
    });
  }
  // the trial's premise: held when any step's held (each step's own verdict is in its row)
  const judged = steps.map((s) => s.premise).filter((p): p is Premise => p !== null);
  let premise: Premise | null = null;
  if (judged.length) {
    const firstHeld = judged.find((p) => !p.failed);
    premise = {
      baseUtilisation: median(judged.map((p) => p.baseUtilisation).filter((u): u is number => u !== null)),
      targetUtilisation: target,
      scaleUpsBeforeStep: judged.reduce((s, p) => s + p.scaleUpsBeforeStep, 0),
      failed: firstHeld ? null : (judged[0] as Premise).failed,
    };
  }
  return { steps, premise, stepSyncs: syncs ? { total: syncs, withoutMetrics: blind } : null };
}

const cache = new WeakMap<Trial, TrialSteps>();

function stepsOfTrial(t: Trial): TrialSteps {
  let s = cache.get(t);
  if (!s) {
    s = analyseSteps(t);
    cache.set(t, s);
  }
  return s;
}

/** Every load step of a trial with its premise and figures. */
export function trialSteps(t: Trial): HpaStepRow[] {
  return stepsOfTrial(t).steps;
}

/** The steps whose premise held: the sample of the per-step scaling metrics. */
export function countedSteps(t: Trial): HpaStepRow[] {
  return trialSteps(t).filter((s) => s.counted);
}

const meanOfField = <K extends 'replicas' | 'cv' | 'busiestShare' | 'idlestShare'>(
  rows: NonNullable<HpaStepRow['loadSpread']>[],
  k: K,
) => meanOf(rows.map((r) => r[k])) as number;

/** The trials' pods no node had room for (`pod-unschedulable` events), once per pod. */
function unschedulableOf(trials: Trial[]): Pick<TrialScaling, 'unschedulable'> {
  const rows = trials.flatMap((t) =>
    t.events
      .filter((e) => e.kind === 'pod-unschedulable')
      .map((e) => ({ trial: t.trial, pod: String(e.detail.pod), message: String(e.detail.message ?? '') })),
  );
  return rows.length ? { unschedulable: rows } : {};
}

/**
 * The scaling block of an experiment × variant summary over all its trials: the first trial's
 * timeline, every step, and the step figures averaged over the steps whose premise held.
 */
export function scalingSummary(trials: Trial[]): TrialScaling | null {
  const first = trials[0];
  if (!first) return null;
  const steps = trials.flatMap(trialSteps);
  const counted = steps.filter((s) => s.counted);
  const spreads = counted.map((s) => s.loadSpread).filter((x): x is NonNullable<typeof x> => x !== null);
  const values = (f: (s: HpaStepRow) => number | null) =>
    meanOf(counted.map(f).filter((x): x is number => x !== null));
  const per = trials.map(stepsOfTrial);
  const premises = per.map((p) => p.premise).filter((p): p is Premise => p !== null);
  const syncs = per.map((p) => p.stepSyncs).filter((x): x is NonNullable<typeof x> => x !== null);
  return {
    timeline: first.samples.map((s) => ({ tMs: s.tMs, desired: s.desired, ready: s.ready })),
    timeToFirstScaleUpMs: values((s) => s.timeToScaleUpMs),
    timeToMaxMs: values((s) => s.timeToPeakMs),
    maxReplicas: Math.max(
      0,
      ...trials.flatMap((t) => t.samples.map((s) => s.desired)),
      ...steps.map((s) => s.peakReplicas),
    ),
    scaleDownMs: values((s) => s.scaleDownMs),
    loadSpread: spreads.length
      ? {
          replicas: Math.max(...spreads.map((r) => r.replicas)),
          cv: meanOfField(spreads, 'cv'),
          busiestShare: meanOfField(spreads, 'busiestShare'),
          idlestShare: meanOfField(spreads, 'idlestShare'),
          // any step counted from the Service's counts: the figure is (at least partly) theirs
          source: spreads.find((r) => r.source && r.source !== 'replica-header')?.source ?? 'replica-header',
        }
      : null,
    ...unschedulableOf(trials),
    stepSyncs: syncs.length
      ? {
          total: syncs.reduce((s, x) => s + x.total, 0),
          withoutMetrics: syncs.reduce((s, x) => s + x.withoutMetrics, 0),
        }
      : null,
    premise: premises.length
      ? {
          baseUtilisation: median(
            premises.map((p) => p.baseUtilisation).filter((u): u is number => u !== null),
          ),
          targetUtilisation: (premises[0] as Premise).targetUtilisation,
          scaleUpsBeforeStep: premises.reduce((s, p) => s + p.scaleUpsBeforeStep, 0),
          failed: premises.some((p) => !p.failed) ? null : (premises[0] as Premise).failed,
        }
      : null,
    steps,
  };
}

/** One trial's scaling block (its steps and their averages). */
export function trialScaling(t: Trial): TrialScaling {
  return scalingSummary([t]) as TrialScaling;
}
