import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../../cluster/local/server-process.js';
import { modernRequest, parseRpcBody } from '../../scenarios/models/protocol.ts';

/**
 * MCPBENCH_SLOWDOWN (the injected regression `bench:compare-calibration` detects): the client sees
 * nothing of the answer until the request took factor × its handling time. A 40 ms tool at ×3
 * cannot answer in under 120 ms; the answer is still the right one.
 */
const started: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.terminate()));
});
const env = { MCPBENCH_TOOL_LATENCY_MS: '40', MCPBENCH_SLOWDOWN: '3' };

describe('MCPBENCH_SLOWDOWN', () => {
  it('holds a legacy answer back (official 1.x client, JSON responses)', async () => {
    const s = await startServerProcess({ kind: 'legacy', env });
    started.push(s);
    const client = new Client({ name: 'slowdown-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(s.url)));
    const t0 = performance.now();
    const result = await client.callTool({ name: 'get_resource', arguments: { kind: 'Pod', name: 'web' } });
    const elapsed = performance.now() - t0;
    expect(result.isError).toBeFalsy();
    expect(JSON.stringify(result.content)).toContain('web');
    expect(elapsed).toBeGreaterThanOrEqual(120);
    await client.close();
  });

  it('holds an rc answer back', async () => {
    const s = await startServerProcess({ kind: 'rc', env });
    started.push(s);
    const req = modernRequest(1, { name: 'slowdown-test', version: '1.0.0', agentId: 'a' }, 'tools/call', {
      name: 'get_resource',
      arguments: { kind: 'Pod', name: 'web' },
    });
    const t0 = performance.now();
    const res = await fetch(s.url, { method: 'POST', headers: req.headers, body: req.body });
    const text = await res.text();
    const elapsed = performance.now() - t0;
    const body = parseRpcBody(res.headers.get('content-type') ?? '', text, req.id) as { result?: unknown };
    expect(JSON.stringify(body.result)).toContain('web');
    expect(elapsed).toBeGreaterThanOrEqual(120);
  });
});
