import type { ExperimentDefinition } from '../../definitions.js';

export const hpa: ExperimentDefinition<'hpa'> = {
  name: 'hpa',
  summary:
    'Open-model load ramps up and down under a CPU HPA (sync period and stabilisation windows shortened to fit the ' +
    'default suite; Kubernetes defaults are 15 s and 300 s). Measures the replica timeline, time to scale, per-pod load ' +
    'spread after scale-up (sticky sessions leave new pods idle) and latency while scaling.',
  durationMs: 15_000,
  trials: 1,
  replicas: 1,
  serverEnv: { MCPBENCH_TOOL_CPU_MS: '3' },
  rttMs: 0,
  scenario: 'cpu-ramp',
  scenarioParams: {},
  load: {
    model: 'open',
    rate: 4,
    unit: 'sessions',
    maxInFlight: 256,
    stages: [
      { durationMs: 2_000, target: 4 },
      { durationMs: 1_000, target: 30 },
      { durationMs: 7_000, target: 30 },
      { durationMs: 1_000, target: 4 },
      { durationMs: 4_000, target: 4 },
    ],
  },
  sourceAddresses: 8,
  actions: [],
  beforeWindowMs: 2_000,
  cases: [{ id: 'default' }],
  // The HPA's utilisation is relative to this request (the manifests' default, stated because the
  // experiment's premise depends on it).
  resources: { cpuRequestMillicores: 250 },
  hpa: {
    minReplicas: 1,
    maxReplicas: 4,
    targetCpuUtilization: 50,
    syncPeriodSeconds: 1,
    scaleUpStabilizationSeconds: 0,
    scaleDownStabilizationSeconds: 3,
    cpuInitializationSeconds: 2,
  },
};
