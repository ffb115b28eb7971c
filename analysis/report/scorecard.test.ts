import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { TrialEvent } from '../../rundir/layout.js';
import type { ErrorClass } from '../../rundir/raw-result.js';
import { type TrialSpec, writeRun } from '../fixtures.js';
import { analyseRun } from '../index.js';
import { percentileAxis } from './chart-data.js';
import type { Table } from './model.js';
import { SCORECARD_COLUMNS, type ScorecardColumn, scorecardBlocks } from './scorecard.js';

/**
 * The scorecard on a fixture run whose differences from rc are known by construction: some must be
 * marked (far apart on every trial), some must not (identical, or overlapping trial to trial).
 */

const constant = (n: number, x: number) => Array.from({ length: n }, () => x);

const ROLLOUTS = [2_000, 6_000] as const;

/**
 * A rolling-update trial with two rollouts (at 2 s and 6 s) and its failures recorded one by one:
 * half of each class (rounded down) in the first rollout's window, the rest in the second's.
 */
function rolloutTrial(variant: string, trial: number, sessionLost: number, transport: number): TrialSpec {
  const ev = (
    tMs: number,
    source: 'cluster' | 'experiment',
    kind: string,
    detail: Record<string, unknown> = {},
  ) => ({ tMs, atMs: 1_700_000_000_000 + tMs, source, kind, variant, detail }) as TrialEvent;
  const events = [ev(0, 'experiment', 'window', { name: 'before', startMs: 0, endMs: 2_000 })];
  for (const at of ROLLOUTS)
    events.push(
      ev(at, 'experiment', 'action-start', { action: 'rollout' }),
      ev(at + 1, 'cluster', 'rollout-start', {}),
      ev(at + 1_500, 'cluster', 'rollout-end', {}),
      ev(at + 1_501, 'experiment', 'action-end', { action: 'rollout' }),
    );
  const records: Array<{ tMs: number; class: ErrorClass }> = [];
  for (const [cls, n] of [
    ['session_lost', sessionLost],
    ['transport', transport],
  ] as const) {
    const first = Math.floor(n / 2);
    for (let i = 0; i < n; i++)
      records.push({ tMs: (i < first ? ROLLOUTS[0] : ROLLOUTS[1]) + 100 + i, class: cls });
  }
  records.sort((a, b) => a.tMs - b.tMs);
  const timeseries = Array.from({ length: 10 }, (_, t) => {
    const inSecond = records.filter((r) => Math.floor(r.tMs / 1000) === t);
    const errorsByClass: Record<string, number> = {};
    for (const r of inSecond) errorsByClass[r.class] = (errorsByClass[r.class] ?? 0) + 1;
    return {
      t,
      requests: 20,
      errors: inSecond.length,
      p50Us: 5_000,
      p99Us: 5_000,
      perReplica: {},
      errorsByClass,
    };
  });
  return {
    experimentId: 'rolling-update',
    variant,
    trial,
    samples: constant(200, 5_000),
    errors: { session_lost: sessionLost, transport },
    events,
    engine: { durationMs: 10_000, failures: { records, dropped: 0 }, timeseries },
  };
}

function fixture(): TrialSpec[] {
  const trials: TrialSpec[] = [];
  // rolling-update runs first: the report must keep that order, not the alphabet's
  const lost: Record<string, number[]> = {
    'legacy-sticky': [14, 15, 16],
    'legacy-redis': [0, 0, 0],
    rc: [0, 0, 0],
  };
  const transport: Record<string, number[]> = {
    'legacy-sticky': [0, 0, 0],
    'legacy-redis': [0, 0, 0],
    rc: [3, 4, 5],
  };
  for (const variant of ['legacy-sticky', 'legacy-redis', 'rc'])
    for (const trial of [1, 2, 3])
      trials.push(
        rolloutTrial(variant, trial, lost[variant]?.[trial - 1] ?? 0, transport[variant]?.[trial - 1] ?? 0),
      );
  // ttl-cache: round trips far apart (marked), turn latency overlapping trial to trial (not marked)
  const turnUs: Record<string, number[]> = {
    'legacy-sticky': [21_000, 19_000, 20_000],
    rc: [20_000, 21_000, 19_000],
  };
  for (const variant of ['legacy-sticky', 'rc'])
    for (const trial of [1, 2, 3])
      trials.push({
        experimentId: 'ttl-cache',
        variant,
        trial,
        samples: constant(100, 4_000),
        turnSamples: constant(10, turnUs[variant]?.[trial - 1] ?? 0),
        roundTrips: variant === 'rc' ? 20 : 36,
      });
  // hpa ran, but no replica samples: neither time to scale nor load spread was measured
  for (const variant of ['legacy-sticky', 'rc'])
    for (const trial of [1, 2])
      trials.push({ experimentId: 'hpa', variant, trial, samples: constant(100, 3_000) });
  return trials;
}

/** The Markdown table right under a heading, as rows of cells. */
function mdTable(md: string, heading: string): string[][] {
  const lines = md.split('\n');
  const start = lines.indexOf(`## ${heading}`);
  expect(start, `## ${heading} in report.md`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('## ')) break;
    if (line.startsWith('|') && !line.startsWith('|---'))
      rows.push(
        line
          .slice(2, -2)
          .split(' | ')
          .map((c) => c.trim()),
      );
  }
  return rows;
}

describe('scorecard', () => {
  it('opens both reports, one row per variant in run order, marks what is significant and skips what was not measured', async () => {
    const dir = await writeRun(fixture());
    const { summary, reportMdPath, reportHtmlPath } = await analyseRun(dir);
    const md = await readFile(reportMdPath, 'utf8');

    // first section of report.md, right after the title and meta lines; experiments in run order
    const headings = md.split('\n').filter((l) => l.startsWith('## '));
    expect(headings[0]).toBe('## Scorecard');
    expect(headings.slice(1)).toEqual(['## Verdict', '## rolling-update', '## ttl-cache', '## hpa']);
    expect(md.indexOf('## Scorecard')).toBeLessThan(md.indexOf('## Verdict'));

    const [head, ...rows] = mdTable(md, 'Scorecard');
    expect(head).toEqual([
      'variant',
      'turn latency (ms)',
      'round trips / turn',
      'failed requests / rollout',
      'sessions lost / rollout',
      'tasks lost / rollout',
    ]);
    // hpa ran but measured neither time to scale nor spread, pod-kill did not run: no such column
    expect(head?.join(' ')).not.toMatch(/time to scale|load spread|pod-kill/);
    expect(rows.map((r) => r[0])).toEqual(['legacy-sticky', 'legacy-redis', '**rc** (reference)']);
    const at = (variant: string, column: string) => {
      const row = rows[['legacy-sticky', 'legacy-redis', 'rc'].indexOf(variant)] ?? [];
      return row[head?.indexOf(column) ?? -1] ?? '';
    };
    // marked: far apart on every trial
    expect(at('legacy-sticky', 'round trips / turn')).toBe('3.60 [3.60, 3.60] **worse**');
    // per rollout: legacy-sticky 7, 7 | 7, 8 | 8, 8 sessions lost; rc none
    expect(at('legacy-sticky', 'sessions lost / rollout')).toMatch(/^7\.5 \[[\d.]+, [\d.]+\] \*\*worse\*\*$/);
    expect(at('legacy-sticky', 'failed requests / rollout')).toMatch(/\*\*worse\*\*$/);
    expect(at('legacy-redis', 'failed requests / rollout')).toBe('0.0 [0.0, 0.0] **better**');
    // not marked: overlapping trials, or identical
    expect(at('legacy-sticky', 'turn latency (ms)')).toMatch(/^20\.0 \[[\d.]+, [\d.]+\]$/);
    expect(at('legacy-sticky', 'tasks lost / rollout')).toBe('0.0 [0.0, 0.0]');
    expect(at('legacy-redis', 'sessions lost / rollout')).toBe('0.0 [0.0, 0.0]');
    // a variant that did not run an experiment: n/a with the reason, never a zero
    expect(at('legacy-redis', 'turn latency (ms)')).toBe('n/a: not run');
    // rc is the reference: its figures with their intervals, never a mark
    for (const cell of rows[2]?.slice(1) ?? []) expect(cell).not.toMatch(/worse|better/);
    // rc's transport failures per rollout: 1, 2 | 2, 2 | 2, 3
    expect(at('rc', 'failed requests / rollout')).toMatch(/^2\.0 \[[\d.]+, [\d.]+\]$/);

    // the mark is the section's own verdict on the same comparison
    const comparison = summary.comparisons.find(
      (c) =>
        c.experimentId === 'rolling-update' &&
        c.metric === 'sessionsLostPerEvent' &&
        c.baseline === 'legacy-sticky',
    );
    expect(comparison?.interval.includesZero).toBe(false);
    const noise = summary.comparisons.find(
      (c) => c.experimentId === 'ttl-cache' && c.metric === 'turnMeanUs' && c.baseline === 'legacy-sticky',
    );
    expect(noise?.interval.includesZero).toBe(true);

    // report.html: the same table, first section after the title and meta, marks as classes
    const html = await readFile(reportHtmlPath, 'utf8');
    const sections = [...html.matchAll(/<section([^>]*)><h2>([^<]*)<\/h2>/g)].map((m) => m[2]);
    expect(sections).toEqual(['Scorecard', 'Verdict', 'rolling-update', 'ttl-cache', 'hpa']);
    expect(html.slice(html.indexOf('<body>'), html.indexOf('<section'))).not.toMatch(/<table/);
    const scorecard = html.slice(
      html.indexOf('<section id="scorecard">'),
      html.indexOf('<section id="verdict">'),
    );
    expect(scorecard.match(/<tr>/g)?.length).toBe(1 + 3);
    expect(scorecard.match(/class="mark-worse"/g)?.length).toBe(3);
    expect(scorecard.match(/class="mark-better"/g)?.length).toBe(1);
    expect(scorecard).toContain('<span class="secondary">[3.60, 3.60]</span>');
  });

  it('reads its columns from data: a column naming an experiment or metric the run lacks is left out', async () => {
    const dir = await writeRun(fixture());
    const { summary } = await analyseRun(dir);
    const extra: ScorecardColumn[] = [
      ...SCORECARD_COLUMNS,
      // an experiment this run did not have (e.g. one another version adds)
      {
        title: 'pods needed',
        experiment: 'capacity',
        metric: 'p99Us',
        unit: '',
        format: String,
        vsRc: 'none',
      },
      // a metric the run has, for an experiment it ran, never marked (though it differs significantly)
      {
        title: 'trips',
        experiment: 'ttl-cache',
        metric: 'roundTripsPerTurn',
        unit: 'per turn',
        format: String,
        vsRc: 'none',
      },
    ];
    const tableOf = (columns: readonly ScorecardColumn[]) =>
      (scorecardBlocks(summary, columns).find((b) => b.kind === 'table') as { table: Table }).table;
    const headings = tableOf(extra).headings.map((h) => h.text);
    expect(headings.at(-1)).toBe('trips (per turn)');
    expect(headings.join(' ')).not.toContain('pods needed');
    const sticky = tableOf(extra).rows[0];
    expect(sticky?.at(-1)?.text[0]).toBe('3.6');
    expect(sticky?.at(-1)?.mark ?? null).toBeNull();
    expect(sticky?.at(2)?.mark).toBe('worse'); // the declared round-trips column, same figures
    // no column at all: a note, no table
    const none = scorecardBlocks(summary, [extra[extra.length - 2] as ScorecardColumn]);
    expect(none.map((b) => b.kind)).toEqual(['note']);
  });
});

describe('percentile charts', () => {
  it('label their axis in percentiles, at coordinates that grow with each nine', () => {
    const axis = percentileAxis([50, 75, 90, 95, 99, 99.5, 99.9, 99.99]);
    expect(axis.percentileTicks.map((t) => t.label)).toEqual(['50%', '90%', '99%', '99.9%', '99.99%']);
    for (const t of axis.percentileTicks) expect(t.label).toMatch(/^\d+(\.\d+)?%$/);
    const xs = axis.percentileTicks.map((t) => t.x);
    for (const [i, x] of xs.entries()) if (i > 0) expect(x).toBeGreaterThan(xs[i - 1] as number);
    expect(xs[2]).toBeCloseTo(2, 9); // 99% sits at −log10(0.01)
    expect(axis.percentileX).toHaveLength(8);
  });
});
