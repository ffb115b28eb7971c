import type { GeneratorResult, GeneratorSpec } from '../rundir/generator-spec.js';

/**
 * The one interface every cluster provider (local, kind, kube) implements. Experiments only ever talk
 * to a cluster through it; an engine only ever sees the URLs it returns.
 */

import type { ForeignServer, ProtocolChoice } from './variants.js';

/** A variant's name: one of the built-ins (cluster/variants.ts) or one the run config defines. */
export type VariantName = string;
/** The built-in variants, the default of every run. */
export const VARIANT_NAMES: readonly VariantName[] = ['legacy-sticky', 'legacy-redis', 'rc'];

/** How a variant is deployed; derived from the manifests in cluster/manifests (the source of truth). */
export interface VariantSpec {
  name: VariantName;
  /** Server program: servers/legacy or servers/rc, or a server that is not ours (`foreign`). */
  server: 'legacy' | 'rc' | 'foreign';
  /** The protocol era the variant speaks (`auto`: detected before the first trial). */
  protocol: ProtocolChoice;
  /** How to run a server that is not ours (server: foreign). */
  foreign?: ForeignServer;
  replicas: number;
  /** MCPBENCH_* environment for every replica (tool cost, catalogue size, ttl, store, ...). */
  env: Record<string, string>;
  /** Deployment.spec.strategy.rollingUpdate */
  maxSurge: number;
  maxUnavailable: number;
  terminationGracePeriodSeconds: number;
  /** Whether the manifests are prepared for disruption (preStop, readiness off on SIGTERM, PDB) or not. */
  deployment: 'prepared' | 'unprepared';
  /** The container's lifecycle.preStop.sleep.seconds: how long a deleted pod waits before SIGTERM (0: none). */
  preStopSleepSeconds: number;
  /** Service routing: plain per-connection round robin, ClientIP affinity, or an L7 proxy. */
  routing: 'round-robin' | 'client-ip' | 'session-hash' | 'mcp-method';
  /** Whether the variant needs a Redis (legacy-redis sessions, rc tasks). */
  redis: boolean;
  /** HorizontalPodAutoscaler, when the experiment asks for one. */
  hpa?: HpaSpec;
  /** Emulated network round-trip time added by the Service proxy (local provider), ms. */
  rttMs?: number;
  /** Service.spec.sessionAffinityConfig.clientIP.timeoutSeconds (client-ip routing; Kubernetes default 10800). */
  sessionAffinityTimeoutSeconds?: number;
  /** The container's livenessProbe timing (Kubernetes defaults: every 10 s, 1 s timeout, 3 failures). */
  livenessProbe?: { periodSeconds: number; timeoutSeconds: number; failureThreshold: number };
  /** Container CPU limit in millicores, when the manifest sets one. */
  cpuLimitMillicores?: number;
  /** Container CPU request in millicores. */
  cpuRequestMillicores?: number;
}

/** Routing that per-connection Services cannot do: an L7 proxy / gateway picks a pod per request. */
export type L7Routing = 'session-hash' | 'mcp-method';
export function isL7Routing(routing: VariantSpec['routing']): routing is L7Routing {
  return routing === 'session-hash' || routing === 'mcp-method';
}

export interface HpaSpec {
  minReplicas: number;
  maxReplicas: number;
  /** target average CPU utilisation, percent of the pod's CPU request */
  targetCpuUtilization: number;
  /** pod CPU request in millicores (the denominator of utilisation) */
  cpuRequestMillicores: number;
  /** how often the controller evaluates (Kubernetes default 15 s) */
  syncPeriodSeconds: number;
  /** CPU samples of pods younger than this are left out (the controller's cpu-initialization-period) */
  cpuInitializationSeconds?: number;
  /** pods that turned unready within this long of starting are left out (--horizontal-pod-autoscaler-initial-readiness-delay, 30 s) */
  initialReadinessDelaySeconds?: number;
  /** the window CPU is averaged over and how often it is refreshed (metrics-server --metric-resolution, 15 s) */
  metricResolutionSeconds?: number;
  tolerance: number;
  scaleUp: {
    stabilizationWindowSeconds: number;
    policies: HpaPolicy[];
    selectPolicy: 'Max' | 'Min' | 'Disabled';
  };
  scaleDown: {
    stabilizationWindowSeconds: number;
    policies: HpaPolicy[];
    selectPolicy: 'Max' | 'Min' | 'Disabled';
  };
}

export interface HpaPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

export interface ReplicaStatus {
  name: string;
  ready: boolean;
  /** running, terminating (SIGTERM sent, draining), or gone */
  phase: 'starting' | 'running' | 'terminating';
  /** measured CPU over the last sampling interval, millicores; null when unknown */
  cpuMillicores: number | null;
  /** the pod's CPU time since it started, seconds; null or absent when unknown */
  cpuSecondsTotal?: number | null;
  /** resident memory, bytes; null or absent when unknown */
  rssBytes?: number | null;
  /** live sessions the replica holds, from its own count (or, for a server that is not ours, the sessions the local Service saw in use); null or absent when unknown */
  sessions?: number | null;
  /** HTTP requests the Service sent this replica so far (local provider: its proxy counts them); absent when not counted */
  serviceRequests?: number;
}

/** The shared Redis's own figures (INFO), for cost per unit of work. */
export interface RedisStats {
  cpuSecondsTotal: number | null;
  usedMemoryBytes: number | null;
  keys: number | null;
}

/** Something the cluster did or was told to do, put on the report's time axis. */
export interface ClusterEvent {
  /** epoch ms */
  atMs: number;
  kind:
    | 'rollout-start'
    | 'rollout-end'
    | 'pod-started'
    | 'pod-ready'
    /** the scheduler found no node with room for it (detail { pod, message }: the scheduler's reason) */
    | 'pod-unschedulable'
    | 'pod-terminating'
    | 'endpoint-removed'
    | 'pod-sigterm'
    | 'pod-exited'
    | 'pod-killed'
    | 'redis-killed'
    | 'redis-ready'
    | 'replicas-changed'
    | 'hpa-decision'
    /**
     * Once per variant bring-up: whether each pod is held to its CPU limit, detail
     * { enforced, cpuLimitMillicores: number | null, mechanism: 'cgroup-v1' | 'cgroup-v2' | 'kubernetes' | 'none', reason? }
     */
    | 'cpu-limits'
    | 'note';
  variant: VariantName | 'cluster';
  detail: Record<string, unknown>;
}

/** The listeners of a provider's events: each provider owns one and emits through it. */
export class ClusterEvents {
  private readonly listeners = new Set<(e: ClusterEvent) => void>();

  on(listener: (event: ClusterEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(variant: ClusterEvent['variant'], kind: ClusterEvent['kind'], detail: Record<string, unknown>): void {
    const event: ClusterEvent = { atMs: Date.now(), kind, variant, detail };
    for (const l of this.listeners) l(event);
  }
}

export interface VariantHandle {
  readonly spec: VariantSpec;
  /** The MCP endpoint clients use (through the Service), e.g. http://127.0.0.1:PORT/mcp */
  readonly url: string;
  /** The same endpoint as pods in the cluster reach it (the Service's DNS name), where there is a cluster. */
  readonly inClusterUrl?: string;
  /** Whether replicas() carries the requests the Service sent each replica (serviceRequests): a load spread without a replica header. */
  readonly countsRequests?: boolean;
  /** Trigger a rolling update (a new pod template) and resolve when it has completed. */
  rollout(): Promise<void>;
  /** SIGKILL / force-delete one replica (a named one, or one chosen by the provider); resolves with its name. */
  killReplica(name?: string): Promise<string>;
  /** Set Deployment replicas (ignored while an HPA owns the variant). */
  scale(replicas: number): Promise<void>;
  replicas(): Promise<ReplicaStatus[]>;
  /** Desired replicas as the Deployment (or HPA) currently has it. */
  desiredReplicas(): Promise<number>;
}

export interface ClusterProvider {
  readonly name: 'local' | 'kind' | 'kube';
  /** The Kubernetes version the provider follows or runs, for the run's fingerprint. */
  kubernetesVersion(): Promise<string | null>;
  /** Bring the variants up (and Redis if any needs it); resolves once every replica is ready. */
  up(variants: VariantSpec[]): Promise<Map<VariantName, VariantHandle>>;
  /** Kill the shared Redis (pod-kill experiment); it is restarted as its Deployment would. */
  killRedis(): Promise<void>;
  /** Why this provider cannot kill Redis (e.g. an external one given by URL), or null when it can. */
  cannotKillRedis?(): string | null;
  /** The shared Redis's figures, or null when no Redis is up (or it cannot be read). */
  redisStats?(): Promise<RedisStats | null>;
  /**
   * Runs one trial's load from inside the cluster: `count` generator pods (spec.count), each its share
   * of the load, all starting at spec.startAtMs; resolves when every pod has ended, with each pod's
   * result and every generator that did not deliver one (a harness fault, never the server's).
   */
  runGenerators?(request: GeneratorRequest): Promise<GeneratorRun>;
  /** CPU the cluster's nodes offer pods, millicores (sizing the generators), or null when unknown. */
  allocatableMillicores?(): Promise<number | null>;
  /** Subscribe to cluster events; returns an unsubscribe function. */
  onEvent(listener: (event: ClusterEvent) => void): () => void;
  /** Tear everything down. Idempotent; safe to call from a signal handler. */
  down(): Promise<void>;
}

export interface GeneratorRequest {
  spec: GeneratorSpec;
  /** CPU request and limit of each generator pod, millicores */
  cpuRequestMillicores: number;
  cpuLimitMillicores: number;
  signal: AbortSignal;
}

export interface GeneratorRun {
  results: GeneratorResult[];
  /** generators that delivered no result, and why (failed, evicted, deleted, late, unreadable log) */
  faults: Array<{ index: number; pod: string | null; reason: string }>;
  pods: Array<{
    index: number;
    name: string;
    node: string | null;
    ip: string | null;
    clockSkewMs: number | null;
  }>;
}
