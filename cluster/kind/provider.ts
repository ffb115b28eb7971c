import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { KubeProvider } from '../kube/provider.js';
import type {
  ClusterEvent,
  ClusterProvider,
  GeneratorRequest,
  GeneratorRun,
  HpaSpec,
  VariantHandle,
  VariantName,
  VariantSpec,
} from '../provider.js';
import { waitForMetricsApi } from './addons.js';
import { installEgressGuard, removeEgressGuard } from './egress-guard.js';
import {
  cadenceMismatch,
  cadenceNotes,
  type HpaCadence,
  hpaCadence,
  metricsServerTiming,
  renderKindConfig,
} from './kind-config.js';

/**
 * kind: a one-node Kubernetes cluster in a Docker container, built entirely offline by
 * cluster/offline/build.sh (node image mcpbench/kind-node:<version> with every control-plane image
 * pre-loaded). The cluster is ours, so creating it, loading our images into it and installing
 * metrics-server (cluster-scoped objects) is fine here; the variants themselves go through the kube
 * provider into their own namespace, with their Services as NodePorts that kind-config.yaml publishes
 * on 127.0.0.1 only.
 */

const run = promisify(execFile);

// From dist/cluster/kind/ or cluster/kind/: the repository root is two levels up either way.
const ROOT = fileURLToPath(
  new URL(import.meta.url.includes('/dist/cluster/') ? '../../../' : '../../', import.meta.url),
);
const VERSIONS = (() => {
  const text = readFileSync(`${ROOT}cluster/offline/versions.env`, 'utf8');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
})();

const KIND_NODE_PORTS: Record<VariantName, number> = {
  'legacy-sticky': 30081,
  'legacy-redis': 30082,
  rc: 30083,
};

export interface KindOptions {
  clusterName?: string;
  /** Keep the kind cluster on down() (only the namespace is deleted); without it, down() deletes it only if this process created it. */
  keep?: boolean;
  nodeImage?: string;
  image?: string;
  redisImage?: string;
  kubeconfig?: string;
  log?: (line: string) => void;
  /**
   * The run's HPA spec: a cluster created here gets its controller cadence and metrics resolution; an
   * existing cluster whose kube-controller-manager runs another cadence is refused (it would answer
   * another question than the local provider). Absent: Kubernetes' defaults, and no check.
   */
  hpa?: Partial<HpaSpec>;
  /** How long to wait for the metrics API to work before a run (ms, default 180 s). */
  addonTimeoutMs?: number;
  /** More images to load with ours: those of the variants that are not ours (their `kube.image`). */
  extraImages?: string[];
}

export function kindPaths(opts: KindOptions = {}) {
  return {
    kind: existsSync(`${ROOT}.cache/offline/bin/kind`) ? `${ROOT}.cache/offline/bin/kind` : 'kind',
    /** the template; the cluster is created from a copy rendered for the run's HPA cadence */
    configTemplate: `${ROOT}cluster/kind/kind-config.yaml`,
    kubeconfig: opts.kubeconfig ?? `${ROOT}.cache/kind/kubeconfig`,
    clusterName: opts.clusterName ?? 'mcpbench',
    // MCPBENCH_KIND_NODE_IMAGE: a public node image (kindest/node) where a registry is reachable.
    nodeImage:
      opts.nodeImage ?? process.env.MCPBENCH_KIND_NODE_IMAGE ?? `mcpbench/kind-node:${VERSIONS.K8S_VERSION}`,
    image: opts.image ?? 'mcpbench/server:dev',
    redisImage: opts.redisImage ?? 'mcpbench/redis:dev',
    gatewayImage: 'mcpbench/gateway:dev',
    metricsServerImage: `registry.k8s.io/metrics-server/metrics-server:${VERSIONS.METRICS_SERVER_VERSION}`,
  };
}

/** Why kind cannot run here, or null when it can (for tests that skip with a reason). */
export async function kindUnavailable(opts: KindOptions = {}): Promise<string | null> {
  const p = kindPaths(opts);
  try {
    await run(p.kind, ['version']);
  } catch {
    return `no kind binary (run: npm run cluster:build-offline)`;
  }
  if (!(await dockerImageExists(p.nodeImage)))
    return `no node image ${p.nodeImage} in the local Docker engine (run: npm run cluster:build-offline)`;
  return null;
}

/**
 * kind always creates its node with `docker run --privileged`; where the host's capability bounding
 * set lacks CAP_SYS_RESOURCE runc refuses that, so kind then runs with cluster/kind/shim/docker first
 * in PATH (which spells --privileged out without that one capability). Probed once.
 */
let needsShim: Promise<boolean> | undefined;
async function envForKind(): Promise<NodeJS.ProcessEnv> {
  needsShim ??= run('docker', [
    'run',
    '--rm',
    '--privileged',
    '--entrypoint',
    'true',
    'mcpbench/base:bookworm',
  ]).then(
    () => false,
    (err: { stderr?: string }) => /apply caps|operation not permitted/.test(String(err.stderr)),
  );
  // Only the probe's answer is kept: the environment itself is read now, so a PATH changed since counts.
  return (await needsShim)
    ? { ...process.env, PATH: `${ROOT}cluster/kind/shim:${process.env.PATH ?? ''}` }
    : process.env;
}

async function kindRun(kind: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(kind, args, { env: await envForKind(), maxBuffer: 16 << 20 });
}

/** The example's server-everything image, built by `cluster/offline/build.sh byo`. */
const BYO_EXAMPLE_IMAGE = 'mcpbench-byo/server-everything:dev';

/**
 * The images of variants that are not ours that the local Docker engine does not have, each with what
 * to do: kind can only load an image the engine has (it pulls nothing), so a run stops before anything
 * starts (preflight, and again in up()).
 */
export async function missingForeignImages(
  variants: Array<{ name: string; image: string }>,
): Promise<Array<{ variant: string; image: string; message: string }>> {
  const out: Array<{ variant: string; image: string; message: string }> = [];
  for (const v of variants)
    if (!(await dockerImageExists(v.image)))
      out.push({
        variant: v.name,
        image: v.image,
        message:
          `image ${v.image} is not in the local Docker engine: build it (docker build -t ${v.image} .) or pull it (docker pull ${v.image}), then run again; the harness loads it into the kind cluster` +
          (v.image === BYO_EXAMPLE_IMAGE
            ? ' (for examples/byo-kind.yaml: npm run byo:install && bash cluster/offline/build.sh byo)'
            : ''),
      });
  return out;
}

/** The images of the variants that are not ours, by variant (those that name one). */
function foreignImagesOf(variants: VariantSpec[]): Array<{ name: string; image: string }> {
  return variants.flatMap((v) =>
    v.foreign?.kube?.image ? [{ name: v.name, image: v.foreign.kube.image }] : [],
  );
}

async function dockerImageExists(image: string): Promise<boolean> {
  return run('docker', ['image', 'inspect', image]).then(
    () => true,
    () => false,
  );
}

async function clusterExists(kind: string, name: string): Promise<boolean> {
  const { stdout } = await kindRun(kind, ['get', 'clusters']);
  return stdout.split('\n').includes(name);
}

/** Creates the kind cluster (if missing), loads our images, installs metrics-server. Idempotent. */
export async function kindClusterUp(
  opts: KindOptions = {},
): Promise<{ kubeconfig: string; created: boolean; gatewayLoaded: boolean }> {
  const p = kindPaths(opts);
  const log = opts.log ?? (() => {});
  mkdirSync(`${ROOT}.cache/kind`, { recursive: true });
  const cadence = hpaCadence(opts.hpa);
  let created = false;
  // Before the cluster exists: its first connections (before kube-proxy's rules) are the ones that leak.
  const unguarded = await installEgressGuard(p.clusterName);
  if (unguarded) log(`kind: ${unguarded}`);
  if (!(await clusterExists(p.kind, p.clusterName))) {
    const config = `${ROOT}.cache/kind/kind-config.${p.clusterName}.yaml`;
    await writeFileAtomic(config, renderKindConfig(readFileSync(p.configTemplate, 'utf8'), cadence));
    log(
      `kind create cluster --name ${p.clusterName} --image ${p.nodeImage} (HPA sync ${cadence.syncPeriodSeconds} s, ` +
        `tolerance ${cadence.tolerance}, CPU initialisation ${cadence.cpuInitializationSeconds} s, initial readiness delay ${cadence.initialReadinessDelaySeconds} s)`,
    );
    await kindRun(p.kind, [
      'create',
      'cluster',
      '--name',
      p.clusterName,
      '--image',
      p.nodeImage,
      '--config',
      config,
      '--kubeconfig',
      p.kubeconfig,
      '--wait',
      '180s',
    ]);
    created = true;
    createdByThisProcess.add(p.clusterName);
  } else {
    await kindRun(p.kind, ['export', 'kubeconfig', '--name', p.clusterName, '--kubeconfig', p.kubeconfig]);
  }
  // Before anything is loaded or installed: a cluster up for another cadence is left exactly as it was.
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(p.kubeconfig);
  if (!created && opts.hpa) {
    const mismatch = await controllerManagerMismatch(kc, cadence);
    if (mismatch.length)
      throw new Error(
        `kind cluster ${p.clusterName} was created for another HPA cadence (${mismatch.join('; ')}): ` +
          `delete it (npx mcpbench cluster down --cluster kind) so the run creates one for its own, ` +
          'or bring it up for this profile (npx mcpbench cluster up --cluster kind --hpa-profile NAME)',
      );
  }
  const gateway = (await dockerImageExists(p.gatewayImage)) ? [p.gatewayImage] : [];
  const extra = [...new Set(opts.extraImages ?? [])];
  await loadImagesOnce(p, [p.image, p.redisImage, p.metricsServerImage, ...gateway, ...extra], log);
  await installMetricsServer(kc, p.metricsServerImage, cadence);
  await waitForMetricsApi(kc, { log, ...(opts.addonTimeoutMs ? { timeoutMs: opts.addonTimeoutMs } : {}) });
  return { kubeconfig: p.kubeconfig, created, gatewayLoaded: gateway.length > 0 };
}

/**
 * `kind load docker-image` for each image the cluster's node does not have yet: an image is loaded once
 * per cluster (the node container's id) and again only when its local image id changed. What was
 * loaded is kept in .cache/kind/loaded-images.json; a new cluster has a new node id, so it starts empty.
 */
async function loadImagesOnce(
  p: ReturnType<typeof kindPaths>,
  images: string[],
  log: (line: string) => void,
): Promise<void> {
  const file = `${ROOT}.cache/kind/loaded-images.json`;
  const node = (
    await run('docker', ['inspect', '--format', '{{.Id}}', `${p.clusterName}-control-plane`])
  ).stdout.trim();
  let loaded: { node?: string; images?: Record<string, string> } = {};
  try {
    loaded = JSON.parse(readFileSync(file, 'utf8'));
  } catch {}
  const have = loaded.node === node ? (loaded.images ?? {}) : {};
  for (const image of images) {
    const id = (await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image])).stdout.trim();
    if (have[image] === id) continue;
    log(`kind load docker-image ${image}`);
    await kindRun(p.kind, ['load', 'docker-image', image, '--name', p.clusterName]);
    have[image] = id;
    await writeFileAtomic(file, JSON.stringify({ node, images: have }, null, 2));
  }
}

/**
 * Loads images into an existing kind cluster through the same once-per-node cache as the cluster's
 * bring-up (for a kind cluster reached as a kube context, whose images the kube provider never loads).
 */
export async function loadImagesIntoKind(opts: KindOptions, images: string[]): Promise<void> {
  await loadImagesOnce(kindPaths(opts), images, opts.log ?? (() => {}));
}

export type KindClusterState =
  | { state: 'exists' }
  | { state: 'absent' }
  /** the check itself failed (no kind binary, kind erred): nothing is known about the cluster */
  | { state: 'unknown'; why: string };

/** Whether the kind cluster exists now, from a `kind get clusters` that succeeded, else why it cannot be told. */
export async function kindClusterState(opts: KindOptions = {}): Promise<KindClusterState> {
  const p = kindPaths(opts);
  try {
    return (await clusterExists(p.kind, p.clusterName)) ? { state: 'exists' } : { state: 'absent' };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why =
      e.code === 'ENOENT'
        ? `no kind binary (${p.kind} not found; run: npm run cluster:build-offline)`
        : `\`${p.kind} get clusters\` failed: ${(e.stderr || e.message).trim().split('\n').pop()}`;
    return { state: 'unknown', why };
  }
}

/**
 * Kind clusters this process created (by name), each from a check that said it was absent followed by
 * a `kind create cluster` that succeeded: the only clusters a teardown may delete.
 */
const createdByThisProcess = new Set<string>();

export function kindClusterCreatedHere(opts: KindOptions = {}): boolean {
  return createdByThisProcess.has(kindPaths(opts).clusterName);
}

/** Deletes the kind cluster if a successful check finds it (`mcpbench cluster down`, or a teardown that created it). */
export async function kindClusterDown(opts: KindOptions = {}): Promise<void> {
  const p = kindPaths(opts);
  const now = await kindClusterState(opts);
  if (now.state === 'unknown') throw new Error(`cannot delete kind cluster ${p.clusterName}: ${now.why}`);
  if (now.state === 'exists') {
    await kindRun(p.kind, ['delete', 'cluster', '--name', p.clusterName, '--kubeconfig', p.kubeconfig]);
  }
  await removeEgressGuard(p.clusterName);
  createdByThisProcess.delete(p.clusterName);
}

/** How the running kube-controller-manager's HPA flags differ from the cadence (its static pod's command). */
async function controllerManagerMismatch(kc: k8s.KubeConfig, cadence: HpaCadence): Promise<string[]> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const pods = await core.listNamespacedPod({
    namespace: 'kube-system',
    labelSelector: 'component=kube-controller-manager',
  });
  const container = pods.items[0]?.spec?.containers[0];
  if (!container) return ['no kube-controller-manager pod found in kube-system'];
  return cadenceMismatch([...(container.command ?? []), ...(container.args ?? [])], cadence);
}

async function installMetricsServer(kc: k8s.KubeConfig, image: string, cadence: HpaCadence): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  const timing = metricsServerTiming(cadence);
  const text = readFileSync(`${ROOT}cluster/kind/metrics-server.yaml`, 'utf8')
    .replaceAll(/\$\{METRICS_SERVER_IMAGE\}/g, image)
    .replaceAll(/\$\{METRIC_RESOLUTION\}/g, `${timing.resolutionSeconds}s`)
    .replaceAll(/\$\{KUBELET_REQUEST_TIMEOUT\}/g, `${timing.kubeletRequestTimeoutSeconds}s`);
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as k8s.KubernetesObject;
    await api.patch(obj, undefined, undefined, 'mcpbench', true, k8s.PatchStrategy.ServerSideApply);
  }
}

/**
 * A pod kill on kind is a crash, as on local: the server container's process gets SIGKILL from the
 * node (its containerd, through crictl), with no SIGTERM, preStop or drain; the kubelet restarts the
 * container in place. The pod is found by its labels, as the kubelet names its containers.
 */
async function sigkillContainer(
  node: string,
  namespace: string,
  pod: string,
  container: string,
): Promise<void> {
  const exec = (args: string[]) => run('docker', ['exec', node, ...args]).then((r) => r.stdout.trim());
  const id = (
    await exec([
      'crictl',
      'ps',
      '-q',
      '--state',
      'running',
      '--name',
      `^${container}$`,
      '--label',
      `io.kubernetes.pod.name=${pod}`,
      '--label',
      `io.kubernetes.pod.namespace=${namespace}`,
    ])
  ).split('\n')[0];
  if (!id) throw new Error(`kind: no running ${container} container in pod ${namespace}/${pod}`);
  const pid = await exec(['crictl', 'inspect', '-o', 'go-template', '--template', '{{.info.pid}}', id]);
  if (!/^\d+$/.test(pid)) throw new Error(`kind: no process id for container ${id} of ${pod} (got "${pid}")`);
  await exec(['kill', '-9', pid]);
}

class KindProvider implements ClusterProvider {
  readonly name = 'kind' as const;
  private kube: KubeProvider | undefined;
  private readonly pending: Array<(e: ClusterEvent) => void> = [];
  private readonly unsubs: Array<() => void> = [];
  private downed = false;

  constructor(private readonly opts: KindOptions) {}

  async kubernetesVersion(): Promise<string | null> {
    return this.kube ? this.kube.kubernetesVersion() : (VERSIONS.K8S_VERSION ?? null);
  }

  async up(variants: VariantSpec[]): Promise<Map<VariantName, VariantHandle>> {
    const why = await kindUnavailable(this.opts);
    if (why) throw new Error(`--cluster kind: ${why}`);
    const p = kindPaths(this.opts);
    // A server that is not ours runs from the user's image, loaded with ours (the same once-per-node
    // cache); one the Docker engine lacks stops the run before the cluster is touched.
    const foreign = foreignImagesOf(variants);
    const missing = await missingForeignImages(foreign);
    if (missing.length)
      throw new Error(`--cluster kind: ${missing.map((m) => `${m.variant}: ${m.message}`).join('; ')}`);
    const { kubeconfig, gatewayLoaded } = await kindClusterUp({
      ...this.opts,
      extraImages: [...(this.opts.extraImages ?? []), ...foreign.map((f) => f.image)],
    });
    this.kube = new KubeProvider({
      kubeconfig,
      providerName: 'kind',
      image: p.image,
      redisImage: p.redisImage,
      ...(gatewayLoaded ? { gatewayImage: p.gatewayImage } : {}),
      exposure: { mode: 'nodeport', host: '127.0.0.1', nodePorts: KIND_NODE_PORTS },
      crashContainer: (namespace, pod, container) =>
        sigkillContainer(`${p.clusterName}-control-plane`, namespace, pod, container),
    });
    for (const l of this.pending) this.unsubs.push(this.kube.onEvent(l));
    const handles = await this.kube.up(variants);
    // What kind cannot run as the spec asks (metrics-server's 10 s floor); the runner records it on the trial.
    const hpa = variants.find((v) => v.hpa)?.hpa;
    if (hpa) for (const message of cadenceNotes(hpaCadence(hpa))) this.opts.log?.(`kind: ${message}`);
    return handles;
  }

  killRedis(): Promise<void> {
    if (!this.kube) throw new Error('kind provider: not up');
    return this.kube.killRedis();
  }

  runGenerators(request: GeneratorRequest): Promise<GeneratorRun> {
    if (!this.kube) throw new Error('kind provider: not up');
    return this.kube.runGenerators(request);
  }

  async allocatableMillicores(): Promise<number | null> {
    return this.kube ? this.kube.allocatableMillicores() : null;
  }

  onEvent(listener: (event: ClusterEvent) => void): () => void {
    this.pending.push(listener);
    const unsub = this.kube?.onEvent(listener);
    return () => {
      const i = this.pending.indexOf(listener);
      if (i >= 0) this.pending.splice(i, 1);
      unsub?.();
    };
  }

  async down(): Promise<void> {
    if (this.downed) return;
    this.downed = true;
    await this.kube?.down();
    // Only a cluster this process created goes; one that was up before (or unknown) is left alone.
    if (!this.opts.keep && kindClusterCreatedHere(this.opts)) await kindClusterDown(this.opts);
  }
}

export function createKindProvider(opts: KindOptions = {}): ClusterProvider {
  return new KindProvider(opts);
}
