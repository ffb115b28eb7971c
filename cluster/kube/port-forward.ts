import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { watchObjects } from './watch.js';

/**
 * A Service-like L4 entry point on 127.0.0.1 for clusters whose nodes are not reachable on loopback:
 * every accepted connection is forwarded through the API server (the port-forward subresource) to a
 * ready pod of the selector, chosen per connection round robin, or pinned per client address for
 * ClientIP affinity, the way kube-proxy balances a Service. The set of ready pods is watched.
 * Throughput is bounded by the API server's streaming proxy: this is for reachability and
 * correctness, not for absolute latency figures (the kind provider's NodePorts have no such hop).
 */
export class PodPortForwarder {
  private server: Server | undefined;
  private readonly ready = new Map<string, boolean>();
  private readonly sockets = new Set<Socket>();
  private readonly pinned = new Map<string, string>();
  private next = 0;
  private stopWatch: (() => void) | undefined;
  private readonly pf: k8s.PortForward;

  constructor(
    kc: k8s.KubeConfig,
    private readonly namespace: string,
    labelSelector: string,
    private readonly port: number,
    private readonly opts: { affinity: 'client-ip' | 'none' },
  ) {
    this.pf = new k8s.PortForward(kc);
    this.stopWatch = watchObjects(
      kc,
      `/api/v1/namespaces/${namespace}/pods`,
      { labelSelector },
      (phase, pod: k8s.V1Pod) => {
        const name = pod.metadata?.name;
        if (!name) return;
        const ok =
          phase !== 'DELETED' &&
          !pod.metadata?.deletionTimestamp &&
          (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
        if (ok) this.ready.set(name, true);
        else this.ready.delete(name);
      },
    );
  }

  private pick(client: string): string | undefined {
    const pods = [...this.ready.keys()].sort();
    if (pods.length === 0) return undefined;
    if (this.opts.affinity === 'client-ip') {
      const p = this.pinned.get(client);
      if (p && this.ready.has(p)) return p;
    }
    const chosen = pods[this.next++ % pods.length];
    if (chosen && this.opts.affinity === 'client-ip') this.pinned.set(client, chosen);
    return chosen;
  }

  listen(): Promise<number> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      const pod = this.pick(socket.remoteAddress ?? '');
      if (!pod) {
        socket.destroy();
        return;
      }
      this.pf.portForward(this.namespace, pod, [this.port], socket, null, socket).then(
        (ws) => {
          const close = () => {
            const w = typeof ws === 'function' ? ws() : ws;
            w?.close();
          };
          socket.on('close', close);
        },
        () => socket.destroy(),
      );
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  }

  async close(): Promise<void> {
    this.stopWatch?.();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
