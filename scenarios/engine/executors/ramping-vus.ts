import { type Executor, levelAt, type Stage } from './executor.ts';
import { globalIndex, shareOf } from './segment.ts';
import { startAgent } from './vus.ts';

/** How often the number of agents is brought to the stages' level. */
const STEP_MS = 100;

/**
 * k6's ramping-vus: from `startAgents`, the number of agents follows the stages (linear ramps),
 * checked every 100 ms; agents above the level finish their current step and stop. A segment runs
 * its share of the level: the agents of the whole load's numbering that are its own.
 */
export function rampingVus(startAgents: number, stages: readonly Stage[]): Executor {
  return {
    name: 'ramping-vus',
    async run(ctx) {
      const agents: Array<{ stop: boolean }> = [];
      while (!ctx.stopping()) {
        const target = shareOf(ctx.segment, Math.round(levelAt(startAgents, stages, ctx.elapsedMs())));
        const active = agents.filter((a) => !a.stop);
        for (let i = active.length; i < target; i++)
          agents.push(startAgent(ctx, globalIndex(ctx.segment, agents.length)));
        for (let i = active.length - 1; i >= target; i--) (active[i] as { stop: boolean }).stop = true;
        await new Promise((r) => setTimeout(r, STEP_MS));
      }
    },
  };
}
