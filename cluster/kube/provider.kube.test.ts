import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legacyInitialize, legacyRequest } from '../../scenarios/models/protocol.ts';
import { egressGuardInstalled } from '../kind/egress-guard.js';
import { createKindProvider, kindUnavailable } from '../kind/provider.js';
import { variantSpec } from '../manifests.js';
import type { ClusterEvent, ClusterProvider, VariantHandle, VariantName } from '../provider.js';
import { createKubeProvider } from './provider.js';

/**
 * Against a real cluster: MCPBENCH_KUBECONFIG (+ MCPBENCH_KUBE_CONTEXT) selects an existing cluster
 * for the kube provider; otherwise the offline-built kind cluster is used when it has been built.
 * Skips, saying why, when neither is there.
 */
const kubeconfig = process.env.MCPBENCH_KUBECONFIG;
const kindWhy = kubeconfig ? null : await kindUnavailable();
const skipReason = kubeconfig ? null : kindWhy;
if (skipReason) console.warn(`cluster tests skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)(`provider on a real cluster (${kubeconfig ? 'kube' : 'kind'})`, () => {
  let provider: ClusterProvider;
  let handles: Map<VariantName, VariantHandle>;
  const events: ClusterEvent[] = [];

  beforeAll(async () => {
    provider = kubeconfig
      ? createKubeProvider({ kubeconfig, context: process.env.MCPBENCH_KUBE_CONTEXT })
      : createKindProvider({ keep: process.env.MCPBENCH_KEEP_KIND === '1' });
    provider.onEvent((e) => events.push(e));
    handles = await provider.up([
      variantSpec('rc', { replicas: 2 }),
      variantSpec('legacy-sticky', { replicas: 1 }),
    ]);
  });
  afterAll(async () => {
    await provider?.down();
  });

  async function replicaOf(url: string): Promise<string | null> {
    const res = await fetch(url.replace(/\/mcp$/, '/healthz'));
    expect(res.status).toBe(200);
    return res.headers.get('x-mcpbench-replica');
  }

  it.skipIf(Boolean(kubeconfig))(
    'kind: the host refuses cluster-internal destinations, so nothing the cluster sends before kube-proxy is ready leaves it',
    async () => {
      expect(await egressGuardInstalled('mcpbench')).toBe(true);
    },
  );

  it('reports its Kubernetes version', async () => {
    expect(await provider.kubernetesVersion()).toMatch(/^v1\.\d+/);
  });

  it('serves every variant through its Service on loopback, spread over the ready pods', async () => {
    const rc = handles.get('rc');
    expect(rc?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const seen = new Set<string | null>();
    for (let i = 0; i < 30; i++) seen.add(await replicaOf(rc?.url ?? ''));
    const pods = (await rc?.replicas())?.filter((r) => r.ready).map((r) => r.name);
    expect(pods).toHaveLength(2);
    for (const s of seen) expect(pods).toContain(s);
    expect(await replicaOf(handles.get('legacy-sticky')?.url ?? '')).toBeTruthy();
  });

  it('kills a pod: on kind a crash (SIGKILL, the container restarts in place), on kube a deletion the Deployment replaces', async () => {
    const rc = handles.get('rc') as VariantHandle;
    const before = (await rc.replicas()).map((r) => r.name);
    const victim = await rc.killReplica();
    const killed = events.find((e) => e.kind === 'pod-killed' && e.detail.pod === victim);
    expect(killed?.detail.how).toMatch(kubeconfig ? /^deleted with grace 0/ : /^SIGKILL/);
    if (!kubeconfig) {
      // the kubelet saw the crash: the victim's server container restarted
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(fileURLToPath(new URL('../../.cache/kind/kubeconfig', import.meta.url)));
      const core = kc.makeApiClient(k8s.CoreV1Api);
      await expect
        .poll(
          async () => {
            const pods = await core.listPodForAllNamespaces({ fieldSelector: `metadata.name=${victim}` });
            return (
              pods.items[0]?.status?.containerStatuses?.find((c) => c.name === 'server')?.restartCount ?? 0
            );
          },
          { timeout: 60_000, interval: 500 },
        )
        .toBeGreaterThanOrEqual(1);
    }
    // kind: the same pod is back (ready again after its restart); kube: a new pod instead of it
    await expect
      .poll(
        async () =>
          (await rc.replicas()).filter(
            (r) => r.ready && (kubeconfig ? r.name !== victim : before.includes(r.name)),
          ).length,
        { timeout: 120_000, interval: 1_000 },
      )
      .toBe(2);
  });

  it('rolls out a new pod template and waits for it', async () => {
    const rc = handles.get('rc') as VariantHandle;
    const before = new Set((await rc.replicas()).map((r) => r.name));
    await rc.rollout();
    const after = (await rc.replicas()).filter((r) => r.phase !== 'terminating');
    expect(after).toHaveLength(2);
    for (const r of after) expect(before.has(r.name)).toBe(false);
    expect(events.filter((e) => e.kind === 'rollout-end')).toHaveLength(1);
  });

  it('scales a Deployment', async () => {
    const rc = handles.get('rc') as VariantHandle;
    await rc.scale(3);
    expect(await rc.desiredReplicas()).toBe(3);
    await expect
      .poll(async () => (await rc.replicas()).filter((r) => r.ready).length, {
        timeout: 120_000,
        interval: 1_000,
      })
      .toBe(3);
  });
});

describe.skipIf(skipReason !== null || kubeconfig !== undefined)('L7 gateway on kind (--l7)', () => {
  let provider: ClusterProvider;
  let handles: Map<VariantName, VariantHandle>;
  beforeAll(async () => {
    provider = createKindProvider({ keep: process.env.MCPBENCH_KEEP_KIND === '1' });
    handles = await provider.up([
      variantSpec('rc', { replicas: 2, methodRouting: true }),
      variantSpec('legacy-sticky', { replicas: 2, sessionHash: true }),
    ]);
  });
  afterAll(async () => {
    await provider?.down();
  });

  it('rc behind the Mcp-Method gateway is balanced per request, even on one keep-alive connection', async () => {
    const url = new URL((handles.get('rc') as VariantHandle).url);
    const client = new Client(url.origin, { connections: 1 } as never);
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await client.request({
        path: '/healthz',
        method: 'GET',
        headers: { 'mcp-method': i % 2 ? 'tools/list' : 'tools/call' },
      });
      await res.body.text();
      expect(res.headers['x-mcpbench-gateway']).toBe('rc');
      seen.push(String(res.headers['x-mcpbench-replica']));
    }
    await client.close();
    expect(new Set(seen).size).toBe(2);
  });

  it('legacy-sticky behind the session gateway keeps a session on the pod that created it', async () => {
    const url = (handles.get('legacy-sticky') as VariantHandle).url;
    const initialize = legacyInitialize(1, { name: 't', version: '1', agentId: 't' });
    const init = await fetch(url, { method: 'POST', headers: initialize.headers, body: initialize.body });
    await init.text();
    const sid = init.headers.get('mcp-session-id');
    const home = init.headers.get('x-mcpbench-replica');
    expect(sid).toBeTruthy();
    for (let i = 0; i < 6; i++) {
      const ping = legacyRequest(2 + i, sid as string, 'ping', {});
      const res = await fetch(url, { method: 'POST', headers: ping.headers, body: ping.body });
      await res.text();
      expect(res.status).toBe(200);
      expect(res.headers.get('x-mcpbench-replica')).toBe(home);
    }
  });
});
