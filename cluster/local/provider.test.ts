import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { variantSpec } from '../manifests.js';
import type { ClusterEvent, ClusterProvider } from '../provider.js';
import { createLocalProvider, DEFAULT_REDIS_RESCHEDULE_MS } from './provider.js';

/** The local provider with real server processes, real proxies and a real Redis. */

let provider: ClusterProvider | undefined;
afterEach(async () => {
  await provider?.down();
  provider = undefined;
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function replicaOf(url: string, dispatcher?: Agent): Promise<string> {
  const res = await request(url.replace('/mcp', '/healthz'), { dispatcher });
  await res.body.text();
  return String(res.headers['x-mcpbench-replica']);
}

describe('local provider', () => {
  it('a Redis kill: the process dies, and a new one answers at the same address after the emulated rescheduling', async () => {
    provider = createLocalProvider({ redisRescheduleMs: 400 });
    const events: ClusterEvent[] = [];
    provider.onEvent((e) => events.push(e));
    await provider.up([variantSpec('legacy-redis', { replicas: 1 })]);
    const firstReady = events.find((e) => e.kind === 'redis-ready');
    await provider.killRedis();
    const killed = events.find((e) => e.kind === 'redis-killed');
    const ready = events.filter((e) => e.kind === 'redis-ready');
    expect(killed?.detail).toMatchObject({ pid: firstReady?.detail.pid, rescheduleMs: 400 });
    expect(alive(Number(killed?.detail.pid))).toBe(false);
    expect(ready).toHaveLength(2);
    expect(ready[1]?.detail.port).toBe(firstReady?.detail.port);
    expect(ready[1]?.detail.pid).not.toBe(firstReady?.detail.pid);
    // never sooner than the emulated rescheduling (a lower bound holds on a busy machine)
    expect((ready[1]?.atMs ?? 0) - (killed?.atMs ?? 0)).toBeGreaterThanOrEqual(400);
  });

  it('takes the rescheduling delay from MCPBENCH_REDIS_RESCHEDULE_MS, refusing one that is not whole ms', () => {
    expect(DEFAULT_REDIS_RESCHEDULE_MS).toBeGreaterThan(0);
    process.env.MCPBENCH_REDIS_RESCHEDULE_MS = 'soon';
    try {
      expect(() => createLocalProvider()).toThrow(/MCPBENCH_REDIS_RESCHEDULE_MS: "soon"/);
    } finally {
      delete process.env.MCPBENCH_REDIS_RESCHEDULE_MS;
    }
  });

  it('balances per connection: a keep-alive connection stays on one pod, new connections rotate', async () => {
    provider = createLocalProvider();
    const handles = await provider.up([variantSpec('legacy-redis', { replicas: 3 })]);
    const url = handles.get('legacy-redis')!.url;
    const kept = new Agent({ connections: 1 });
    const onKept = new Set<string>();
    for (let i = 0; i < 6; i++) onKept.add(await replicaOf(url, kept));
    expect(onKept.size).toBe(1);
    await kept.close();
    const fresh = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const a = new Agent({ connections: 1 });
      fresh.add(await replicaOf(url, a));
      await a.close();
    }
    expect(fresh.size).toBe(3);
  });

  it('pins a client address to one pod with sessionAffinity ClientIP', async () => {
    provider = createLocalProvider();
    const handles = await provider.up([variantSpec('legacy-sticky', { replicas: 3 })]);
    const url = handles.get('legacy-sticky')!.url;
    const seen = new Map<string, Set<string>>();
    for (const address of ['127.0.0.2', '127.0.0.3', '127.0.0.2', '127.0.0.3', '127.0.0.2']) {
      const a = new Agent({ connections: 1, connect: { localAddress: address } });
      const replica = await replicaOf(url, a);
      await a.close();
      seen.set(address, (seen.get(address) ?? new Set()).add(replica));
    }
    expect(seen.get('127.0.0.2')?.size).toBe(1);
    expect(seen.get('127.0.0.3')?.size).toBe(1);
  });

  it('rolls out within maxUnavailable, replaces a killed pod, and leaves no process after down()', async () => {
    provider = createLocalProvider();
    const events: ClusterEvent[] = [];
    provider.onEvent((e) => events.push(e));
    const handles = await provider.up([variantSpec('rc', { replicas: 3 })]);
    const rc = handles.get('rc')!;
    const pids = new Set<number>();
    let minReady = 3;
    const watch = setInterval(async () => {
      const r = await rc.replicas();
      minReady = Math.min(minReady, r.filter((x) => x.ready && x.phase !== 'terminating').length);
    }, 50);
    const before = (await rc.replicas()).map((r) => r.name);
    await rc.rollout();
    clearInterval(watch);
    const after = (await rc.replicas()).filter((r) => r.phase !== 'terminating').map((r) => r.name);
    expect(after).toHaveLength(3);
    expect(after.some((n) => before.includes(n))).toBe(false);
    expect(minReady).toBeGreaterThanOrEqual(2); // replicas − maxUnavailable
    expect(events.map((e) => e.kind)).toContain('rollout-end');

    const killed = await rc.killReplica();
    let replaced = false;
    for (let i = 0; i < 60 && !replaced; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = (await rc.replicas()).filter((r) => r.ready && r.phase !== 'terminating');
      replaced = now.length === 3 && !now.some((r) => r.name === killed);
    }
    expect(replaced).toBe(true);
    for (const e of events) if (typeof e.detail.pid === 'number') pids.add(e.detail.pid);
    expect(pids.size).toBeGreaterThan(3);
    await provider.down();
    await new Promise((r) => setTimeout(r, 300));
    expect([...pids].filter(alive)).toEqual([]);
  });

  it('scales out under CPU load with the HPA', async () => {
    provider = createLocalProvider();
    const events: ClusterEvent[] = [];
    provider.onEvent((e) => events.push(e));
    const handles = await provider.up([
      variantSpec('rc', {
        replicas: 1,
        env: { MCPBENCH_TOOL_CPU_MS: '20' },
        hpa: {
          minReplicas: 1,
          maxReplicas: 3,
          syncPeriodSeconds: 1,
          cpuInitializationSeconds: 0,
          // without it, metrics-server's 15 s default: no figure within this short test
          metricResolutionSeconds: 1,
        },
        cpuRequestMillicores: 100,
      }),
    ]);
    const url = handles.get('rc')!.url;
    const { runEngine } = await import('../../scenarios/engine/engine.js');
    await runEngine({
      url,
      protocol: '2026-07-28',
      scenario: 'calls',
      load: { model: 'closed', agents: 4 },
      durationMs: 4_000,
    });
    const ups = events.filter(
      (e) => e.kind === 'replicas-changed' && Number(e.detail.to) > Number(e.detail.from),
    );
    expect(ups.length).toBeGreaterThan(0);
    expect(events.some((e) => e.kind === 'hpa-decision' && Number(e.detail.utilisation) > 50)).toBe(true);
  });

  it('L7: sessions stay on the pod that created them across connections; rc requests spread per request', async () => {
    provider = createLocalProvider();
    const handles = await provider.up([
      variantSpec('legacy-sticky', { replicas: 3, sessionHash: true }),
      variantSpec('rc', { replicas: 3, methodRouting: true }),
    ]);
    const legacyUrl = handles.get('legacy-sticky')!.url;
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await request(legacyUrl, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    await init.body.text();
    const sid = String(init.headers['mcp-session-id']);
    const creator = String(init.headers['x-mcpbench-replica']);
    for (let i = 0; i < 5; i++) {
      const a = new Agent({ connections: 1 });
      const res = await request(legacyUrl, {
        dispatcher: a,
        method: 'POST',
        headers: { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2 + i, method: 'tools/list' }),
      });
      await res.body.text();
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-mcpbench-replica']).toBe(creator);
      await a.close();
    }
    const kept = new Agent({ connections: 1 });
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await replicaOf(handles.get('rc')!.url, kept));
    await kept.close();
    expect(seen.size).toBe(3);
  });
});
