import { parse, parseDocument, stringify } from 'yaml';
import type { HpaSpec } from '../provider.js';

/**
 * The autoscaler's timing is set by flags of kube-controller-manager and metrics-server, not by the
 * HorizontalPodAutoscaler object, so a kind cluster runs an experiment's HPA spec only when it was
 * created for it: the kind config (kubeadmConfigPatches → ClusterConfiguration.controllerManager.extraArgs)
 * and metrics-server's arguments are generated here from the run's spec. The local provider reads the
 * same fields, so both run the same cadence; what kind cannot match is said by `cadenceNotes`.
 */

/** The controller and metrics timing of an HPA (the fields that are cluster flags, not HPA fields). */
export type HpaCadence = Required<
  Pick<
    HpaSpec,
    | 'syncPeriodSeconds'
    | 'tolerance'
    | 'cpuInitializationSeconds'
    | 'initialReadinessDelaySeconds'
    | 'metricResolutionSeconds'
  >
>;

/** kube-controller-manager's and metrics-server's own defaults (metrics-server's manifests use 15 s). */
export const KUBERNETES_HPA_CADENCE: HpaCadence = {
  syncPeriodSeconds: 15,
  tolerance: 0.1,
  cpuInitializationSeconds: 300,
  initialReadinessDelaySeconds: 30,
  metricResolutionSeconds: 15,
};

/** metrics-server refuses --metric-resolution below 10 s (cmd/metrics-server/app/options, v0.8.0). */
const METRICS_SERVER_MIN_RESOLUTION_SECONDS = 10;

export function hpaCadence(spec?: Partial<HpaSpec>): HpaCadence {
  const d = KUBERNETES_HPA_CADENCE;
  return {
    syncPeriodSeconds: spec?.syncPeriodSeconds ?? d.syncPeriodSeconds,
    tolerance: spec?.tolerance ?? d.tolerance,
    cpuInitializationSeconds: spec?.cpuInitializationSeconds ?? d.cpuInitializationSeconds,
    initialReadinessDelaySeconds: spec?.initialReadinessDelaySeconds ?? d.initialReadinessDelaySeconds,
    metricResolutionSeconds: spec?.metricResolutionSeconds ?? d.metricResolutionSeconds,
  };
}

/** A Go duration (time.ParseDuration) for a number of seconds: 1s, 0.5s, 300s. */
const goDuration = (seconds: number) => `${Number(seconds.toFixed(3))}s`;

/** kube-controller-manager flags for the cadence (without the leading --). */
export function controllerManagerArgs(c: HpaCadence): Record<string, string> {
  return {
    'horizontal-pod-autoscaler-sync-period': goDuration(c.syncPeriodSeconds),
    'horizontal-pod-autoscaler-tolerance': String(c.tolerance),
    'horizontal-pod-autoscaler-cpu-initialization-period': goDuration(c.cpuInitializationSeconds),
    'horizontal-pod-autoscaler-initial-readiness-delay': goDuration(c.initialReadinessDelaySeconds),
  };
}

/**
 * metrics-server's resolution on kind: the spec's, raised to metrics-server's 10 s floor; and a kubelet
 * request timeout below 90% of it (metrics-server refuses a resolution × 0.9 shorter than the timeout,
 * whose default is 10 s).
 */
export function metricsServerTiming(c: HpaCadence): {
  resolutionSeconds: number;
  kubeletRequestTimeoutSeconds: number;
} {
  const resolutionSeconds = Math.max(METRICS_SERVER_MIN_RESOLUTION_SECONDS, c.metricResolutionSeconds);
  return {
    resolutionSeconds,
    kubeletRequestTimeoutSeconds: Math.min(10, Math.floor(resolutionSeconds * 0.5)),
  };
}

/** What kind cannot run as the spec asks, in words (empty: the same timing as the local provider). */
export function cadenceNotes(c: HpaCadence): string[] {
  const { resolutionSeconds } = metricsServerTiming(c);
  return resolutionSeconds > c.metricResolutionSeconds
    ? [
        `metrics-server cannot refresh CPU faster than every ${METRICS_SERVER_MIN_RESOLUTION_SECONDS} s (asked ${c.metricResolutionSeconds} s): ` +
          `on kind the HPA sees CPU averaged over ${resolutionSeconds} s windows, so it reacts later than on local ` +
          `(set hpa.metricResolutionSeconds ≥ ${METRICS_SERVER_MIN_RESOLUTION_SECONDS}, or the realistic profile, for the same timing on both)`,
      ]
    : [];
}

/**
 * The kind cluster config for a cadence: the template (cluster/kind/kind-config.yaml) with the
 * ClusterConfiguration patch's controllerManager.extraArgs set from it (kind v0.30 writes kubeadm
 * v1beta3, where extraArgs is a map). Throws when the template has no ClusterConfiguration patch.
 */
export function renderKindConfig(template: string, c: HpaCadence): string {
  const doc = parseDocument(template);
  const patches = doc.getIn(['nodes', 0, 'kubeadmConfigPatches']) as
    | { items: Array<{ value: unknown }> }
    | undefined;
  const item = patches?.items.find(
    (p) => typeof p.value === 'string' && /^kind:\s*ClusterConfiguration\s*$/m.test(p.value),
  );
  if (!item || typeof item.value !== 'string')
    throw new Error(
      'kind-config.yaml: no kubeadmConfigPatches entry of kind ClusterConfiguration on the first node',
    );
  const patch = (parse(item.value) ?? {}) as {
    controllerManager?: { extraArgs?: Record<string, string> };
  };
  patch.controllerManager = {
    ...patch.controllerManager,
    extraArgs: { ...patch.controllerManager?.extraArgs, ...controllerManagerArgs(c) },
  };
  item.value = stringify(patch);
  return `# Generated by mcpbench from cluster/kind/kind-config.yaml for HPA cadence ${JSON.stringify(c)}\n${doc.toString()}`;
}

/**
 * How an existing cluster's kube-controller-manager (its static pod's command line) differs from the
 * cadence a run needs; empty when it matches. A flag it does not set counts as Kubernetes' default.
 */
export function cadenceMismatch(command: string[], want: HpaCadence): string[] {
  const flags = new Map<string, string>();
  for (const arg of command) {
    const m = /^--([^=]+)=(.*)$/.exec(arg);
    if (m?.[1] && m[2] !== undefined) flags.set(m[1], m[2]);
  }
  const defaults = controllerManagerArgs(KUBERNETES_HPA_CADENCE);
  const seconds = (v: string) => {
    // Go durations as kube-controller-manager takes them: 1m30s, 15s, 500ms
    let total = 0;
    for (const [, n, unit] of v.matchAll(/([\d.]+)(ms|s|m|h)/g)) {
      total += Number(n) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as Record<string, number>)[unit as string]!;
    }
    return total;
  };
  const out: string[] = [];
  for (const [flag, value] of Object.entries(controllerManagerArgs(want))) {
    const have = flags.get(flag) ?? defaults[flag]!;
    const same = flag.endsWith('tolerance')
      ? Number(have) === Number(value)
      : seconds(have) === seconds(value);
    if (!same) out.push(`--${flag} is ${have}, the run needs ${value}`);
  }
  return out;
}
