import type { Trial } from './load-run.js';
import type { MetricName } from './metrics.js';
import type { Block, RichText, Table } from './report/model.js';
import type { Comparison, VariantSummary } from './summary-types.js';

/**
 * The analysis side of an experiment: one folder, analysis/plugins/<name>/, listed once in
 * analysis/plugins/registry.ts. Its runner side (load, actions, variants, trials) is
 * experiments/plugins/<name>/definition.ts.
 */
export interface AnalysedExperiment {
  /** per-trial metrics recorded beyond the common ones (analysis/metrics.ts), in this order */
  perTrial: readonly MetricName[];
  /** metrics compared legacy vs rc, in report order */
  compared: readonly MetricName[];
  /**
   * Per-event values this experiment gives metrics that have none of their own (hpa: the common
   * latency and error metrics per step cycle), so that they are compared over events, not trials.
   */
  perEvent?: Partial<Record<MetricName, (t: Trial) => number[]>>;
  /** the experiment's own blocks of an experiment × variant summary */
  summarise?: (trials: Trial[]) => Partial<Pick<VariantSummary, 'disruption' | 'scaling' | 'capacity'>>;
  /** the verdict sentences for one experiment id (rc is there; comparisons are that id's) */
  verdict: (v: {
    id: string;
    rc: VariantSummary;
    legacies: VariantSummary[];
    comparisons: Comparison[];
  }) => RichText[];
  /** the experiment's own table, below the common one */
  table: (rows: VariantSummary[]) => Table;
  /** more blocks below that table (e.g. the disruption experiments' per-event table) */
  blocks?: (rows: VariantSummary[]) => Block[];
}
