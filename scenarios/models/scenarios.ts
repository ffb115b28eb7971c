import type { ProtocolVersion } from './protocol.ts';
import type { ForeignWorkload } from './workload-args.ts';

/**
 * Agent workload models, as data. An agent session is a sequence of turns separated by think time
 * (an LLM is thinking: no request in flight); a turn is tool discovery followed by one or more
 * actions. Both engines (built-in and k6) interpret the same definitions.
 */

/**
 * - `every-turn`: re-list tools every turn (what agent frameworks do today);
 * - `once-per-session`: list once after connecting;
 * - `ttl`: honour `ttlMs` / `cacheScope` as the 2026-07-28 caching rules say (cache key = method +
 *   params; an absent `ttlMs` means stale, so re-list);
 * - `none`: never list (plain load).
 */
type DiscoveryPolicy = 'every-turn' | 'once-per-session' | 'ttl' | 'none';

export type ActionKind = 'call' | 'workflow' | 'task';

export interface ScenarioDefinition {
  name: string;
  description: string;
  turnsPerSession: number;
  thinkTimeMs: number;
  callsPerTurn: [number, number];
  discovery: Record<ProtocolVersion, DiscoveryPolicy>;
  /** 2026-07-28 clients probe `server/discover` when a session starts */
  discoverOnStart: boolean;
  mix: Array<{ weight: number; action: ActionKind }>;
  /** plain tools the `call` action picks from */
  tools: string[];
  /** workspace_exec calls between open_workspace and close_workspace */
  workflowSteps: number;
  /** share of tasks the agent cancels after its first poll */
  cancelTaskProbability: number;
  /** fixed arguments for every plain call (for servers whose tools are not ours) */
  fixedArguments?: Record<string, unknown>;
  /**
   * A server that is not ours: its tools (from tools/list and the run config's workload) replace
   * `tools`, and its handle / long-running tools replace our workspace and long_operation flows.
   */
  foreign?: ForeignWorkload;
}

export type ScenarioParams = Partial<Omit<ScenarioDefinition, 'name' | 'description'>>;

const TURN_TOOLS = ['get_resource', 'scan_policy', 'sync_app'];

export const SCENARIOS: Record<string, ScenarioDefinition> = {
  turns: {
    name: 'turns',
    description: 'Agent sessions of several turns: discovery, then 1–3 tool calls, then think time.',
    turnsPerSession: 5,
    thinkTimeMs: 50,
    callsPerTurn: [1, 3],
    discovery: { '2025-11-25': 'every-turn', '2026-07-28': 'ttl' },
    discoverOnStart: false,
    mix: [{ weight: 1, action: 'call' }],
    tools: TURN_TOOLS,
    workflowSteps: 0,
    cancelTaskProbability: 0,
  },
  steady: {
    name: 'steady',
    description: 'A steady mix: plain calls, workspace workflows that carry state, and long operations.',
    turnsPerSession: 6,
    thinkTimeMs: 40,
    callsPerTurn: [1, 2],
    discovery: { '2025-11-25': 'every-turn', '2026-07-28': 'ttl' },
    discoverOnStart: false,
    mix: [
      { weight: 0.7, action: 'call' },
      { weight: 0.2, action: 'workflow' },
      { weight: 0.1, action: 'task' },
    ],
    tools: TURN_TOOLS,
    workflowSteps: 3,
    cancelTaskProbability: 0.1,
  },
  'cpu-ramp': {
    name: 'cpu-ramp',
    description: 'Short sessions of CPU-heavy calls: the HPA experiment scales on their CPU.',
    turnsPerSession: 1,
    thinkTimeMs: 0,
    callsPerTurn: [5, 5],
    discovery: { '2025-11-25': 'once-per-session', '2026-07-28': 'ttl' },
    discoverOnStart: false,
    mix: [{ weight: 1, action: 'call' }],
    tools: ['scan_policy'],
    workflowSteps: 0,
    cancelTaskProbability: 0,
  },
  calls: {
    name: 'calls',
    description: 'Plain tools/call, nothing else: for benchmarks of the load generator and the servers.',
    turnsPerSession: 1,
    thinkTimeMs: 0,
    callsPerTurn: [1, 1],
    discovery: { '2025-11-25': 'none', '2026-07-28': 'none' },
    discoverOnStart: false,
    mix: [{ weight: 1, action: 'call' }],
    tools: ['get_resource'],
    workflowSteps: 0,
    cancelTaskProbability: 0,
  },
};

export function resolveScenario(name: string, params: ScenarioParams = {}): ScenarioDefinition {
  const base = SCENARIOS[name];
  if (!base) throw new Error(`unknown scenario "${name}" (choose from ${Object.keys(SCENARIOS).join(', ')})`);
  return { ...base, ...params } as ScenarioDefinition;
}

/** Arguments a plain tool call sends (the catalogue's required fields). */
export function toolArguments(tool: string, n: number): Record<string, unknown> {
  switch (tool) {
    case 'sync_app':
      return { app: `app-${n % 17}`, revision: 'HEAD' };
    case 'scan_policy':
      return { target: `deploy/app-${n % 17}`, policy: 'baseline' };
    case 'get_resource':
      return { kind: 'Deployment', name: `app-${n % 17}`, namespace: 'default' };
    default:
      return { query: `q${n}` };
  }
}
