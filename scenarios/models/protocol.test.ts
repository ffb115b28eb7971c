import { describe, expect, it } from 'vitest';
import { BackoffState } from './backoff.ts';
import {
  decideProtocol,
  LEGACY,
  MODERN,
  modernMeta,
  modernRequest,
  notificationProblem,
  readRpcAnswer,
} from './protocol.ts';

/** What modernRequest sent before its `_meta` was cached: the plain stringify of the whole message. */
function reference(
  id: number,
  method: string,
  params: Record<string, unknown>,
  tasks: boolean,
  agentId: string,
) {
  const client = { name: 'c', version: '1', agentId };
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method,
    params: { ...params, _meta: modernMeta(client, tasks) },
  });
}

describe('modernRequest', () => {
  it('sends exactly the bytes of stringifying the whole message, whatever the params', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['tools/list', {}],
      ['tools/call', { name: 'get_resource', arguments: { kind: 'Pod', name: 'a"b\u00e9', n: 3 } }],
      ['tasks/get', { taskId: 't-1', skipped: undefined }],
      ['tools/call', { 1: 'numeric key first', name: 'x' }],
      ['tools/call', { name: 'x', _meta: { progressToken: 7 } }],
    ];
    for (const tasks of [false, true]) {
      for (const [method, params] of cases) {
        for (const agentId of ['agent-1', 'agent-2']) {
          const client = { name: 'c', version: '1', agentId };
          // Twice: the second request of a client is built from the cached envelope.
          for (const id of [1, 2]) {
            const req = modernRequest(id, client, method, params, { tasks });
            expect(req.body).toBe(reference(id, method, params, tasks, agentId));
            expect(
              JSON.parse(req.body as string).params._meta['io.modelcontextprotocol/protocolVersion'],
            ).toBe(MODERN);
          }
        }
      }
    }
  });

  it('mirrors the method and the tool or task in headers', () => {
    const client = { name: 'c', version: '1', agentId: 'a' };
    expect(modernRequest(1, client, 'tools/call', { name: 'scan' }).headers).toMatchObject({
      'mcp-method': 'tools/call',
      'mcp-name': 'scan',
      'x-mcpbench-client': 'a',
    });
    expect(modernRequest(2, client, 'tasks/get', { taskId: 't9' }).headers['mcp-name']).toBe('t9');
    expect(modernRequest(3, client, 'tools/list', {}).headers['mcp-name']).toBeUndefined();
  });
});

const JSON_TYPE = 'application/json';
const rpc = (msg: unknown) => JSON.stringify(msg);

describe('readRpcAnswer', () => {
  it('reads the response to its id from JSON or from an event stream', () => {
    expect(readRpcAnswer(JSON_TYPE, rpc({ jsonrpc: '2.0', id: 3, result: { a: 1 } }), 3)).toEqual({
      kind: 'result',
      result: { a: 1 },
    });
    expect(
      readRpcAnswer(
        'application/json; charset=utf-8',
        rpc({ jsonrpc: '2.0', id: 3, error: { code: -1, message: 'm' } }),
        3,
      ),
    ).toMatchObject({ kind: 'error', error: { code: -1 } });
    const sse = `: primed\n\nevent: message\ndata: ${rpc({ jsonrpc: '2.0', method: 'notifications/progress' })}\n\nevent: message\ndata: ${rpc({ jsonrpc: '2.0', id: 7, result: {} })}\n\n`;
    expect(readRpcAnswer('text/event-stream', sse, 7).kind).toBe('result');
    expect(readRpcAnswer('Text/Event-Stream', sse, 7).kind).toBe('result');
  });

  it('calls everything else invalid, with a reason that carries no request id', () => {
    const cases: Array<[string | undefined, string, RegExp]> = [
      [JSON_TYPE, '{"hello":1}', /not a JSON-RPC 2.0 response.*hello/],
      [JSON_TYPE, rpc({ jsonrpc: '2.0', id: 4, result: {} }), /^the id of another request$/],
      [JSON_TYPE, rpc({ jsonrpc: '2.0', result: {} }), /without an id/],
      [JSON_TYPE, rpc({ jsonrpc: '2.0', id: 3 }), /neither a result object nor an error/],
      [JSON_TYPE, rpc({ jsonrpc: '2.0', id: 3, result: 5 }), /neither a result object nor an error/],
      [JSON_TYPE, rpc({ jsonrpc: '2.0', id: 3, error: { message: 'x' } }), /without a numeric code/],
      [JSON_TYPE, rpc([{ jsonrpc: '2.0', id: 3, result: {} }]), /not a JSON-RPC object/],
      [JSON_TYPE, '', /empty body/],
      [JSON_TYPE, '<html>', /not JSON: <html>/],
      ['text/html', '<html>', /content-type "text\/html"/],
      [undefined, rpc({ jsonrpc: '2.0', id: 3, result: {} }), /content-type ""/],
      [
        'text/event-stream',
        `data: ${rpc({ jsonrpc: '2.0', id: 4, result: {} })}\n\n`,
        /without the response/,
      ],
    ];
    for (const [type, text, reason] of cases) {
      const a = readRpcAnswer(type, text, 3);
      expect(a.kind, text).toBe('invalid');
      expect(a.kind === 'invalid' ? a.reason : '', text).toMatch(reason);
    }
  });

  it('wants a notification answered 202 with no body', () => {
    expect(notificationProblem(202, '')).toBeNull();
    expect(notificationProblem(200, '')).toMatch(/HTTP 200 to a notification/);
    expect(notificationProblem(202, '{}')).toMatch(/with a body/);
  });
});

describe('decideProtocol (--protocol auto, both engines)', () => {
  const answer = (status: number, msg: unknown) => ({ status, contentType: JSON_TYPE, text: rpc(msg) });
  const discover = answer(200, { jsonrpc: '2.0', id: 1, result: { supportedVersions: [MODERN, LEGACY] } });

  it('2026-07-28 when server/discover lists it, saying so', () => {
    expect(decideProtocol(discover)).toEqual({
      protocol: MODERN,
      reason: `server/discover answered with supportedVersions ["${MODERN}","${LEGACY}"]`,
    });
  });

  it('otherwise asks initialize, and 2025-11-25 when initialize answers it', () => {
    const refused = answer(400, {
      jsonrpc: '2.0',
      id: null,
      error: { code: -32000, message: 'Bad Request: no session' },
    });
    expect(decideProtocol(refused)).toMatchObject({ next: 'initialize' });
    const init = answer(200, {
      jsonrpc: '2.0',
      id: 1,
      result: { protocolVersion: LEGACY, capabilities: {} },
    });
    const d = decideProtocol(refused, init);
    expect(d).toMatchObject({ protocol: LEGACY });
    expect('reason' in d ? d.reason : '').toBe(
      `initialize answered protocolVersion ${LEGACY} (server/discover answered HTTP 400 (Bad Request: no session))`,
    );
  });

  it('neither, naming both answers, when the server speaks no MCP or another version', () => {
    const hello = { status: 200, contentType: JSON_TYPE, text: '{"hello":1}' };
    const d = decideProtocol(hello, hello);
    expect(d).toMatchObject({ protocol: null });
    expect('reason' in d ? d.reason : '').toMatch(
      /neither .*server\/discover answered HTTP 200 with not a JSON-RPC 2.0 response.*initialize answered HTTP 200 with not a JSON-RPC/,
    );
    const old = answer(200, { jsonrpc: '2.0', id: 1, result: { protocolVersion: '2024-11-05' } });
    expect(decideProtocol(hello, old)).toMatchObject({
      protocol: null,
      reason: expect.stringContaining('initialize answered protocolVersion "2024-11-05"'),
    });
    const otherOnly = answer(200, { jsonrpc: '2.0', id: 1, result: { supportedVersions: ['2027-01-01'] } });
    expect(decideProtocol(otherOnly, hello)).toMatchObject({
      protocol: null,
      reason: expect.stringContaining('supportedVersions ["2027-01-01"], without 2026-07-28'),
    });
  });

  it('does not ask initialize of a server it cannot reach', () => {
    expect(decideProtocol({ error: 'connect ECONNREFUSED 127.0.0.1:9' })).toEqual({
      protocol: null,
      reason: 'cannot reach the server: connect ECONNREFUSED 127.0.0.1:9',
    });
  });
});

describe('BackoffState (both engines)', () => {
  it('doubles from 100 ms to the 1 s cap and starts again only after a success', () => {
    const b = new BackoffState();
    expect([1, 2, 3, 4, 5, 6].map(() => b.failed())).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.succeeded();
    expect(b.failed()).toBe(100);
  });
});
