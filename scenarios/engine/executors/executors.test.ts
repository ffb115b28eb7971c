import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoopbackServer } from '../../../test/loopback-server.js';
import { MODERN } from '../../models/protocol.ts';
import { runEngine } from '../engine.js';

/**
 * The ramping executors against a canned endpoint that answers after 20 ms and counts what it sees:
 * how many requests are in flight at once (a closed model never has more than its agents) and
 * which agents (x-mcpbench-client) sent them. The constant ones are covered by engine.test.ts.
 */

let server: Server;
let url = '';
let inFlight = 0;
let peak = 0;
const agents = new Set<string>();

beforeAll(async () => {
  ({ server: server, url: url } = await startLoopbackServer((req, body, res) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    agents.add(String(req.headers['x-mcpbench-client']));
    const id = JSON.parse(body).id ?? null;
    setTimeout(() => {
      inFlight--;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [] } }));
    }, 20);
  }));
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('executors', () => {
  it('ramping-vus: from 1 agent to 4 and back to 1; never more requests in flight than agents', async () => {
    peak = 0;
    agents.clear();
    const r = await runEngine({
      url,
      protocol: MODERN,
      scenario: 'calls',
      scenarioParams: { turnsPerSession: 1_000_000 },
      load: {
        model: 'closed',
        agents: 1,
        stages: [
          { durationMs: 600, target: 4 },
          { durationMs: 800, target: 4 },
          { durationMs: 200, target: 1 },
        ],
      },
      durationMs: 2_000,
    });
    expect(agents.size).toBe(4);
    expect(peak).toBe(4);
    // Agents keep their sessions (turnsPerSession is huge): one session per agent.
    expect(r.counts.sessions).toBe(4);
    expect(r.counts.errors).toBe(0);
    expect(r.counts.ok).toBe(r.counts.requests);
  });

  it('ramping-arrival-rate: the arrivals are the integral of the ramped rate', async () => {
    agents.clear();
    const r = await runEngine({
      url,
      protocol: MODERN,
      scenario: 'calls',
      // 20/s ramping to 100/s over 2 s (120 arrivals), then 100/s for 1 s (100): 220
      load: {
        model: 'open',
        rate: 20,
        stages: [
          { durationMs: 2_000, target: 100 },
          { durationMs: 1_000, target: 100 },
        ],
      },
      durationMs: 3_000,
    });
    const missed = r.engineFaults?.missedArrivals ?? 0;
    expect(r.counts.sessions + missed).toBeGreaterThanOrEqual(214);
    expect(r.counts.sessions + missed).toBeLessThanOrEqual(226);
    // An open-model arrival is a new agent.
    expect(agents.size).toBe(r.counts.sessions);
    expect(r.load).toMatchObject({ model: 'open', rate: 20, unit: 'sessions' });
  });
});
