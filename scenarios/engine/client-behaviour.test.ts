import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as hdr from 'hdr-histogram-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoopbackServer } from '../../test/loopback-server.js';
import { BACKOFF_MAX_MS } from '../models/backoff.ts';
import { MODERN } from '../models/protocol.ts';
import { runEngine } from './engine.js';
import { McpSession } from './mcp-session.js';
import { Recorder } from './recorder.js';

/**
 * What a simulated client does when the server misbehaves, against real loopback HTTP servers whose
 * answers each test chooses: an answer that is not the JSON-RPC response is an error of its own,
 * and every failed exchange backs off (100 ms doubling to 1 s, reset only by a success), with the
 * waits kept out of every latency. Counts, not timings, are asserted, with margins for a busy machine.
 */

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let handler: Handler = () => {};
let requests = 0;
let server: Server;
let url = '';
/** a loopback port where nothing listens (bound, then closed) */
let deadUrl = '';

const rpcId = (body: string) => {
  try {
    return (JSON.parse(body) as { id?: unknown }).id ?? null;
  } catch {
    return null;
  }
};
const okAnswer = (body: string, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: rpcId(body), result: { content: [] } }));
};

beforeAll(async () => {
  ({ server: server, url: url } = await startLoopbackServer((req, body, res) => {
    requests++;
    handler(req, body, res);
  }));
  const spare = createServer();
  await new Promise<void>((r) => spare.listen(0, '127.0.0.1', () => r()));
  deadUrl = `http://127.0.0.1:${(spare.address() as AddressInfo).port}/mcp`;
  await new Promise<void>((r) => spare.close(() => r()));
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const oneAgent = (target: string, durationMs: number, protocol: '2025-11-25' | '2026-07-28' = MODERN) =>
  runEngine({
    url: target,
    protocol,
    scenario: 'calls',
    load: { model: 'closed', agents: 1 },
    durationMs,
    requestTimeoutMs: 2_000,
  });

/**
 * With 100 ms doubling to a 1 s cap, the waits before attempt n end at 0.1, 0.3, 0.7, 1.5, 2.5, 3.5,
 * 4.5 s: at most 8 attempts start in 5 s however fast the server fails, 9 with a margin.
 */
const MAX_ATTEMPTS_IN_5S = 9;

describe('a client judges answers by the protocol', () => {
  it('counts a 2xx that is not the JSON-RPC response to its request as invalid_response, saying why', async () => {
    const cases: Array<[string, Handler]> = [
      [
        'not JSON-RPC',
        (_q, _b, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":1}'),
      ],
      [
        'another id',
        (_q, _b, res) =>
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ jsonrpc: '2.0', id: 999_999, result: {} })),
      ],
      [
        'no response in the stream',
        (_q, _b, res) =>
          res
            .writeHead(200, { 'content-type': 'text/event-stream' })
            .end(`data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress' })}\n\n`),
      ],
      ['html', (_q, _b, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>hi</h1>')],
      ['empty', (_q, _b, res) => res.writeHead(200, { 'content-type': 'application/json' }).end()],
    ];
    for (const [name, h] of cases) {
      handler = h;
      const recorder = new Recorder(process.hrtime.bigint());
      const s = new McpSession(url, MODERN, { name: 't', version: '1', agentId: 'a' }, recorder, {
        timeoutMs: 2_000,
        tasks: false,
      });
      try {
        const out = await s.rpc('tools/call', { name: 'x' });
        expect(out, name).toMatchObject({ ok: false, failure: 'invalid_response' });
      } finally {
        await s.close();
      }
      expect(recorder.errors.invalid_response, name).toBe(1);
      expect(recorder.counts.errors, name).toBe(1);
      expect(Object.keys(recorder.errorCauses.invalid_response ?? {}), name).toHaveLength(1);
      expect(recorder.backoff.count, name).toBe(1);
    }
  });

  it('a legacy client needs a 2025-11-25 initialize result and a 202 to notifications/initialized', async () => {
    handler = (req, body, res) => {
      if (req.method === 'DELETE') return res.writeHead(200).end();
      const msg = JSON.parse(body) as { id?: number; method: string };
      if (msg.method === 'initialize') {
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 's1' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: '2025-11-25' } }));
      } else res.writeHead(200, { 'content-type': 'application/json' }).end('{}'); // should be 202, no body
    };
    const r = await oneAgent(url, 2_000, '2025-11-25');
    const inits = hdr.decodeFromCompressedBase64(r.histograms['method:initialize'] ?? '').totalCount;
    expect(inits).toBeGreaterThanOrEqual(2);
    expect(r.errors.invalid_response).toBe(inits); // each initialize fine, each initialized not
    expect(r.counts.errors).toBe(inits);
    // The initialize and DELETE that worked do not reset the back-off: it doubles across sessions.
    expect(r.backoff?.count).toBe(inits);
    expect((r.backoff?.totalMs ?? 0) / inits).toBeGreaterThan(150);
    expect(Object.keys(r.errorCauses?.invalid_response ?? {})).toEqual([
      'HTTP 200 to a notification (202 with no body expected)',
    ]);
  });
});

describe('a client backs off after every failed exchange', () => {
  for (const status of [500, 400]) {
    it(`against a server that answers ${status} to everything: a bounded number of attempts, each wait recorded`, async () => {
      handler = (_q, _b, res) => res.writeHead(status, { 'content-type': 'text/plain' }).end('no');
      requests = 0;
      const r = await oneAgent(url, 5_000);
      expect(r.errors.http_status).toBe(r.counts.requests);
      expect(r.counts.requests).toBeGreaterThanOrEqual(3);
      expect(r.counts.requests).toBeLessThanOrEqual(MAX_ATTEMPTS_IN_5S);
      expect(requests).toBe(r.counts.requests);
      expect(r.backoff?.count).toBe(r.counts.requests);
      expect(r.errorCauses?.http_status).toEqual({ [`HTTP ${status}`]: r.counts.requests });
    });
  }

  it('against a port where nothing listens: the wait doubles past 100 ms to the 1 s cap across sessions', async () => {
    const r = await oneAgent(deadUrl, 5_000);
    expect(r.errors.transport).toBe(r.counts.requests);
    expect(r.counts.requests).toBeLessThanOrEqual(MAX_ATTEMPTS_IN_5S);
    const count = r.backoff?.count ?? 0;
    expect(count).toBe(r.counts.requests);
    // 100 + 200 + 400 + 800 + 1000 + ...: the mean wait is far above a fixed 100 ms.
    expect((r.backoff?.totalMs ?? 0) / count).toBeGreaterThan(300);
    expect(r.backoff?.totalMs ?? 0).toBeLessThanOrEqual(count * (BACKOFF_MAX_MS + 500));
  });

  it('a JSON-RPC error is an answer, not an outage: no back-off', async () => {
    handler = (_q, body, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id: rpcId(body), error: { code: -32601, message: 'nope' } }));
    const r = await oneAgent(url, 500);
    expect(r.errors.jsonrpc).toBe(r.counts.requests);
    expect(r.counts.requests).toBeGreaterThan(MAX_ATTEMPTS_IN_5S);
    expect(r.backoff?.count).toBe(0);
  });

  it('keeps the back-off out of turn latency: the first call of each turn fails, the second succeeds', async () => {
    let n = 0;
    handler = (_q, body, res) => {
      if (n++ % 2 === 0) res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
      else okAnswer(body, res);
    };
    const r = await runEngine({
      url,
      protocol: MODERN,
      scenario: 'turns',
      scenarioParams: {
        turnsPerSession: 4,
        thinkTimeMs: 0,
        callsPerTurn: [2, 2],
        discovery: { '2025-11-25': 'none', '2026-07-28': 'none' },
      },
      load: { model: 'closed', agents: 1 },
      durationMs: 2_000,
    });
    expect(r.counts.turns).toBeGreaterThanOrEqual(4);
    // Every failure was followed by a success, so every wait was the first one: 100 ms.
    expect(r.backoff?.count).toBe(r.errors.http_status);
    expect(r.backoff?.count).toBeGreaterThanOrEqual(r.counts.turns);
    const waitedMs = r.backoff?.totalMs ?? 0;
    expect(waitedMs).toBeGreaterThanOrEqual(99 * (r.backoff?.count ?? 0));
    // One agent works sequentially, so its turns and its waits share the load's wall time. Were the
    // waits inside turn (or request) latency, the two would add up to the wall time plus every wait
    // again (≥ 400 ms here): a check on sums, not on how fast this machine is today.
    const turn = hdr.decodeFromCompressedBase64(r.histograms.turn ?? '');
    const request = hdr.decodeFromCompressedBase64(r.histograms.request ?? '');
    const sumMs = (h: typeof turn) => (h.mean * h.totalCount) / 1000;
    const lastTurnMs = turn.maxValue / 1000; // a turn under way at the end may run past the duration
    expect(sumMs(turn) + waitedMs).toBeLessThanOrEqual(r.durationMs + lastTurnMs + 50);
    expect(sumMs(request) + waitedMs).toBeLessThanOrEqual(r.durationMs + lastTurnMs + 50);
  });

  it('sends the --arguments of a plain call as given', async () => {
    const seen: unknown[] = [];
    handler = (_q, body, res) => {
      seen.push((JSON.parse(body) as { params?: { arguments?: unknown } }).params?.arguments);
      okAnswer(body, res);
    };
    await runEngine({
      url,
      protocol: MODERN,
      scenario: 'calls',
      scenarioParams: { tools: ['echo'], fixedArguments: { message: 'hi' } },
      load: { model: 'closed', agents: 1 },
      durationMs: 200,
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen.map((a) => JSON.stringify(a)))).toEqual(new Set(['{"message":"hi"}']));
  });
});
