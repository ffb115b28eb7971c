import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseJsonFile } from '../experiments/file-errors.js';
import {
  type ReplicaSample,
  ReplicaSampleSchema,
  RUN_FILES,
  type RunManifest,
  RunManifestSchema,
  type TrialEvent,
  TrialEventSchema,
} from '../experiments/run-dir.js';
import { type EngineResult, EngineResultSchema } from '../scenarios/engine/raw-result.js';

/** One trial as written by the runner, validated; analysis reads nothing else. */
export interface Trial {
  experimentId: string;
  experiment: string;
  variant: string;
  trial: number;
  engine: EngineResult;
  events: TrialEvent[];
  samples: ReplicaSample[];
}

export interface LoadedRun {
  dir: string;
  manifest: RunManifest;
  trials: Trial[];
  /** files that failed validation: named, never read */
  problems: string[];
}

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

/** A run's trials grouped per experiment × variant, each group in trial order. */
export function trialsByGroup(trials: Trial[]): Trial[][] {
  const groups = new Map<string, Trial[]>();
  for (const t of trials) {
    const key = `${t.experimentId}\u0000${t.variant}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  return [...groups.values()].map((g) => g.sort((a, b) => a.trial - b.trial));
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
          problems.push(`${enginePath}: missing (trial did not finish)`);
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
        trials.push({
          experimentId,
          experiment: experimentId.split('~')[0] ?? experimentId,
          variant,
          trial: Number(t.slice(6)),
          engine: engine.data,
          events: await jsonl(join(base, RUN_FILES.events), (v) => TrialEventSchema.parse(v), problems),
          samples: await jsonl(join(base, RUN_FILES.samples), (v) => ReplicaSampleSchema.parse(v), problems),
        });
      }
    }
  }
  return { dir, manifest: parsed.data, trials, problems };
}
