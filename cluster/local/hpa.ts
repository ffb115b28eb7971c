import type { HpaPolicy, HpaSpec } from '../provider.js';

/**
 * The HorizontalPodAutoscaler's decision for a CPU Utilization target, as kube-controller-manager makes
 * it (autoscaling/v2; pkg/controller/podautoscaler, replica_calculator.go and horizontal.go):
 *
 * 1. Group the pods: terminating ones are ignored; pods without a metric are "missing"; pods not ready
 *    (or, within the CPU initialisation period, whose sample does not yet cover a full window of
 *    readiness) are "unready". Utilisation = floor(100 × Σ usage / Σ request) over the ready pods with
 *    metrics; ratio = utilisation / target.
 * 2. Without unready pods on a scale-up and without missing pods: within the tolerance nothing happens,
 *    else desired = ceil(ratio × readyPods).
 * 3. Otherwise the controller dampens: missing pods count as 100% of their request on a scale-down and
 *    0% on a scale-up, unready pods as 0% on a scale-up; the ratio is recomputed over all of them, and
 *    if it is within the tolerance or flips direction, nothing happens; else desired = ceil(ratio × n).
 * 4. Stabilisation: the recommendation is held between the lowest recommendation of the scale-up
 *    window and the highest of the scale-down window (both include the current one).
 * 5. Rate: the behaviour's policies limit the change relative to the replicas at the start of each
 *    policy's period (scale events within it undone); selectPolicy Max / Min / Disabled.
 * 6. minReplicas / maxReplicas clamp the result; a replica count outside them is corrected at once.
 */

export interface HpaState {
  /** (time, unstabilised recommendation) pairs, for the stabilisation windows */
  recommendations: Array<{ atMs: number; replicas: number }>;
  /** replicas added by past scale-ups / removed by past scale-downs, for the policies' periods */
  scaleUpEvents: Array<{ atMs: number; change: number }>;
  scaleDownEvents: Array<{ atMs: number; change: number }>;
}

/** What the controller knows of one pod (the Pod object and its metrics-server sample). */
export interface HpaPod {
  name: string;
  /** Ready condition */
  ready: boolean;
  /** deletionTimestamp set (terminating): ignored altogether */
  terminating?: boolean;
  /** container not started yet (Pending): counted as unready */
  pending?: boolean;
  /** pod start time, epoch ms */
  startedAtMs: number;
  /** last transition time of the Ready condition, epoch ms (null: the condition was never set) */
  readyTransitionMs: number | null;
  /** CPU usage over the metric window ending at `sampledAtMs`, millicores; null: no metric */
  cpuMillicores: number | null;
  sampledAtMs?: number | null;
  /** the metric's window (metrics-server's resolution), ms */
  windowMs?: number;
}

export interface HpaDecision {
  desired: number;
  /** the replica calculator's answer, before stabilisation and policies */
  recommendation: number;
  /** average utilisation of the ready pods with metrics, percent of request; null without metrics */
  utilisation: number | null;
  reason: string;
  pods?: { ready: number; unready: number; missing: number; ignored: number };
}

export function newHpaState(): HpaState {
  return { recommendations: [], scaleUpEvents: [], scaleDownEvents: [] };
}

/** Pods that are all ready, old enough and measured (the simple case the documentation's examples use). */
export function readyPods(cpuMillicores: number[]): HpaPod[] {
  return cpuMillicores.map((cpu, i) => ({
    name: `pod-${i}`,
    ready: true,
    startedAtMs: Number.NEGATIVE_INFINITY,
    readyTransitionMs: Number.NEGATIVE_INFINITY,
    cpuMillicores: cpu,
  }));
}

function group(spec: HpaSpec, pods: HpaPod[], now: number) {
  const ready: HpaPod[] = [];
  const unready: HpaPod[] = [];
  const missing: HpaPod[] = [];
  let ignored = 0;
  const initMs = (spec.cpuInitializationSeconds ?? 300) * 1000;
  // kube-controller-manager's --horizontal-pod-autoscaler-initial-readiness-delay (30 s by default)
  const readinessDelayMs = (spec.initialReadinessDelaySeconds ?? 30) * 1000;
  for (const pod of pods) {
    if (pod.terminating) {
      ignored++;
      continue;
    }
    if (pod.pending) {
      unready.push(pod);
      continue;
    }
    if (pod.cpuMillicores === null) {
      missing.push(pod);
      continue;
    }
    let isUnready: boolean;
    if (pod.readyTransitionMs === null) isUnready = true;
    else if (pod.startedAtMs + initMs > now) {
      // Within the initialisation period: only a ready pod whose sample covers a whole window of readiness.
      const sampledAt = pod.sampledAtMs ?? now;
      isUnready = !pod.ready || sampledAt < pod.readyTransitionMs + (pod.windowMs ?? 0);
    } else {
      // Afterwards: ignore it only if it is unready and never became ready after starting.
      isUnready = !pod.ready && pod.startedAtMs + readinessDelayMs > pod.readyTransitionMs;
    }
    (isUnready ? unready : ready).push(pod);
  }
  return { ready, unready, missing, ignored };
}

/** metricsclient.GetResourceUtilizationRatio: integer utilisation (truncated), then the ratio to target. */
function utilisationRatio(spec: HpaSpec, usages: number[]): { ratio: number; utilisation: number } {
  const total = usages.reduce((s, v) => s + v, 0);
  const requests = usages.length * spec.cpuRequestMillicores;
  const utilisation = Math.trunc((total * 100) / requests);
  return { ratio: utilisation / spec.targetCpuUtilization, utilisation };
}

/** The replica calculator (GetResourceReplicas): replicas the metric asks for, or null without metrics. */
export function replicaRecommendation(
  spec: HpaSpec,
  current: number,
  pods: HpaPod[] | number[],
  now = Date.now(),
): {
  replicas: number;
  utilisation: number;
  pods: { ready: number; unready: number; missing: number; ignored: number };
} | null {
  const list = typeof pods[0] === 'number' ? readyPods(pods as number[]) : (pods as HpaPod[]);
  const g = group(spec, list, now);
  const counts = {
    ready: g.ready.length,
    unready: g.unready.length,
    missing: g.missing.length,
    ignored: g.ignored,
  };
  if (g.ready.length === 0) return null;
  const within = (r: number) => Math.abs(1 - r) <= spec.tolerance;
  const { ratio, utilisation } = utilisationRatio(
    spec,
    g.ready.map((p) => p.cpuMillicores as number),
  );
  const scaleUpWithUnready = g.unready.length > 0 && ratio > 1;
  if (!scaleUpWithUnready && g.missing.length === 0) {
    if (within(ratio)) return { replicas: current, utilisation, pods: counts };
    return { replicas: Math.ceil(ratio * g.ready.length), utilisation, pods: counts };
  }
  const usages = g.ready.map((p) => p.cpuMillicores as number);
  if (ratio < 1) {
    const fallback = Math.max(100, spec.targetCpuUtilization);
    for (const _ of g.missing) usages.push(Math.trunc((spec.cpuRequestMillicores * fallback) / 100));
  } else if (ratio > 1) {
    for (const _ of g.missing) usages.push(0);
  }
  if (scaleUpWithUnready) for (const _ of g.unready) usages.push(0);
  const next = utilisationRatio(spec, usages).ratio;
  if (within(next) || (ratio > 1 && next < 1) || (ratio < 1 && next > 1)) {
    return { replicas: current, utilisation, pods: counts };
  }
  const replicas = Math.ceil(next * usages.length);
  if ((next < 1 && replicas > current) || (next > 1 && replicas < current)) {
    return { replicas: current, utilisation, pods: counts };
  }
  return { replicas, utilisation, pods: counts };
}

/** Kept for callers of the simple form: every pod ready and measured. */
export function rawRecommendation(
  spec: HpaSpec,
  current: number,
  readyCpuMillicores: number[],
): { replicas: number; utilisation: number } | null {
  return replicaRecommendation(spec, current, readyPods(readyCpuMillicores));
}

const changeWithin = (events: Array<{ atMs: number; change: number }>, periodSeconds: number, now: number) =>
  events.filter((e) => e.atMs > now - periodSeconds * 1000).reduce((s, e) => s + e.change, 0);

function scaleLimit(
  policies: HpaPolicy[],
  select: 'Max' | 'Min' | 'Disabled',
  current: number,
  state: HpaState,
  now: number,
  up: boolean,
): number {
  if (select === 'Disabled') return current;
  if (policies.length === 0) return up ? Number.POSITIVE_INFINITY : 0;
  const proposals = policies.map((p) => {
    const periodStart =
      current -
      changeWithin(state.scaleUpEvents, p.periodSeconds, now) +
      changeWithin(state.scaleDownEvents, p.periodSeconds, now);
    if (up) return p.type === 'Pods' ? periodStart + p.value : Math.ceil(periodStart * (1 + p.value / 100));
    return p.type === 'Pods' ? periodStart - p.value : Math.trunc(periodStart * (1 - p.value / 100));
  });
  // Max = the policy allowing the biggest change; Min = the smallest.
  if (up) return select === 'Min' ? Math.min(...proposals) : Math.max(...proposals);
  return select === 'Min' ? Math.max(...proposals) : Math.min(...proposals);
}

/** One sync of the controller for one HPA. Mutates `state` (recommendation history, scale events). */
export function decide(
  spec: HpaSpec,
  state: HpaState,
  current: number,
  pods: HpaPod[] | number[],
  now: number,
): HpaDecision {
  if (current > spec.maxReplicas || current < spec.minReplicas) {
    const desired = Math.min(spec.maxReplicas, Math.max(spec.minReplicas, current));
    record(state, current, desired, now);
    return {
      desired,
      recommendation: desired,
      utilisation: null,
      reason: current > spec.maxReplicas ? 'above maxReplicas' : 'below minReplicas',
    };
  }
  const calc = replicaRecommendation(spec, current, pods, now);
  if (!calc) {
    return {
      desired: current,
      recommendation: current,
      utilisation: null,
      reason: 'no CPU metrics from ready pods',
    };
  }
  const recommendation = calc.replicas;

  // Stabilisation (stabilizeRecommendationWithBehaviors).
  const upCutoff = now - spec.scaleUp.stabilizationWindowSeconds * 1000;
  const downCutoff = now - spec.scaleDown.stabilizationWindowSeconds * 1000;
  let upRec = recommendation;
  let downRec = recommendation;
  for (const r of state.recommendations) {
    if (r.atMs > upCutoff) upRec = Math.min(upRec, r.replicas);
    if (r.atMs > downCutoff) downRec = Math.max(downRec, r.replicas);
  }
  state.recommendations = state.recommendations.filter((r) => r.atMs > Math.min(upCutoff, downCutoff));
  state.recommendations.push({ atMs: now, replicas: recommendation });
  let stabilised = current;
  if (stabilised < upRec) stabilised = upRec;
  if (stabilised > downRec) stabilised = downRec;

  // Rate limits (convertDesiredReplicasWithBehaviorRate).
  let desired = stabilised;
  let reason: string;
  if (stabilised > current) {
    const limit = Math.max(
      current,
      scaleLimit(spec.scaleUp.policies, spec.scaleUp.selectPolicy, current, state, now, true),
    );
    const maxAllowed = Math.min(spec.maxReplicas, limit);
    desired = Math.min(stabilised, maxAllowed);
    reason =
      desired === stabilised
        ? 'scale up'
        : maxAllowed === spec.maxReplicas
          ? 'scale-up capped by maxReplicas'
          : 'scale-up limited by policy';
  } else if (stabilised < current) {
    const limit = Math.min(
      current,
      scaleLimit(spec.scaleDown.policies, spec.scaleDown.selectPolicy, current, state, now, false),
    );
    const minAllowed = Math.max(spec.minReplicas, limit);
    desired = Math.max(stabilised, minAllowed);
    reason =
      desired === stabilised
        ? 'scale down'
        : minAllowed === spec.minReplicas
          ? 'scale-down capped by minReplicas'
          : 'scale-down limited by policy';
  } else if (recommendation < current) {
    reason = 'scale-down held by the stabilisation window';
  } else if (recommendation > current) {
    reason = 'scale-up held by the stabilisation window';
  } else {
    reason = 'within tolerance';
  }
  record(state, current, desired, now);
  return { desired, recommendation, utilisation: calc.utilisation, reason, pods: calc.pods };
}

function record(state: HpaState, from: number, to: number, now: number): void {
  const horizon = now - 3_600_000;
  state.scaleUpEvents = state.scaleUpEvents.filter((e) => e.atMs > horizon);
  state.scaleDownEvents = state.scaleDownEvents.filter((e) => e.atMs > horizon);
  if (to > from) state.scaleUpEvents.push({ atMs: now, change: to - from });
  if (to < from) state.scaleDownEvents.push({ atMs: now, change: from - to });
}
