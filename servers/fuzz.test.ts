import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisProcess, startRedis } from '../cluster/local/redis-server.js';
import { type ServerProcess, startServerProcess } from '../cluster/local/server-process.js';

/**
 * Malformed traffic against both real servers: random JSON, wrong JSON-RPC shapes, unknown methods,
 * forged session ids, handles and task ids, bad headers and Origins, oversized bodies. Every answer
 * must be a well-formed HTTP or JSON-RPC error (or a valid result), never a 5xx, and the process must
 * stay up.
 */

let redis: RedisProcess;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const env = { MCPBENCH_REDIS_URL: redis.url, MCPBENCH_STORE: 'redis', MCPBENCH_MAX_BODY_BYTES: '65536' };
  servers.push(
    await startServerProcess({ kind: 'legacy', env }),
    await startServerProcess({ kind: 'rc', env }),
  );
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.terminate(2_000)));
  await redis.stop();
});

const methods = fc.constantFrom(
  'initialize',
  'tools/list',
  'tools/call',
  'tasks/get',
  'tasks/cancel',
  'server/discover',
  'resources/read',
  'no/such/method',
  '',
);
const jsonRpcish = fc.record(
  {
    jsonrpc: fc.oneof(fc.constant('2.0'), fc.string(), fc.integer()),
    id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.object()),
    method: fc.oneof(methods, fc.string(), fc.integer()),
    params: fc.oneof(
      fc.object(),
      fc.record({
        name: fc.oneof(fc.constantFrom('workspace_exec', 'long_operation', 'get_resource'), fc.string()),
        arguments: fc.object(),
      }),
      fc.record({ taskId: fc.oneof(fc.uuid(), fc.string()) }),
      fc.record({
        name: fc.constant('workspace_exec'),
        arguments: fc.record({ handle: fc.string(), workspace: fc.string() }),
      }),
      fc.anything(),
    ),
  },
  { requiredKeys: [] },
);
const bodies = fc.oneof(
  jsonRpcish.map((b) => JSON.stringify(b)),
  fc.array(jsonRpcish, { maxLength: 3 }).map((b) => JSON.stringify(b)),
  fc.string(),
  fc.json(),
  fc.constant('{"jsonrpc":"2.0","id":1,"method":"tools/list"'),
  fc.constant('x'.repeat(70_000)),
);
const headers = fc.record(
  {
    'mcp-session-id': fc.oneof(
      fc.uuid(),
      fc.string({ maxLength: 40 }).filter((s) => /^[\x21-\x7e]*$/.test(s)),
    ),
    'mcp-protocol-version': fc.constantFrom('2025-11-25', '2026-07-28', '1999-01-01', 'garbage'),
    'mcp-method': fc.constantFrom('tools/list', 'tools/call', 'wrong'),
    origin: fc.constantFrom('http://localhost', 'http://evil.example', 'null'),
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8'),
  },
  { requiredKeys: [] },
);

describe.each([
  { kind: 'legacy', index: 0 },
  { kind: 'rc', index: 1 },
])('malformed requests never crash the $kind server', ({ index }) => {
  it('answers every malformed request with a well-formed error, never a 5xx', async () => {
    const server = servers[index] as ServerProcess;
    await fc.assert(
      fc.asyncProperty(
        bodies,
        headers,
        fc.constantFrom('POST', 'GET', 'DELETE', 'PUT'),
        async (body, hdrs, method) => {
          const res = await fetch(server.url, {
            method,
            headers: { accept: 'application/json, text/event-stream', ...hdrs },
            body: method === 'GET' ? undefined : body,
          });
          const text = await res.text();
          expect(
            res.status,
            `${server.kind} ${method} ${body.slice(0, 80)} → ${res.status} ${text.slice(0, 200)}`,
          ).toBeLessThan(500);
          if (res.status >= 400 && text && (res.headers.get('content-type') ?? '').includes('json')) {
            const parsed = JSON.parse(text) as { error?: { code?: unknown } };
            if (parsed.error) expect(typeof parsed.error.code).toBe('number');
          }
        },
      ),
      { numRuns: 150, seed: 42 + index },
    );
    const health = await fetch(`${server.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(server.child.exitCode).toBeNull();
  });
});

describe('malformed messages inside a live legacy session', () => {
  it('answers them with errors and leaves the session usable', async () => {
    const server = await startServerProcess({ kind: 'legacy', env: { MCPBENCH_MAX_BODY_BYTES: '65536' } });
    servers.push(server);
    const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await fetch(server.url, {
      method: 'POST',
      headers: base,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'fuzz', version: '1' },
        },
      }),
    });
    await init.text();
    const sessionId = init.headers.get('mcp-session-id') as string;
    expect(sessionId).toBeTruthy();
    const inSession = { ...base, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
    await fetch(server.url, {
      method: 'POST',
      headers: inSession,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    // Real session id, so every message gets past the session check into the SDK transport and server.
    await fc.assert(
      fc.asyncProperty(
        bodies,
        fc.constantFrom('2025-11-25', '2025-06-18', 'garbage'),
        async (body, version) => {
          const res = await fetch(server.url, {
            method: 'POST',
            headers: { ...inSession, 'mcp-protocol-version': version },
            body,
          });
          const text = await res.text();
          expect(res.status, `${body.slice(0, 80)} → ${res.status} ${text.slice(0, 200)}`).toBeLessThan(500);
          if ((res.headers.get('content-type') ?? '').includes('json') && text) JSON.parse(text);
        },
      ),
      { numRuns: 150, seed: 7 },
    );
    const list = await fetch(server.url, {
      method: 'POST',
      headers: inSession,
      body: JSON.stringify({ jsonrpc: '2.0', id: 'after', method: 'tools/list' }),
    });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { result: { tools: unknown[] } }).result.tools.length).toBeGreaterThan(0);
    expect(server.child.exitCode).toBeNull();
  });
});
