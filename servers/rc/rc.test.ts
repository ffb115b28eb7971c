import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisProcess, startRedis } from '../../cluster/local/redis-server.js';
import { type ServerProcess, startServerProcess } from '../../cluster/local/server-process.js';
import { legacyInitialize, modernRequest, parseRpcBody } from '../../scenarios/models/protocol.ts';

/** The rc server with the official 2.x client and raw 2026-07-28 requests, across real processes. */

let redis: RedisProcess;
const started: ServerProcess[] = [];
async function server(
  env: Record<string, string> = {},
  options: { waitReady?: boolean } = {},
): Promise<ServerProcess> {
  const s = await startServerProcess({
    ...options,
    kind: 'rc',
    env: { MCPBENCH_REDIS_URL: redis.url, MCPBENCH_HANDLE_SECRET: 'test-secret-shared-by-replicas', ...env },
  });
  started.push(s);
  return s;
}

async function connect(url: string, agent: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { 'x-mcpbench-client': agent } },
  });
  const client = new Client({ name: 'rc-test', version: '1.0.0' }, {
    versionNegotiation: { mode: 'auto' },
  } as never);
  await client.connect(transport);
  return client;
}

/** Checks `condition` every 50 ms until it holds or `deadlineMs` has passed (the caller asserts after). */
async function until(condition: () => Promise<boolean>, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await condition()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

async function probe(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0; // not listening yet
  }
}

const show = (label: string, answer: unknown) => `${label}: ${JSON.stringify(answer)}`;

/** Polls tasks/get until the task leaves `working`, or until `deadlineMs`; returns the last answer. */
async function settledTask(url: string, agent: string, taskId: string, deadlineMs = 30_000) {
  const deadline = Date.now() + deadlineMs;
  let got = await rpc(url, agent, 'tasks/get', { taskId });
  while (got.result?.status === 'working' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    got = await rpc(url, agent, 'tasks/get', { taskId });
  }
  return got;
}

let nextId = 1;
async function rpc(url: string, agent: string, method: string, params: Record<string, unknown>) {
  const req = modernRequest(nextId++, { name: 'rc-test', version: '1.0.0', agentId: agent }, method, params, {
    tasks: true,
  });
  const res = await fetch(url, { method: 'POST', headers: req.headers, body: req.body });
  const body = parseRpcBody(res.headers.get('content-type') ?? '', await res.text(), req.id) as {
    result?: Record<string, unknown>;
    error?: { code: number; message: string };
  };
  return { status: res.status, replica: res.headers.get('x-mcpbench-replica'), ...body };
}

/**
 * A loopback TCP relay in front of Redis that accepts connections but passes nothing through until
 * `release()`: a Redis that is slow to answer its first connection, as on a loaded machine.
 */
async function heldRedis(target: { host: string; port: number }) {
  let released = false;
  const waiting: Array<() => void> = [];
  const sockets: Socket[] = [];
  let accepted = 0;
  const relay: Server = createServer((client) => {
    accepted++;
    sockets.push(client);
    client.pause();
    const pipe = () => {
      const upstream = createConnection(target, () => {
        client.pipe(upstream).pipe(client);
        client.resume();
      });
      sockets.push(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    };
    if (released) pipe();
    else waiting.push(pipe);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const { port } = relay.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    accepted: () => accepted,
    release() {
      released = true;
      for (const pipe of waiting.splice(0)) pipe();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => relay.close(resolve));
    },
  };
}

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.terminate(2_000)));
  await redis.stop();
});

describe('rc server (2026-07-28, stateless)', () => {
  it('answers the official 2.x client: tools with ttlMs/cacheScope as configured, in a stable order', async () => {
    const a = await server({
      MCPBENCH_CATALOGUE_SIZE: '120',
      MCPBENCH_TTL_MS: '45000',
      MCPBENCH_CACHE_SCOPE: 'public',
    });
    const client = await connect(a.url, 'agent-a');
    const { tools } = await client.listTools();
    expect(tools).toHaveLength(120);
    expect(tools[0]?.name).toBe('sync_app');
    const raw = await rpc(a.url, 'agent-a', 'tools/list', {});
    expect(raw.result?.ttlMs).toBe(45000);
    expect(raw.result?.cacheScope).toBe('public');
    const result = await client.callTool({ name: 'scan_policy', arguments: { target: 'deploy/web' } });
    expect(JSON.stringify(result.content)).toContain('scanned deploy/web');
    await client.close();
  });

  it('accepts a handle on another replica, and refuses a tampered or foreign one', async () => {
    const a = await server();
    const b = await server();
    const opened = await rpc(a.url, 'agent-a', 'tools/call', {
      name: 'open_workspace',
      arguments: { name: 'w' },
    });
    const handle = (opened.result!.structuredContent as { handle: string }).handle;
    const ok = await rpc(b.url, 'agent-a', 'tools/call', {
      name: 'workspace_exec',
      arguments: { handle, command: 'ls' },
    });
    expect(ok.replica).toBe(b.replica);
    expect(ok.result?.isError).not.toBe(true);
    const foreign = await rpc(b.url, 'agent-b', 'tools/call', {
      name: 'workspace_exec',
      arguments: { handle, command: 'ls' },
    });
    expect(foreign.result?.structuredContent).toEqual({ code: 'HANDLE_REJECTED', reason: 'foreign' });
    const tampered = `${handle.slice(0, -3)}${handle.endsWith('A') ? 'B' : 'A'}AA`;
    const bad = await rpc(b.url, 'agent-a', 'tools/call', {
      name: 'workspace_exec',
      arguments: { handle: tampered },
    });
    expect(bad.result?.structuredContent).toMatchObject({ code: 'HANDLE_REJECTED' });
  });

  it('runs a long operation as a task that another replica reports to completion; cancel works', async () => {
    const a = await server({ MCPBENCH_TASK_DURATION_MS: '400' });
    const b = await server({ MCPBENCH_TASK_DURATION_MS: '400' });
    const created = await rpc(a.url, 'agent-a', 'tools/call', {
      name: 'long_operation',
      arguments: { operation: 'x' },
    });
    expect(created.result?.resultType, show('tools/call', created)).toBe('task');
    const done = await settledTask(b.url, 'agent-a', created.result?.taskId as string);
    expect(done.result?.status, show('tasks/get from the other replica', done)).toBe('completed');
    const foreign = await rpc(b.url, 'agent-b', 'tasks/get', { taskId: created.result?.taskId });
    expect(foreign.error?.code, show('tasks/get by another caller', foreign)).toBe(-32602);

    // A task that cannot finish before the cancel arrives, however slow the machine.
    const c = await server({ MCPBENCH_TASK_DURATION_MS: '600000' });
    const second = await rpc(c.url, 'agent-a', 'tools/call', { name: 'long_operation', arguments: {} });
    const id2 = second.result?.taskId as string;
    expect(id2, show('tools/call', second)).toBeTypeOf('string');
    const ack = await rpc(b.url, 'agent-a', 'tasks/cancel', { taskId: id2 });
    expect(ack.result?.resultType, show('tasks/cancel from the other replica', ack)).toBe('complete');
    const cancelled = await rpc(c.url, 'agent-a', 'tasks/get', { taskId: id2 });
    expect(cancelled.result?.status, show('tasks/get on the owner', cancelled)).toBe('cancelled');
  });

  it('fails the task of a killed replica as owner_lost, visible from the other replica', async () => {
    const a = await server({ MCPBENCH_TASK_DURATION_MS: '20000' });
    const b = await server({ MCPBENCH_TASK_DURATION_MS: '20000' });
    const created = await rpc(a.url, 'agent-a', 'tools/call', { name: 'long_operation', arguments: {} });
    const taskId = created.result?.taskId as string;
    expect(taskId, show('tools/call', created)).toBeTypeOf('string');
    a.kill();
    await a.exited;
    // Working until the dead owner's lease (2 s after its last renewal) has run out, then failed.
    const got = await settledTask(b.url, 'agent-a', taskId);
    expect(got.result?.status, show('tasks/get', got)).toBe('failed');
    expect(
      (got.result?.error as { data?: { reason?: string } } | undefined)?.data?.reason,
      show('tasks/get', got),
    ).toBe('owner_lost');
  });

  it('is not ready before its task store has connected, so the first task request after ready gets a task', async () => {
    const held = await heldRedis({ host: '127.0.0.1', port: redis.port });
    try {
      const a = await server({ MCPBENCH_REDIS_URL: held.url }, { waitReady: false });
      // Listening, and its Redis client has reached the relay, which answers nothing yet.
      await until(async () => (await probe(`${a.baseUrl}/healthz`)) === 200 && held.accepted() > 0);
      expect(held.accepted(), 'the server never opened its Redis connection').toBeGreaterThan(0);
      const early = await fetch(`${a.baseUrl}/readyz`);
      expect(early.status, `readyz while Redis has not answered: ${await early.text()}`).toBe(503);
      // What a client would get from a replica that said ready too early (the cause of a flaky test).
      const refused = await rpc(a.url, 'agent-a', 'tools/call', { name: 'long_operation', arguments: {} });
      expect(
        refused.error,
        `task request while Redis has not answered: ${JSON.stringify(refused)}`,
      ).toMatchObject({
        code: -32603,
        message: expect.stringContaining('Redis'),
      });

      held.release();
      await until(async () => (await probe(`${a.baseUrl}/readyz`)) === 200);
      expect(await probe(`${a.baseUrl}/readyz`), 'readyz after Redis answered').toBe(200);
      const created = await rpc(a.url, 'agent-a', 'tools/call', { name: 'long_operation', arguments: {} });
      expect(created.result?.resultType, `first task request after ready: ${JSON.stringify(created)}`).toBe(
        'task',
      );
    } finally {
      await held.close();
    }
  });

  it('rejects the 2025 handshake with the unsupported-version error and answers server/discover', async () => {
    const a = await server();
    const initialize = legacyInitialize(1, { name: 'old', version: '1', agentId: 'old' });
    const res = await fetch(a.url, { method: 'POST', headers: initialize.headers, body: initialize.body });
    // biome-ignore lint/suspicious/noExplicitAny: a JSON-RPC body under test
    const body = (await res.json()) as any;
    expect(body.error.data.supported).toEqual(['2026-07-28']);
    const discover = await rpc(a.url, 'agent-a', 'server/discover', {});
    expect(discover.result?.supportedVersions).toContain('2026-07-28');
  });
});
