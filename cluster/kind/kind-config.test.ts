import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hpa } from '../../experiments/plugins/hpa/definition.js';
import {
  cadenceMismatch,
  cadenceNotes,
  controllerManagerArgs,
  hpaCadence,
  KUBERNETES_HPA_CADENCE,
  metricsServerTiming,
  renderKindConfig,
} from './kind-config.js';

const template = readFileSync(new URL('./kind-config.yaml', import.meta.url), 'utf8');

interface Patch {
  kind?: string;
  controllerManager?: { extraArgs?: Record<string, string> };
  [key: string]: unknown;
}

function patches(rendered: string): Patch[] {
  const config = parse(rendered);
  return (config.nodes[0].kubeadmConfigPatches as string[]).map((p) => parse(p) as Patch);
}

describe('the kind config generated from an hpa spec', () => {
  it('sets the controller cadence of the fast profile and keeps the rest of the template', () => {
    const rendered = renderKindConfig(template, hpaCadence(hpa.hpa));
    const config = parse(rendered);
    expect(config.kind).toBe('Cluster');
    expect(config.networking.apiServerAddress).toBe('127.0.0.1');
    expect(config.nodes[0].extraPortMappings.map((m: { hostPort: number }) => m.hostPort)).toEqual([
      30081, 30082, 30083,
    ]);
    const [cluster, kubelet] = patches(rendered);
    expect(cluster?.kind).toBe('ClusterConfiguration');
    expect(cluster?.controllerManager?.extraArgs).toEqual({
      'horizontal-pod-autoscaler-sync-period': '1s',
      'horizontal-pod-autoscaler-tolerance': '0.1',
      'horizontal-pod-autoscaler-cpu-initialization-period': '2s',
      'horizontal-pod-autoscaler-initial-readiness-delay': '2s',
    });
    expect(kubelet).toEqual({ kind: 'KubeletConfiguration', failCgroupV1: false });
    // The aggregator goes to metrics-server's endpoints, never through a ClusterIP kube-proxy may not
    // have programmed yet.
    expect(cluster?.apiServer).toEqual({ extraArgs: { 'enable-aggregator-routing': 'true' } });
  });

  it("the realistic profile is Kubernetes' own defaults", () => {
    const realistic = hpaCadence(hpa.profiles?.realistic?.hpa);
    expect(realistic).toEqual(KUBERNETES_HPA_CADENCE);
    const [cluster] = patches(renderKindConfig(template, realistic));
    expect(cluster?.controllerManager?.extraArgs).toEqual({
      'horizontal-pod-autoscaler-sync-period': '15s',
      'horizontal-pod-autoscaler-tolerance': '0.1',
      'horizontal-pod-autoscaler-cpu-initialization-period': '300s',
      'horizontal-pod-autoscaler-initial-readiness-delay': '30s',
    });
    expect(cadenceNotes(realistic)).toEqual([]);
    expect(metricsServerTiming(realistic)).toEqual({
      resolutionSeconds: 15,
      kubeletRequestTimeoutSeconds: 7,
    });
  });

  it("raises metrics-server's resolution to its 10 s floor, keeps the kubelet timeout below 90% of it, and says so", () => {
    const fast = hpaCadence(hpa.hpa);
    const t = metricsServerTiming(fast);
    expect(t.resolutionSeconds).toBe(10);
    expect(t.kubeletRequestTimeoutSeconds).toBeLessThan(t.resolutionSeconds * 0.9);
    const notes = cadenceNotes(fast);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain('every 10 s (asked 1 s)');
  });

  it('refuses a template without the ClusterConfiguration patch', () => {
    expect(() =>
      renderKindConfig('kind: Cluster\nnodes: [{ role: control-plane }]\n', KUBERNETES_HPA_CADENCE),
    ).toThrow('no kubeadmConfigPatches entry of kind ClusterConfiguration');
  });
});

describe("an existing cluster's controller cadence", () => {
  const command = (c = KUBERNETES_HPA_CADENCE) => [
    'kube-controller-manager',
    '--allocate-node-cidrs=true',
    ...Object.entries(controllerManagerArgs(c)).map(([k, v]) => `--${k}=${v}`),
  ];

  it('matches when the flags are the cadence (also as Kubernetes spells durations)', () => {
    expect(cadenceMismatch(command(), KUBERNETES_HPA_CADENCE)).toEqual([]);
    expect(
      cadenceMismatch(
        ['kube-controller-manager', '--horizontal-pod-autoscaler-cpu-initialization-period=5m0s'],
        {
          ...KUBERNETES_HPA_CADENCE,
        },
      ),
    ).toEqual([]);
  });

  it('names every flag that differs; an absent flag is the default', () => {
    const fast = hpaCadence(hpa.hpa);
    expect(cadenceMismatch(['kube-controller-manager'], fast)).toEqual([
      '--horizontal-pod-autoscaler-sync-period is 15s, the run needs 1s',
      '--horizontal-pod-autoscaler-cpu-initialization-period is 300s, the run needs 2s',
      '--horizontal-pod-autoscaler-initial-readiness-delay is 30s, the run needs 2s',
    ]);
    expect(cadenceMismatch(command(fast), fast)).toEqual([]);
  });
});
