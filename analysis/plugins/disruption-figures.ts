import type { Trial } from '../load-run.js';

/**
 * What a disruption (a rollout, a pod kill) did to one trial: p99 before and during, how long the
 * rollout took, and the time to recover after each kill. Shared by the rolling-update and pod-kill
 * plugins and read by the metric registry; computed once per trial.
 */

export interface TrialDisruption {
  p99BeforeUs: number | null;
  p99DuringUs: number | null;
  rolloutDurationMs: number | null;
  recoveryMs: number | null;
  redisRecoveryMs: number | null;
}

function windowOf(t: Trial, name: string): { startMs: number; endMs: number } | null {
  const e = t.events.find(
    (ev) => ev.source === 'experiment' && ev.kind === 'window' && ev.detail.name === name,
  );
  return e ? { startMs: Number(e.detail.startMs), endMs: Number(e.detail.endMs) } : null;
}

/** Request-weighted p99 over the seconds of a window (from the per-second series). */
function p99Over(t: Trial, w: { startMs: number; endMs: number } | null): number | null {
  if (!w) return null;
  const points = t.engine.timeseries.filter(
    (p) => p.t * 1000 >= w.startMs && p.t * 1000 < w.endMs && p.requests > 0,
  );
  if (!points.length) return null;
  return Math.max(...points.map((p) => p.p99Us));
}

function disruption(t: Trial): TrialDisruption {
  const before = p99Over(t, windowOf(t, 'before'));
  const during = p99Over(t, windowOf(t, 'during'));
  const start = t.events.find((e) => e.kind === 'rollout-start');
  const end = t.events.find((e) => e.kind === 'rollout-end');
  const actions = t.events
    .filter((e) => e.source === 'experiment' && e.kind === 'action-start')
    .map((e) => e.tMs);
  const recovery = (kind: string): number | null => {
    const kill = t.events.find((e) => e.kind === kind);
    if (!kill) return null;
    const series = t.engine.timeseries;
    const threshold = before ? 2 * before : Number.POSITIVE_INFINITY;
    const nextAction = Math.min(...actions.filter((a) => a > kill.tMs + 50), t.engine.durationMs);
    for (let s = Math.floor(kill.tMs / 1000); s * 1000 + 3_000 <= nextAction + 999; s++) {
      const window = series.slice(s, s + 3);
      if (window.length === 3 && window.every((p) => p.errors === 0 && p.p99Us <= threshold)) {
        return Math.max(0, s * 1000 - kill.tMs);
      }
    }
    return null;
  };
  return {
    p99BeforeUs: before,
    p99DuringUs: during,
    rolloutDurationMs: start && end ? end.tMs - start.tMs : null,
    recoveryMs: recovery('pod-killed'),
    redisRecoveryMs: recovery('redis-killed'),
  };
}

const cache = new WeakMap<Trial, TrialDisruption>();

export function trialDisruption(t: Trial): TrialDisruption {
  let d = cache.get(t);
  if (!d) {
    d = disruption(t);
    cache.set(t, d);
  }
  return d;
}
