import type { AnalysedExperiment } from '../experiment.js';
import type { Trial } from '../load-run.js';
import { COMMON_COMPARED, countOrNotApplicable, fmt, METRICS } from '../metrics.js';
import { cell, strong, table } from '../report/model.js';
import type { VariantSummary } from '../summary-types.js';
import { trialDisruption } from './disruption-figures.js';

const average = (xs: Array<number | null | undefined>) => {
  const v = xs.filter((x): x is number => typeof x === 'number');
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
};

/** The disruption block of an experiment × variant summary: each figure averaged over its trials. */
function summariseDisruption(trials: Trial[]): {
  disruption: NonNullable<VariantSummary['disruption']>;
} {
  const ds = trials.map(trialDisruption);
  return {
    disruption: {
      p99BeforeUs: average(ds.map((d) => d.p99BeforeUs)),
      p99DuringUs: average(ds.map((d) => d.p99DuringUs)),
      rolloutDurationMs: average(ds.map((d) => d.rolloutDurationMs)),
      recoveryMs: average(ds.map((d) => d.recoveryMs)),
      redisRecoveryMs: average(ds.map((d) => d.redisRecoveryMs)),
    },
  };
}

/** rolling-update and pod-kill: what the disruption cost each variant, and the same table. */
export const disruptionAnalysis: AnalysedExperiment = {
  perTrial: ['sessionsLost', 'tasksLost', 'p99DuringUs', 'recoveryMs'],
  compared: [...COMMON_COMPARED, 'failedRequests', 'sessionsLost'],
  summarise: summariseDisruption,
  verdict: ({ id, rc, legacies }) => {
    const parts = [rc, ...legacies].map(
      (v) =>
        `${v.variant}: ${v.requests ? fmt.int(v.errors ? Object.values(v.errors).reduce((s, n) => s + n, 0) : 0) : 0} failed requests, ` +
        `${v.lifecycle.sessionsLost} sessions lost, ${v.notApplicable?.tasks ? 'tasks lost not applicable' : `${v.lifecycle.tasksLost} tasks lost`}` +
        (v.disruption?.recoveryMs !== null && v.disruption?.recoveryMs !== undefined
          ? `, recovered in ${fmt.s(v.disruption.recoveryMs)}`
          : ''),
    );
    return [[strong(id), `: ${parts.join('; ')}.`]];
  },
  table: (rows) =>
    table(
      [
        'variant',
        'failed requests:',
        'sessions lost:',
        're-initialised:',
        'tasks lost:',
        'tasks failed:',
        'handles rejected:',
        'p99 before:',
        'p99 during:',
        'rollout:',
        'recovery (pod):',
        'recovery (Redis):',
      ],
      rows.map((v) => {
        const d = v.disruption;
        const l = v.lifecycle;
        const failedRequests = METRICS.failedRequests.fromSummary(v);
        return [
          cell(v.variant),
          cell(String(failedRequests), failedRequests),
          cell(String(l.sessionsLost), l.sessionsLost),
          cell(String(l.reinitialisations), l.reinitialisations),
          cell(countOrNotApplicable(v, 'tasks', l.tasksLost), v.notApplicable?.tasks ? null : l.tasksLost),
          cell(
            countOrNotApplicable(v, 'tasks', l.tasksFailed),
            v.notApplicable?.tasks ? null : l.tasksFailed,
          ),
          cell(
            countOrNotApplicable(v, 'handles', l.handlesRejected),
            v.notApplicable?.handles ? null : l.handlesRejected,
          ),
          cell(fmt.ms(d?.p99BeforeUs), d?.p99BeforeUs ?? null),
          cell(fmt.ms(d?.p99DuringUs), d?.p99DuringUs ?? null),
          cell(fmt.s(d?.rolloutDurationMs), d?.rolloutDurationMs ?? null),
          cell(fmt.s(d?.recoveryMs), d?.recoveryMs ?? null),
          cell(fmt.s(d?.redisRecoveryMs), d?.redisRecoveryMs ?? null),
        ];
      }),
    ),
};
