import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { Endpoint } from './service-proxy.js';

/**
 * An L7 Service for what kube-proxy cannot do: a gateway that picks an endpoint per HTTP request.
 * - `session-hash`: sticky on the `Mcp-Session-Id` header (what an L7 proxy in front of a session-based
 *   server does): a request without a session id goes round robin, and the session id its response
 *   returns is pinned to the endpoint that created it; a known session id maps to its endpoint, an
 *   unknown one (e.g. after its endpoint left) to a stable hash over the ready endpoints.
 * - `mcp-method`: routes on the `Mcp-Method` header as the HTTPRoute in cluster/manifests does
 *   (discovery and tool/task traffic are separate rules to the same backend), then balances per
 *   request: a stateless server needs no affinity at all.
 */
export class L7Proxy {
  private endpoints: Endpoint[] = [];
  private readonly pools = new Map<string, Pool>();
  private readonly pinned = new Map<string, string>();
  private readonly byRule = new Map<string, number>();
  private next = 0;
  private server: Server | undefined;
  port = 0;

  constructor(
    private readonly mode: 'session-hash' | 'mcp-method',
    private readonly options: { rttMs?: number } = {},
  ) {}

  setEndpoints(endpoints: Endpoint[]): void {
    this.endpoints = endpoints;
    const live = new Set(endpoints.map((e) => e.name));
    for (const [name, pool] of this.pools) {
      if (!live.has(name)) {
        this.pools.delete(name);
        pool.close().catch(() => {});
      }
    }
  }

  /** Requests routed per HTTPRoute rule (mcp-method mode), for the report and tests. */
  ruleCounts(): Record<string, number> {
    return Object.fromEntries(this.byRule);
  }

  private pick(req: IncomingMessage): Endpoint | undefined {
    if (this.endpoints.length === 0) return undefined;
    if (this.mode === 'session-hash') {
      const sid = req.headers['mcp-session-id'];
      if (typeof sid === 'string' && sid) {
        const pinned = this.endpoints.find((e) => e.name === this.pinned.get(sid));
        if (pinned) return pinned;
        const h = createHash('sha1').update(sid).digest().readUInt32BE(0);
        return this.endpoints[h % this.endpoints.length];
      }
    } else {
      const method = String(req.headers['mcp-method'] ?? '');
      const rule = method === 'tools/list' || method === 'server/discover' ? 'discovery' : 'calls';
      this.byRule.set(rule, (this.byRule.get(rule) ?? 0) + 1);
    }
    return this.endpoints[this.next++ % this.endpoints.length];
  }

  private pool(ep: Endpoint): Pool {
    let pool = this.pools.get(ep.name);
    if (!pool) {
      pool = new Pool(`http://127.0.0.1:${ep.port}`, { connections: 64, pipelining: 1 });
      this.pools.set(ep.name, pool);
    }
    return pool;
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Emulated network: half the round trip on the way in, half on the way out.
    const halfRtt = (this.options.rttMs ?? 0) / 2;
    if (halfRtt > 0) await sleep(halfRtt);
    const ep = this.pick(req);
    if (!ep) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"no ready endpoints"}');
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && !['host', 'connection', 'keep-alive', 'transfer-encoding'].includes(k))
        headers[k] = v;
    }
    try {
      const upstream = await this.pool(ep).request({
        path: req.url ?? '/',
        method: req.method as 'POST',
        headers,
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req,
      });
      const sid = upstream.headers['mcp-session-id'];
      if (this.mode === 'session-hash' && typeof sid === 'string') this.pinned.set(sid, ep.name);
      if (req.method === 'DELETE' && typeof req.headers['mcp-session-id'] === 'string') {
        this.pinned.delete(req.headers['mcp-session-id']);
      }
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(upstream.headers)) {
        if (v !== undefined && !['connection', 'keep-alive', 'transfer-encoding'].includes(k)) out[k] = v;
      }
      if (halfRtt > 0) await sleep(halfRtt);
      res.writeHead(upstream.statusCode, out);
      for await (const chunk of upstream.body) res.write(chunk);
      res.end();
    } catch {
      if (!res.headersSent)
        res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"upstream failed"}');
      else res.destroy();
    }
  }

  async listen(): Promise<number> {
    this.server = createServer((req, res) => {
      this.forward(req, res).catch(() => res.destroy());
    });
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await Promise.allSettled([...this.pools.values()].map((p) => p.destroy()));
    this.pools.clear();
  }
}
