import type { ExperimentDefinition } from '../../definitions.js';

export const podKill: ExperimentDefinition<'pod-kill'> = {
  name: 'pod-kill',
  summary:
    'Steady agent traffic; one pod is SIGKILLed, later Redis is killed once (variants that use it). ' +
    'Measures failed requests, sessions lost, tasks lost and the time to recover.',
  durationMs: 10_000,
  trials: 1,
  replicas: 3,
  serverEnv: { MCPBENCH_TOOL_LATENCY_MS: '5', MCPBENCH_TASK_DURATION_MS: '1500' },
  rttMs: 0,
  scenario: 'steady',
  scenarioParams: {},
  load: { model: 'closed', agents: 12 },
  sourceAddresses: 12,
  actions: [
    { atMs: 2_500, action: 'kill-pod' },
    { atMs: 6_000, action: 'kill-redis' },
  ],
  beforeWindowMs: 2_500,
  cases: [{ id: 'default' }],
};
