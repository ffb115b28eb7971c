import type { ExperimentDefinition } from '../../definitions.js';

/**
 * The base load sits well below the CPU target (about 40% of it, 20% of the request, for every variant, legacy-redis's Redis
 * round trips included) and the step well above it (several times the target on one replica), so a
 * scale-up is caused by the step; the analysis checks that premise on every trial and says when it failed.
 */
const BASE_RATE = 2;
const STEP_RATE = 30;
/**
 * realistic: the controller takes 15-45 s to react, so one replica carries the step that long; at 30/s it
 * saturates and fails its readiness probe (the HPA then has no ready pod to measure and cannot scale).
 * 15/s is about three times the target on one replica, which a replica carries until help arrives.
 */
const REALISTIC_STEP_RATE = 15;

export const hpa: ExperimentDefinition<'hpa'> = {
  name: 'hpa',
  summary:
    'Open-model load steps from a base below the CPU target to a step above it and back, under a CPU HPA (profile ' +
    '`fast`: 1 s sync and metrics, windows shortened to fit the default suite; `realistic`: Kubernetes defaults). ' +
    'Measures the replica timeline, time to scale after the step, per-pod load spread after scale-up (sticky ' +
    'sessions leave new pods idle), scale-down and latency while scaling; checks that the base did not scale.',
  durationMs: 20_000,
  trials: 1,
  replicas: 1,
  serverEnv: { MCPBENCH_TOOL_CPU_MS: '3' },
  rttMs: 0,
  scenario: 'cpu-ramp',
  scenarioParams: {},
  load: {
    model: 'open',
    rate: BASE_RATE,
    unit: 'sessions',
    maxInFlight: 256,
    stages: [
      { durationMs: 5_000, target: BASE_RATE },
      { durationMs: 1_000, target: STEP_RATE },
      { durationMs: 7_000, target: STEP_RATE },
      { durationMs: 1_000, target: BASE_RATE },
      { durationMs: 6_000, target: BASE_RATE },
    ],
  },
  sourceAddresses: 8,
  actions: [],
  beforeWindowMs: 5_000,
  cases: [{ id: 'default' }],
  // The HPA's utilisation is relative to this request. 300m rather than the manifests' 250m: the tool
  // calls burn their 3 ms in CPU time even on a busy host, and the base load's first second (sessions
  // opening) reaches ~150m, which must stay within the target's tolerance for the step to cause the
  // scale-up (the experiment's premise).
  resources: { cpuRequestMillicores: 300 },
  hpa: {
    minReplicas: 1,
    maxReplicas: 4,
    targetCpuUtilization: 50,
    syncPeriodSeconds: 1,
    scaleUpStabilizationSeconds: 0,
    scaleDownStabilizationSeconds: 3,
    cpuInitializationSeconds: 2,
    tolerance: 0.1,
    initialReadinessDelaySeconds: 2,
    metricResolutionSeconds: 1,
  },
  profiles: {
    fast: {},
    /**
     * Kubernetes' own autoscaler timing (kube-controller-manager and metrics-server defaults): 15 s sync,
     * 15 s metrics, 0.1 tolerance, 300 s CPU initialisation, 30 s initial readiness delay, no scale-up
     * stabilisation and 300 s of scale-down stabilisation. 90 s of base (six syncs), two minutes of a 15/s step,
     * then 400 s back at base so the scale-down, 300 s after the last high recommendation, is seen.
     */
    realistic: {
      durationMs: 620_000,
      beforeWindowMs: 90_000,
      load: {
        model: 'open',
        rate: BASE_RATE,
        unit: 'sessions',
        maxInFlight: 256,
        stages: [
          { durationMs: 90_000, target: BASE_RATE },
          { durationMs: 10_000, target: REALISTIC_STEP_RATE },
          { durationMs: 120_000, target: REALISTIC_STEP_RATE },
          { durationMs: 10_000, target: BASE_RATE },
          { durationMs: 390_000, target: BASE_RATE },
        ],
      },
      hpa: {
        minReplicas: 1,
        maxReplicas: 4,
        targetCpuUtilization: 50,
        syncPeriodSeconds: 15,
        scaleUpStabilizationSeconds: 0,
        scaleDownStabilizationSeconds: 300,
        cpuInitializationSeconds: 300,
        tolerance: 0.1,
        initialReadinessDelaySeconds: 30,
        metricResolutionSeconds: 15,
      },
    },
  },
};
