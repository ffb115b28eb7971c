import { type ExperimentDefinition, type RepeatedEvents, repeatedActions } from '../../definitions.js';

// Three rollouts 8 s apart: a local rollout of 3 replicas with the prepared preStop takes 4-8 s on a
// busy 2-core machine, and its last old pod exits up to 2 s after it ends.
const events: RepeatedEvents = { action: 'rollout', count: 3, firstAtMs: 2_500, spacingMs: 8_000 };

export const rollingUpdate: ExperimentDefinition<'rolling-update'> = {
  name: 'rolling-update',
  summary:
    'Steady agent traffic (plain calls, handle workflows, tasks) through several rolling updates (maxSurge 1, maxUnavailable 1). ' +
    'Measures, per rollout, failed requests by kind, sessions lost, tasks lost, handles rejected, p99 in the rollout vs before, recovery.',
  ...repeatedActions(events),
  events,
  settleMs: 1_000,
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
  beforeWindowMs: 2_500,
  cases: [{ id: 'default' }],
};
