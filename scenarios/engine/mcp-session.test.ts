import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTOGRAM_KEYS } from '../../rundir/raw-result.js';
import { startLoopbackServer } from '../../test/loopback-server.js';
import { MODERN } from '../models/protocol.ts';
import { McpSession } from './mcp-session.js';
import { Recorder } from './recorder.js';

/**
 * One simulated client's exchange against a purpose-built endpoint whose behaviour each test sets:
 * what is measured, how a response spread over several chunks is read, and how a hung or reset
 * exchange is classified and recovered from. The test is about the client, so the server is a stub.
 */

type Behaviour = 'ok' | 'delay' | 'chunks' | 'hang' | 'reset';
let behaviour: Behaviour = 'ok';
let connections = 0;
let server: Server;
let url = '';
const DELAY_MS = 40;

function rpcResult(body: string, text: string): string {
  const id = (JSON.parse(body) as { id?: number }).id ?? null;
  return JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } });
}

beforeAll(async () => {
  ({ server, url } = await startLoopbackServer((req, body, res) => {
    if (behaviour === 'hang') return;
    if (behaviour === 'reset') {
      req.socket.destroy();
      return;
    }
    if (behaviour === 'chunks') {
      // An SSE answer in three writes, 20 ms apart: a priming comment, a progress event, the result.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-mcpbench-replica': 'stub-1' });
      res.write(': primed\n\n');
      setTimeout(() => {
        res.write(
          `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress' })}\n\n`,
        );
        setTimeout(() => res.end(`event: message\ndata: ${rpcResult(body, 'x'.repeat(20_000))}\n\n`), 20);
      }, 20);
      return;
    }
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-mcpbench-replica': 'stub-1' });
      res.end(rpcResult(body, 'ok'));
    };
    if (behaviour === 'delay') setTimeout(answer, DELAY_MS);
    else answer();
  }));
  server.on('connection', () => {
    connections++;
  });
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function session(recorder: Recorder, timeoutMs = 5_000): McpSession {
  return new McpSession(url, MODERN, { name: 't', version: '1', agentId: 'a' }, recorder, {
    timeoutMs,
    tasks: false,
  });
}

describe('McpSession', () => {
  it('measures the server time on the wire: a 40 ms answer records ≥ 40 ms, on a new and on an open connection', async () => {
    behaviour = 'delay';
    const recorder = new Recorder(process.hrtime.bigint());
    const s = session(recorder);
    try {
      for (let i = 0; i < 3; i++) expect((await s.rpc('tools/call', { name: 'x' })).ok).toBe(true);
    } finally {
      await s.close();
    }
    const h = recorder.histogram(HISTOGRAM_KEYS.request);
    expect(h.totalCount).toBe(3);
    expect(h.minNonZeroValue).toBeGreaterThanOrEqual(DELAY_MS * 1_000);
    expect(h.maxValue).toBeLessThan((DELAY_MS + 500) * 1_000);
    expect(recorder.perReplica).toEqual({ 'stub-1': 3 });
  });

  it('reads an SSE answer spread over several chunks, counting every byte and the time to the last one', async () => {
    behaviour = 'chunks';
    const recorder = new Recorder(process.hrtime.bigint());
    const s = session(recorder);
    try {
      const out = await s.rpc('tools/call', { name: 'x' });
      expect(out.ok).toBe(true);
      const content = (out.result?.content as Array<{ text: string }> | undefined)?.[0];
      expect(content?.text).toHaveLength(20_000);
    } finally {
      await s.close();
    }
    expect(recorder.counts.bytesReceived).toBeGreaterThan(20_000);
    expect(recorder.histogram(HISTOGRAM_KEYS.request).maxValue).toBeGreaterThanOrEqual(40_000);
  });

  it('classifies a hung exchange as a timeout and a reset one as transport, then reconnects', async () => {
    const recorder = new Recorder(process.hrtime.bigint());
    const s = session(recorder, 300);
    try {
      behaviour = 'hang';
      expect((await s.rpc('tools/call', { name: 'x' })).failure).toBe('timeout');
      behaviour = 'reset';
      expect((await s.rpc('tools/call', { name: 'x' })).failure).toBe('transport');
      behaviour = 'ok';
      const before = connections;
      expect((await s.rpc('tools/call', { name: 'x' })).ok).toBe(true);
      expect(connections).toBe(before + 1);
    } finally {
      await s.close();
    }
    expect(recorder.errors.timeout).toBe(1);
    expect(recorder.errors.transport).toBe(1);
    expect(recorder.counts.requests).toBe(3);
  });
});
