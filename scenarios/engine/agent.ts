import {
  type AgentContext,
  runAction as coreAction,
  runSession as coreSession,
  runTurnArrival as coreTurnArrival,
} from '../models/agent-core.ts';
import type { ActionKind } from '../models/scenarios.ts';
import type { McpSession } from './mcp-session.js';

/**
 * What one simulated agent does, on the built-in engine: the shared agent core
 * (scenarios/models/agent-core.ts: sessions of turns, discovery, actions, every outcome classified)
 * run on one McpSession's connection. Nothing here throws for a server fault.
 */

export function runAction(kind: ActionKind, session: McpSession, ctx: AgentContext): Promise<void> {
  return session.run(coreAction(kind, session.core, ctx));
}

/** One agent session: open, turns, close. `intendedNs` is when an open-model arrival was due. */
export async function runSession(session: McpSession, ctx: AgentContext, intendedNs?: bigint): Promise<void> {
  if (intendedNs !== undefined) session.dueAt(intendedNs);
  await session.run(coreSession(session.core, ctx));
  await session.close();
}

/** One open-model turn on an agent's kept session (opened first when new); measured from `intendedNs`. */
export function runTurnArrival(
  session: McpSession,
  ctx: AgentContext,
  intendedNs: bigint,
  firstTurn: boolean,
): Promise<void> {
  session.dueAt(intendedNs);
  return session.run(coreTurnArrival(session.core, ctx, firstTurn));
}
