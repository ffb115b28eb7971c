import type { AnalysedExperiment } from '../../experiment.js';
import { COMMON_COMPARED, fmt } from '../../metrics.js';
import { cell, strong, table } from '../../report/model.js';
import type { VariantSummary } from '../../summary-types.js';
import { trialScaling } from './scaling.js';

/** hpa: how each variant scales under a CPU HPA, and how evenly the new replicas get load. */
export const hpa: AnalysedExperiment = {
  perTrial: ['timeToFirstScaleUpMs', 'loadSpreadCv'],
  compared: [...COMMON_COMPARED, 'loadSpreadCv'],
  summarise: (trials) => ({ scaling: trials[0] ? trialScaling(trials[0]) : null }),
  verdict: ({ id, rc, legacies }) => {
    const parts = [rc, ...legacies].map((v: VariantSummary) => {
      const s = v.scaling;
      if (!s) return `${v.variant}: no scaling data`;
      const spreadText = s.loadSpread
        ? `busiest replica ${fmt.pct(s.loadSpread.busiestShare)} / idlest ${fmt.pct(s.loadSpread.idlestShare)} of ${s.loadSpread.source === 'cpu' ? 'CPU (per-pod CPU: the server names no replica)' : 'requests'} after scale-up`
        : 'no scale-up, so no spread';
      const first = s.premise?.failed
        ? s.premise.failed
        : s.timeToFirstScaleUpMs === null
          ? s.stepSyncs?.withoutMetrics
            ? `never scaled up after the load step (${s.stepSyncs.withoutMetrics} of ${s.stepSyncs.total} syncs during the step had no CPU from a ready pod: the replica failed readiness under the step)`
            : 'never scaled up after the load step'
          : `first scale-up ${fmt.s(s.timeToFirstScaleUpMs)} after the load step`;
      return `${v.variant}: scaled to ${s.maxReplicas}, ${first}, ${spreadText}`;
    });
    return [[strong(id), `: ${parts.join('; ')}.`]];
  },
  table: (rows) =>
    table(
      [
        'variant',
        'base CPU / target:',
        'premise',
        'max replicas:',
        'first scale-up:',
        'at max:',
        'scale-down after:',
        'load spread CV:',
        'busiest / idlest share:',
      ],
      rows.map((v) => {
        const s = v.scaling;
        const spread = s?.loadSpread;
        const p = s?.premise;
        return [
          cell(v.variant),
          cell(
            p?.baseUtilisation != null ? `${Math.round(p.baseUtilisation)}% / ${p.targetUtilisation}%` : '–',
            p?.baseUtilisation ?? null,
          ),
          cell(p ? (p.failed ? p.failed.replace(/^premise failed: /, 'failed: ') : 'held') : '–'),
          cell(s ? String(s.maxReplicas) : '–', s?.maxReplicas ?? null),
          cell(fmt.s(s?.timeToFirstScaleUpMs), s?.timeToFirstScaleUpMs ?? null),
          cell(fmt.s(s?.timeToMaxMs), s?.timeToMaxMs ?? null),
          cell(fmt.s(s?.scaleDownMs), s?.scaleDownMs ?? null),
          cell(
            v.notApplicable?.replicaHeader
              ? `n/a (${v.notApplicable.replicaHeader})`
              : fmt.num(spread?.cv, 2),
            v.notApplicable?.replicaHeader ? null : (spread?.cv ?? null),
          ),
          cell(
            spread
              ? `${fmt.pct(spread.busiestShare)} / ${fmt.pct(spread.idlestShare)}${spread.source === 'cpu' ? ' (of per-pod CPU)' : ''}`
              : '–',
          ),
        ];
      }),
    ),
};
