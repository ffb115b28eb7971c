import { describe, expect, it } from 'vitest';
import type { TrialEvent } from '../rundir/layout.js';
import type { EngineResult, ErrorClass } from '../rundir/raw-result.js';
import { compareSummaries } from './compare.js';
import { type TrialSpec, writeRun } from './fixtures.js';
import { analyseRun } from './index.js';
import { loadRun } from './load-run.js';
import { trialEvents } from './plugins/disruption-events.js';
import type { RunSummary } from './summary-types.js';

/**
 * Attribution of failed requests to disruption events on recorded trials (fixtures in the exact
 * format the runner writes): each failure lands in the window of the event it followed, at the step
 * it followed, windows come from the recorded action starts (a late rollout does not take the
 * previous one's failures), and the per-event counts are tested legacy vs rc over events.
 */

const ev = (
  tMs: number,
  source: 'cluster' | 'experiment',
  kind: string,
  detail: Record<string, unknown> = {},
) => ({ tMs, atMs: 1_700_000_000_000 + tMs, source, kind, variant: 'v', detail }) as TrialEvent;

const DURATION = 12_000;

/** engine.json fields for failures at the given times: records, and a 1 s series that agrees with them. */
function failuresAt(list: Array<[number, ErrorClass]>): Partial<EngineResult> {
  const timeseries = Array.from({ length: DURATION / 1000 }, (_, s) => {
    const inSecond = list.filter(([t]) => Math.floor(t / 1000) === s);
    const errorsByClass: Record<string, number> = {};
    for (const [, c] of inSecond) errorsByClass[c] = (errorsByClass[c] ?? 0) + 1;
    return {
      t: s,
      requests: 50,
      errors: inSecond.length,
      p50Us: 1000,
      p99Us: 2000 + 1000 * inSecond.length,
      perReplica: {},
      errorsByClass,
    };
  });
  return {
    durationMs: DURATION,
    failures: { records: list.map(([tMs, c]) => ({ tMs, class: c })), dropped: 0 },
    timeseries,
  };
}

/** Four pod kills at 2, 4.5, 7 and 9.5 s; the killed pod and its replacement as the local provider records them. */
function killEvents(): TrialEvent[] {
  const out = [ev(0, 'experiment', 'window', { name: 'before', startMs: 0, endMs: 2_000 })];
  [2_000, 4_500, 7_000, 9_500].forEach((at, i) => {
    out.push(
      ev(at, 'experiment', 'action-start', { action: 'kill-pod' }),
      ev(at + 1, 'cluster', 'pod-killed', { pod: `p${i}` }),
      ev(at + 2, 'experiment', 'action-end', { action: 'kill-pod', pod: `p${i}` }),
      ev(at + 500, 'cluster', 'pod-started', { pod: `n${i}` }),
      ev(at + 1_000, 'cluster', 'pod-ready', { pod: `n${i}` }),
    );
  });
  return out;
}

function killTrial(variant: string, failures: Array<[number, ErrorClass]>, trial = 1): TrialSpec {
  return {
    experimentId: 'pod-kill',
    variant,
    trial,
    samples: Array.from({ length: 600 }, (_, i) => 1_000 + i),
    errors: Object.fromEntries(
      [...new Set(failures.map(([, c]) => c))].map((c) => [c, failures.filter(([, k]) => k === c).length]),
    ),
    events: killEvents(),
    engine: failuresAt(failures),
  };
}

// legacy-sticky: one failure before any kill, then 3, 4, 5 and 6 in the four kills
const STICKY: Array<[number, ErrorClass]> = [
  [1_500, 'transport'],
  [2_100, 'transport'],
  [2_200, 'session_lost'],
  [3_200, 'session_lost'], // after n0 became ready
  [4_600, 'transport'],
  [4_700, 'session_lost'],
  [4_800, 'session_lost'],
  [5_600, 'session_lost'],
  [7_050, 'transport'],
  [7_100, 'transport'],
  [7_600, 'session_lost'],
  [7_700, 'session_lost'],
  [7_800, 'session_lost'],
  [9_600, 'transport'],
  [9_700, 'transport'],
  [9_800, 'session_lost'],
  [10_100, 'session_lost'],
  [10_200, 'session_lost'],
  [10_300, 'session_lost'],
];

describe('disruption events: attribution and per-event tests', () => {
  it('puts each failed request in the window and at the step of the kill it followed', async () => {
    const dir = await writeRun([killTrial('legacy-sticky', STICKY)]);
    const run = await loadRun(dir);
    const t = run.trials[0];
    if (!t) throw new Error('no trial');
    const te = trialEvents(t);
    expect(te.source).toBe('records');
    expect(te.beforeFailed).toBe(1);
    expect(te.events.map((e) => [e.label, e.pod, e.failed])).toEqual([
      ['pod kill 1', 'p0', 3],
      ['pod kill 2', 'p1', 4],
      ['pod kill 3', 'p2', 5],
      ['pod kill 4', 'p3', 6],
    ]);
    expect(te.events[0]?.byClass).toMatchObject({ transport: 1, session_lost: 2 });
    // steps: the two failures right after the kill follow pod-killed p0, the third follows n0 ready
    expect(te.events[0]?.steps).toEqual([
      { step: 'pod-killed p0', failed: 2, byClass: { transport: 1, session_lost: 1 } },
      { step: 'pod-ready n0', failed: 1, byClass: { session_lost: 1 } },
    ]);
    // time to the last failure: 3.2 s − 2.0 s; the last kill's failures end 2.2 s before the load does
    expect(te.events[0]?.recoveryMs).toBe(1_200);
    expect(te.events[3]?.recoveryMs).toBe(800);
    // every failure is either before the first kill or in exactly one kill's window
    expect(te.beforeFailed + te.events.reduce((s, e) => s + e.failed, 0)).toBe(STICKY.length);
  });

  it('takes windows from the recorded starts: a late rollout does not take the slow one’s failures', async () => {
    const events = [
      ev(0, 'experiment', 'window', { name: 'before', startMs: 0, endMs: 1_000 }),
      ev(1_000, 'experiment', 'action-start', { action: 'rollout' }),
      ev(1_100, 'cluster', 'pod-terminating', { pod: 'a' }),
      ev(3_000, 'cluster', 'pod-terminating', { pod: 'b' }),
      ev(4_000, 'cluster', 'pod-sigterm', { pod: 'b' }),
      ev(6_000, 'experiment', 'action-end', { action: 'rollout' }),
      // planned at 5 s, started at 7 s: the first rollout had not ended (and settled)
      ev(7_000, 'experiment', 'action-start', { action: 'rollout', lateMs: 2_000 }),
      ev(7_200, 'cluster', 'pod-terminating', { pod: 'c' }),
      ev(9_000, 'experiment', 'action-end', { action: 'rollout' }),
      // started but never ended within the load: shown, not counted
      ev(11_000, 'experiment', 'action-start', { action: 'rollout' }),
    ];
    const failures: Array<[number, ErrorClass]> = [
      [1_500, 'session_lost'],
      [4_200, 'session_lost'],
      [5_500, 'session_lost'], // after rollout 2 was due, before it started: rollout 1's
      [7_100, 'session_lost'],
      [7_300, 'session_lost'],
    ];
    const dir = await writeRun([
      {
        experimentId: 'rolling-update',
        variant: 'legacy-sticky',
        trial: 1,
        samples: [1_000, 2_000],
        errors: { session_lost: failures.length },
        events,
        engine: failuresAt(failures),
      },
    ]);
    const run = await loadRun(dir);
    const te = trialEvents(run.trials[0] as (typeof run.trials)[number]);
    expect(te.events.map((e) => [e.label, e.failed, e.lateMs, e.complete])).toEqual([
      ['rollout 1', 3, 0, true],
      ['rollout 2', 2, 2_000, true],
      ['rollout 3', 0, 0, false],
    ]);
    expect(te.events[0]?.steps).toEqual([
      { step: 'step 2: pod-sigterm b', failed: 2, byClass: { session_lost: 2 } },
      { step: 'step 1: pod-terminating a', failed: 1, byClass: { session_lost: 1 } },
    ]);
    expect(te.events[1]?.steps.map((s) => s.step)).toEqual(['step 0: start', 'step 1: pod-terminating c']);
    const { summary } = await analyseRun(dir);
    const v = summary.variants[0];
    // the cut-off rollout is in the table but not in the per-event sample
    expect(v?.disruption?.events).toHaveLength(3);
    expect(v?.perEvent?.failedPerEvent).toEqual([[3, 2]]);
  });

  it('tests legacy vs rc over events in the summary and in compare, with a verdict for every count', async () => {
    const rcFailures: Array<[number, ErrorClass]> = [[2_100, 'transport']];
    const trials = [
      killTrial('legacy-sticky', STICKY, 1),
      killTrial('legacy-sticky', STICKY, 2),
      killTrial('rc', rcFailures, 1),
      killTrial('rc', rcFailures, 2),
    ];
    const dir = await writeRun(trials);
    const { summary } = await analyseRun(dir);
    const sticky = summary.variants.find((v) => v.variant === 'legacy-sticky');
    expect(sticky?.perEvent?.failedPerEvent).toEqual([
      [3, 4, 5, 6],
      [3, 4, 5, 6],
    ]);
    const failed = summary.comparisons.find((c) => c.metric === 'failedPerEvent');
    // legacy 4.5 per kill, rc 0.25: pooled over 8 vs 8 events
    expect(failed?.events).toEqual({ baseline: 8, candidate: 8 });
    expect(failed?.baselineMean).toBe(4.5);
    expect(failed?.candidateMean).toBe(0.25);
    expect(failed?.interval.includesZero).toBe(false);
    expect(failed?.ratio?.value).toBe(18);
    const sessions = summary.comparisons.find((c) => c.metric === 'sessionsLostPerEvent');
    expect(sessions?.candidateMean).toBe(0);
    expect(sessions?.ratio).toBeNull();
    // every disruption comparison carries an interval
    expect(summary.comparisons.every((c) => c.interval.low !== null)).toBe(true);
    const md = await import('node:fs/promises').then((fs) => fs.readFile(`${dir}/report.md`, 'utf8'));
    expect(md).not.toContain('not tested');
    expect(md).toContain(
      'failed requests / event: legacy-sticky 4.50 requests vs rc 0.25 requests over 8 vs 8 events',
    );
    expect(md).toContain('— rc better');
    expect(md).toContain('pod-killed p0: 2');

    // compare one run with itself but rc losing more: tested over events, not trials
    const worse = await writeRun([
      killTrial('rc', STICKY, 1),
      killTrial('rc', STICKY, 2),
      killTrial('legacy-sticky', STICKY, 1),
      killTrial('legacy-sticky', STICKY, 2),
    ]);
    const worseSummary = (await analyseRun(worse)).summary as RunSummary;
    const result = compareSummaries(
      { dir, summary },
      { dir: worse, summary: worseSummary },
      { threshold: 0.05 },
    );
    const change = result.changes.find((c) => c.variant === 'rc' && c.metric === 'failedPerEvent');
    expect(change?.events).toEqual({ baseline: 8, candidate: 8 });
    expect(change?.verdict).toBe('worse');
    expect(change?.regression).toBe(true);
    const same = result.changes.find((c) => c.variant === 'legacy-sticky' && c.metric === 'failedPerEvent');
    expect(same?.verdict).toBe('no significant change');
  });
});
