import { type CompareOptions, type CompareResult, compareSummaries } from './compare.js';
import { type LoadedRun, loadRun } from './load-run.js';
import { summariseLoaded } from './summarise.js';

/** Two runs that cannot honestly be compared: the CLI exits 2 with this message. */
class CompareRefused extends Error {}

export interface CompareRunOptions extends CompareOptions {
  /** compare a side whose status is not `complete` (interrupted, failed, died, running) anyway */
  allowIncomplete?: boolean;
}

async function loadSide(side: 'baseline' | 'candidate', dir: string): Promise<LoadedRun> {
  try {
    return await loadRun(dir);
  } catch (err) {
    throw new CompareRefused(`${side} ${(err as Error).message}`);
  }
}

const groups = (run: LoadedRun) => new Set(run.trials.map((t) => `${t.experimentId} / ${t.variant}`));

/**
 * Compares two run directories from their raw results (so runs written by older versions compare
 * too). Refuses, rather than passing an empty comparison, when a side has no raw results, when the
 * two runs share no experiment × variant, or (unless allowed) when a side did not complete.
 */
export async function compareRunDirs(
  baselineDir: string,
  candidateDir: string,
  options: CompareRunOptions,
): Promise<CompareResult> {
  const [a, b] = await Promise.all([loadSide('baseline', baselineDir), loadSide('candidate', candidateDir)]);
  const ga = groups(a);
  const gb = groups(b);
  const common = [...ga].filter((g) => gb.has(g));
  if (common.length === 0)
    throw new CompareRefused(
      `the runs have no experiment × variant in common, so nothing can be compared — ` +
        `baseline ${baselineDir} has ${[...ga].sort().join(', ')}; candidate ${candidateDir} has ${[...gb].sort().join(', ')}`,
    );
  const incomplete = [
    ['baseline', baselineDir, a],
    ['candidate', candidateDir, b],
  ].filter(([, , run]) => (run as LoadedRun).status !== 'complete') as Array<[string, string, LoadedRun]>;
  const describe = ([side, dir, run]: [string, string, LoadedRun]) =>
    `${side} ${dir} is ${run.status}${run.statusNote ? ` (${run.statusNote})` : ''}`;
  if (incomplete.length && !options.allowIncomplete)
    throw new CompareRefused(
      `${incomplete.map(describe).join('; ')}: a partial run is not a baseline or a candidate ` +
        `(pass --allow-incomplete to compare what it holds)`,
    );
  // With --allow-incomplete the comparison's warnings say, first, which side did not complete.
  return compareSummaries(
    { dir: baselineDir, summary: summariseLoaded(a), config: a.manifest.config },
    { dir: candidateDir, summary: summariseLoaded(b), config: b.manifest.config },
    options,
  );
}
