import { type CompareOptions, type CompareResult, compareSummaries } from './compare.js';
import { loadRun } from './load-run.js';
import { summariseLoaded } from './summarise.js';

/** Compares two run directories from their raw results (so runs written by older versions compare too). */
export async function compareRunDirs(
  baselineDir: string,
  candidateDir: string,
  options: CompareOptions,
): Promise<CompareResult> {
  const [a, b] = await Promise.all([loadRun(baselineDir), loadRun(candidateDir)]);
  return compareSummaries(
    { dir: baselineDir, summary: summariseLoaded(a), config: a.manifest.config },
    { dir: candidateDir, summary: summariseLoaded(b), config: b.manifest.config },
    options,
  );
}
