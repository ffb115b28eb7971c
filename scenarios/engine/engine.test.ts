import type { Server } from 'node:http';
import * as hdr from 'hdr-histogram-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisProcess, startRedis } from '../../cluster/local/redis-server.js';
import { type ServerProcess, startServerProcess } from '../../cluster/local/server-process.js';
import { startLoopbackServer } from '../../test/loopback-server.js';
import { runEngine } from './engine.js';

/**
 * The engine's mechanics against a tiny canned MCP endpoint (the test is about the load generator,
 * not the server), then its protocol behaviour against the real servers.
 */

let stallUntil = 0;
let canned: Server;
let cannedUrl = '';
let redis: RedisProcess;
const started: ServerProcess[] = [];

beforeAll(async () => {
  ({ server: canned, url: cannedUrl } = await startLoopbackServer((_req, body, res) => {
    const id = (() => {
      try {
        return JSON.parse(body).id ?? null;
      } catch {
        return null;
      }
    })();
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-mcpbench-replica': 'canned' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'ok' }] } }));
    };
    const wait = stallUntil - Date.now();
    if (wait > 0) setTimeout(answer, wait);
    else answer();
  }));
  redis = await startRedis();
});
afterAll(async () => {
  canned.close();
  await Promise.all(started.map((s) => s.terminate(2_000)));
  await redis.stop();
});

const p = (encoded: string | undefined, percentile: number) => {
  const h = hdr.decodeFromCompressedBase64(encoded ?? '');
  return h.getValueAtPercentile(percentile);
};

describe('built-in engine', () => {
  it('holds the asked arrival rate within 1% when the server keeps up', async () => {
    const r = await runEngine({
      url: cannedUrl,
      protocol: '2026-07-28',
      scenario: 'calls',
      load: { model: 'open', rate: 200, unit: 'requests' },
      durationMs: 5_000,
    });
    expect(r.counts.requests).toBeGreaterThanOrEqual(990);
    expect(r.counts.requests).toBeLessThanOrEqual(1010);
    expect(r.engineFaults.missedArrivals).toBe(0);
    expect(r.errors.transport).toBe(0);
  });

  it('reports (not hides) the arrivals it could not start when the server cannot keep up', async () => {
    stallUntil = Date.now() + 1_000_000;
    try {
      const r = await runEngine({
        url: cannedUrl,
        protocol: '2026-07-28',
        scenario: 'calls',
        load: { model: 'open', rate: 100, unit: 'requests', maxInFlight: 5 },
        durationMs: 1_500,
        requestTimeoutMs: 500,
      });
      expect(r.engineFaults.missedArrivals).toBeGreaterThan(50);
      expect(r.engineFaults.achievedRateRatio).toBeLessThan(0.5);
      expect(r.engineFaults.notes.join(' ')).toMatch(/could not start/);
    } finally {
      stallUntil = 0;
    }
  });

  it('corrects for coordinated omission: a 1 s stall shows in the corrected tail, not in service time', async () => {
    const load = runEngine({
      url: cannedUrl,
      protocol: '2026-07-28',
      scenario: 'calls',
      load: { model: 'open', rate: 50, unit: 'requests', maxInFlight: 1 },
      durationMs: 4_000,
    });
    setTimeout(() => {
      stallUntil = Date.now() + 1_000;
    }, 1_500);
    const r = await load;
    // Service time: only the request caught in the stall waited; everything else was fast.
    expect(p(r.histograms.request, 100)).toBeGreaterThan(900_000);
    expect(p(r.histograms.request, 90)).toBeLessThan(100_000);
    // Corrected: the ~50 arrivals due during the stall waited for it too, so the tail shows the stall.
    expect(p(r.histograms['request:corrected'], 90)).toBeGreaterThan(300_000);
    expect(p(r.histograms['request:corrected'], 99)).toBeGreaterThan(800_000);
  });

  it('counts a lost legacy session and re-initialises', async () => {
    const legacy = await startServerProcess({ kind: 'legacy', env: {} });
    started.push(legacy);
    const run = runEngine({
      url: legacy.url,
      protocol: '2025-11-25',
      scenario: 'turns',
      scenarioParams: { turnsPerSession: 1_000, thinkTimeMs: 20 },
      load: { model: 'closed', agents: 2 },
      durationMs: 8_000,
    });
    // Replace the only replica under the agents: their sessions are gone with it.
    await new Promise((r) => setTimeout(r, 1_000));
    legacy.kill();
    await legacy.exited;
    started.push(await startServerProcess({ kind: 'legacy', env: {}, port: legacy.port }));
    const r = await run;
    expect(r.lifecycle.sessionsLost).toBeGreaterThanOrEqual(1);
    expect(r.errors.session_lost).toBe(r.lifecycle.sessionsLost);
    expect(r.lifecycle.reinitialisations).toBeGreaterThanOrEqual(1);
  });

  it('honours ttlMs: with ttl 0 an rc agent lists every turn, with a long ttl once', async () => {
    const opts = (url: string) => ({
      url,
      protocol: '2026-07-28' as const,
      scenario: 'turns',
      scenarioParams: { turnsPerSession: 5, thinkTimeMs: 0, callsPerTurn: [1, 1] as [number, number] },
      load: { model: 'closed' as const, agents: 1 },
      durationMs: 1_500,
    });
    const noTtl = await startServerProcess({
      kind: 'rc',
      env: { MCPBENCH_TTL_MS: '0', MCPBENCH_REDIS_URL: redis.url },
    });
    const longTtl = await startServerProcess({
      kind: 'rc',
      env: { MCPBENCH_TTL_MS: '600000', MCPBENCH_REDIS_URL: redis.url },
    });
    started.push(noTtl, longTtl);
    const a = await runEngine(opts(noTtl.url));
    const b = await runEngine(opts(longTtl.url));
    expect(a.lifecycle.listCacheHits).toBe(0);
    expect(a.lifecycle.listCacheMisses).toBe(a.counts.turns);
    expect(b.lifecycle.listCacheMisses).toBe(1);
    expect(b.lifecycle.listCacheHits).toBeGreaterThan(0);
  });

  it('honours cacheScope: a private list serves only the agent that fetched it, a public one every agent', async () => {
    const servers = await Promise.all(
      (['private', 'public'] as const).map((scope) =>
        startServerProcess({
          kind: 'rc',
          env: { MCPBENCH_TTL_MS: '600000', MCPBENCH_CACHE_SCOPE: scope, MCPBENCH_REDIS_URL: redis.url },
        }),
      ),
    );
    started.push(...servers);
    const [privateScope, publicScope] = servers as [ServerProcess, ServerProcess];
    const scenarioParams = { turnsPerSession: 3, thinkTimeMs: 0, callsPerTurn: [1, 1] as [number, number] };
    // Open model: every arrival is a new agent (a new caller).
    const arrivals = (url: string) =>
      runEngine({
        url,
        protocol: '2026-07-28',
        scenario: 'turns',
        scenarioParams,
        load: { model: 'open', rate: 20, unit: 'sessions' },
        durationMs: 1_000,
      });
    const priv = await arrivals(privateScope.url);
    const pub = await arrivals(publicScope.url);
    expect(priv.counts.sessions).toBeGreaterThanOrEqual(15);
    expect(priv.lifecycle.listCacheMisses).toBe(priv.counts.sessions);
    expect(priv.lifecycle.listCacheHits).toBe(priv.counts.turns - priv.counts.sessions);
    expect(pub.lifecycle.listCacheMisses).toBeLessThan(pub.counts.sessions / 2);
    // Closed model: one agent is one caller across its sessions, so its private list stays its own.
    const oneAgent = await runEngine({
      url: privateScope.url,
      protocol: '2026-07-28',
      scenario: 'turns',
      scenarioParams,
      load: { model: 'closed', agents: 1 },
      durationMs: 1_000,
    });
    expect(oneAgent.counts.sessions).toBeGreaterThan(1);
    expect(oneAgent.lifecycle.listCacheMisses).toBe(1);
  });

  it('polls a task to completion against the rc server and a real Redis', async () => {
    const rc = await startServerProcess({
      kind: 'rc',
      env: { MCPBENCH_TASK_DURATION_MS: '300', MCPBENCH_REDIS_URL: redis.url },
    });
    started.push(rc);
    const r = await runEngine({
      url: rc.url,
      protocol: 'auto',
      scenario: 'steady',
      scenarioParams: { mix: [{ weight: 1, action: 'task' }], cancelTaskProbability: 0, thinkTimeMs: 0 },
      load: { model: 'closed', agents: 2 },
      durationMs: 2_000,
    });
    expect(r.target.protocol).toBe('2026-07-28');
    expect(r.lifecycle.tasksStarted).toBeGreaterThan(0);
    expect(r.lifecycle.tasksCompleted).toBeGreaterThan(0);
    expect(r.lifecycle.tasksLost + r.lifecycle.tasksFailed).toBe(0);
  });
});
