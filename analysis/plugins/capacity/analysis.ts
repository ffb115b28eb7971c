import type { AnalysedExperiment } from '../../experiment.js';
import { fmt } from '../../metrics.js';
import { cell, strong, table } from '../../report/model.js';
import type { VariantSummary } from '../../summary-types.js';
import { summariseCapacity } from './summary.js';

const rateText = (v: VariantSummary, perPod = false) => {
  const c = v.capacity;
  const r = perPod ? c?.perPod : c?.rate;
  if (!c || !r) return 'none passed';
  const interval = r.low !== null && r.high !== null ? ` (95% CI ${fmt.num(r.low)}–${fmt.num(r.high)})` : '';
  return `${fmt.num(r.mean)} ${c.unit}/s${interval}${c.generatorLimitedTrials ? ' (lower bound: generator-limited)' : ''}`;
};

/** capacity: the sustainable rate at the SLO per variant and replica count (run-level figures: report/capacity.ts). */
export const capacity: AnalysedExperiment = {
  perTrial: ['capacityPerPod'],
  // Only the capacity itself: the latency of the step that happened to be the last one passing is no
  // figure of the variant's, so p50/p99/error rate are not compared here.
  compared: ['capacityPerPod'],
  summarise: (trials) => ({ capacity: summariseCapacity(trials) }),
  verdict: ({ id, rc, legacies }) => [
    [
      strong(id),
      `: at ${rc.capacity?.replicas ?? '?'} replica(s), ${rc.variant} sustains ${rateText(rc)}; ` +
        legacies.map((l) => `${l.variant} ${rateText(l)}`).join('; ') +
        '.',
    ],
  ],
  table: (rows) =>
    table(
      [
        'variant',
        'replicas:',
        'sustainable rate',
        'per pod',
        'trials (status)',
        'generator-limited steps:',
        'CPU limit',
      ],
      rows.map((v) => {
        const c = v.capacity;
        return [
          cell(v.variant),
          cell(String(c?.replicas ?? '–'), c?.replicas ?? null),
          cell(rateText(v), c?.rate?.mean ?? null),
          cell(rateText(v, true), c?.perPod?.mean ?? null),
          cell(c ? c.trials.map((t) => `${t.trial}: ${t.status} in ${t.steps} steps`).join(', ') : '–'),
          cell(String(c?.generatorLimitedSteps ?? '–'), c?.generatorLimitedSteps ?? null),
          cell(
            c?.cpuLimitMillicores == null
              ? 'none set'
              : `${c.cpuLimitMillicores}m, ${c.cpuLimitEnforced === true ? 'enforced' : c.cpuLimitEnforced === false ? 'NOT enforced' : 'enforcement not reported'}`,
          ),
        ];
      }),
    ),
};
