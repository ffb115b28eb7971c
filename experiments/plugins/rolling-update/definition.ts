import type { ExperimentDefinition } from '../../definitions.js';

export const rollingUpdate: ExperimentDefinition<'rolling-update'> = {
  name: 'rolling-update',
  summary:
    'Steady agent traffic (plain calls, handle workflows, tasks), then a rolling update (maxSurge 1, maxUnavailable 1). ' +
    'Measures failed requests by kind, sessions lost and re-initialised, tasks lost, p99 during vs before, rollout duration.',
  durationMs: 10_000,
  trials: 1,
  replicas: 3,
  serverEnv: {
    MCPBENCH_TOOL_LATENCY_MS: '5',
    MCPBENCH_TASK_DURATION_MS: '1500',
    MCPBENCH_SHUTDOWN_GRACE_MS: '3000',
  },
  rttMs: 0,
  scenario: 'steady',
  scenarioParams: {},
  load: { model: 'closed', agents: 12 },
  sourceAddresses: 12,
  actions: [{ atMs: 3_000, action: 'rollout' }],
  beforeWindowMs: 3_000,
  cases: [{ id: 'default' }],
};
