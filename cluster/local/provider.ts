import type { ClusterEvent, ClusterProvider, VariantHandle, VariantName, VariantSpec } from '../provider.js';
import { LocalDeployment } from './deployment.js';
import { decide, newHpaState } from './hpa.js';
import { L7Proxy } from './l7-proxy.js';
import { type RedisProcess, startRedis } from './redis-server.js';
import { ServiceProxy } from './service-proxy.js';

/**
 * The embedded cluster: every replica a real server process on loopback, every Service a real L4
 * proxy, Redis a real redis-server, the HPA the Kubernetes algorithm on measured CPU. It follows the
 * VariantSpecs derived from cluster/manifests, so experiments run unchanged on kind/kube.
 * Nothing outlives it: down() is idempotent, exit/signal handlers kill what is left, and children are
 * spawned with a parent-death signal so even a SIGKILLed harness leaves no process behind.
 */

/** The Kubernetes release whose documented semantics the local provider follows. */
const FOLLOWS_KUBERNETES = 'v1.34 (local emulation)';

class LocalProvider implements ClusterProvider {
  readonly name = 'local' as const;
  private readonly listeners = new Set<(e: ClusterEvent) => void>();
  private readonly deployments = new Map<VariantName, LocalDeployment>();
  private readonly proxies: Array<ServiceProxy | L7Proxy> = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private redis: RedisProcess | undefined;
  private redisPort: number | undefined;
  private downed = false;
  private readonly exitHandler = () => this.killNow();

  constructor() {
    process.once('exit', this.exitHandler);
  }

  async kubernetesVersion(): Promise<string | null> {
    return FOLLOWS_KUBERNETES;
  }

  onEvent(listener: (event: ClusterEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(
    variant: ClusterEvent['variant'],
    kind: ClusterEvent['kind'],
    detail: Record<string, unknown>,
  ): void {
    const event: ClusterEvent = { atMs: Date.now(), kind, variant, detail };
    for (const l of this.listeners) l(event);
  }

  private async ensureRedis(): Promise<string> {
    if (!this.redis) {
      this.redis = await startRedis({ port: this.redisPort });
      this.redisPort = this.redis.port;
      this.emit('cluster', 'redis-ready', { port: this.redis.port });
    }
    return this.redis.url;
  }

  async up(variants: VariantSpec[]): Promise<Map<VariantName, VariantHandle>> {
    if (this.downed) throw new Error('local provider: already torn down');
    const handles = new Map<VariantName, VariantHandle>();
    for (const spec of variants) {
      const env: Record<string, string> = { ...spec.env };
      if (spec.redis) env.MCPBENCH_REDIS_URL = await this.ensureRedis();
      else env.MCPBENCH_REDIS_URL = 'redis://127.0.0.1:1';
      const proxy =
        spec.routing === 'session-hash' || spec.routing === 'mcp-method'
          ? new L7Proxy(spec.routing)
          : new ServiceProxy({
              affinity: spec.routing === 'client-ip' ? 'client-ip' : 'none',
              rttMs: spec.rttMs,
            });
      this.proxies.push(proxy);
      const port = await proxy.listen();
      const deployment = new LocalDeployment(spec, proxy, env, (kind, detail) =>
        this.emit(spec.name, kind, detail),
      );
      this.deployments.set(spec.name, deployment);
      await deployment.start();
      if (spec.hpa) this.startHpa(spec, deployment);
      handles.set(spec.name, this.handle(spec, deployment, `http://127.0.0.1:${port}/mcp`));
    }
    return handles;
  }

  private startHpa(spec: VariantSpec, deployment: LocalDeployment): void {
    const hpa = spec.hpa;
    if (!hpa) return;
    const state = newHpaState();
    const timer = setInterval(() => {
      const current = deployment.desiredReplicas;
      const cpu = deployment.cpuForHpa(hpa.cpuInitializationSeconds ?? 300);
      const d = decide(hpa, state, current, cpu, Date.now());
      this.emit(spec.name, 'hpa-decision', {
        current,
        desired: d.desired,
        recommendation: d.recommendation,
        utilisation: d.utilisation === null ? null : Math.round(d.utilisation),
        reason: d.reason,
      });
      if (d.desired !== current) deployment.scale(d.desired, 'hpa');
    }, hpa.syncPeriodSeconds * 1000);
    this.timers.push(timer);
  }

  private handle(spec: VariantSpec, deployment: LocalDeployment, url: string): VariantHandle {
    return {
      spec,
      url,
      rollout: () => deployment.rollout(),
      killReplica: async (name?: string) => deployment.kill(name),
      scale: async (replicas: number) => {
        if (spec.hpa) throw new Error(`${spec.name}: the HPA owns the replica count`);
        deployment.scale(replicas, 'manual');
      },
      replicas: async () => deployment.status(),
      desiredReplicas: async () => deployment.desiredReplicas,
    };
  }

  async killRedis(): Promise<void> {
    const redis = this.redis;
    if (!redis) throw new Error('local provider: no Redis is running');
    redis.kill();
    this.emit('cluster', 'redis-killed', { pid: redis.pid });
    this.redis = undefined;
    // The Deployment's replacement pod: scheduled and started about a second later, same Service address.
    await new Promise((r) => setTimeout(r, 1_000));
    if (!this.downed) await this.ensureRedis();
  }

  async down(): Promise<void> {
    if (this.downed) return;
    this.downed = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled([...this.deployments.values()].map((d) => d.stop()));
    await Promise.allSettled(this.proxies.map((p) => p.close()));
    await this.redis?.stop();
    this.redis = undefined;
    process.off('exit', this.exitHandler);
  }

  /** Synchronous last resort (process exit): SIGKILL everything this provider started. */
  private killNow(): void {
    for (const d of this.deployments.values()) d.killAllNow();
    this.redis?.kill();
  }
}

export function createLocalProvider(): ClusterProvider {
  return new LocalProvider();
}
