import { connect, createServer, type Server, type Socket } from 'node:net';
import { type BackendCount, BackendTally, RequestFramer } from './backend-tally.js';

/**
 * A Service, as kube-proxy implements it: an L4 proxy that picks a ready endpoint once per TCP
 * connection (round robin), so a keep-alive connection stays on one pod for its life. With
 * `sessionAffinity: ClientIP` a client address keeps its endpoint until the affinity times out or the
 * endpoint leaves. An emulated network round trip delays every chunk by half the RTT each way.
 * Unlike kube-proxy it counts what it sends each endpoint (connections, HTTP requests, sessions in use;
 * backend-tally.ts): the load spread of a server that names no replica in its answers.
 */

export interface Endpoint {
  name: string;
  port: number;
}

export interface ServiceProxyOptions {
  affinity: 'none' | 'client-ip';
  affinityTimeoutMs?: number;
  rttMs?: number;
}

export class ServiceProxy {
  private endpoints: Endpoint[] = [];
  private next = 0;
  private readonly affinity = new Map<string, { endpoint: string; lastUsed: number }>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private readonly tally = new BackendTally();
  port = 0;

  constructor(private readonly options: ServiceProxyOptions) {}

  /** What this Service has sent the endpoint so far. */
  backendCount(endpoint: string): BackendCount {
    return this.tally.get(endpoint);
  }

  /** The ready, non-terminating endpoints (the EndpointSlice). Existing connections are not touched. */
  setEndpoints(endpoints: Endpoint[]): void {
    this.endpoints = endpoints;
  }

  private choose(clientIp: string): Endpoint | undefined {
    if (this.endpoints.length === 0) return undefined;
    const now = Date.now();
    if (this.options.affinity === 'client-ip') {
      const pinned = this.affinity.get(clientIp);
      const timeout = this.options.affinityTimeoutMs ?? 10_800_000;
      if (pinned && now - pinned.lastUsed < timeout) {
        const ep = this.endpoints.find((e) => e.name === pinned.endpoint);
        if (ep) {
          pinned.lastUsed = now;
          return ep;
        }
      }
    }
    const ep = this.endpoints[this.next++ % this.endpoints.length] as Endpoint;
    if (this.options.affinity === 'client-ip')
      this.affinity.set(clientIp, { endpoint: ep.name, lastUsed: now });
    return ep;
  }

  private pipe(from: Socket, to: Socket): void {
    const delay = (this.options.rttMs ?? 0) / 2;
    if (delay <= 0) {
      from.pipe(to);
      return;
    }
    from.on('data', (chunk) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, delay);
    });
    from.on('end', () => setTimeout(() => to.end(), delay));
  }

  async listen(): Promise<number> {
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.setNoDelay(true);
      const ep = this.choose(client.remoteAddress ?? '');
      if (!ep) {
        client.resetAndDestroy();
        return;
      }
      this.tally.connection(ep.name);
      const framer = new RequestFramer((head) => this.tally.request(ep.name, head));
      client.on('data', (chunk: Buffer) => framer.push(chunk));
      const upstream = connect({ host: '127.0.0.1', port: ep.port });
      upstream.setNoDelay(true);
      this.sockets.add(upstream);
      upstream.on('close', () => {
        this.sockets.delete(upstream);
        if (!client.destroyed) client.destroy();
      });
      client.on('close', () => {
        if (!upstream.destroyed) upstream.destroy();
      });
      // A replica no longer listening refuses the connection; kube-proxy's DNAT passes that refusal
      // to the client, and the closest a userspace proxy can come is a reset (not a clean close).
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
      });
      upstream.on('error', () => (connected ? client.destroy() : client.resetAndDestroy()));
      client.on('error', () => upstream.destroy());
      this.pipe(client, upstream);
      this.pipe(upstream, client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
