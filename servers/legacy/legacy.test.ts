import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisProcess, startRedis } from '../../cluster/local/redis-server.js';
import { type ServerProcess, startServerProcess } from '../../cluster/local/server-process.js';

/** The legacy server with the official 1.x client, across real processes and a real Redis. */

let redis: RedisProcess;
const started: ServerProcess[] = [];
async function server(env: Record<string, string>): Promise<ServerProcess> {
  const s = await startServerProcess({ kind: 'legacy', env });
  started.push(s);
  return s;
}

/** Servers several tests share (each test uses its own sessions), so the file starts fewer processes. */
const shared = new Map<string, Promise<ServerProcess>>();
function sharedServer(key: string, env: Record<string, string>): Promise<ServerProcess> {
  let s = shared.get(key);
  if (!s) {
    s = server(env);
    shared.set(key, s);
  }
  return s;
}
const TASK_MS = { MCPBENCH_TASK_DURATION_MS: '1500' };
const memoryA = () => sharedServer('memory-a', TASK_MS);
const memoryB = () => sharedServer('memory-b', TASK_MS);
const redisEnv = () => ({ ...TASK_MS, MCPBENCH_STORE: 'redis', MCPBENCH_REDIS_URL: redis.url });
const redisA = () => sharedServer('redis-a', redisEnv());
const redisB = () => sharedServer('redis-b', redisEnv());

async function toolCalls(s: ServerProcess): Promise<number> {
  const m = (await (await fetch(`${s.baseUrl}/metrics`)).json()) as { byMethod: Record<string, number> };
  return m.byMethod['tools/call'] ?? 0;
}

/** Resolves once `s` has read one more tools/call than `before` (counted as soon as it is parsed). */
async function untilToolCallRead(s: ServerProcess, before: number): Promise<void> {
  for (let i = 0; i < 500 && (await toolCalls(s)) <= before; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function connect(url: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client({ name: 'legacy-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

async function post(url: string, sessionId: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.terminate(2_000)));
  await redis.stop();
});

describe('legacy server (2025-11-25, sessions)', () => {
  it('lists the configured catalogue in a stable order and calls tools with the configured payload', async () => {
    const a = await server({ MCPBENCH_CATALOGUE_SIZE: '50', MCPBENCH_PAYLOAD_BYTES: '1000' });
    const { client } = await connect(a.url);
    const first = await client.listTools();
    const second = await client.listTools();
    expect(first.tools).toHaveLength(50);
    expect(first.tools.map((t) => t.name)).toEqual(second.tools.map((t) => t.name));
    expect(first.tools[0]?.name).toBe('sync_app');
    const result = await client.callTool({ name: 'get_resource', arguments: { kind: 'Pod', name: 'web' } });
    const text = (result.content as Array<{ text: string }>)[0]?.text ?? '';
    expect(text).toContain('Pod/web');
    expect(text.length).toBeGreaterThanOrEqual(1000);
    await client.close();
  });

  it('ends a session on DELETE and answers 404 for it afterwards', async () => {
    const a = await memoryA();
    const { client, transport } = await connect(a.url);
    const sessionId = transport.sessionId as string;
    await transport.terminateSession();
    const res = await post(a.url, sessionId, { jsonrpc: '2.0', id: 9, method: 'tools/list' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32001);
    await client.close();
  });

  it('with the Redis store, a second replica serves a session the first one created', async () => {
    const a = await redisA();
    const b = await redisB();
    const { client, transport } = await connect(a.url);
    const opened = await client.callTool({ name: 'open_workspace', arguments: { name: 'w' } });
    const workspace = (opened.structuredContent as { workspace: string }).workspace;
    const res = await post(b.url, transport.sessionId as string, {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'workspace_exec', arguments: { workspace, command: 'ls' } },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-mcpbench-replica')).toBe(b.replica);
    // biome-ignore lint/suspicious/noExplicitAny: a JSON-RPC body under test
    const body = (await res.json()) as any;
    expect(body.result.isError).toBe(false);
    expect(body.result.content[0].text).toContain(workspace);
    await client.close();
  });

  it('with the memory store, the second replica does not know the session: 404, session lost', async () => {
    const a = await memoryA();
    const b = await memoryB();
    const { client, transport } = await connect(a.url);
    const res = await post(b.url, transport.sessionId as string, {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/list',
    });
    expect(res.status).toBe(404);
    await client.close();
  });

  it("refuses another session's workspace", async () => {
    const a = await memoryA();
    const one = await connect(a.url);
    const two = await connect(a.url);
    const opened = await one.client.callTool({ name: 'open_workspace', arguments: { name: 'mine' } });
    const workspace = (opened.structuredContent as { workspace: string }).workspace;
    const stolen = await two.client.callTool({
      name: 'workspace_exec',
      arguments: { workspace, command: 'cat secrets' },
    });
    expect(stolen.isError).toBe(true);
    expect(JSON.stringify(stolen.content)).toContain('not open in this session');
    await one.client.close();
    await two.client.close();
  });
});

describe('legacy server: session store edge cases', () => {
  it('with the Redis store, a session ended on one replica is gone on every replica', async () => {
    const a = await redisA();
    const b = await redisB();
    const { client, transport } = await connect(a.url);
    const sessionId = transport.sessionId as string;
    // b builds its own copy of the session, then a ends it
    expect((await post(b.url, sessionId, { jsonrpc: '2.0', id: 1, method: 'tools/list' })).status).toBe(200);
    await transport.terminateSession();
    const afterOnB = await post(b.url, sessionId, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect(afterOnB.status).toBe(404);
    const unknown = await post(b.url, randomUUID(), { jsonrpc: '2.0', id: 3, method: 'tools/list' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: number } }).error.code).toBe(-32001);
    await client.close();
  });

  it('serves SSE streams when JSON responses are switched off', async () => {
    const a = await server({ MCPBENCH_LEGACY_JSON_RESPONSE: 'false' });
    const { client, transport } = await connect(a.url);
    const res = await post(a.url, transport.sessionId as string, {
      jsonrpc: '2.0',
      id: 5,
      method: 'tools/list',
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(await res.text()).toContain('"sync_app"');
    const result = await client.callTool({ name: 'scan_policy', arguments: { target: 'x' } });
    expect(result.isError).toBeFalsy();
    await client.close();
  });

  it('bounds the number of live sessions: beyond the cap the least recently used one ends', async () => {
    const a = await server({ MCPBENCH_LEGACY_MAX_SESSIONS: '2' });
    const one = await connect(a.url);
    const two = await connect(a.url);
    await one.client.listTools(); // one is now more recent than two
    const three = await connect(a.url);
    const id = (c: { transport: StreamableHTTPClientTransport }) => c.transport.sessionId as string;
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    expect((await post(a.url, id(two), list)).status).toBe(404);
    expect((await post(a.url, id(one), list)).status).toBe(200);
    expect((await post(a.url, id(three), list)).status).toBe(200);
    for (const c of [one, two, three]) await c.client.close();
  });

  it('is not ready while its Redis is down, and refuses a bad legacy setting naming the variable', async () => {
    const own = await startRedis();
    try {
      const a = await server({ MCPBENCH_STORE: 'redis', MCPBENCH_REDIS_URL: own.url });
      expect((await fetch(`${a.baseUrl}/readyz`)).status).toBe(200);
      await own.stop();
      let status = 200;
      for (let i = 0; i < 100 && status === 200; i++) {
        status = (await fetch(`${a.baseUrl}/readyz`)).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(503);
    } finally {
      await own.stop();
    }
    await expect(server({ MCPBENCH_LEGACY_MAX_SESSIONS: 'lots' })).rejects.toThrow(
      /MCPBENCH_LEGACY_MAX_SESSIONS/,
    );
  });
});

describe('legacy server: request ids', () => {
  it('refuses a request whose id is still in flight in the same session, and answers the first', async () => {
    const a = await memoryA();
    const { client, transport } = await connect(a.url);
    const sessionId = transport.sessionId as string;
    const slow = {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'long_operation', arguments: { operation: 'build' } },
    };
    const before = await toolCalls(a);
    const first = post(a.url, sessionId, slow);
    await untilToolCallRead(a, before);
    const dup = await post(a.url, sessionId, { jsonrpc: '2.0', id: 7, method: 'tools/list' });
    expect(dup.status).toBe(400);
    expect(((await dup.json()) as { error: { code: number } }).error.code).toBe(-32600);
    // biome-ignore lint/suspicious/noExplicitAny: a JSON-RPC body under test
    const body = (await (await first).json()) as any;
    expect(body.id).toBe(7);
    expect(body.result.content[0].text).toContain('operation build completed');
    // once answered, the id may be used again
    expect((await post(a.url, sessionId, { jsonrpc: '2.0', id: 7, method: 'tools/list' })).status).toBe(200);
    await client.close();
  });

  it('answers a request already in flight when its session is ended elsewhere meanwhile', async () => {
    const a = await redisA();
    const b = await redisB();
    const { client, transport } = await connect(a.url);
    const sessionId = transport.sessionId as string;
    const before = await toolCalls(b);
    const first = post(b.url, sessionId, {
      jsonrpc: '2.0',
      id: 11,
      method: 'tools/call',
      params: { name: 'long_operation', arguments: { operation: 'deploy' } },
    });
    await untilToolCallRead(b, before);
    await transport.terminateSession(); // on a
    expect((await post(b.url, sessionId, { jsonrpc: '2.0', id: 12, method: 'tools/list' })).status).toBe(404);
    const answered = await first;
    expect(answered.status).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: a JSON-RPC body under test
    expect(((await answered.json()) as any).result.content[0].text).toContain('operation deploy completed');
    await client.close();
  });
});
