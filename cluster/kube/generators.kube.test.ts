import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type InClusterLoad, startLoad } from '../../experiments/load-driver.js';
import { mergeHistograms } from '../../rundir/histograms.js';
import { HISTOGRAM_KEYS } from '../../rundir/raw-result.js';
import { createKindProvider, kindPaths, kindUnavailable } from '../kind/provider.js';
import { variantSpec } from '../manifests.js';
import type { ClusterProvider, GeneratorRun, VariantHandle, VariantName } from '../provider.js';
import { createKubeProvider } from './provider.js';

/**
 * In-cluster load generators on a real cluster (kind built offline, or MCPBENCH_KUBECONFIG): the
 * merged result against the servers' own counts, ClientIP affinity seeing one client per pod, and a
 * generator pod deleted mid-trial reported as the harness's fault. Skips, saying why, otherwise.
 */
const kubeconfig = process.env.MCPBENCH_KUBECONFIG;
const skipReason = kubeconfig ? null : await kindUnavailable();
if (skipReason) console.warn(`generator tests skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)('in-cluster load generators', () => {
  let provider: ClusterProvider | undefined;
  const kc = new k8s.KubeConfig();

  beforeAll(() => {
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromFile(kindPaths().kubeconfig);
  });
  afterEach(async () => {
    await provider?.down();
    provider = undefined;
  });

  /** One variant at a time: three replicas of one beside three generators fit a 2-core kind node. */
  async function up(name: VariantName): Promise<VariantHandle> {
    provider = kubeconfig
      ? createKubeProvider({ kubeconfig, context: process.env.MCPBENCH_KUBE_CONTEXT })
      : createKindProvider({ keep: true });
    return (await provider.up([variantSpec(name, { replicas: 3 })])).get(name) as VariantHandle;
  }

  const core = () => kc.makeApiClient(k8s.CoreV1Api);
  const namespaceOf = (h: VariantHandle) =>
    new URL(h.inClusterUrl ?? 'http://x').hostname.split('.')[1] as string;

  /** Each server pod's own request count (/metrics, read through the API server's pod proxy). */
  async function serverRequests(h: VariantHandle): Promise<number> {
    const namespace = namespaceOf(h);
    const pods = await core().listNamespacedPod({
      namespace,
      labelSelector: `mcpbench/variant=${h.spec.name}`,
    });
    let total = 0;
    for (const p of pods.items) {
      const text = await core().connectGetNamespacedPodProxyWithPath({
        name: `${p.metadata?.name}:8080`,
        namespace,
        path: 'metrics',
      });
      total += (typeof text === 'string' ? JSON.parse(text) : (text as { requests: number })).requests;
    }
    return total;
  }

  function load(h: VariantHandle, count: number, signal = new AbortController().signal) {
    const inCluster: InClusterLoad = {
      provider: provider as ClusterProvider,
      url: h.inClusterUrl as string,
      count,
      leadMs: 8_000,
      cpuRequestMillicores: 100,
      cpuLimitMillicores: 1_000,
    };
    return startLoad({
      engine: 'builtin',
      url: h.url,
      protocol: h.spec.name === 'rc' ? '2026-07-28' : '2025-11-25',
      scenario: 'steady',
      scenarioParams: {},
      load: { model: 'closed', agents: 9 },
      durationMs: 6_000,
      seed: 7,
      sourceAddresses: 0,
      signal,
      inCluster,
    });
  }

  it('3 pods against rc: the merge is the sum of the pods and matches the servers own counts within 1%', async () => {
    const rc = await up('rc');
    expect(rc.inClusterUrl).toMatch(/^http:\/\/mcp-rc\.[a-z0-9-]+\.svc:80\/mcp$/);
    const before = await serverRequests(rc);
    const handle = await load(rc, 3);
    const [merged, run] = await Promise.all([handle.result, handle.generators as Promise<GeneratorRun>]);
    const after = await serverRequests(rc);
    expect(run.faults).toEqual([]);
    expect(run.results.map((r) => r.index).sort()).toEqual([0, 1, 2]);
    expect(new Set(run.pods.map((p) => p.ip)).size).toBe(3);
    // Each pod's clock was checked against the harness's (on kind every node shares the host's clock).
    for (const p of run.pods) expect(Math.abs(p.clockSkewMs ?? Number.NaN)).toBeLessThan(1_000);
    const sum = run.results.reduce((n, r) => n + r.result.counts.requests, 0);
    expect(merged.counts.requests).toBe(sum);
    expect(merged.counts.requests).toBeGreaterThan(100);
    console.info(
      `generators: ${run.results.map((r) => r.result.counts.requests).join(' + ')} = ${sum} requests merged; ` +
        `the servers counted ${after - before} (${((100 * (after - before - sum)) / sum).toFixed(2)}%)`,
    );
    expect(Math.abs(after - before - merged.counts.requests) / merged.counts.requests).toBeLessThanOrEqual(
      0.01,
    );
    // The merged percentiles are those of the union of the pods' histograms.
    const union = mergeHistograms(run.results.map((r) => r.result.histograms[HISTOGRAM_KEYS.request]));
    const mergedHist = mergeHistograms([merged.histograms[HISTOGRAM_KEYS.request]]);
    for (const p of [50, 99]) expect(mergedHist.getValueAtPercentile(p)).toBe(union.getValueAtPercentile(p));
    expect(mergedHist.totalCount).toBe(union.totalCount);
  });

  it('legacy-sticky with ClientIP affinity: each generator pod is one client, pinned to one replica', async () => {
    const sticky = await up('legacy-sticky');
    const handle = await load(sticky, 3);
    const [merged, run] = await Promise.all([handle.result, handle.generators as Promise<GeneratorRun>]);
    expect(run.faults).toEqual([]);
    // kube-proxy pins each client address to one backend: every pod's requests went to one replica.
    for (const r of run.results) expect(Object.keys(r.result.perReplica)).toHaveLength(1);
    const targets = new Set(run.results.map((r) => Object.keys(r.result.perReplica)[0]));
    expect(Object.keys(merged.perReplica).sort()).toEqual([...targets].sort());
  });

  it('a generator pod deleted mid-trial is the harness fault, named, and its share is missing from the merge', async () => {
    const rc = await up('rc');
    const handle = await load(rc, 3);
    await new Promise((r) => setTimeout(r, 2_000));
    const namespace = namespaceOf(rc);
    const pods = await core().listNamespacedPod({ namespace, labelSelector: 'mcpbench/role=generator' });
    const victim = pods.items.find(
      (p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'] === '1',
    );
    expect(victim?.metadata?.name).toBeTruthy();
    await core().deleteNamespacedPod({
      name: victim?.metadata?.name as string,
      namespace,
      gracePeriodSeconds: 0,
    });
    const [merged, run] = await Promise.all([handle.result, handle.generators as Promise<GeneratorRun>]);
    expect(run.faults).toHaveLength(1);
    expect(run.faults[0]).toMatchObject({ index: 1, pod: victim?.metadata?.name });
    expect(run.faults[0]?.reason).toMatch(/deleted before it finished/);
    expect(run.results.map((r) => r.index).sort()).toEqual([0, 2]);
    expect(merged.engineFaults.notes.join('\n')).toMatch(/generator 1 .*delivered no result/);
    expect(merged.errors.transport + merged.errors.timeout).toBe(0);
  });
});
