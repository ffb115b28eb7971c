import { type ExperimentDefinition, type RepeatedEvents, repeatedActions } from '../../definitions.js';

// Four kills 3 s apart (a replacement pod is ready within 0.5-2 s), then Redis once.
const events: RepeatedEvents = {
  action: 'kill-pod',
  count: 4,
  firstAtMs: 2_000,
  spacingMs: 3_000,
  last: 'kill-redis',
};

export const podKill: ExperimentDefinition<'pod-kill'> = {
  name: 'pod-kill',
  summary:
    'Steady agent traffic; a pod is SIGKILLed several times, then Redis is killed once (variants that use it). ' +
    'Measures, per kill, failed requests, sessions lost, tasks lost and the time to recover.',
  ...repeatedActions(events),
  events,
  settleMs: 500,
  trials: 1,
  replicas: 3,
  serverEnv: { MCPBENCH_TOOL_LATENCY_MS: '5', MCPBENCH_TASK_DURATION_MS: '1500' },
  rttMs: 0,
  scenario: 'steady',
  scenarioParams: {},
  load: { model: 'closed', agents: 12 },
  sourceAddresses: 12,
  beforeWindowMs: 2_000,
  cases: [{ id: 'default' }],
};
