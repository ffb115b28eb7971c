import type { ExperimentDefinition } from '../../definitions.js';

export const ttlCache: ExperimentDefinition<'ttl-cache'> = {
  name: 'ttl-cache',
  summary:
    'Agents run turns of discovery + tool calls. Legacy clients re-list tools every turn; rc clients honour ttlMs. ' +
    'Measures per-turn latency and round trips saved. A 5 ms round trip is emulated at the Service, since on ' +
    'loopback a round trip is nearly free and in production it is not.',
  durationMs: 3_000,
  trials: 3,
  replicas: 2,
  serverEnv: { MCPBENCH_CATALOGUE_SIZE: '100', MCPBENCH_TTL_MS: '60000', MCPBENCH_TOOL_LATENCY_MS: '2' },
  rttMs: 5,
  scenario: 'turns',
  scenarioParams: {},
  load: { model: 'closed', agents: 8 },
  sourceAddresses: 8,
  actions: [],
  beforeWindowMs: 0,
  cases: [{ id: 'catalogue-100-rtt-5ms' }],
};
