import type { CapacityStep, CapacityTrial } from '../rundir/layout.js';
import type { SearchSpec } from './definitions.js';

/**
 * The capacity experiment's breakpoint search. Open-model load at a fixed rate per step (settle, then
 * measure); the rate goes up by `factor` until a step breaks the SLO, then bisects (geometric midpoint)
 * between the last passing and the first failing rate until the failing one is at most `resolution`
 * above the passing one. A step where the load generator was the limit ends the search: its rate is
 * never counted as the server's, and the result is only a lower bound.
 */

type Phase = CapacityStep['phase'];
type SearchResult = CapacityTrial['result'];

/** The next rate to try, or the search's result when it is done. Pure: the steps so far decide it. */
export function nextStep(
  spec: Pick<SearchSpec, 'startRate' | 'factor' | 'resolution' | 'maxSteps'>,
  steps: ReadonlyArray<Pick<CapacityStep, 'rate' | 'verdict'>>,
): { rate: number; phase: Phase } | { done: SearchResult } {
  const fails = steps.filter((s) => s.verdict === 'fail').map((s) => s.rate);
  const bad = fails.length ? Math.min(...fails) : null;
  // a pass above a failing rate is noise around the knee: the conservative bracket ignores it
  const passes = steps
    .filter((s) => s.verdict === 'pass' && (bad === null || s.rate < bad))
    .map((s) => s.rate);
  const good = passes.length ? Math.max(...passes) : null;
  const last = steps.at(-1);
  if (last?.verdict === 'generator-limited')
    return { done: { sustainableRate: good, firstFailRate: bad, status: 'generator-limited' } };
  if (steps.length === 0) return { rate: spec.startRate, phase: 'step-up' };
  if (good !== null && bad !== null && bad <= good * (1 + spec.resolution))
    return { done: { sustainableRate: good, firstFailRate: bad, status: 'converged' } };
  if (steps.length >= spec.maxSteps)
    return {
      done: {
        sustainableRate: good,
        firstFailRate: bad,
        status: good === null ? 'none-passed' : 'max-steps',
      },
    };
  if (bad === null) return { rate: (good ?? spec.startRate) * spec.factor, phase: 'step-up' };
  if (good === null) {
    const rate = bad / spec.factor;
    // three factors below the start and still failing: the server cannot carry even a trickle
    if (rate < spec.startRate / spec.factor ** 3)
      return { done: { sustainableRate: null, firstFailRate: bad, status: 'none-passed' } };
    return { rate, phase: 'step-down' };
  }
  return { rate: Math.sqrt(good * bad), phase: 'bisect' };
}

/** What the search needs from the runner: run one step's load and judge it, and the trial's clock. */
export interface SearchIo<R> {
  /** runs a step (settle, then measure) at `rate` and returns its judged figures and raw result */
  runStep(
    rate: number,
    index: number,
    phase: Phase,
  ): Promise<{ step: Omit<CapacityStep, 'index' | 'phase'>; raw: R } | null>;
  log(line: string): void;
}

/**
 * Runs the search to its end; `runStep` returning null means the run was interrupted (the result then
 * says so). Returns every step and the raw result of each, in order.
 */
export async function runSearch<R>(
  spec: SearchSpec,
  io: SearchIo<R>,
): Promise<{ steps: CapacityStep[]; raws: R[]; result: SearchResult }> {
  const steps: CapacityStep[] = [];
  const raws: R[] = [];
  for (;;) {
    const next = nextStep(spec, steps);
    if ('done' in next) return { steps, raws, result: next.done };
    const ran = await io.runStep(next.rate, steps.length, next.phase);
    if (!ran) {
      const passes = steps.filter((s) => s.verdict === 'pass').map((s) => s.rate);
      return {
        steps,
        raws,
        result: {
          sustainableRate: passes.length ? Math.max(...passes) : null,
          firstFailRate: null,
          status: 'interrupted',
        },
      };
    }
    const step: CapacityStep = { index: steps.length, phase: next.phase, ...ran.step };
    steps.push(step);
    raws.push(ran.raw);
    io.log(
      `step ${step.index + 1} (${step.phase}) ${step.rate.toFixed(1)} ${step.unit}/s: ${step.verdict.toUpperCase()}` +
        ` — request p99 ${fmtMs(step.requestP99Us)}, turn p99 ${fmtMs(step.turnP99Us)}, errors ${(step.errorRate * 100).toFixed(2)}%,` +
        ` ${(step.throughputRatio * 100).toFixed(0)}% of offered, generator ${step.generator.cpuCores.toFixed(2)} cores` +
        (step.reasons.length ? ` (${step.reasons.join('; ')})` : ''),
    );
  }
}

const fmtMs = (us: number | null) => (us === null ? '–' : `${(us / 1000).toFixed(1)} ms`);
