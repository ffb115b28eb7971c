import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../experiments/atomic-write.js';
import { RUN_FILES } from '../experiments/run-dir.js';
import { loadRun } from './load-run.js';
import { renderHtml } from './report-html.js';
import { renderMarkdown } from './report-md.js';
import { type RunSummary, summariseLoaded } from './summarise.js';

export interface AnalysisResult {
  summaryPath: string;
  reportMdPath: string;
  reportHtmlPath: string;
  junitPath?: string;
  thresholdFailures: string[];
  summary: RunSummary;
}

/** Reads a run directory's raw results (only those) and writes summary.json, report.md and report.html. */
export async function analyseRun(
  runDir: string,
  _options: { thresholds?: unknown } = {},
): Promise<AnalysisResult> {
  const run = await loadRun(runDir);
  const summary = summariseLoaded(run);
  const summaryPath = join(runDir, RUN_FILES.summary);
  const reportMdPath = join(runDir, RUN_FILES.reportMd);
  const reportHtmlPath = join(runDir, RUN_FILES.reportHtml);
  await writeJsonAtomic(summaryPath, summary);
  await writeFileAtomic(reportMdPath, renderMarkdown(summary));
  await writeFileAtomic(reportHtmlPath, renderHtml(summary, run));
  return { summaryPath, reportMdPath, reportHtmlPath, thresholdFailures: [], summary };
}
