import { ERROR_CLASSES, type ErrorClass } from '../../rundir/raw-result.js';
import type { Trial } from '../load-run.js';

/**
 * The events of a disruption trial (each rollout, each pod kill, the Redis kill) with everything
 * measured per event, and every failed request attributed to the event window it fell in.
 *
 * An event's window runs from its `action-start` (as recorded, not as planned) to the next action's
 * start, or to the end of the load: whatever follows an event until the next one is its doing, and a
 * slow rollout (which delays the next, see experiments/runner.ts) never bleeds into another window.
 * Failures before the first event are the baseline's. Within a window each failure is placed after
 * the last cluster event that preceded it (a pod terminating, its SIGTERM, a new pod ready...), so a
 * report can say which rollout step or which killed pod it followed.
 *
 * Failures come from the engine's per-failure records (time, class); beyond their bound the rest are
 * placed by the second they happened in (`approximate`); results written before either existed give
 * per-event failure totals from the 1 s series only, with no classes (`source: 'seconds'`).
 */

type EventKind = 'rollout' | 'kill-pod' | 'kill-redis';

const KIND_LABEL: Record<EventKind, string> = {
  rollout: 'rollout',
  'kill-pod': 'pod kill',
  'kill-redis': 'Redis kill',
};

/** Cluster events that mark a step of an event (a failure is placed after the last one before it). */
const STEP_KINDS = new Set([
  'pod-terminating',
  'endpoint-removed',
  'pod-sigterm',
  'pod-exited',
  'pod-started',
  'pod-ready',
  'pod-killed',
  'redis-killed',
  'redis-ready',
  'rollout-end',
]);

interface EventStep {
  /** "step 2: pod-sigterm rc-1-r2" (rollouts count their pods terminating), "pod-killed rc-0" ... */
  step: string;
  failed: number;
  byClass: Partial<Record<ErrorClass, number>>;
}

export interface DisruptionEvent {
  kind: EventKind;
  /** 1-based among the trial's events of this kind */
  index: number;
  label: string;
  startMs: number;
  /** when the action ended (a rollout: all new pods ready); null when it never ended in the trial */
  endMs: number | null;
  /** start of the next event, or the end of the load */
  windowEndMs: number;
  /** how late it started (the previous event had not ended and settled), ms */
  lateMs: number;
  /** the pod a kill-pod killed */
  pod: string | null;
  failed: number;
  /** null when the trial's result has no per-failure classes (older results) */
  byClass: Record<ErrorClass, number> | null;
  /** worst per-second p99 over the seconds the window overlaps */
  p99Us: number | null;
  /** from the start to the event's last failed request (0: none); null when failures went on to within 1 s of the window's end */
  recoveryMs: number | null;
  /** the action ended within the load (a rollout cut off by the end of the load is not) */
  complete: boolean;
  steps: EventStep[];
}

export interface TrialEvents {
  events: DisruptionEvent[];
  /** failures before the first event */
  beforeFailed: number;
  /** the kind the trial repeats (its first event's): the per-event metrics are over these */
  repeated: EventKind | null;
  source: 'records' | 'seconds';
  /** some failures were placed by their second only (beyond the per-failure record bound) */
  approximate: boolean;
}

interface Failure {
  tMs: number;
  cls: ErrorClass | null;
}

function failuresOf(t: Trial): { failures: Failure[]; source: TrialEvents['source']; approximate: boolean } {
  const f = t.engine.failures;
  const series = t.engine.timeseries;
  if (!f) {
    const failures: Failure[] = [];
    for (const p of series)
      for (let i = 0; i < p.errors; i++) failures.push({ tMs: p.t * 1000 + 500, cls: null });
    return { failures, source: 'seconds', approximate: true };
  }
  const failures: Failure[] = f.records.map((r) => ({ tMs: r.tMs, cls: r.class }));
  if (f.dropped > 0) {
    // the records stop at the bound: later seconds are placed from their per-class counts
    const last = f.records.length ? (f.records[f.records.length - 1] as { tMs: number }).tMs : 0;
    const fromSecond = Math.ceil(last / 1000);
    for (const p of series) {
      if (p.t < fromSecond) continue;
      for (const [cls, n] of Object.entries(p.errorsByClass ?? {}))
        for (let i = 0; i < n; i++) failures.push({ tMs: p.t * 1000 + 500, cls: cls as ErrorClass });
    }
  }
  return { failures, source: 'records', approximate: f.dropped > 0 };
}

const zeroClasses = () => Object.fromEntries(ERROR_CLASSES.map((c) => [c, 0])) as Record<ErrorClass, number>;

function windowP99(t: Trial, startMs: number, endMs: number): number | null {
  const points = t.engine.timeseries.filter(
    (p) => p.t * 1000 + 1000 > startMs && p.t * 1000 < endMs && p.requests > 0,
  );
  return points.length ? Math.max(...points.map((p) => p.p99Us)) : null;
}

/**
 * Time from the event's start to its last failed request (0 when it had none), or null when the
 * failures went on until less than RECOVERED_MS before the window ended: it had not recovered.
 * Measured from the per-failure times, not from whole seconds, so a kill every few seconds still
 * gets a figure.
 */
const RECOVERED_MS = 1_000;
function recovery(mine: Failure[], startMs: number, windowEndMs: number): number | null {
  if (!mine.length) return 0;
  const lastFailure = Math.max(...mine.map((f) => f.tMs));
  if (lastFailure > windowEndMs - RECOVERED_MS) return null;
  return Math.max(0, lastFailure - startMs);
}

function attribute(t: Trial): TrialEvents {
  const starts = t.events.filter(
    (e) =>
      e.source === 'experiment' &&
      e.kind === 'action-start' &&
      (e.detail.action === 'rollout' || e.detail.action === 'kill-pod' || e.detail.action === 'kill-redis'),
  );
  const ends = t.events.filter((e) => e.source === 'experiment' && e.kind === 'action-end');
  const steps = t.events.filter((e) => e.source === 'cluster' && STEP_KINDS.has(e.kind));
  const { failures, source, approximate } = failuresOf(t);
  const counters = new Map<EventKind, number>();
  const events: DisruptionEvent[] = starts.map((s, i) => {
    const kind = s.detail.action as EventKind;
    const index = (counters.get(kind) ?? 0) + 1;
    counters.set(kind, index);
    const next = starts[i + 1];
    const windowEndMs = next ? next.tMs : t.engine.durationMs;
    const end = ends.find((e) => e.tMs >= s.tMs && e.detail.action === kind && e.tMs <= windowEndMs);
    const endMs = end ? end.tMs : null;
    const pod = typeof end?.detail.pod === 'string' ? end.detail.pod : null;
    // the last window keeps the failures of the load's final drain too
    const mine = failures.filter((f) => f.tMs >= s.tMs && (!next || f.tMs < windowEndMs));
    const byClass = source === 'records' ? zeroClasses() : null;
    const bySteps = new Map<string, EventStep>();
    const windowSteps = steps.filter((e) => e.tMs >= s.tMs && (!next || e.tMs < windowEndMs));
    for (const f of mine) {
      if (byClass && f.cls) byClass[f.cls]++;
      let last: (typeof windowSteps)[number] | undefined;
      let terminating = 0;
      for (const e of windowSteps) {
        if (e.tMs > f.tMs) break;
        last = e;
        if (e.kind === 'pod-terminating') terminating++;
      }
      const what = last
        ? `${last.kind}${typeof last.detail.pod === 'string' ? ` ${last.detail.pod}` : ''}`
        : 'start';
      const step = kind === 'rollout' ? `step ${terminating}: ${what}` : what;
      let entry = bySteps.get(step);
      if (!entry) {
        entry = { step, failed: 0, byClass: {} };
        bySteps.set(step, entry);
      }
      entry.failed++;
      if (f.cls) entry.byClass[f.cls] = (entry.byClass[f.cls] ?? 0) + 1;
    }
    const label = kind === 'kill-redis' && index === 1 ? KIND_LABEL[kind] : `${KIND_LABEL[kind]} ${index}`;
    return {
      kind,
      index,
      label,
      startMs: s.tMs,
      endMs,
      windowEndMs,
      lateMs: typeof s.detail.lateMs === 'number' ? s.detail.lateMs : 0,
      pod,
      failed: mine.length,
      byClass,
      p99Us: windowP99(t, s.tMs, windowEndMs),
      recoveryMs: recovery(mine, s.tMs, windowEndMs),
      complete: endMs !== null,
      steps: [...bySteps.values()].sort((a, b) => b.failed - a.failed),
    };
  });
  const first = events[0];
  return {
    events,
    beforeFailed: failures.filter((f) => !first || f.tMs < first.startMs).length,
    repeated: first ? first.kind : null,
    source,
    approximate,
  };
}

const cache = new WeakMap<Trial, TrialEvents>();

/** The trial's disruption events, computed once per trial. */
export function trialEvents(t: Trial): TrialEvents {
  let v = cache.get(t);
  if (!v) {
    v = attribute(t);
    cache.set(t, v);
  }
  return v;
}

/**
 * The events of the kind the trial repeats that ended within the load: the per-event metrics'
 * sample (a rollout cut off by the end of the load would undercount, so it is shown, not counted).
 */
export function repeatedEvents(t: Trial): DisruptionEvent[] {
  const te = trialEvents(t);
  return te.events.filter((e) => e.kind === te.repeated && e.complete);
}
