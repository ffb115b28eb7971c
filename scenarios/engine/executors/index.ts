import { constantArrivalRate } from './constant-arrival-rate.ts';
import { constantVus } from './constant-vus.ts';
import type { Executor, Stage } from './executor.ts';
import { rampingArrivalRate } from './ramping-arrival-rate.ts';
import { rampingVus } from './ramping-vus.ts';

export type { EngineFaults, ExecutorContext } from './executor.ts';

export type LoadOptions =
  | { model: 'closed'; agents: number; stages?: Stage[] }
  | {
      model: 'open';
      rate: number;
      unit?: 'sessions' | 'turns' | 'requests';
      stages?: Stage[];
      maxInFlight?: number;
    };

/** The open model's default in-flight cap. */
const MAX_IN_FLIGHT = 1_000;

/** The executor a load asks for, as k6 would pick it: with stages, the ramping one. */
export function executorFor(load: LoadOptions): Executor {
  const stages = load.stages?.length ? load.stages : undefined;
  if (load.model === 'closed') return stages ? rampingVus(load.agents, stages) : constantVus(load.agents);
  const options = { unit: load.unit ?? 'sessions', maxInFlight: load.maxInFlight ?? MAX_IN_FLIGHT } as const;
  return stages ? rampingArrivalRate(load.rate, stages, options) : constantArrivalRate(load.rate, options);
}
