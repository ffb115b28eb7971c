import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startEngine } from '../../scenarios/engine/engine.js';
import { modernRequest } from '../../scenarios/models/protocol.js';
import { variantSpec } from '../manifests.js';
import type { ClusterEvent, ClusterProvider } from '../provider.js';
import { createLocalProvider } from './provider.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

/**
 * Pod termination as a prepared Deployment does it, with real server processes and real proxies:
 * the replica leaves the Service's endpoints before it gets SIGTERM, answers unready while it drains,
 * and a rollout under steady load fails no request; the unprepared Deployment fails some, and why.
 */

let provider: ClusterProvider | undefined;
const started: ServerProcess[] = [];
afterEach(async () => {
  await provider?.down();
  provider = undefined;
  for (const s of started.splice(0)) await s.terminate(2_000);
});

const client = { name: 'termination-test', version: '1.0.0', agentId: 'agent-1' };

describe('a server draining after SIGTERM', () => {
  it('answers /readyz 503 during the shutdown delay, finishes in-flight work, then stops listening', async () => {
    const server = await startServerProcess({
      kind: 'rc',
      env: {
        MCPBENCH_STORE: 'memory',
        MCPBENCH_TOOL_LATENCY_MS: '1500',
        MCPBENCH_SHUTDOWN_DELAY_MS: '1500',
        MCPBENCH_SHUTDOWN_GRACE_MS: '4000',
        MCPBENCH_REDIS_URL: 'redis://127.0.0.1:1',
      },
    });
    started.push(server);
    const call = modernRequest(1, client, 'tools/call', {
      name: 'get_resource',
      arguments: { kind: 'Deployment', name: 'web' },
    });
    const inFlight = request(server.url, { method: 'POST', headers: call.headers, body: call.body });
    // The call is being handled (the server counts it) before the signal.
    for (let i = 0; i < 100; i++) {
      const m = await request(`${server.baseUrl}/metrics`);
      if (((await m.body.json()) as { inflight: number }).inflight > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    server.child.kill('SIGTERM');
    let answer: { status: number; body: { ready: boolean; draining: boolean } } | undefined;
    for (let i = 0; i < 50 && answer?.status !== 503; i++) {
      const r = await request(`${server.baseUrl}/readyz`);
      answer = { status: r.statusCode, body: (await r.body.json()) as { ready: boolean; draining: boolean } };
    }
    expect(answer).toEqual({ status: 503, body: expect.objectContaining({ ready: false, draining: true }) });
    const res = await inFlight;
    expect(res.statusCode).toBe(200);
    const text = await res.body.text();
    expect(text).toContain('"result"');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });
});

async function rolloutUnderLoad(deployment: 'prepared' | 'unprepared') {
  provider = createLocalProvider({ endpointRemovalLagMs: 1_000 });
  const events: ClusterEvent[] = [];
  provider.onEvent((e) => events.push(e));
  const spec = variantSpec('rc', {
    deployment,
    replicas: 3,
    env: { MCPBENCH_TOOL_LATENCY_MS: '5' },
  });
  const rc = (await provider.up([spec])).get('rc')!;
  const engine = await startEngine({
    url: rc.url,
    protocol: '2026-07-28',
    scenario: 'calls',
    load: { model: 'closed', agents: 8 },
    durationMs: 120_000,
  });
  await new Promise((r) => setTimeout(r, 1_000));
  await rc.rollout();
  // Until every old pod has exited: a failure can come as late as its last drained connection.
  const old = events.filter((e) => e.kind === 'pod-terminating').map((e) => String(e.detail.pod));
  for (let i = 0; i < 200; i++) {
    const exited = new Set(events.filter((e) => e.kind === 'pod-exited').map((e) => String(e.detail.pod)));
    if (old.every((p) => exited.has(p))) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 500));
  engine.stop();
  const result = await engine.result;
  await provider.down();
  return { result, events, old };
}

/** For each terminated pod: the index of its endpoint removal and of its SIGTERM in the event log. */
function order(events: ClusterEvent[], pods: string[]) {
  return pods.map((pod) => ({
    pod,
    removed: events.findIndex((e) => e.kind === 'endpoint-removed' && e.detail.pod === pod),
    sigterm: events.findIndex((e) => e.kind === 'pod-sigterm' && e.detail.pod === pod),
  }));
}

describe('a rollout under steady load on the local provider', () => {
  it('prepared: every replica leaves the endpoints before SIGTERM, and no request fails', async () => {
    const { result, events, old } = await rolloutUnderLoad('prepared');
    expect(old).toHaveLength(3);
    for (const o of order(events, old)) {
      expect(o.removed, `${o.pod}: endpoint-removed`).toBeGreaterThanOrEqual(0);
      expect(o.sigterm, `${o.pod}: pod-sigterm`).toBeGreaterThan(o.removed);
    }
    expect(result.counts.ok).toBeGreaterThan(100);
    expect({ errors: result.counts.errors, causes: result.errorCauses ?? {} }).toEqual({
      errors: 0,
      causes: {},
    });
  }, 90_000);

  it('unprepared: SIGTERM comes while the replica is still listed, and new connections to it fail', async () => {
    const { result, events, old } = await rolloutUnderLoad('unprepared');
    expect(old).toHaveLength(3);
    for (const o of order(events, old)) {
      expect(o.sigterm, `${o.pod}: pod-sigterm`).toBeGreaterThanOrEqual(0);
      expect(o.removed, `${o.pod}: endpoint-removed`).toBeGreaterThan(o.sigterm);
    }
    expect(result.counts.errors).toBeGreaterThan(0);
    // Every failure is a transport failure: nothing the server answered went wrong.
    const { transport, ...others } = result.errors;
    expect(transport).toBe(result.counts.errors);
    expect(Object.values(others).every((n) => !n)).toBe(true);
    // The Service still sent new connections to a replica that had stopped listening: refused, which
    // reaches the client as a reset (a connection closed mid-answer would be UND_ERR_SOCKET).
    const causes = result.errorCauses?.transport ?? {};
    expect(causes.ECONNRESET).toBeGreaterThan(0);
    expect(Object.keys(causes).filter((c) => c !== 'ECONNRESET' && c !== 'UND_ERR_SOCKET')).toEqual([]);
  }, 90_000);
});
