import { type ArrivalOptions, runArrivals } from './arrivals.ts';
import { type Executor, levelAt, type Stage } from './executor.ts';

/** k6's ramping-arrival-rate: from `startRate` arrivals per second, the rate follows the stages (linear ramps). */
export function rampingArrivalRate(
  startRate: number,
  stages: readonly Stage[],
  options: Omit<ArrivalOptions, 'rateAt'>,
): Executor {
  return {
    name: 'ramping-arrival-rate',
    run: (ctx) => runArrivals(ctx, { ...options, rateAt: (t) => levelAt(startRate, stages, t) }),
  };
}
