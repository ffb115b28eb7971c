import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { ServiceProxy } from '../local/service-proxy.js';
import {
  gatewayObjects,
  httpRouteObjects,
  type K8sObject,
  overridesFromSpec,
  redisObjects,
  variantObjects,
} from '../manifests.js';
import {
  type ClusterEvent,
  ClusterEvents,
  type ClusterProvider,
  type GeneratorRequest,
  type GeneratorRun,
  isL7Routing,
  type ReplicaStatus,
  type VariantHandle,
  type VariantName,
  type VariantSpec,
} from '../provider.js';
import { runGeneratorJob } from './generators.js';
import { PodPortForwarder } from './port-forward.js';
import { waitFor, watchObjects } from './watch.js';

/**
 * Runs the variants on a real Kubernetes cluster through its API (kubeconfig): the objects rendered
 * from cluster/manifests are server-side applied into a namespace of our own, rollouts are waited for
 * by watching the Deployment, pods and HPAs are watched into ClusterEvents and CPU is read from
 * metrics.k8s.io. The only cluster-scoped object it ever touches is its own Namespace; anything else
 * cluster-wide (e.g. installing metrics-server) is the caller's explicit choice (the kind provider).
 */

type Exposure =
  /** Services become NodePorts at fixed ports the caller maps to 127.0.0.1 (kind extraPortMappings). */
  | { mode: 'nodeport'; host: string; nodePorts: Record<VariantName, number> }
  /** Per-connection port-forwards through the API server to a ready pod (any cluster, loopback only). */
  | { mode: 'port-forward' };

export interface KubeProviderOptions {
  kubeconfig?: string;
  context?: string;
  /** Namespace to own; default mcpbench-<random>. Created (labelled) when missing, deleted by down(). */
  namespace?: string;
  image?: string;
  redisImage?: string;
  /**
   * HAProxy image for the L7 gateway (cluster/manifests/gateway.yaml) that routes on Mcp-Method or
   * sticks on Mcp-Session-Id (`--l7`); without it such variants are refused.
   */
  gatewayImage?: string;
  /**
   * The GatewayClass the variants' HTTPRoutes (cluster/manifests/httproute.yaml) attach to when the
   * cluster serves the Gateway API; without it, the cluster's only GatewayClass. Where the cluster has
   * no Gateway API (or several classes and none named), the HAProxy gateway carries the routes out.
   */
  gatewayClassName?: string;
  /** The port the Gateway's proxy pods listen on for its HTTP listener (80 in the manifest). */
  gatewayPodPort?: number;
  exposure?: Exposure;
  /** Keep the namespace on down() (debugging). */
  keepNamespace?: boolean;
  /** Provider name reported to the run (kind reuses this class). */
  providerName?: 'kube' | 'kind';
  /** Timeout for any one rollout / readiness wait. */
  rolloutTimeoutMs?: number;
  /** How often CPU is read from metrics.k8s.io, ms (metrics-server itself refreshes every 15 s by default). */
  metricsPollMs?: number;
  /**
   * SIGKILLs a pod's server container where the provider can reach the node (kind: through the node
   * container's crictl), so a pod kill is a crash as on local. Without it a kill deletes the pod with a
   * grace period of 0, which the kubelet carries out as a stop (SIGTERM, then SIGKILL about 2 s later):
   * gentler than a crash, and the events say which it was.
   */
  crashContainer?: (namespace: string, pod: string, container: string) => Promise<void>;
}

const PART_OF = { 'app.kubernetes.io/part-of': 'mcpbench' };
const FIELD_MANAGER = 'mcpbench';

export class KubeProvider implements ClusterProvider {
  readonly name: 'kube' | 'kind';
  readonly namespace: string;
  readonly kc: k8s.KubeConfig;
  private readonly core: k8s.CoreV1Api;
  private readonly apps: k8s.AppsV1Api;
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly events = new ClusterEvents();
  private readonly stops: Array<() => void> = [];
  private readonly forwarders: PodPortForwarder[] = [];
  private readonly rttProxies: ServiceProxy[] = [];
  private readonly cpu = new Map<string, number>();
  /** working-set memory per pod from metrics.k8s.io, bytes (what the kubelet and the OOM killer count) */
  private readonly memory = new Map<string, number>();
  private readonly specs = new Map<VariantName, VariantSpec>();
  /** Variants whose HTTPRoute a Gateway API controller carries out (else HAProxy, gateway.yaml). */
  private readonly viaGatewayApi = new Set<VariantName>();
  private downed = false;

  constructor(private readonly opts: KubeProviderOptions = {}) {
    this.name = opts.providerName ?? 'kube';
    this.kc = new k8s.KubeConfig();
    if (opts.kubeconfig) this.kc.loadFromFile(opts.kubeconfig);
    else this.kc.loadFromDefault();
    if (opts.context) this.kc.setCurrentContext(opts.context);
    this.namespace = opts.namespace ?? `mcpbench-${randomBytes(3).toString('hex')}`;
    this.core = this.kc.makeApiClient(k8s.CoreV1Api);
    this.apps = this.kc.makeApiClient(k8s.AppsV1Api);
    this.objects = k8s.KubernetesObjectApi.makeApiClient(this.kc);
  }

  private get timeoutMs(): number {
    return this.opts.rolloutTimeoutMs ?? 180_000;
  }

  async kubernetesVersion(): Promise<string | null> {
    try {
      const v = await this.kc.makeApiClient(k8s.VersionApi).getCode();
      return v.gitVersion;
    } catch {
      return null;
    }
  }

  onEvent(listener: (event: ClusterEvent) => void): () => void {
    return this.events.on(listener);
  }

  private async ensureNamespace(): Promise<void> {
    try {
      await this.core.readNamespace({ name: this.namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.core.createNamespace({
        body: { metadata: { name: this.namespace, labels: { ...PART_OF } } },
      });
    }
  }

  /** Server-side apply into our namespace (idempotent: re-applying the same object is a no-op). */
  private async apply(obj: K8sObject): Promise<void> {
    const o = structuredClone(obj);
    o.metadata = { ...(o.metadata ?? {}), namespace: this.namespace };
    await this.objects.patch(o, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
  }

  /** The NodePort the caller publishes for the variant, if any (kind has three, one per built-in name). */
  private nodePortOf(variant: VariantName): number | undefined {
    const exposure = this.opts.exposure;
    return exposure?.mode === 'nodeport' ? exposure.nodePorts[variant] : undefined;
  }

  private exposeService(obj: K8sObject, variant: VariantName): K8sObject {
    const exposure = this.opts.exposure;
    if (obj.kind !== 'Service' || exposure?.mode !== 'nodeport') return obj;
    // A variant with no published NodePort (a server that is not ours, under its own name) keeps its
    // ClusterIP Service; the harness reaches it by port-forward (serviceUrl).
    if (this.nodePortOf(variant) === undefined) return obj;
    const o = structuredClone(obj);
    o.spec.type = 'NodePort';
    o.spec.ports[0].nodePort = exposure.nodePorts[variant];
    // Keep the client's address for ClientIP affinity where the node sees it.
    o.spec.externalTrafficPolicy = 'Local';
    return o;
  }

  async up(variants: VariantSpec[]): Promise<Map<VariantName, VariantHandle>> {
    if (this.downed) throw new Error(`${this.name} provider: already torn down`);
    await this.ensureNamespace();
    this.startWatches();
    if (variants.some((v) => v.redis)) {
      for (const o of redisObjects(this.opts.redisImage)) await this.apply(o);
      await this.waitRollout('mcp-redis');
      this.events.emit('cluster', 'redis-ready', { namespace: this.namespace });
    }
    const gateways: string[] = [];
    const l7 = variants.some((v) => isL7Routing(v.routing)) ? await this.l7Gateway() : undefined;
    if (l7) this.events.emit('cluster', 'note', { l7Gateway: l7 });
    const routes: string[] = [];
    for (const spec of variants) {
      this.specs.set(spec.name, spec);
      // The kubelet enforces resources.limits.cpu (a CFS quota per pod); said once per bring-up.
      this.events.emit(
        spec.name,
        'cpu-limits',
        spec.cpuLimitMillicores === undefined
          ? {
              enforced: false,
              cpuLimitMillicores: null,
              mechanism: 'none',
              reason: 'the pod sets no CPU limit',
            }
          : { enforced: true, cpuLimitMillicores: spec.cpuLimitMillicores, mechanism: 'kubernetes' },
      );
      if (isL7Routing(spec.routing) && l7 && 'gatewayClassName' in l7) {
        // A Gateway API controller carries the HTTPRoute out; clients reach the Gateway's proxy pods.
        for (const o of objectsFor(spec, this.opts.image)) await this.apply(o);
        for (const o of httpRouteObjects(spec.name, spec.routing, l7.gatewayClassName)) {
          await this.apply(o);
          if (o.kind === 'HTTPRoute') routes.push(o.metadata.name);
        }
        this.viaGatewayApi.add(spec.name);
        continue;
      }
      if (isL7Routing(spec.routing)) {
        if (!this.opts.gatewayImage)
          throw new Error(
            `${spec.name}: routing "${spec.routing}" needs the Gateway API or the L7 gateway image (npm run cluster:build-offline builds mcpbench/gateway:dev)`,
          );
        // Clients reach the gateway (on the variant's exposed port); it reaches the pods.
        for (const o of objectsFor(spec, this.opts.image)) await this.apply(o);
        for (const o of gatewayObjects(
          spec.name,
          spec.routing,
          this.namespace,
          this.opts.gatewayImage,
          podPortOf(spec),
        ))
          await this.apply(
            o.metadata.name === `mcp-${spec.name}-gateway` ? this.exposeService(o, spec.name) : o,
          );
        gateways.push(`mcp-${spec.name}-gateway`);
        continue;
      }
      for (const o of objectsFor(spec, this.opts.image)) await this.apply(this.exposeService(o, spec.name));
    }
    await Promise.all(routes.map((r) => this.waitRouteAccepted(r)));
    await Promise.all([...variants.map((s) => `mcp-${s.name}`), ...gateways].map((d) => this.waitRollout(d)));
    const handles = new Map<VariantName, VariantHandle>();
    for (const spec of variants) {
      const url = await this.urlFor(spec);
      await waitReachable(url, this.timeoutMs, spec);
      handles.set(spec.name, this.handle(spec, url, this.inClusterUrl(spec)));
    }
    return handles;
  }

  /** The variant's endpoint as pods reach it: its Service (or its L7 gateway's) by DNS name, port 80. */
  private inClusterUrl(spec: VariantSpec): string | undefined {
    // A Gateway API controller names the Gateway's Service itself; the host path is used there.
    if (this.viaGatewayApi.has(spec.name)) return undefined;
    const service = isL7Routing(spec.routing) ? `mcp-${spec.name}-gateway` : `mcp-${spec.name}`;
    return `http://${service}.${this.namespace}.svc:80${mcpPathOf(spec)}`;
  }

  runGenerators(request: GeneratorRequest): Promise<GeneratorRun> {
    return runGeneratorJob(
      {
        kc: this.kc,
        namespace: this.namespace,
        image: this.opts.image,
        apply: (o) => this.apply(o),
        note: (message) => this.events.emit('cluster', 'note', { message }),
      },
      request,
    );
  }

  async allocatableMillicores(): Promise<number | null> {
    try {
      const nodes = await this.core.listNode();
      let total = 0;
      for (const n of nodes.items) total += cpuMillicores(n.status?.allocatable?.cpu ?? '0') || 0;
      return total || null;
    } catch {
      return null;
    }
  }

  private async urlFor(spec: VariantSpec): Promise<string> {
    const url = await this.serviceUrl(spec);
    if (!spec.rttMs) return url;
    // The emulated network round trip the local Service adds, added here by the same L4 proxy in
    // front of the Service: one upstream connection per client connection, so kube-proxy still
    // balances per connection.
    const rtt = new ServiceProxy({ affinity: 'none', rttMs: spec.rttMs });
    rtt.setEndpoints([{ name: spec.name, port: Number(new URL(url).port) }]);
    this.rttProxies.push(rtt);
    return `http://127.0.0.1:${await rtt.listen()}${mcpPathOf(spec)}`;
  }

  /**
   * Which gateway carries out the variants' HTTPRoutes: the cluster's Gateway API when it serves
   * gateway.networking.k8s.io/v1 with a GatewayClass to use, else HAProxy (with the reason).
   */
  private async l7Gateway(): Promise<L7Gateway> {
    let classes: string[] | null;
    try {
      const list = await this.objects.list('gateway.networking.k8s.io/v1', 'GatewayClass');
      classes = list.items.map((c) => String(c.metadata?.name));
    } catch (err) {
      // The group is not served (404 on discovery), or is served without GatewayClass.
      if (!isNotFound(err) && !/Unrecognized API version and kind/.test(String((err as Error)?.message)))
        throw err;
      classes = null;
    }
    return chooseL7Gateway(classes, this.opts.gatewayClassName);
  }

  private async waitRouteAccepted(name: string): Promise<void> {
    await waitFor(
      this.kc,
      `/apis/gateway.networking.k8s.io/v1/namespaces/${this.namespace}/httproutes`,
      { fieldSelector: `metadata.name=${name}` },
      (r: K8sObject) =>
        (r.status?.parents ?? []).some((p: K8sObject) =>
          (p.conditions ?? []).some((c: K8sObject) => c.type === 'Accepted' && c.status === 'True'),
        ),
      this.timeoutMs,
      `httproute/${name} accepted by a Gateway API controller`,
    );
  }

  private async serviceUrl(spec: VariantSpec): Promise<string> {
    const exposure = this.opts.exposure ?? { mode: 'port-forward' };
    if (this.viaGatewayApi.has(spec.name)) {
      // The controller owns the Gateway's Service (no fixed NodePort of ours): reach its proxy pods,
      // labelled by the Gateway they serve (GEP-1762), through the API server.
      const fwd = new PodPortForwarder(
        this.kc,
        this.namespace,
        `gateway.networking.k8s.io/gateway-name=mcp-${spec.name}-gateway`,
        this.opts.gatewayPodPort ?? 80,
        { affinity: 'none' },
      );
      this.forwarders.push(fwd);
      return `http://127.0.0.1:${await fwd.listen()}${mcpPathOf(spec)}`;
    }
    const nodePort = this.nodePortOf(spec.name);
    if (exposure.mode === 'nodeport' && nodePort !== undefined) {
      return `http://${exposure.host}:${nodePort}${mcpPathOf(spec)}`;
    }
    if (exposure.mode === 'nodeport')
      this.events.emit('cluster', 'note', {
        message: `${spec.name}: no NodePort is published for this name; the harness reaches it by port-forward through the API server (in-cluster generators use its Service)`,
      });
    const l7 = isL7Routing(spec.routing);
    const selector = l7 ? `mcpbench/gateway=${spec.name}` : `mcpbench/variant=${spec.name}`;
    // The L7 gateway (HAProxy) listens on 8080; a variant's pods on their container port.
    const fwd = new PodPortForwarder(this.kc, this.namespace, selector, l7 ? 8080 : podPortOf(spec), {
      affinity: spec.routing === 'client-ip' ? 'client-ip' : 'none',
    });
    this.forwarders.push(fwd);
    const port = await fwd.listen();
    return `http://127.0.0.1:${port}${mcpPathOf(spec)}`;
  }

  /** Resolves when the Deployment's newest ReplicaSet is fully rolled out and no old pod is left. */
  private async waitRollout(name: string): Promise<void> {
    await waitFor(
      this.kc,
      `/apis/apps/v1/namespaces/${this.namespace}/deployments`,
      { fieldSelector: `metadata.name=${name}` },
      (d: k8s.V1Deployment) => rolledOut(d),
      this.timeoutMs,
      `rollout of deployment/${name}`,
    );
  }

  private startWatches(): void {
    if (this.stops.length > 0) return;
    const ns = this.namespace;
    const seenReady = new Map<string, boolean>();
    const seenTerminating = new Set<string>();
    const seenUnschedulable = new Set<string>();
    this.stops.push(
      watchObjects(this.kc, `/api/v1/namespaces/${ns}/pods`, {}, (phase, pod: k8s.V1Pod) => {
        const name = pod.metadata?.name ?? '?';
        const variant = this.variantOf(pod.metadata?.labels);
        if (!variant) return;
        if (phase === 'ADDED' && !seenReady.has(name)) {
          seenReady.set(name, false);
          this.events.emit(variant, 'pod-started', { pod: name, node: pod.spec?.nodeName });
        }
        // The scheduler found no node with room for the pod's requests: the replica the HPA or the
        // Deployment asked for does not run, and the figures must say so (a 2-core kind node fills fast).
        const unschedulable = pod.status?.conditions?.find(
          (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
        );
        if (unschedulable && !seenUnschedulable.has(name)) {
          seenUnschedulable.add(name);
          this.events.emit(variant, 'pod-unschedulable', { pod: name, message: unschedulable.message ?? '' });
        }
        const ready = isPodReady(pod);
        if (ready && !seenReady.get(name)) this.events.emit(variant, 'pod-ready', { pod: name });
        seenReady.set(name, ready);
        if (pod.metadata?.deletionTimestamp && !seenTerminating.has(name)) {
          seenTerminating.add(name);
          this.events.emit(variant, 'pod-terminating', { pod: name });
        }
        if (phase === 'DELETED') {
          seenReady.delete(name);
          seenTerminating.delete(name);
          seenUnschedulable.delete(name);
          this.cpu.delete(name);
          this.events.emit(variant, 'pod-exited', { pod: name, phase: pod.status?.phase });
        }
      }),
    );
    const lastReplicas = new Map<string, number>();
    this.stops.push(
      watchObjects(this.kc, `/apis/apps/v1/namespaces/${ns}/deployments`, {}, (_p, d: k8s.V1Deployment) => {
        const variant = this.variantOf(d.metadata?.labels);
        const replicas = d.spec?.replicas ?? 0;
        const name = d.metadata?.name ?? '?';
        const before = lastReplicas.get(name);
        lastReplicas.set(name, replicas);
        if (variant && before !== undefined && before !== replicas) {
          this.events.emit(variant, 'replicas-changed', { from: before, to: replicas });
        }
      }),
    );
    const lastHpa = new Map<string, string>();
    this.stops.push(
      watchObjects(
        this.kc,
        `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`,
        {},
        (_p, h: k8s.V2HorizontalPodAutoscaler) => {
          const variant = this.variantOf(h.metadata?.labels);
          if (!variant) return;
          const s = h.status;
          const cpu = s?.currentMetrics?.find((m) => m.type === 'Resource')?.resource?.current;
          const detail = {
            current: s?.currentReplicas ?? null,
            desired: s?.desiredReplicas ?? null,
            utilisation: cpu?.averageUtilization ?? null,
            lastScaleTime: s?.lastScaleTime ?? null,
            reason: s?.conditions?.find((c) => c.type === 'ScalingLimited' || c.type === 'AbleToScale')
              ?.reason,
          };
          const key = JSON.stringify(detail);
          if (lastHpa.get(h.metadata?.name ?? '') === key) return;
          lastHpa.set(h.metadata?.name ?? '', key);
          this.events.emit(variant, 'hpa-decision', detail);
        },
      ),
    );
    this.startMetricsPolling();
  }

  /** metrics.k8s.io has no watch: poll it (metrics-server refreshes every --metric-resolution). */
  private startMetricsPolling(): void {
    const metrics = new k8s.Metrics(this.kc);
    let warned = false;
    const poll = async () => {
      try {
        const list = await metrics.getPodMetrics(this.namespace);
        for (const item of list.items) {
          const total = item.containers.reduce((sum, c) => sum + cpuMillicores(c.usage.cpu), 0);
          this.cpu.set(item.metadata.name, total);
          const memory = item.containers.reduce((sum, c) => sum + memoryBytes(c.usage.memory), 0);
          if (Number.isFinite(memory)) this.memory.set(item.metadata.name, memory);
        }
      } catch (err) {
        if (!warned) {
          warned = true;
          this.events.emit('cluster', 'note', {
            message: `metrics.k8s.io unavailable: ${(err as Error).message}`,
          });
        }
      }
    };
    const timer = setInterval(() => void poll(), this.opts.metricsPollMs ?? 5_000);
    timer.unref();
    void poll();
    this.stops.push(() => clearInterval(timer));
  }

  /** The variant a pod, Deployment or HPA belongs to: one this provider brought up (Redis is none). */
  private variantOf(labels: Record<string, string> | undefined): VariantName | undefined {
    const v = labels?.['mcpbench/variant'];
    return v !== undefined && this.specs.has(v) ? v : undefined;
  }

  private async podsOf(variant: VariantName): Promise<k8s.V1Pod[]> {
    const list = await this.core.listNamespacedPod({
      namespace: this.namespace,
      labelSelector: `mcpbench/variant=${variant}`,
    });
    return list.items;
  }

  private handle(spec: VariantSpec, url: string, inClusterUrl?: string): VariantHandle {
    const deployment = `mcp-${spec.name}`;
    return {
      spec,
      url,
      ...(inClusterUrl ? { inClusterUrl } : {}),
      rollout: async () => {
        const d = await this.apps.readNamespacedDeployment({ name: deployment, namespace: this.namespace });
        const current = Number(d.spec?.template.metadata?.annotations?.['mcpbench/revision'] ?? '1');
        this.events.emit(spec.name, 'rollout-start', { revision: current + 1 });
        const started = Date.now();
        await this.apps.patchNamespacedDeployment(
          {
            name: deployment,
            namespace: this.namespace,
            body: {
              spec: { template: { metadata: { annotations: { 'mcpbench/revision': String(current + 1) } } } },
            },
          },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
        );
        await this.waitRollout(deployment);
        this.events.emit(spec.name, 'rollout-end', {
          revision: current + 1,
          durationMs: Date.now() - started,
        });
      },
      killReplica: async (name?: string) => {
        const pods = (await this.podsOf(spec.name)).filter((p) => !p.metadata?.deletionTimestamp);
        // A crashed container restarts in place; the kubelet backs off a second crash of the same one, so
        // the ready pod that has restarted least goes first.
        const restarts = (p: k8s.V1Pod) =>
          (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
        const ready = pods.filter(isPodReady).sort((a, b) => restarts(a) - restarts(b));
        const target = name ?? ready[0]?.metadata?.name ?? pods[0]?.metadata?.name;
        if (!target) throw new Error(`${spec.name}: no pod to kill`);
        if (this.opts.crashContainer) {
          await this.opts.crashContainer(this.namespace, target, 'server');
          this.events.emit(spec.name, 'pod-killed', {
            pod: target,
            how: 'SIGKILL (container crash, restarts in place)',
          });
          return target;
        }
        await this.core.deleteNamespacedPod({
          name: target,
          namespace: this.namespace,
          gracePeriodSeconds: 0,
        });
        this.events.emit(spec.name, 'pod-killed', {
          pod: target,
          how: 'deleted with grace 0 (the kubelet stops it)',
        });
        return target;
      },
      scale: async (replicas: number) => {
        if (spec.hpa) throw new Error(`${spec.name}: the HPA owns the replica count`);
        await this.apps.patchNamespacedDeploymentScale(
          { name: deployment, namespace: this.namespace, body: { spec: { replicas } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
      },
      replicas: async () =>
        (await this.podsOf(spec.name)).map(
          (p): ReplicaStatus => ({
            name: p.metadata?.name ?? '?',
            ready: isPodReady(p),
            phase: p.metadata?.deletionTimestamp ? 'terminating' : isPodReady(p) ? 'running' : 'starting',
            cpuMillicores: this.cpu.get(p.metadata?.name ?? '') ?? null,
            // metrics.k8s.io gives a CPU rate, not a total, and no session count: unknown, not zero.
            cpuSecondsTotal: null,
            rssBytes: this.memory.get(p.metadata?.name ?? '') ?? null,
            sessions: null,
          }),
        ),
      desiredReplicas: async () => {
        const d = await this.apps.readNamespacedDeployment({ name: deployment, namespace: this.namespace });
        return d.spec?.replicas ?? 0;
      },
    };
  }

  async killRedis(): Promise<void> {
    const pods = await this.core.listNamespacedPod({
      namespace: this.namespace,
      labelSelector: 'mcpbench/variant=redis',
    });
    const pod = pods.items.find((p) => !p.metadata?.deletionTimestamp);
    if (!pod?.metadata?.name) throw new Error(`${this.name} provider: no Redis pod`);
    await this.core.deleteNamespacedPod({
      name: pod.metadata.name,
      namespace: this.namespace,
      gracePeriodSeconds: 0,
    });
    this.events.emit('cluster', 'redis-killed', { pod: pod.metadata.name });
    // Its Deployment brings a replacement up; resolve once that one is ready (watched, not slept).
    await waitFor(
      this.kc,
      `/api/v1/namespaces/${this.namespace}/pods`,
      { labelSelector: 'mcpbench/variant=redis' },
      (p: k8s.V1Pod) => p.metadata?.name !== pod.metadata?.name && isPodReady(p),
      this.timeoutMs,
      'replacement Redis pod',
    );
    this.events.emit('cluster', 'redis-ready', {});
  }

  async down(): Promise<void> {
    if (this.downed) return;
    this.downed = true;
    for (const stop of this.stops.splice(0)) stop();
    await Promise.allSettled([...this.forwarders, ...this.rttProxies].map((f) => f.close()));
    if (this.opts.keepNamespace) return;
    try {
      await this.core.deleteNamespace({ name: this.namespace, propagationPolicy: 'Background' });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return;
    }
    // Deleting a namespace is asynchronous, and its last step (finalisation) can hang for minutes when an
    // aggregated API such as metrics.k8s.io is unavailable (NamespaceDeletionDiscoveryFailure). The next
    // step only needs this one's pods gone (they would compete for the nodes' CPU), not the Namespace
    // object: wait for that, and let the namespace finish in the background, with a note when it lingers.
    const deadline = Date.now() + this.timeoutMs;
    let left = -1;
    while (Date.now() < deadline) {
      left = await this.core
        .listNamespacedPod({ namespace: this.namespace })
        .then((l) => l.items.length)
        .catch((e) => (isNotFound(e) ? 0 : -1));
      if (left === 0) return;
      await sleep(500);
    }
    this.events.emit('cluster', 'note', {
      message: `namespace ${this.namespace}: ${left < 0 ? 'pods could not be listed' : `${left} pod(s) still there`} ${Math.round(this.timeoutMs / 1000)} s after its deletion; continuing`,
    });
  }
}

/** The rendered objects for a VariantSpec: exactly what the local provider followed, from the same manifests. */
type L7Gateway = { gatewayClassName: string } | { haproxy: string };

/**
 * The gateway for the variants' HTTPRoutes, given the cluster's GatewayClasses (null: the cluster does
 * not serve the Gateway API) and the class asked for (KubeProviderOptions.gatewayClassName).
 */
export function chooseL7Gateway(classes: string[] | null, wanted?: string): L7Gateway {
  if (classes === null)
    return { haproxy: 'the cluster does not serve the Gateway API (gateway.networking.k8s.io/v1)' };
  if (wanted !== undefined) {
    if (classes.includes(wanted)) return { gatewayClassName: wanted };
    throw new Error(
      `gatewayClassName: "${wanted}" is not a GatewayClass of this cluster (${classes.length ? `it has ${classes.join(', ')}` : 'it has none'})`,
    );
  }
  if (classes.length === 1) return { gatewayClassName: classes[0] as string };
  return {
    haproxy:
      classes.length === 0
        ? 'the cluster serves the Gateway API but has no GatewayClass'
        : `the cluster has ${classes.length} GatewayClasses (${classes.join(', ')}); name one with gatewayClassName`,
  };
}

export function objectsFor(spec: VariantSpec, image?: string): K8sObject[] {
  return variantObjects(spec.name, { ...overridesFromSpec(spec), ...(image ? { image } : {}) });
}

/** The MCP endpoint's path: ours serve /mcp, a server that is not ours where its variant says. */
function mcpPathOf(spec: VariantSpec): string {
  return spec.foreign?.path ?? '/mcp';
}

/** The port the variant's pods listen on: ours 8080, a server that is not ours its containerPort. */
function podPortOf(spec: VariantSpec): number {
  return spec.foreign?.kube?.containerPort ?? 8080;
}

/**
 * What answers "this Service works" through the load's URL: our servers' /healthz (200); a server
 * that is not ours, its readiness path (200-399, as a kubelet counts it) or, with readiness `mcp`, its
 * MCP endpoint answering a plain GET below 500 (the local provider's readiness for `mcp`).
 */
export function reachabilityProbe(
  mcpUrl: string,
  spec: Pick<VariantSpec, 'foreign'>,
): { url: string; ok: (status: number) => boolean } {
  const f = spec.foreign;
  const base = new URL(mcpUrl);
  if (!f)
    return { url: `${base.origin}${base.pathname.replace(/\/mcp$/, '')}/healthz`, ok: (s) => s === 200 };
  if (f.readiness === 'mcp') return { url: mcpUrl, ok: (s) => s < 500 };
  return { url: `${base.origin}${f.readiness.httpPath}`, ok: (s) => s >= 200 && s < 400 };
}

/**
 * A rolled-out Deployment is not yet a working Service: kube-proxy programs a new NodePort a moment
 * later, and until then the node's published port accepts and resets (or stalls) connections.
 * Probe the variant's health (reachabilityProbe) through the very URL the load will use, each attempt
 * bounded, until it answers.
 */
async function waitReachable(
  mcpUrl: string,
  timeoutMs: number,
  spec: Pick<VariantSpec, 'foreign'>,
): Promise<void> {
  const probe = reachabilityProbe(mcpUrl, spec);
  const health = probe.url;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(health, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (probe.ok(res.status)) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${health} did not answer within ${timeoutMs} ms (last: ${last})`);
}

export function rolledOut(d: k8s.V1Deployment): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status;
  if (!s || (s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return false;
  return (
    (s.updatedReplicas ?? 0) === want &&
    (s.replicas ?? 0) === want &&
    (s.availableReplicas ?? 0) === want &&
    (s.unavailableReplicas ?? 0) === 0
  );
}

export function isPodReady(p: k8s.V1Pod): boolean {
  return (
    !p.metadata?.deletionTimestamp &&
    (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** Kubernetes CPU quantity ("250m", "1", "123456n", "12u") to millicores. */
export function cpuMillicores(q: string): number {
  const m = /^([0-9.]+)([num]?)$/.exec(q);
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  switch (m[2]) {
    case 'n':
      return v / 1e6;
    case 'u':
      return v / 1e3;
    case 'm':
      return v;
    default:
      return v * 1000;
  }
}

const MEMORY_SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** Kubernetes memory quantity ("123456Ki", "64Mi", "1G", "1048576") to bytes; NaN when unreadable. */
function memoryBytes(q: string | undefined): number {
  const m = /^([0-9.]+)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q ?? '');
  if (!m) return Number.NaN;
  return Number(m[1]) * (MEMORY_SUFFIX[m[2] ?? ''] ?? Number.NaN);
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: number; statusCode?: number; body?: unknown };
  return e?.code === 404 || e?.statusCode === 404;
}

export function createKubeProvider(opts: KubeProviderOptions = {}): ClusterProvider {
  return new KubeProvider(opts);
}
