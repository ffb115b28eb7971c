import { l7RulesOf } from '../manifests.js';
import {
  type ClusterEvent,
  ClusterEvents,
  type ClusterProvider,
  isL7Routing,
  type RedisStats,
  type VariantHandle,
  type VariantName,
  type VariantSpec,
} from '../provider.js';
import { CpuLimiter } from './cpu-limit.js';
import { DEFAULT_ENDPOINT_REMOVAL_LAG_MS, LocalDeployment } from './deployment.js';
import { decide, newHpaState } from './hpa.js';
import { L7Proxy } from './l7-proxy.js';
import { type RedisSource, redactUrl } from './redis-provision.js';
import { type RedisProcess, startRedis } from './redis-server.js';
import { RedisStatsReader } from './redis-stats.js';
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

export interface LocalProviderOptions {
  /**
   * Kill every child at once when the process gets SIGINT / SIGTERM and nobody else handles the signal
   * (then the signal is re-raised, so the process still ends as it would have). Default true. A program
   * that handles the signals itself (and calls down()) is left alone either way.
   */
  handleSignals?: boolean;
  /** Redis binary (default: MCPBENCH_REDIS_SERVER or redis-server on PATH). */
  redisBinary?: string;
  /**
   * Where Redis comes from, resolved by the run's preflight (redis-provision.ts). An external URL is
   * used as is and never killed. Default: the provision chain, when a variant first needs Redis.
   */
  redis?: RedisSource;
  /**
   * How long a deleted pod stays in its Service's endpoints (emulating the endpoints controller and
   * kube-proxy catching up). Default: MCPBENCH_ENDPOINT_REMOVAL_LAG_MS, else 1000 ms.
   */
  endpointRemovalLagMs?: number;
  /**
   * How long after a Redis kill the replacement answers at the same address (emulating a Redis pod
   * rescheduled and its Service's endpoints catching up). Default: MCPBENCH_REDIS_RESCHEDULE_MS, else
   * DEFAULT_REDIS_RESCHEDULE_MS.
   */
  redisRescheduleMs?: number;
  /**
   * Where the cgroup file systems are mounted, for the replicas' CPU limits (cpu-limit.ts). Default:
   * MCPBENCH_CGROUP_ROOT, else /sys/fs/cgroup. Where no cgroup can be made there, replicas run unlimited
   * and the `cpu-limits` event says why.
   */
  cgroupRoot?: string;
  /** The weight of every replica's cgroup (cgroup v1 cpu.shares; default the kernel's 1024); see cpu-limit.ts. */
  cgroupCpuShares?: number;
}

/**
 * Kill to replacement of the Redis pod on kind, measured (kind's default suite, pod-kill's Redis kills):
 * the new pod was ready 1.1–2.0 s after the kill. A local redis-server restarted at the same address
 * after the upper end of that. What kind adds after it (the EndpointSlice and kube-proxy catching up
 * before the servers' Redis clients can reconnect, another 1–2 s there) is not emulated;
 * `mcpbench compare` local vs kind names it.
 */
export const DEFAULT_REDIS_RESCHEDULE_MS = 2_000;

/** An emulation delay: the option, else the environment variable, else the default (whole ms, 0..600000). */
function emulatedMs(option: number | undefined, env: string, fallback: number): number {
  if (option !== undefined) return option;
  const raw = process.env[env];
  if (raw === undefined || raw === '') return fallback;
  const ms = Number(raw);
  if (!(Number.isInteger(ms) && ms >= 0 && ms <= 600_000))
    throw new Error(`${env}: "${raw}" is not a whole number of ms in 0..600000`);
  return ms;
}

class LocalProvider implements ClusterProvider {
  readonly name = 'local' as const;
  private readonly events = new ClusterEvents();
  private readonly deployments = new Map<VariantName, LocalDeployment>();
  private readonly proxies: Array<ServiceProxy | L7Proxy> = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private redis: RedisProcess | undefined;
  private redisPort: number | undefined;
  private externalRedisAnnounced = false;
  private downed = false;
  private readonly exitHandler = () => this.killNow();
  private readonly signalHandlers = new Map<NodeJS.Signals, () => void>();
  private readonly endpointRemovalLagMs: number;
  private readonly redisRescheduleMs: number;
  private readonly limiter: CpuLimiter;
  private readonly redisStatsReader = new RedisStatsReader();

  constructor(private readonly options: LocalProviderOptions = {}) {
    this.endpointRemovalLagMs = emulatedMs(
      options.endpointRemovalLagMs,
      'MCPBENCH_ENDPOINT_REMOVAL_LAG_MS',
      DEFAULT_ENDPOINT_REMOVAL_LAG_MS,
    );
    this.redisRescheduleMs = emulatedMs(
      options.redisRescheduleMs,
      'MCPBENCH_REDIS_RESCHEDULE_MS',
      DEFAULT_REDIS_RESCHEDULE_MS,
    );
    this.limiter = new CpuLimiter({ root: options.cgroupRoot, cpuShares: options.cgroupCpuShares });
    process.once('exit', this.exitHandler);
    if (options.handleSignals !== false) {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        const handler = () => {
          // Someone else handles the signal (e.g. the CLI, which calls down()): leave it to them.
          if (process.listenerCount(signal) > 1) return;
          this.killNow();
          this.removeSignalHandlers();
          process.kill(process.pid, signal);
        };
        this.signalHandlers.set(signal, handler);
        process.on(signal, handler);
      }
    }
  }

  private removeSignalHandlers(): void {
    for (const [signal, handler] of this.signalHandlers) process.off(signal, handler);
    this.signalHandlers.clear();
  }

  async kubernetesVersion(): Promise<string | null> {
    return FOLLOWS_KUBERNETES;
  }

  onEvent(listener: (event: ClusterEvent) => void): () => void {
    return this.events.on(listener);
  }

  private async ensureRedis(): Promise<string> {
    const source = this.options.redis;
    if (source?.kind === 'url') {
      if (!this.externalRedisAnnounced) {
        this.externalRedisAnnounced = true;
        this.events.emit('cluster', 'redis-ready', {
          external: true,
          url: redactUrl(source.url),
          from: source.from,
        });
      }
      return source.url;
    }
    if (!this.redis) {
      const redis = await startRedis({
        port: this.redisPort,
        binary: this.options.redisBinary,
        ...(source ? { source } : {}),
      });
      if (this.downed) {
        await redis.stop();
        throw new Error('local provider: torn down while Redis was starting');
      }
      this.redis = redis;
      this.redisPort = redis.port;
      this.events.emit('cluster', 'redis-ready', { port: redis.port, pid: redis.pid, source: redis.source });
    }
    return this.redis.url;
  }

  async up(variants: VariantSpec[]): Promise<Map<VariantName, VariantHandle>> {
    if (this.downed) throw new Error('local provider: already torn down');
    const handles = new Map<VariantName, VariantHandle>();
    for (const spec of variants) {
      const env: Record<string, string> = { ...spec.env };
      if (spec.foreign) {
        // A server that is not ours gets its own env (foreign.local.env) and the Redis URL only where it asks.
        if (spec.redis && spec.foreign.redisEnv) env[spec.foreign.redisEnv] = await this.ensureRedis();
        else if (spec.redis) await this.ensureRedis();
      } else if (spec.redis) env.MCPBENCH_REDIS_URL = await this.ensureRedis();
      else env.MCPBENCH_REDIS_URL = 'redis://127.0.0.1:1';
      const proxy = isL7Routing(spec.routing)
        ? new L7Proxy(l7RulesOf(spec.name, spec.routing), { rttMs: spec.rttMs })
        : new ServiceProxy({
            affinity: spec.routing === 'client-ip' ? 'client-ip' : 'none',
            affinityTimeoutMs: (spec.sessionAffinityTimeoutSeconds ?? 10_800) * 1000,
            rttMs: spec.rttMs,
          });
      this.proxies.push(proxy);
      const port = await proxy.listen();
      // Whether "one pod" is held to its CPU limit here, said once per bring-up (the trial records it).
      this.events.emit(spec.name, 'cpu-limits', { ...this.limiter.detail(spec.cpuLimitMillicores) });
      const deployment = new LocalDeployment(
        spec,
        proxy,
        env,
        (kind, detail) => this.events.emit(spec.name, kind, detail),
        this.endpointRemovalLagMs,
        this.limiter,
      );
      this.deployments.set(spec.name, deployment);
      await deployment.start();
      if (spec.hpa) this.startHpa(spec, deployment);
      handles.set(
        spec.name,
        this.handle(spec, deployment, `http://127.0.0.1:${port}${spec.foreign?.path ?? '/mcp'}`),
      );
    }
    return handles;
  }

  private startHpa(spec: VariantSpec, deployment: LocalDeployment): void {
    const hpa = spec.hpa;
    if (!hpa) return;
    const state = newHpaState();
    const timer = setInterval(() => {
      if (this.downed) return;
      const current = deployment.desiredReplicas;
      const d = decide(hpa, state, current, deployment.hpaPods(), Date.now());
      this.events.emit(spec.name, 'hpa-decision', {
        current,
        desired: d.desired,
        recommendation: d.recommendation,
        utilisation: d.utilisation,
        targetUtilisation: hpa.targetCpuUtilization,
        reason: d.reason,
        ...(d.pods ? { pods: d.pods } : {}),
      });
      if (d.desired !== current) deployment.scale(d.desired, 'hpa');
    }, hpa.syncPeriodSeconds * 1000);
    this.timers.push(timer);
  }

  private handle(spec: VariantSpec, deployment: LocalDeployment, url: string): VariantHandle {
    return {
      spec,
      url,
      countsRequests: true,
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

  cannotKillRedis(): string | null {
    const source = this.options.redis;
    if (source?.kind === 'url')
      return `Redis is external (${redactUrl(source.url)}, from ${source.from}); mcpbench cannot kill it`;
    return null;
  }

  async redisStats(): Promise<RedisStats | null> {
    if (this.downed) return null;
    const url = this.options.redis?.kind === 'url' ? this.options.redis.url : this.redis?.url;
    return url ? this.redisStatsReader.read(url) : null;
  }

  async killRedis(): Promise<void> {
    const why = this.cannotKillRedis();
    if (why) throw new Error(why);
    const redis = this.redis;
    if (!redis) throw new Error('local provider: no Redis is running');
    redis.kill();
    this.events.emit('cluster', 'redis-killed', { pid: redis.pid, rescheduleMs: this.redisRescheduleMs });
    this.redis = undefined;
    // The Deployment's replacement pod, rescheduled and reachable through the same Service address.
    await new Promise((r) => setTimeout(r, this.redisRescheduleMs));
    if (!this.downed) await this.ensureRedis();
  }

  async down(): Promise<void> {
    if (this.downed) return;
    this.downed = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled([...this.deployments.values()].map((d) => d.stop()));
    await Promise.allSettled(this.proxies.map((p) => p.close()));
    this.limiter.removeAll();
    this.redisStatsReader.close();
    await this.redis?.stop();
    this.redis = undefined;
    process.off('exit', this.exitHandler);
    this.removeSignalHandlers();
  }

  /** Every process this provider started and that still runs (pods and Redis), for leak checks. */
  pids(): number[] {
    return [
      ...[...this.deployments.values()].flatMap((d) => d.pids()),
      ...(this.redis?.pid ? [this.redis.pid] : []),
    ];
  }

  /** The run's cgroup directory while it exists (null where CPU limits are not enforced), for leak checks. */
  cgroupDir(): string | null {
    return this.limiter.runCgroup;
  }

  /** Synchronous last resort (process exit): SIGKILL everything this provider started. */
  private killNow(): void {
    for (const d of this.deployments.values()) d.killAllNow();
    this.limiter.removeAll();
    this.redis?.kill();
  }
}

export function createLocalProvider(
  options: LocalProviderOptions = {},
): ClusterProvider & { pids(): number[]; cgroupDir(): string | null } {
  return new LocalProvider(options);
}
