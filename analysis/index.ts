import { join } from 'node:path';
import { RUN_FILES } from '../rundir/layout.js';
import { parseThresholds } from '../rundir/threshold-spec.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic-write.js';
import { thresholdsJunit } from './junit.js';
import { loadRun } from './load-run.js';
import { renderHtml } from './report-html.js';
import { renderMarkdown } from './report-md.js';
import { summariseLoaded } from './summarise.js';
import type { RunSummary } from './summary-types.js';
import { describeThresholdResult, evaluateThresholds } from './thresholds.js';

export interface AnalysisResult {
  summaryPath: string;
  reportMdPath: string;
  reportHtmlPath: string;
  junitPath?: string;
  thresholdFailures: string[];
  summary: RunSummary;
}

/**
 * Reads a run directory's raw results (only those) and writes summary.json, report.md and
 * report.html, and junit.xml when thresholds are set (given here, else those the run was started with).
 */
export async function analyseRun(
  runDir: string,
  options: { thresholds?: unknown } = {},
): Promise<AnalysisResult> {
  const run = await loadRun(runDir);
  const specs = parseThresholds(options.thresholds ?? run.manifest.config.thresholds);
  const summary = summariseLoaded(run);
  summary.thresholds = evaluateThresholds(specs, run, summary);
  const summaryPath = join(runDir, RUN_FILES.summary);
  const reportMdPath = join(runDir, RUN_FILES.reportMd);
  const reportHtmlPath = join(runDir, RUN_FILES.reportHtml);
  await writeJsonAtomic(summaryPath, summary);
  await writeFileAtomic(reportMdPath, renderMarkdown(summary));
  await writeFileAtomic(reportHtmlPath, renderHtml(summary, run));
  let junitPath: string | undefined;
  if (specs.length) {
    junitPath = join(runDir, RUN_FILES.junit);
    await writeFileAtomic(junitPath, thresholdsJunit(summary.run, summary.thresholds));
  }
  return {
    summaryPath,
    reportMdPath,
    reportHtmlPath,
    ...(junitPath ? { junitPath } : {}),
    thresholdFailures: summary.thresholds.filter((r) => !r.ok).map(describeThresholdResult),
    summary,
  };
}
