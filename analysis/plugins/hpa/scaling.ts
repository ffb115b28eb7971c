import type { Trial } from '../../load-run.js';
import type { VariantSummary } from '../../summary-types.js';

/** The replica timeline of one hpa trial and what it says: time to scale, load spread after scale-up, scale-down. */

type TrialScaling = NonNullable<VariantSummary['scaling']>;

function scaling(t: Trial): TrialScaling {
  const timeline = t.samples.map((s) => ({ tMs: s.tMs, desired: s.desired, ready: s.ready }));
  const initial = timeline[0]?.desired ?? 0;
  const stageUp = t.events.find((e) => e.kind === 'load-stage' && Number(e.detail.index) === 2);
  const from = stageUp?.tMs ?? 0;
  const ups = t.events.filter(
    (e) => e.kind === 'replicas-changed' && Number(e.detail.to) > Number(e.detail.from),
  );
  const downs = t.events.filter(
    (e) => e.kind === 'replicas-changed' && Number(e.detail.to) < Number(e.detail.from),
  );
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
    const counts = Object.values(per);
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
      };
    }
  }
  return {
    timeline,
    timeToFirstScaleUpMs: ups[0] ? ups[0].tMs - from : null,
    timeToMaxMs: reachedMax && maxReplicas > initial ? reachedMax.tMs - from : null,
    maxReplicas,
    scaleDownMs: downs[0] && lastUp ? downs[downs.length - 1]!.tMs - lastUp.tMs : null,
    loadSpread,
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
