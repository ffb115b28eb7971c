import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CapacityTrial,
  CapacityTrialSchema,
  type GeneratorsFile,
  GeneratorsFileSchema,
  InterruptedTrialSchema,
  type ReplicaSample,
  ReplicaSampleSchema,
  RUN_FILES,
  type RunManifest,
  RunManifestSchema,
  type TrialEvent,
  TrialEventSchema,
} from '../rundir/layout.js';
import { type EngineResult, EngineResultSchema } from '../rundir/raw-result.js';
import { runProcessLiveness } from '../rundir/run-process.js';
import { parseJsonFile } from '../util/file-errors.js';

/** One trial as written by the runner, validated; analysis reads nothing else. */
export interface Trial {
  experimentId: string;
  experiment: string;
  variant: string;
  trial: number;
  engine: EngineResult;
  events: TrialEvent[];
  samples: ReplicaSample[];
  /** in-cluster load: the generator pods the trial's load came from (absent: from the host) */
  generators?: GeneratorsFile;
  /** capacity experiment: the trial's breakpoint search (capacity.json) */
  capacity?: CapacityTrial;
}

export interface LoadedRun {
  dir: string;
  manifest: RunManifest;
  /**
   * What the run is, judged now: the manifest's status, except that a manifest still saying
   * `running` is `died` when its process is gone from this host, and `unknown` when it cannot be
   * told (another host, or no process recorded). Also `incomplete` for a `complete` run whose raw
   * results are missing in part.
   */
  status: string;
  /** why `status` differs from the manifest's, in words */
  statusNote: string | null;
  trials: Trial[];
  /** files that failed validation: named, never read */
  problems: string[];
  /** trials cut off by Ctrl-C: left out of every figure, listed here */
  interruptedTrials: string[];
}

/** Raised when a run directory holds no raw results at all: nothing to summarise, report or compare. */
class NoRawResults extends Error {}

async function jsonl<T>(path: string, parse: (v: unknown) => T, problems: string[]): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  const out: T[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    try {
      out.push(parse(JSON.parse(line)));
    } catch (err) {
      problems.push(`${path}:${i + 1}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return out;
}

/** capacity.json when the trial has one (a capacity search), validated; a bad one is a named problem. */
async function readCapacity(path: string, problems: string[]): Promise<CapacityTrial | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = CapacityTrialSchema.safeParse(parseJsonFile(text, path));
    if (parsed.success) return parsed.data;
    problems.push(`${path}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  } catch (err) {
    problems.push((err as Error).message);
  }
  return undefined;
}

/** A run's trials grouped per experiment × variant, each group in trial order. */
export function trialsByGroup(trials: Trial[]): Trial[][] {
  const groups = new Map<string, Trial[]>();
  for (const t of trials) {
    const key = `${t.experimentId}\u0000${t.variant}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  return [...groups.values()].map((g) => g.sort((a, b) => a.trial - b.trial));
}

/**
 * Trials in the order the run ran them: experiments and variants as run.json lists them (the runner
 * writes both in run order), then trial number. What run.json does not list (a hand-made or older
 * directory) comes after, in the directory's (alphabetical) order.
 */
function sortInRunOrder(trials: Trial[], manifest: RunManifest): void {
  const rank = (list: string[], x: string) => {
    const i = list.indexOf(x);
    return i < 0 ? list.length : i;
  };
  const position = new Map(trials.map((t, i) => [t, i]));
  trials.sort(
    (a, b) =>
      rank(manifest.experiments, a.experimentId) - rank(manifest.experiments, b.experimentId) ||
      a.experimentId.localeCompare(b.experimentId) ||
      rank(manifest.variants, a.variant) - rank(manifest.variants, b.variant) ||
      a.variant.localeCompare(b.variant) ||
      (position.get(a) ?? 0) - (position.get(b) ?? 0),
  );
}

export async function loadRun(dir: string): Promise<LoadedRun> {
  const manifestPath = join(dir, RUN_FILES.manifest);
  let raw: string;
  try {
    raw = await readFile(manifestPath, 'utf8');
  } catch {
    throw new Error(`${dir}: not a run directory (no ${RUN_FILES.manifest})`);
  }
  const parsed = RunManifestSchema.safeParse(parseJsonFile(raw, manifestPath));
  if (!parsed.success) throw new Error(`${manifestPath}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const problems: string[] = [];
  const interruptedTrials: string[] = [];
  const trials: Trial[] = [];
  const rawDir = join(dir, 'raw');
  const experiments = await readdir(rawDir).catch(() => [] as string[]);
  for (const experimentId of experiments.sort()) {
    for (const variant of (await readdir(join(rawDir, experimentId)).catch(() => [] as string[])).sort()) {
      const trialDirs = await readdir(join(rawDir, experimentId, variant)).catch(() => [] as string[]);
      for (const t of trialDirs.filter((d) => /^trial-\d+$/.test(d))) {
        const base = join(rawDir, experimentId, variant, t);
        const enginePath = join(base, RUN_FILES.engine);
        let engineRaw: string;
        try {
          engineRaw = await readFile(enginePath, 'utf8');
        } catch {
          const cut = await readFile(join(base, RUN_FILES.interrupted), 'utf8').then(
            (text) => InterruptedTrialSchema.safeParse(JSON.parse(text)),
            () => null,
          );
          if (cut?.success)
            interruptedTrials.push(
              `${experimentId} / ${variant} ${t}: interrupted after ${(cut.data.ranMs / 1000).toFixed(1)} s of ` +
                `${(cut.data.plannedMs / 1000).toFixed(1)} s (${cut.data.requests} requests) — left out`,
            );
          else problems.push(`${enginePath}: missing (trial did not finish)`);
          continue;
        }
        let engineJson: unknown;
        try {
          engineJson = parseJsonFile(engineRaw, enginePath);
        } catch (err) {
          problems.push((err as Error).message);
          continue;
        }
        const engine = EngineResultSchema.safeParse(engineJson);
        if (!engine.success) {
          problems.push(
            `${enginePath}: ${engine.error.issues[0]?.path.join('.')}: ${engine.error.issues[0]?.message}`,
          );
          continue;
        }
        const capacity = await readCapacity(join(base, RUN_FILES.capacity), problems);
        trials.push({
          experimentId,
          experiment: experimentId.split('~')[0] ?? experimentId,
          variant,
          trial: Number(t.slice(6)),
          engine: engine.data,
          events: await jsonl(join(base, RUN_FILES.events), (v) => TrialEventSchema.parse(v), problems),
          samples: await jsonl(join(base, RUN_FILES.samples), (v) => ReplicaSampleSchema.parse(v), problems),
          ...(await generatorsOf(join(base, RUN_FILES.generators), problems)),
          ...(capacity ? { capacity } : {}),
        });
      }
    }
  }
  const manifest = parsed.data;
  sortInRunOrder(trials, manifest);
  // Trials run.json says were written but whose engine.json is not there (deleted, not copied).
  const found = new Set(trials.map((t) => `${t.experimentId}/${t.variant}/${t.trial}`));
  const missing: string[] = [];
  for (const [key, n] of Object.entries(manifest.completedTrials))
    for (let i = 1; i <= n; i++)
      if (!found.has(`${key}/${i}`)) missing.push(`raw/${key}/trial-${i}/${RUN_FILES.engine}`);
  if (missing.length)
    problems.push(
      ...missing.map((m) => `${join(dir, m)}: missing, though run.json lists the trial as written`),
    );
  let status: string = manifest.status;
  let statusNote: string | null = null;
  if (manifest.status === 'running') {
    const live = runProcessLiveness(manifest.process);
    if (live.state === 'dead') {
      status = 'died';
      statusNote = `the run's process died before it finished: ${live.why}`;
    } else if (live.state === 'unknown') {
      status = 'unknown';
      statusNote = `run.json still says running, and whether it is cannot be told: ${live.why}`;
    }
  } else if (manifest.status === 'complete' && missing.length) {
    status = 'incomplete';
    statusNote = `run.json says complete, but ${missing.length} trial(s) it lists have no raw results`;
  }
  if (trials.length === 0) {
    const expected = Object.values(manifest.completedTrials).reduce((s, n) => s + n, 0);
    throw new NoRawResults(
      `${dir}: no raw results (${existsSync(rawDir) ? `${rawDir} holds no readable trial` : `${rawDir} is missing`}` +
        `${expected ? `; run.json lists ${expected} written trial(s)` : ''}; run.json status: ${status}` +
        `${statusNote ? ` — ${statusNote}` : ''}${interruptedTrials.length ? `; ${interruptedTrials.join('; ')}` : ''})`,
    );
  }
  return { dir, manifest, status, statusNote, trials, problems, interruptedTrials };
}

/** A trial's generators.json, when its load came from generator pods; a bad one is a problem, not a crash. */
async function generatorsOf(path: string, problems: string[]): Promise<{ generators?: GeneratorsFile }> {
  if (!existsSync(path)) return {};
  try {
    const parsed = GeneratorsFileSchema.safeParse(parseJsonFile(await readFile(path, 'utf8'), path));
    if (parsed.success) return { generators: parsed.data };
    problems.push(`${path}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  } catch (err) {
    problems.push((err as Error).message);
  }
  return {};
}
