import { createRng } from '../../../util/prng.ts';
import { BackoffState } from '../../models/backoff.ts';
import { ListCache } from '../../models/list-cache.ts';
import { runSession } from '../agent.js';
import type { ExecutorContext } from './executor.ts';

/**
 * One closed-model agent (a k6 VU): sessions back to back until the engine stops or the agent is
 * told to. It keeps its identity, list cache and back-off across its sessions: it is one caller.
 */
export function startAgent(ctx: ExecutorContext, index: number): { stop: boolean } {
  const agent = { stop: false };
  const rng = createRng(ctx.seed * 7919 + index);
  const agentContext = ctx.agentContext(rng, new ListCache());
  const backoff = new BackoffState();
  const agentId = `agent-${ctx.seed}-a${index}`;
  ctx.track(
    (async () => {
      while (!ctx.stopping() && !agent.stop) {
        const session = ctx.newSession(agentId, backoff);
        try {
          await runSession(session, agentContext);
        } finally {
          session.destroy();
        }
      }
    })(),
  );
  return agent;
}
