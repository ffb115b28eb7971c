import { DEFAULT_CAPACITY_SLO } from '../../../rundir/capacity-judge.js';
import type { ExperimentDefinition } from '../../definitions.js';

/**
 * capacity: per variant and replica count, the sustainable rate of agent turns at an SLO, found by a
 * breakpoint search (experiments/capacity-search.ts) with per-pod CPU limits. The default is the short
 * pass of the default suite (1 replica, ±25%, one trial); configs/capacity-thorough.yaml runs 1–3
 * replicas at ±5% with 3 trials.
 */
export const capacity: ExperimentDefinition<'capacity'> = {
  name: 'capacity',
  summary:
    "Breakpoint search of open-model agent turns (an arrival runs one turn on an idle agent's kept session) with a " +
    'per-pod CPU limit: stepped up geometrically until the SLO breaks, then bisected. Measures the sustainable rate ' +
    'per pod, the scaling curve over replica counts (USL fit) and the cost per turn.',
  // not used by the search (its steps have their own durations); kept for estimates and the common table
  durationMs: 2_000,
  trials: 1,
  replicas: 1,
  serverEnv: { MCPBENCH_TOOL_CPU_MS: '5' },
  rttMs: 0,
  scenario: 'turns',
  scenarioParams: {},
  load: { model: 'open', rate: 10, unit: 'turns', maxInFlight: 256 },
  sourceAddresses: 8,
  actions: [],
  beforeWindowMs: 0,
  cases: [{ id: 'default', replicas: 1 }],
  resources: { cpuLimitMillicores: 500, cpuRequestMillicores: 500 },
  search: {
    startRate: 10,
    factor: 2,
    resolution: 0.25,
    maxSteps: 8,
    settleMs: 500,
    measureMs: 1_200,
    slo: DEFAULT_CAPACITY_SLO,
    generatorCpuLimit: 0.9,
  },
};
