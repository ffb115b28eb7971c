import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { judgeStep } from '../../../rundir/capacity-judge.js';
import { type CapacitySlo, RUN_FILES, stepDir, trialDir } from '../../../rundir/layout.js';
import { EngineResultSchema } from '../../../rundir/raw-result.js';
import { parseJsonFile } from '../../../util/file-errors.js';
import type { LoadedRun } from '../../load-run.js';
import { sustainableFrom } from './model.js';

/**
 * Judges every capacity step of a loaded run again at another SLO (`mcpbench plan --slo`), from the
 * steps' own raw results (steps/NN/engine.json), and replaces each trial's verdicts and sustainable
 * rate in memory. The search picked its rates for the SLO it ran with, so at a stricter SLO the answer
 * is the highest measured rate that passes below the lowest that fails: coarser than the resolution
 * the search converged to. Returns what it could not re-judge, in words.
 */
export async function rejudgeRun(run: LoadedRun, slo: Partial<CapacitySlo>): Promise<string[]> {
  const problems: string[] = [];
  for (const t of run.trials) {
    const cap = t.capacity;
    if (!cap) continue;
    const newSlo: CapacitySlo = { ...cap.slo, ...slo };
    const dir = trialDir(run.dir, t.experimentId, t.variant, t.trial);
    const steps = [];
    for (const step of cap.steps) {
      const path = join(stepDir(dir, step.index), RUN_FILES.engine);
      try {
        const engine = EngineResultSchema.parse(parseJsonFile(await readFile(path, 'utf8'), path));
        const judged = judgeStep(engine, {
          rate: step.rate,
          unit: step.unit,
          slo: newSlo,
          generator: { cpuCores: step.generator.cpuCores, maxInFlight: step.generator.maxInFlight },
          generatorCpuLimit: Number.POSITIVE_INFINITY,
        });
        // the generator's own verdict stands as recorded: it does not depend on the SLO
        const verdict = step.verdict === 'generator-limited' ? step.verdict : judged.verdict;
        steps.push({ ...step, verdict, reasons: verdict === step.verdict ? step.reasons : judged.reasons });
      } catch (err) {
        problems.push(`${path}: ${(err as Error).message.split('\n')[0]}`);
        steps.push(step);
      }
    }
    const sustainableRate = sustainableFrom(steps);
    const fails = steps.filter((s) => s.verdict === 'fail').map((s) => s.rate);
    t.capacity = {
      ...cap,
      slo: newSlo,
      steps,
      result: {
        ...cap.result,
        sustainableRate,
        firstFailRate: fails.length ? Math.min(...fails) : null,
        status: sustainableRate === null ? 'none-passed' : cap.result.status,
      },
    };
  }
  return problems;
}
