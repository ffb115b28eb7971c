import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { type L7Rule, type L7Rules, pickRule } from '../l7-rules.js';
import { type BackendCount, BackendTally } from './backend-tally.js';
import type { Endpoint } from './service-proxy.js';

/**
 * An L7 Service for what kube-proxy cannot do: a gateway that picks an endpoint per HTTP request, the
 * way the variant's HTTPRoute (cluster/manifests/httproute.yaml) says, its rules translated by
 * cluster/l7-rules.ts. A request takes the rule the route's matches select (none: 404) and goes to the
 * endpoints of that rule's backend Service, balanced per request: a stateless server needs no affinity.
 * A rule with session persistence on a header (Mcp-Session-Id) is sticky instead: a request without a
 * session id goes round robin, and the session id its response returns is pinned to the endpoint that
 * created it; a known session id maps to its endpoint, an unknown one (e.g. after its endpoint left) to
 * a stable hash over the ready endpoints. It counts the requests (and sessions in use) it sends each
 * endpoint, as the L4 Service does (backend-tally.ts); its connections to the pods are pooled, so those
 * are not counted.
 */
export class L7Proxy {
  private readonly endpoints = new Map<string, Endpoint[]>();
  private readonly pools = new Map<string, Pool>();
  private readonly pinned = new Map<string, string>();
  private readonly byRule = new Map<string, number>();
  private readonly next = new Map<string, number>();
  private server: Server | undefined;
  private readonly tally = new BackendTally();
  port = 0;

  constructor(
    private readonly rules: L7Rules,
    private readonly options: { rttMs?: number } = {},
  ) {}

  /**
   * The ready endpoints of one backend Service the route names; without a Service, of every one (the
   * local provider runs one Deployment per variant, and its route names only that variant's Service).
   */
  setEndpoints(endpoints: Endpoint[], service?: string): void {
    for (const rule of this.rules.rules)
      if (service === undefined || rule.backend === service) this.endpoints.set(rule.backend, endpoints);
    const live = new Set([...this.endpoints.values()].flat().map((e) => e.name));
    for (const [name, pool] of this.pools) {
      if (!live.has(name)) {
        this.pools.delete(name);
        pool.close().catch(() => {});
      }
    }
  }

  /** What this gateway has sent the endpoint so far. */
  backendCount(endpoint: string): BackendCount {
    return this.tally.get(endpoint);
  }

  /** Requests routed per HTTPRoute rule, for the report and tests. */
  ruleCounts(): Record<string, number> {
    return Object.fromEntries(this.byRule);
  }

  private pick(req: IncomingMessage, rule: L7Rule): Endpoint | undefined {
    const endpoints = this.endpoints.get(rule.backend) ?? [];
    if (endpoints.length === 0) return undefined;
    if (rule.stickyHeader) {
      const sid = req.headers[rule.stickyHeader];
      if (typeof sid === 'string' && sid) {
        const pinned = endpoints.find((e) => e.name === this.pinned.get(sid));
        if (pinned) return pinned;
        const h = createHash('sha1').update(sid).digest().readUInt32BE(0);
        return endpoints[h % endpoints.length];
      }
    }
    const n = this.next.get(rule.name) ?? 0;
    this.next.set(rule.name, n + 1);
    return endpoints[n % endpoints.length];
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
    const rule = pickRule(this.rules, {
      path: req.url ?? '/',
      header: (name) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      },
    });
    if (!rule) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: `no rule of HTTPRoute ${this.rules.route} matches` }));
      return;
    }
    this.byRule.set(rule.name, (this.byRule.get(rule.name) ?? 0) + 1);
    const ep = this.pick(req, rule);
    if (!ep) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"no ready endpoints"}');
      return;
    }
    const sid = req.headers['mcp-session-id'];
    this.tally.request(ep.name, {
      method: req.method ?? 'GET',
      sessionId: typeof sid === 'string' && sid ? sid : null,
    });
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
      if (rule.stickyHeader) {
        const sid = upstream.headers[rule.stickyHeader];
        if (typeof sid === 'string') this.pinned.set(sid, ep.name);
        const sent = req.headers[rule.stickyHeader];
        if (req.method === 'DELETE' && typeof sent === 'string') this.pinned.delete(sent);
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
