import type { HpaPolicy, HpaSpec } from '../provider.js';

/**
 * The HorizontalPodAutoscaler's decision, as the Kubernetes controller makes it (autoscaling/v2):
 * desired = ceil(current × currentUtilisation / target), skipped within the tolerance; unready pods
 * left out of the ratio; the recommendation stabilised over a window (scale-up takes the minimum of
 * the window's recommendations, scale-down the maximum); the change limited by the behaviour's
 * policies over their periods (selectPolicy Max / Min / Disabled); clamped to min/max replicas.
 */

export interface HpaState {
  /** (time, recommendation) pairs, for the stabilisation windows */
  recommendations: Array<{ atMs: number; replicas: number }>;
  /** (time, change) of past scale events, for the policies' periods */
  events: Array<{ atMs: number; delta: number }>;
}

export interface HpaDecision {
  desired: number;
  /** before stabilisation and policies */
  recommendation: number;
  utilisation: number | null;
  reason: string;
}

export function newHpaState(): HpaState {
  return { recommendations: [], events: [] };
}

/** Replicas the raw metric asks for, or null when no ready pod reported CPU. */
export function rawRecommendation(
  spec: HpaSpec,
  current: number,
  readyCpuMillicores: number[],
): { replicas: number; utilisation: number } | null {
  if (readyCpuMillicores.length === 0) return null;
  const avg = readyCpuMillicores.reduce((s, v) => s + v, 0) / readyCpuMillicores.length;
  const utilisation = (100 * avg) / spec.cpuRequestMillicores;
  const ratio = utilisation / spec.targetCpuUtilization;
  if (Math.abs(ratio - 1) <= spec.tolerance) return { replicas: current, utilisation };
  return { replicas: Math.ceil(readyCpuMillicores.length * ratio), utilisation };
}

function policyLimit(
  policies: HpaPolicy[],
  select: 'Max' | 'Min' | 'Disabled',
  current: number,
  state: HpaState,
  now: number,
  up: boolean,
): number {
  if (select === 'Disabled') return current;
  if (policies.length === 0) return up ? Number.POSITIVE_INFINITY : 0;
  const limits = policies.map((p) => {
    // Replicas at the start of the period: undo the changes made within it.
    const changed = state.events
      .filter((e) => e.atMs > now - p.periodSeconds * 1000 && (up ? e.delta > 0 : e.delta < 0))
      .reduce((s, e) => s + e.delta, 0);
    const base = current - changed;
    if (up) return p.type === 'Pods' ? base + p.value : Math.ceil(base * (1 + p.value / 100));
    return p.type === 'Pods' ? base - p.value : Math.floor(base * (1 - p.value / 100));
  });
  if (up) return select === 'Min' ? Math.min(...limits) : Math.max(...limits);
  return select === 'Min' ? Math.max(...limits) : Math.min(...limits);
}

export function decide(
  spec: HpaSpec,
  state: HpaState,
  current: number,
  readyCpuMillicores: number[],
  now: number,
): HpaDecision {
  const raw = rawRecommendation(spec, current, readyCpuMillicores);
  if (!raw)
    return {
      desired: current,
      recommendation: current,
      utilisation: null,
      reason: 'no CPU metrics from ready pods',
    };
  const recommendation = Math.min(spec.maxReplicas, Math.max(spec.minReplicas, raw.replicas));
  state.recommendations.push({ atMs: now, replicas: recommendation });
  const horizon =
    Math.max(spec.scaleUp.stabilizationWindowSeconds, spec.scaleDown.stabilizationWindowSeconds) * 1000;
  state.recommendations = state.recommendations.filter((r) => r.atMs >= now - horizon);
  state.events = state.events.filter((e) => e.atMs >= now - 3_600_000);

  const within = (seconds: number) =>
    state.recommendations.filter((r) => r.atMs >= now - seconds * 1000).map((r) => r.replicas);
  const upWindow = within(spec.scaleUp.stabilizationWindowSeconds);
  const downWindow = within(spec.scaleDown.stabilizationWindowSeconds);
  let desired = current;
  let reason = 'within tolerance';
  const upCandidate = Math.min(...upWindow, recommendation);
  const downCandidate = Math.max(...downWindow, recommendation);
  if (upCandidate > current) {
    desired = Math.min(
      upCandidate,
      policyLimit(spec.scaleUp.policies, spec.scaleUp.selectPolicy, current, state, now, true),
    );
    reason = desired < upCandidate ? 'scale-up limited by policy' : 'scale up';
  } else if (downCandidate < current) {
    desired = Math.max(
      downCandidate,
      policyLimit(spec.scaleDown.policies, spec.scaleDown.selectPolicy, current, state, now, false),
    );
    reason = desired > downCandidate ? 'scale-down limited by policy' : 'scale down';
  } else if (recommendation < current) {
    reason = 'scale-down held by the stabilisation window';
  }
  desired = Math.min(spec.maxReplicas, Math.max(spec.minReplicas, desired));
  if (desired !== current) state.events.push({ atMs: now, delta: desired - current });
  return { desired, recommendation, utilisation: raw.utilisation, reason };
}
