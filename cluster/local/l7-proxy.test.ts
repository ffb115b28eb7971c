import { createServer, type Server } from 'node:http';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { rulesFromHttpRoute } from '../l7-rules.js';
import { httpRouteObjects, l7RulesOf } from '../manifests.js';
import { L7Proxy } from './l7-proxy.js';

/** A tiny loopback backend that names itself, and creates a session when asked without one. */
async function namedBackend(name: string): Promise<{ server: Server; port: number }> {
  let sessions = 0;
  const server = createServer((req, res) => {
    const headers: Record<string, string> = { 'x-backend': name };
    if (req.headers['mcp-session-id'] === undefined) headers['mcp-session-id'] = `${name}-${++sessions}`;
    res.writeHead(200, headers).end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0 };
}

describe('the local L7 proxy takes its rules from the HTTPRoute', () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function start(proxy: L7Proxy, names: string[]) {
    const backends = await Promise.all(names.map(namedBackend));
    for (const b of backends) closers.push(() => new Promise((r) => b.server.close(r)));
    closers.push(() => proxy.close());
    const port = await proxy.listen();
    const agent = new Agent({ connections: 1 });
    closers.push(() => agent.close());
    const send = async (headers: Record<string, string>) => {
      const res = await request(`http://127.0.0.1:${port}/mcp`, {
        dispatcher: agent,
        method: 'POST',
        headers,
        body: '{}',
      });
      await res.body.text();
      return {
        status: res.statusCode,
        backend: res.headers['x-backend'],
        sid: res.headers['mcp-session-id'],
      };
    };
    return { backends, send };
  }

  it("sends each Mcp-Method to the backend Service of the rule the route's matches select", async () => {
    // The rendered rc route, its two rules pointed at two Services of their own.
    const route = structuredClone(httpRouteObjects('rc', 'mcp-method')[0])!;
    route.spec.rules[0].backendRefs = [{ name: 'mcp-discovery', port: 80 }];
    route.spec.rules[1].backendRefs = [{ name: 'mcp-calls', port: 80 }];
    const proxy = new L7Proxy(rulesFromHttpRoute(route));
    const { backends, send } = await start(proxy, ['discovery-pod', 'calls-pod']);
    proxy.setEndpoints([{ name: 'discovery-pod', port: backends[0]!.port }], 'mcp-discovery');
    proxy.setEndpoints([{ name: 'calls-pod', port: backends[1]!.port }], 'mcp-calls');
    const answered: Record<string, Record<string, number>> = {};
    for (const method of ['tools/list', 'server/discover', 'tools/call', 'tasks/get', 'ping']) {
      for (let i = 0; i < 4; i++) {
        const { status, backend } = await send({ 'mcp-method': method });
        expect(status).toBe(200);
        answered[method] ??= {};
        answered[method][String(backend)] = (answered[method][String(backend)] ?? 0) + 1;
      }
    }
    expect(answered).toEqual({
      'tools/list': { 'discovery-pod': 4 },
      'server/discover': { 'discovery-pod': 4 },
      'tools/call': { 'calls-pod': 4 },
      'tasks/get': { 'calls-pod': 4 },
      ping: { 'calls-pod': 4 },
    });
    expect(proxy.ruleCounts()).toEqual({ discovery: 8, calls: 12 });
  });

  it('answers 404 when no rule matches, as a Gateway API implementation does', async () => {
    const route = structuredClone(httpRouteObjects('rc', 'mcp-method')[0])!;
    route.spec.rules.pop(); // only the discovery rule is left
    const proxy = new L7Proxy(rulesFromHttpRoute(route));
    const { backends, send } = await start(proxy, ['pod-a']);
    proxy.setEndpoints([{ name: 'pod-a', port: backends[0]!.port }]);
    expect((await send({ 'mcp-method': 'tools/list' })).backend).toBe('pod-a');
    expect((await send({ 'mcp-method': 'tools/call' })).status).toBe(404);
    expect(proxy.ruleCounts()).toEqual({ discovery: 1 });
  });

  it("rc's rendered route balances per request; legacy-sticky's pins a session to the pod that created it", async () => {
    const rc = new L7Proxy(l7RulesOf('rc', 'mcp-method'));
    const a = await start(rc, ['rc-0', 'rc-1']);
    rc.setEndpoints(a.backends.map((b, i) => ({ name: `rc-${i}`, port: b.port })));
    const spread: Record<string, number> = {};
    for (let i = 0; i < 6; i++) {
      const { backend } = await a.send({ 'mcp-method': 'tools/call' });
      spread[String(backend)] = (spread[String(backend)] ?? 0) + 1;
    }
    expect(spread).toEqual({ 'rc-0': 3, 'rc-1': 3 });

    const sticky = new L7Proxy(l7RulesOf('legacy-sticky', 'session-hash'));
    const s = await start(sticky, ['ls-0', 'ls-1']);
    sticky.setEndpoints(s.backends.map((b, i) => ({ name: `ls-${i}`, port: b.port })));
    const homes: Record<string, string> = {};
    for (let i = 0; i < 2; i++) {
      const created = await s.send({});
      homes[String(created.sid)] = String(created.backend);
    }
    expect(Object.values(homes).sort()).toEqual(['ls-0', 'ls-1']);
    for (const [sid, home] of Object.entries(homes))
      for (let i = 0; i < 3; i++) expect((await s.send({ 'mcp-session-id': sid })).backend).toBe(home);
  });
});
