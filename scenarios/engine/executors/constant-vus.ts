import type { Executor } from './executor.ts';
import { owns } from './segment.ts';
import { startAgent } from './vus.ts';

/** k6's constant-vus: `agents` agents from the start to the end (this segment's share of them). */
export function constantVus(agents: number): Executor {
  return {
    name: 'constant-vus',
    async run(ctx) {
      for (let i = 0; i < agents; i++) if (owns(ctx.segment, i)) startAgent(ctx, i);
      await ctx.stopped;
    },
  };
}
