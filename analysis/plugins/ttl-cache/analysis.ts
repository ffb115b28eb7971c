import { describeComparison } from '../../describe.js';
import type { AnalysedExperiment } from '../../experiment.js';
import { COMMON_COMPARED, countOrNotApplicable, fmt, METRICS } from '../../metrics.js';
import { cell, strong, table } from '../../report/model.js';

/** ttl-cache: what honouring ttlMs saves per turn, in round trips, bytes and latency. */
export const ttlCache: AnalysedExperiment = {
  perTrial: [],
  compared: ['turnMeanUs', 'roundTripsPerTurn', 'bytesPerTurn', ...COMMON_COMPARED],
  verdict: ({ id, rc, legacies, comparisons }) =>
    legacies.flatMap((l) => {
      const rt = comparisons.find((c) => c.baseline === l.variant && c.metric === 'roundTripsPerTurn');
      const lat = comparisons.find((c) => c.baseline === l.variant && c.metric === 'turnMeanUs');
      if (!rt || !lat) return [];
      return [
        [
          strong(id),
          `: an ${rc.variant} turn takes ${fmt.num(rc.roundTripsPerTurn, 2)} round trips vs ${fmt.num(l.roundTripsPerTurn, 2)} on ${l.variant}; ` +
            `mean turn latency ${describeComparison(lat)}.`,
        ],
      ];
    }),
  table: (rows) =>
    table(
      [
        'variant',
        'turn p50:',
        'turn p99:',
        'turn mean:',
        'round trips / turn:',
        'bytes / turn:',
        'list cache hits:',
      ],
      rows.map((v) => {
        const turnMean = METRICS.turnMeanUs.fromSummary(v);
        const roundTrips = METRICS.roundTripsPerTurn.fromSummary(v);
        const bytes = METRICS.bytesPerTurn.fromSummary(v);
        return [
          cell(v.variant),
          cell(fmt.ms(v.turn?.p50Us), v.turn?.p50Us ?? null),
          cell(fmt.ms(v.turn?.p99Us), v.turn?.p99Us ?? null),
          cell(fmt.ms(turnMean), turnMean),
          cell(fmt.num(roundTrips, 2), roundTrips),
          cell(fmt.int(bytes), bytes),
          cell(
            countOrNotApplicable(v, 'ttl', v.lifecycle.listCacheHits),
            v.notApplicable?.ttl ? null : v.lifecycle.listCacheHits,
          ),
        ];
      }),
    ),
};
