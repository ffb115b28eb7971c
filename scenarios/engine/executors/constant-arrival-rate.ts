import { type ArrivalOptions, runArrivals } from './arrivals.ts';
import type { Executor } from './executor.ts';

/** k6's constant-arrival-rate: `rate` arrivals per second, evenly spaced, for the whole run. */
export function constantArrivalRate(rate: number, options: Omit<ArrivalOptions, 'rateAt'>): Executor {
  return {
    name: 'constant-arrival-rate',
    run: (ctx) => runArrivals(ctx, { ...options, rateAt: () => rate }),
  };
}
