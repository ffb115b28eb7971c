import type { Executor } from './executor.ts';
import { startAgent } from './vus.ts';

/** k6's constant-vus: `agents` agents from the start to the end. */
export function constantVus(agents: number): Executor {
  return {
    name: 'constant-vus',
    async run(ctx) {
      for (let i = 0; i < agents; i++) startAgent(ctx, i);
      await ctx.stopped;
    },
  };
}
