import { analysisOf } from './plugins/registry.js';
import { type RichText, strong } from './report/model.js';
import { isModern } from './summarise.js';
import type { RunSummary } from './summary-types.js';

/** The few sentences a reviewer reads first: what migrating buys, in numbers with intervals (each experiment's plugin says its own). */
export function verdictLines(summary: RunSummary): RichText[] {
  const lines: RichText[] = [];
  const ids = [...new Set(summary.variants.map((v) => v.experimentId))];
  for (const id of ids) {
    // Every 2026-07-28 variant of the experiment against its 2025-11-25 ones (the built-ins: rc vs legacy-*).
    for (const rc of summary.variants.filter((v) => v.experimentId === id && isModern(v))) {
      const plugin = analysisOf(rc.experiment);
      if (!plugin) continue;
      lines.push(
        ...plugin.verdict({
          id,
          rc,
          legacies: summary.variants.filter((v) => v.experimentId === id && !isModern(v)),
          comparisons: summary.comparisons.filter((c) => c.experimentId === id && c.candidate === rc.variant),
        }),
      );
    }
  }
  if (!summary.complete)
    lines.unshift([
      strong(
        `This run did not complete (status: ${summary.status}${summary.statusNote ? `: ${summary.statusNote}` : ''}); figures cover what was written${summary.interruptedTrials?.length ? ', interrupted trials left out' : ''}.`,
      ),
    ]);
  return lines;
}
