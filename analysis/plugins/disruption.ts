import { describeComparison } from '../describe.js';
import type { AnalysedExperiment } from '../experiment.js';
import type { Trial } from '../load-run.js';
import { fmt, METRICS, type MetricName, notApplicableWhy, perEventOf } from '../metrics.js';
import { type Block, cell, type RichText, strong, table } from '../report/model.js';
import { meanPerEvent } from '../stats.js';
import type { EventRow, VariantSummary } from '../summary-types.js';
import { trialEvents } from './disruption-events.js';
import { trialDisruption } from './disruption-figures.js';

const average = (xs: Array<number | null | undefined>) => {
  const v = xs.filter((x): x is number => typeof x === 'number');
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
};

/** Per-event metrics, each tested legacy vs rc over events (analysis/significance.ts eventTest). */
const PER_EVENT: readonly MetricName[] = [
  'failedPerEvent',
  'sessionsLostPerEvent',
  'tasksLostPerEvent',
  'handlesRejectedPerEvent',
  'eventP99Us',
  'eventRecoveryMs',
];

/** The counts the verdict names (failed requests, sessions and tasks lost per event). */
const VERDICT_METRICS = new Set<string>(['failedPerEvent', 'sessionsLostPerEvent', 'tasksLostPerEvent']);

/** The disruption block of an experiment × variant summary: per-trial figures averaged, every event, per-event summaries. */
function summariseDisruption(trials: Trial[]): {
  disruption: NonNullable<VariantSummary['disruption']>;
} {
  const ds = trials.map(trialDisruption);
  const events: EventRow[] = [];
  let beforeFailed = 0;
  const sources = new Set<string>();
  for (const t of trials) {
    const te = trialEvents(t);
    beforeFailed += te.beforeFailed;
    sources.add(te.source === 'seconds' ? 'seconds' : te.approximate ? 'records+seconds' : 'records');
    for (const e of te.events)
      events.push({
        trial: t.trial,
        label: e.label,
        kind: e.kind,
        startMs: e.startMs,
        durationMs: e.endMs === null ? null : e.endMs - e.startMs,
        lateMs: e.lateMs,
        complete: e.complete,
        pod: e.pod,
        failed: e.failed,
        byClass: e.byClass,
        p99Us: e.p99Us,
        recoveryMs: e.recoveryMs,
        windowMs: e.windowEndMs - e.startMs,
        steps: e.steps.map((s) => ({ step: s.step, failed: s.failed, byClass: { ...s.byClass } })),
      });
  }
  const perEventSummary: NonNullable<NonNullable<VariantSummary['disruption']>['perEventSummary']> = {};
  for (const m of PER_EVENT) {
    const f = perEventOf(m);
    const xs = f ? trials.flatMap(f) : [];
    if (xs.length) perEventSummary[m] = meanPerEvent(xs);
  }
  const attribution = sources.has('seconds')
    ? 'seconds'
    : sources.has('records+seconds')
      ? 'records+seconds'
      : 'records';
  return {
    disruption: {
      p99BeforeUs: average(ds.map((d) => d.p99BeforeUs)),
      p99DuringUs: average(ds.map((d) => d.p99DuringUs)),
      rolloutDurationMs: average(ds.map((d) => d.rolloutDurationMs)),
      recoveryMs: average(ds.map((d) => d.recoveryMs)),
      redisRecoveryMs: average(ds.map((d) => d.redisRecoveryMs)),
      events,
      beforeFailed,
      attribution,
      perEventSummary,
    },
  };
}

const classes = (byClass: Record<string, number> | null | undefined) =>
  byClass
    ? Object.entries(byClass)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || '–'
    : 'classes not recorded';

/** Every event of every trial, with where its failures fell. */
function eventTable(rows: VariantSummary[]): Block[] {
  const all = rows.flatMap((v) => (v.disruption?.events ?? []).map((e) => ({ v, e })));
  if (!all.length) return [];
  const blocks: Block[] = [
    {
      kind: 'table',
      table: table(
        [
          'variant',
          'trial:',
          'event',
          'at:',
          'took:',
          'failed:',
          'by class',
          'p99 in window:',
          'to last failure:',
          'where the failures fell',
        ],
        all.map(({ v, e }) => [
          cell(v.variant),
          cell(String(e.trial), e.trial),
          cell(
            `${e.label}${e.pod ? ` (${e.pod})` : ''}${e.lateMs ? `, ${fmt.s(e.lateMs)} late` : ''}` +
              (e.complete ? '' : ', cut off by the end of the load: not counted'),
          ),
          cell(fmt.s(e.startMs), e.startMs),
          cell(fmt.s(e.durationMs), e.durationMs),
          cell(String(e.failed), e.failed),
          cell(classes(e.byClass)),
          cell(fmt.ms(e.p99Us), e.p99Us),
          cell(
            e.recoveryMs === null && e.windowMs !== undefined
              ? `still failing at ${fmt.s(e.windowMs)}`
              : fmt.s(e.recoveryMs),
            e.recoveryMs,
          ),
          cell(
            e.steps
              .slice(0, 3)
              .map((s) => `${s.step}: ${s.failed}`)
              .join('; ') || '–',
          ),
        ]),
      ),
    },
  ];
  const notes = rows
    .filter((v) => v.disruption?.attribution && v.disruption.attribution !== 'records')
    .map((v) =>
      v.disruption?.attribution === 'seconds'
        ? `${v.variant}: this result has no per-failure records; failures are placed by the second they happened in, without classes`
        : `${v.variant}: more failures than the engine keeps one by one; the rest are placed by the second they happened in`,
    );
  const before = rows
    .filter((v) => (v.disruption?.beforeFailed ?? 0) > 0)
    .map((v) => `${v.variant} ${v.disruption?.beforeFailed}`);
  if (before.length) notes.push(`failures before the first event (not any event's): ${before.join(', ')}`);
  if (notes.length) blocks.push({ kind: 'note', text: [notes.join('. ')] });
  return blocks;
}

const withInterval = (
  m: MetricName,
  s: { mean: number; low: number | null; high: number | null } | undefined,
) => {
  if (!s) return '–';
  const unit = METRICS[m].unit;
  const v = (x: number) => (unit === 'µs' ? fmt.ms(x) : unit === 'ms' ? fmt.s(x) : fmt.num(x, 1));
  return s.low === null || s.high === null ? v(s.mean) : `${v(s.mean)} [${v(s.low)}, ${v(s.high)}]`;
};

/** rolling-update and pod-kill: what each event cost each variant, tested over events. */
export const disruptionAnalysis: AnalysedExperiment = {
  perTrial: ['sessionsLost', 'tasksLost', 'p99DuringUs', 'recoveryMs', ...PER_EVENT],
  compared: PER_EVENT,
  summarise: summariseDisruption,
  verdict: ({ id, rc, legacies, comparisons }) => {
    const lines: RichText[] = [];
    const n = rc.disruption?.events?.filter((e) => e.kind !== 'kill-redis').length ?? 0;
    for (const legacy of legacies) {
      const parts = comparisons
        .filter((c) => c.baseline === legacy.variant && VERDICT_METRICS.has(c.metric))
        .map((c) => `${METRICS[c.metric as MetricName].label}: ${describeComparison(c)}`);
      // a count whose premise a server lacks is not compared: say so rather than leave it out silently
      for (const v of [legacy, rc])
        if (v.notApplicable?.tasks)
          parts.push(`${v.variant}: tasks lost not applicable (${v.notApplicable.tasks})`);
      if (parts.length) lines.push([strong(id), ` (${n} events per variant): ${parts.join('; ')}.`]);
    }
    if (!lines.length) {
      const parts = [rc, ...legacies].map(
        (v) =>
          `${v.variant}: ${fmt.int(METRICS.failedRequests.fromSummary(v))} failed requests, ` +
          `${v.lifecycle.sessionsLost} sessions lost, ${v.notApplicable?.tasks ? 'tasks lost not applicable' : `${v.lifecycle.tasksLost} tasks lost`}`,
      );
      lines.push([strong(id), `: ${parts.join('; ')}.`]);
    }
    return lines;
  },
  table: (rows) =>
    table(
      [
        'variant',
        'events:',
        'failed / event:',
        'sessions lost / event:',
        'tasks lost / event:',
        'handles rejected / event:',
        'p99 before:',
        'p99 in event:',
        'to last failure / event:',
        'rollout:',
        'recovery (Redis):',
      ],
      rows.map((v) => {
        const d = v.disruption;
        const s = d?.perEventSummary ?? {};
        const m = (k: MetricName) => {
          const why = notApplicableWhy(v, k);
          return why ? cell(`n/a (${why})`, null) : cell(withInterval(k, s[k]), s[k]?.mean ?? null);
        };
        return [
          cell(v.variant),
          cell(String(s.failedPerEvent?.events ?? 0), s.failedPerEvent?.events ?? 0),
          m('failedPerEvent'),
          m('sessionsLostPerEvent'),
          m('tasksLostPerEvent'),
          m('handlesRejectedPerEvent'),
          cell(fmt.ms(d?.p99BeforeUs), d?.p99BeforeUs ?? null),
          m('eventP99Us'),
          m('eventRecoveryMs'),
          cell(fmt.s(d?.rolloutDurationMs), d?.rolloutDurationMs ?? null),
          cell(fmt.s(d?.redisRecoveryMs), d?.redisRecoveryMs ?? null),
        ];
      }),
    ),
  blocks: eventTable,
};
