import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { haproxyRouting, type L7Rules, rulesFromHttpRoute } from './l7-rules.js';
import type { HpaPolicy, HpaSpec, L7Routing, VariantName, VariantSpec } from './provider.js';
import { BUILTIN_VARIANT_NAMES, builtinVariant, type VariantDefinition } from './variants.js';

/**
 * The Kubernetes objects in cluster/manifests are the single source of truth for every provider:
 * kind/kube apply them; the local provider derives its VariantSpec from the very same objects.
 */

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are open-ended YAML
export type K8sObject = Record<string, any>;

// The YAML is not compiled: from dist/ it is read from the source tree next to it.
const manifestDir = fileURLToPath(
  new URL(
    import.meta.url.includes('/dist/cluster/') ? '../../cluster/manifests/' : './manifests/',
    import.meta.url,
  ),
);

/** The variant's record: a built-in (cluster/variants.ts) or the one the run config defines. */
function definitionOf(name: VariantName, given?: VariantDefinition): VariantDefinition {
  const d = given ?? builtinVariant(name);
  if (!d)
    throw new Error(
      `variant: unknown "${name}" (one of ${BUILTIN_VARIANT_NAMES.join(', ')}, or define it under variants:)`,
    );
  return d;
}

/**
 * `prepared` (default): the manifests as they are (preStop delay, shutdown delay with readiness off,
 * grace period to match, PodDisruptionBudget). `unprepared`: the same objects as they were before the
 * preparation, so a run can show what it buys.
 */
export type DeploymentMode = 'prepared' | 'unprepared';

/** The grace period of the manifests before the preparation. */
const UNPREPARED_TERMINATION_GRACE_SECONDS = 5;

export interface VariantOverrides {
  /** the variant's record, when it is not a built-in (a server that is not ours, from the run config) */
  definition?: VariantDefinition;
  deployment?: DeploymentMode;
  replicas?: number;
  /** MCPBENCH_* variables added to the container env (override the manifest's) */
  env?: Record<string, string>;
  image?: string;
  /**
   * Present: render the HorizontalPodAutoscaler (absent fields keep the manifest's values). Its
   * utilisation is relative to the container's CPU request, which is `cpuRequestMillicores` below:
   * one value, never a second one here.
   */
  hpa?: Partial<Omit<HpaSpec, 'scaleUp' | 'scaleDown' | 'cpuRequestMillicores'>> & {
    scaleUpStabilizationSeconds?: number;
    scaleDownStabilizationSeconds?: number;
    scaleUpPolicies?: HpaPolicy[];
    scaleDownPolicies?: HpaPolicy[];
    scaleUpSelectPolicy?: 'Max' | 'Min' | 'Disabled';
    scaleDownSelectPolicy?: 'Max' | 'Min' | 'Disabled';
  };
  /** Deployment.spec.strategy.rollingUpdate (a count or a percentage such as "25%") */
  maxSurge?: number | string;
  maxUnavailable?: number | string;
  terminationGracePeriodSeconds?: number;
  /** container resources.limits.cpu, millicores; null renders no CPU limit at all */
  cpuLimitMillicores?: number | null;
  /** container resources.requests.cpu, millicores (also the HPA's utilisation denominator) */
  cpuRequestMillicores?: number;
  /** Service.spec.sessionAffinityConfig.clientIP.timeoutSeconds (ClientIP variants) */
  affinityTimeoutSeconds?: number;
  rttMs?: number;
  /** route rc through an L7 proxy on Mcp-Method (the HTTPRoute) instead of the L4 Service */
  methodRouting?: boolean;
  /** route legacy-sticky through an L7 proxy hashing Mcp-Session-Id instead of ClientIP affinity */
  sessionHash?: boolean;
}

function render(file: string, vars: Record<string, string>): K8sObject[] {
  const text = readFileSync(`${manifestDir}${file}`, 'utf8').replace(/\$\{([A-Z_]+)\}/g, (_, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new Error(`${file}: no value for placeholder \${${k}}`);
    return v;
  });
  return parseAllDocuments(text).map((d) => d.toJS() as K8sObject);
}

/**
 * A server that is not ours runs the user's image with its own entry point, env, port and probes
 * (or none); the rest of the objects (strategy, preStop, PDB, Service, HPA) stay the manifests'.
 *
 * The image is used as it is (`imagePullPolicy: IfNotPresent`): kind loads it into the node first, a
 * kube cluster has it or pulls it. Readiness `mcp` is a tcpSocket probe on the container port: a
 * kubelet httpGet counts only 200-399, and an MCP endpoint answers a bare GET with 400 or 405, so
 * "accepts connections" is the most a probe can ask of any server (the local provider asks for an
 * HTTP answer below 500 on the MCP path). Of the preparation for disruption, the preStop delay, the
 * grace period and the PodDisruptionBudget need nothing from the server; turning unready on SIGTERM
 * while still serving, `Connection: close` and the drain of in-flight work are the server's own
 * (the report says so), so a server that exits on SIGTERM drops what it was serving.
 */
function foreignContainer(deployment: K8sObject, container: K8sObject, d: VariantDefinition): void {
  const f = d.foreign;
  if (!f) throw new Error(`${d.name}: a foreign variant needs its server described`);
  deployment.metadata.annotations = { ...deployment.metadata.annotations, 'mcpbench/server': 'foreign' };
  container.image = f.kube?.image ?? `mcpbench-byo/${d.name}:no-image-given`;
  container.imagePullPolicy = 'IfNotPresent';
  delete container.args;
  container.ports = [{ name: 'http', containerPort: f.kube?.containerPort ?? 8080 }];
  container.env = Object.entries(f.kube?.env ?? {}).map(([name, value]) => ({ name, value }));
  if (d.redis && f.redisEnv) container.env.push({ name: f.redisEnv, value: 'redis://mcp-redis:6379' });
  container.readinessProbe =
    f.readiness === 'mcp'
      ? { tcpSocket: { port: 'http' }, periodSeconds: 1, failureThreshold: 1 }
      : { httpGet: { path: f.readiness.httpPath, port: 'http' }, periodSeconds: 1, failureThreshold: 1 };
  if (f.livenessPath === null) delete container.livenessProbe;
  else container.livenessProbe.httpGet.path = f.livenessPath;
}

/** The rendered Deployment, PodDisruptionBudget, Service and HPA of one variant, with the overrides applied. */
export function variantObjects(name: VariantName, overrides: VariantOverrides = {}): K8sObject[] {
  const shape = definitionOf(name, overrides.definition);
  const objects = render('variant.yaml', {
    VARIANT: name,
    SERVER: shape.server === 'foreign' ? 'rc' : shape.server,
    IMAGE: overrides.image ?? `mcpbench/server:dev`,
    REPLICAS: String(overrides.replicas ?? 2),
    STORE: shape.store,
    AFFINITY: shape.routing === 'client-ip' ? 'ClientIP' : 'None',
  });
  const deployment = objects.find((o) => o.kind === 'Deployment') as K8sObject;
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  if (shape.server === 'foreign') foreignContainer(deployment, container, shape);
  for (const [k, v] of Object.entries(overrides.env ?? {})) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(k))
      throw new Error(`env: "${k}" is not a valid environment variable name`);
    const existing = container.env.find((e: { name: string }) => e.name === k);
    if (existing) existing.value = String(v);
    else container.env.push({ name: k, value: String(v) });
  }
  const mode = overrides.deployment ?? 'prepared';
  deployment.metadata.annotations = { ...deployment.metadata.annotations, 'mcpbench/deployment': mode };
  if (mode === 'unprepared') {
    delete container.lifecycle;
    container.env = container.env.filter((e: { name: string }) => e.name !== 'MCPBENCH_SHUTDOWN_DELAY_MS');
    pod.terminationGracePeriodSeconds = UNPREPARED_TERMINATION_GRACE_SECONDS;
    objects.splice(
      objects.findIndex((o) => o.kind === 'PodDisruptionBudget'),
      1,
    );
  } else {
    // The grace period covers the preStop delay, the shutdown delay and the drain (as the env sets
    // them), plus a second: the kubelet counts preStop inside the grace period.
    const envMs = (k: string) =>
      Number(container.env.find((e: { name: string; value?: string }) => e.name === k)?.value ?? 0);
    const needed =
      Math.ceil(
        (container.lifecycle?.preStop?.sleep?.seconds ?? 0) +
          (envMs('MCPBENCH_SHUTDOWN_DELAY_MS') + envMs('MCPBENCH_SHUTDOWN_GRACE_MS')) / 1000,
      ) + 1;
    pod.terminationGracePeriodSeconds = Math.max(pod.terminationGracePeriodSeconds ?? 30, needed);
  }
  const rolling = deployment.spec.strategy.rollingUpdate;
  if (overrides.maxSurge !== undefined) rolling.maxSurge = overrides.maxSurge;
  if (overrides.maxUnavailable !== undefined) rolling.maxUnavailable = overrides.maxUnavailable;
  if (overrides.terminationGracePeriodSeconds !== undefined)
    pod.terminationGracePeriodSeconds = overrides.terminationGracePeriodSeconds;
  applyCpuResources(name, container, overrides);
  const service = objects.find((o) => o.kind === 'Service') as K8sObject;
  if (service.spec.sessionAffinity !== 'ClientIP') delete service.spec.sessionAffinityConfig;
  else if (overrides.affinityTimeoutSeconds !== undefined)
    service.spec.sessionAffinityConfig.clientIP.timeoutSeconds = overrides.affinityTimeoutSeconds;
  const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler') as K8sObject;
  if (overrides.hpa) {
    const h = overrides.hpa;
    if (h.minReplicas !== undefined) hpa.spec.minReplicas = h.minReplicas;
    if (h.maxReplicas !== undefined) hpa.spec.maxReplicas = h.maxReplicas;
    if (h.targetCpuUtilization !== undefined) {
      hpa.spec.metrics[0].resource.target.averageUtilization = h.targetCpuUtilization;
    }
    if (h.scaleUpStabilizationSeconds !== undefined) {
      hpa.spec.behavior.scaleUp.stabilizationWindowSeconds = h.scaleUpStabilizationSeconds;
    }
    if (h.scaleDownStabilizationSeconds !== undefined) {
      hpa.spec.behavior.scaleDown.stabilizationWindowSeconds = h.scaleDownStabilizationSeconds;
    }
    if (h.scaleUpPolicies) hpa.spec.behavior.scaleUp.policies = h.scaleUpPolicies.map((p) => ({ ...p }));
    if (h.scaleDownPolicies)
      hpa.spec.behavior.scaleDown.policies = h.scaleDownPolicies.map((p) => ({ ...p }));
    if (h.scaleUpSelectPolicy) hpa.spec.behavior.scaleUp.selectPolicy = h.scaleUpSelectPolicy;
    if (h.scaleDownSelectPolicy) hpa.spec.behavior.scaleDown.selectPolicy = h.scaleDownSelectPolicy;
    // Controller and metrics-server flags, not HPA fields (--horizontal-pod-autoscaler-sync-period,
    // -cpu-initialization-period, -tolerance, -initial-readiness-delay; metrics-server --metric-resolution):
    // recorded as annotations so every provider reads the same values (kind builds its cluster from them).
    hpa.metadata.annotations = {
      ...(h.syncPeriodSeconds !== undefined
        ? { 'mcpbench/sync-period-seconds': String(h.syncPeriodSeconds) }
        : {}),
      ...(h.cpuInitializationSeconds !== undefined
        ? { 'mcpbench/cpu-initialization-seconds': String(h.cpuInitializationSeconds) }
        : {}),
      ...(h.tolerance !== undefined ? { 'mcpbench/tolerance': String(h.tolerance) } : {}),
      ...(h.initialReadinessDelaySeconds !== undefined
        ? { 'mcpbench/initial-readiness-delay-seconds': String(h.initialReadinessDelaySeconds) }
        : {}),
      ...(h.metricResolutionSeconds !== undefined
        ? { 'mcpbench/metric-resolution-seconds': String(h.metricResolutionSeconds) }
        : {}),
    };
    validateHpa(name, hpa);
    return objects;
  }
  return objects.filter((o) => o.kind !== 'HorizontalPodAutoscaler');
}

/** The Indexed Job of a trial's in-cluster load generators (generator.yaml), with the spec every pod reads. */
export function generatorJobObjects(options: {
  name: string;
  image?: string;
  count: number;
  cpuRequestMillicores: number;
  cpuLimitMillicores: number;
  specJson: string;
}): K8sObject[] {
  const objects = render('generator.yaml', {
    NAME: options.name,
    IMAGE: options.image ?? 'mcpbench/server:dev',
    COUNT: String(options.count),
    CPU_REQUEST: `${options.cpuRequestMillicores}m`,
    CPU_LIMIT: `${options.cpuLimitMillicores}m`,
  });
  const container = (objects[0] as K8sObject).spec.template.spec.containers[0];
  container.env.find((e: { name: string }) => e.name === 'MCPBENCH_GENERATOR_SPEC').value = options.specJson;
  return objects;
}

export function redisObjects(image = 'mcpbench/redis:dev'): K8sObject[] {
  return render('redis.yaml', { REDIS_IMAGE: image });
}

/**
 * The Gateway API objects of a variant's L7 routing (httproute.yaml): its HTTPRoute, the one source of
 * the rules every gateway carries out, and, given the cluster's GatewayClass, the Gateway it attaches to.
 */
export function httpRouteObjects(
  name: VariantName,
  routing: L7Routing,
  gatewayClassName?: string,
): K8sObject[] {
  const objects = render('httproute.yaml', { VARIANT: name, GATEWAY_CLASS: gatewayClassName ?? 'none' });
  return objects.filter((o) =>
    o.kind === 'Gateway'
      ? gatewayClassName !== undefined
      : o.metadata?.labels?.['mcpbench/routing'] === routing,
  );
}

/** The routing rules of a variant's rendered HTTPRoute (cluster/l7-rules.ts). */
export function l7RulesOf(name: VariantName, routing: L7Routing): L7Rules {
  const route = httpRouteObjects(name, routing).find((o) => o.kind === 'HTTPRoute');
  if (!route) throw new Error(`httproute.yaml: no HTTPRoute labelled mcpbench/routing: ${routing}`);
  return rulesFromHttpRoute(route);
}

/**
 * The L7 gateway that carries out the variant's HTTPRoute where no Gateway API controller is
 * installed: HAProxy in front of the variant's pods (gateway.yaml), its rules derived from the route.
 */
export function gatewayObjects(
  name: VariantName,
  routing: L7Routing,
  namespace: string,
  image = 'mcpbench/gateway:dev',
  /** the port the variant's pods listen on (a server that is not ours: its containerPort) */
  podPort = 8080,
): K8sObject[] {
  // HAProxy balances per pod: it resolves the pods behind the backendRef's Service through the
  // headless Service gateway.yaml adds next to it (<service>-pods).
  const servers = (service: string) =>
    `server-template pod 16 ${service}-pods.${namespace}.svc.cluster.local:${podPort} resolvers kube init-addr none check inter 1s`;
  const rules = l7RulesOf(name, routing);
  for (const rule of rules.rules)
    if (rule.backend !== `mcp-${name}`)
      throw new Error(
        `httproute.yaml: rule ${rule.name} routes to ${rule.backend}; the ${name} gateway reaches only mcp-${name}`,
      );
  return render('gateway.yaml', {
    VARIANT: name,
    NAMESPACE: namespace,
    GATEWAY_IMAGE: image,
    ROUTING_RULES: haproxyRouting(rules, servers).join('\n    '),
  });
}

/**
 * A Kubernetes CPU quantity ("250m", "0.5", "1", or a YAML number of cores) in whole millicores, as
 * the API server reads it; throws on anything else (the message says what was given). The API server
 * refuses a precision finer than 1m.
 */
export function cpuMillicores(cpu: unknown): number {
  let m: number;
  if (typeof cpu === 'number') m = cpu * 1000;
  else if (typeof cpu === 'string' && /^\d+m$/.test(cpu.trim())) m = Number(cpu.trim().slice(0, -1));
  else if (typeof cpu === 'string' && /^(\d+(\.\d*)?|\.\d+)$/.test(cpu.trim())) m = Number(cpu.trim()) * 1000;
  else
    throw new Error(
      `${JSON.stringify(cpu)} is not a CPU quantity (write millicores such as 500m, or cores such as 0.5 or 2)`,
    );
  if (!Number.isFinite(m) || Math.abs(m - Math.round(m)) > 1e-9)
    throw new Error(`${JSON.stringify(cpu)}: CPU quantities are whole millicores (1m is the finest)`);
  return Math.round(m);
}
const millicores = cpuMillicores;

/**
 * The smallest CPU figure a pod may ask for here: a CFS quota below 1 ms per 100 ms period is refused
 * by the kernel (cpu.cfs_quota_us ≥ 1000), so 10m is the least a limit can enforce.
 */
export const MIN_CPU_MILLICORES = 10;

/** resources.requests.cpu / resources.limits.cpu from the overrides, checked as the API server would. */
function applyCpuResources(name: VariantName, container: K8sObject, overrides: VariantOverrides): void {
  container.resources ??= {};
  container.resources.requests ??= {};
  container.resources.limits ??= {};
  const check = (field: string, m: number) => {
    if (!(Number.isInteger(m) && m >= MIN_CPU_MILLICORES))
      throw new Error(
        `${name}: ${field} must be a whole number of millicores ≥ ${MIN_CPU_MILLICORES} (got ${m})`,
      );
  };
  if (overrides.cpuRequestMillicores !== undefined) {
    check('cpuRequestMillicores', overrides.cpuRequestMillicores);
    container.resources.requests.cpu = `${overrides.cpuRequestMillicores}m`;
  }
  if (overrides.cpuLimitMillicores === null) delete container.resources.limits.cpu;
  else if (overrides.cpuLimitMillicores !== undefined) {
    check('cpuLimitMillicores', overrides.cpuLimitMillicores);
    container.resources.limits.cpu = `${overrides.cpuLimitMillicores}m`;
  }
  const request = container.resources.requests.cpu;
  const limit = container.resources.limits.cpu;
  if (request !== undefined && limit !== undefined && millicores(request) > millicores(limit))
    throw new Error(
      `${name}: the CPU request (${millicores(request)}m) is above the CPU limit (${millicores(limit)}m); the API server refuses that`,
    );
}

const intOrPercent = (v: number | string, of: number, roundUp: boolean): number => {
  if (typeof v === 'number') return v;
  const pct = Number(v.replace('%', '')) / 100;
  return roundUp ? Math.ceil(pct * of) : Math.floor(pct * of);
};

/** The API server's defaults for an HPA behaviour left out (autoscaling/v2 SetDefaults). */
const DEFAULT_SCALE_UP: HpaPolicy[] = [
  { type: 'Pods', value: 4, periodSeconds: 15 },
  { type: 'Percent', value: 100, periodSeconds: 15 },
];
const DEFAULT_SCALE_DOWN: HpaPolicy[] = [{ type: 'Percent', value: 100, periodSeconds: 15 }];

function policies(
  list: Array<{ type: string; value: number; periodSeconds: number }> | undefined,
  defaults: HpaPolicy[],
): HpaPolicy[] {
  if (!list || list.length === 0) return defaults.map((p) => ({ ...p }));
  return list.map((p) => ({
    type: p.type as HpaPolicy['type'],
    value: p.value,
    periodSeconds: p.periodSeconds,
  }));
}

/** What the API server would refuse, named by field, before anything is started or applied. */
function validateHpa(variant: VariantName, hpa: K8sObject): void {
  const fail = (field: string, why: string) => {
    throw new Error(`${variant}: hpa.${field} ${why}`);
  };
  const { minReplicas, maxReplicas } = hpa.spec;
  if (!Number.isInteger(minReplicas) || minReplicas < 1)
    fail('minReplicas', `must be an integer ≥ 1 (got ${minReplicas})`);
  if (!Number.isInteger(maxReplicas) || maxReplicas < minReplicas)
    fail('maxReplicas', `must be an integer ≥ minReplicas (got ${maxReplicas})`);
  const target = hpa.spec.metrics[0].resource.target.averageUtilization;
  if (!Number.isInteger(target) || target < 1)
    fail('targetCpuUtilization', `must be an integer ≥ 1 (got ${target})`);
  for (const dir of ['scaleUp', 'scaleDown'] as const) {
    const rules = hpa.spec.behavior[dir];
    const w = rules.stabilizationWindowSeconds;
    if (!(Number.isInteger(w) && w >= 0 && w <= 3600))
      fail(`${dir}StabilizationSeconds`, `must be an integer in 0..3600 (got ${w})`);
    if (!['Max', 'Min', 'Disabled'].includes(rules.selectPolicy))
      fail(`${dir}SelectPolicy`, `must be Max, Min or Disabled (got ${rules.selectPolicy})`);
    for (const p of rules.policies ?? []) {
      if (p.type !== 'Pods' && p.type !== 'Percent')
        fail(`${dir}Policies`, `type must be Pods or Percent (got ${p.type})`);
      if (!(Number.isInteger(p.value) && p.value > 0))
        fail(`${dir}Policies`, `value must be an integer > 0 (got ${p.value})`);
      if (!(Number.isInteger(p.periodSeconds) && p.periodSeconds > 0 && p.periodSeconds <= 1800))
        fail(`${dir}Policies`, `periodSeconds must be an integer in 1..1800 (got ${p.periodSeconds})`);
    }
  }
}

/** Derives what the local provider needs from the rendered objects (never from anything else). */
export function variantSpecFromObjects(
  name: VariantName,
  objects: K8sObject[],
  extra: {
    rttMs?: number;
    methodRouting?: boolean;
    sessionHash?: boolean;
    definition?: VariantDefinition;
  } = {},
): VariantSpec {
  const deployment = objects.find((o) => o.kind === 'Deployment');
  const service = objects.find((o) => o.kind === 'Service');
  if (!deployment || !service) throw new Error(`${name}: manifests need a Deployment and a Service`);
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const env: Record<string, string> = {};
  for (const e of container.env as Array<{ name: string; value?: string }>) {
    if (e.value !== undefined && !['MCPBENCH_HOST', 'MCPBENCH_PORT', 'MCPBENCH_REDIS_URL'].includes(e.name))
      env[e.name] = e.value;
  }
  const replicas = Number(deployment.spec.replicas);
  const rolling = deployment.spec.strategy?.rollingUpdate ?? {};
  const hpaObj = objects.find((o) => o.kind === 'HorizontalPodAutoscaler');
  const foreign = deployment.metadata.annotations?.['mcpbench/server'] === 'foreign';
  const server: VariantSpec['server'] = foreign
    ? 'foreign'
    : String(container.args.at(-1)).includes('/legacy/')
      ? 'legacy'
      : 'rc';
  const definition = definitionOf(name, extra.definition);
  let hpa: HpaSpec | undefined;
  if (hpaObj) {
    if (container.resources?.requests?.cpu === undefined)
      throw new Error(`${name}: an HPA on CPU utilisation needs the container's resources.requests.cpu`);
    const b = hpaObj.spec.behavior ?? {};
    hpa = {
      minReplicas: hpaObj.spec.minReplicas ?? 1,
      maxReplicas: hpaObj.spec.maxReplicas,
      targetCpuUtilization: hpaObj.spec.metrics[0].resource.target.averageUtilization,
      cpuRequestMillicores: millicores(container.resources.requests.cpu),
      syncPeriodSeconds: Number(hpaObj.metadata.annotations?.['mcpbench/sync-period-seconds'] ?? 15),
      cpuInitializationSeconds: Number(
        hpaObj.metadata.annotations?.['mcpbench/cpu-initialization-seconds'] ?? 300,
      ),
      tolerance: Number(hpaObj.metadata.annotations?.['mcpbench/tolerance'] ?? 0.1),
      initialReadinessDelaySeconds: Number(
        hpaObj.metadata.annotations?.['mcpbench/initial-readiness-delay-seconds'] ?? 30,
      ),
      metricResolutionSeconds: Number(
        hpaObj.metadata.annotations?.['mcpbench/metric-resolution-seconds'] ?? 15,
      ),
      scaleUp: {
        stabilizationWindowSeconds: b.scaleUp?.stabilizationWindowSeconds ?? 0,
        policies: policies(b.scaleUp?.policies, DEFAULT_SCALE_UP),
        selectPolicy: b.scaleUp?.selectPolicy ?? 'Max',
      },
      scaleDown: {
        stabilizationWindowSeconds: b.scaleDown?.stabilizationWindowSeconds ?? 300,
        policies: policies(b.scaleDown?.policies, DEFAULT_SCALE_DOWN),
        selectPolicy: b.scaleDown?.selectPolicy ?? 'Max',
      },
    };
  }
  const routing: VariantSpec['routing'] =
    foreign && definition.routing === 'l7'
      ? definition.protocol === '2025-11-25'
        ? 'session-hash'
        : 'mcp-method'
      : extra.methodRouting && server === 'rc'
        ? 'mcp-method'
        : service.spec.sessionAffinity === 'ClientIP'
          ? extra.sessionHash
            ? 'session-hash'
            : 'client-ip'
          : 'round-robin';
  const liveness = container.livenessProbe;
  const limit = container.resources?.limits?.cpu;
  const request = container.resources?.requests?.cpu;
  return {
    name,
    server,
    protocol: definition.protocol,
    ...(definition.foreign ? { foreign: definition.foreign } : {}),
    deployment:
      deployment.metadata.annotations?.['mcpbench/deployment'] === 'unprepared' ? 'unprepared' : 'prepared',
    preStopSleepSeconds: Number(container.lifecycle?.preStop?.sleep?.seconds ?? 0),
    replicas,
    env,
    maxSurge: intOrPercent(rolling.maxSurge ?? '25%', replicas, true),
    maxUnavailable: intOrPercent(rolling.maxUnavailable ?? '25%', replicas, false),
    terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds ?? 30,
    routing,
    redis: foreign ? definition.redis : env.MCPBENCH_STORE === 'redis' || server === 'rc',
    hpa,
    rttMs: extra.rttMs,
    ...(service.spec.sessionAffinity === 'ClientIP'
      ? {
          sessionAffinityTimeoutSeconds:
            service.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10_800,
        }
      : {}),
    ...(liveness
      ? {
          livenessProbe: {
            periodSeconds: liveness.periodSeconds ?? 10,
            timeoutSeconds: liveness.timeoutSeconds ?? 1,
            failureThreshold: liveness.failureThreshold ?? 3,
          },
        }
      : {}),
    ...(limit !== undefined ? { cpuLimitMillicores: millicores(limit) } : {}),
    ...(request !== undefined ? { cpuRequestMillicores: millicores(request) } : {}),
  };
}

export function variantSpec(name: VariantName, overrides: VariantOverrides = {}): VariantSpec {
  definitionOf(name, overrides.definition);
  if (overrides.replicas !== undefined && !(Number.isInteger(overrides.replicas) && overrides.replicas >= 1))
    throw new Error(`${name}: replicas must be an integer ≥ 1 (got ${overrides.replicas})`);
  if (overrides.rttMs !== undefined && !(overrides.rttMs >= 0))
    throw new Error(`${name}: rttMs must be ≥ 0 (got ${overrides.rttMs})`);
  return variantSpecFromObjects(name, variantObjects(name, overrides), overrides);
}

/**
 * The overrides that render a VariantSpec's objects again (kind/kube apply exactly what the local
 * provider followed): variantObjects(spec.name, overridesFromSpec(spec)).
 */
export function overridesFromSpec(spec: VariantSpec): VariantOverrides {
  const definition = builtinVariant(spec.name) ? undefined : definitionOfSpec(spec);
  return {
    ...(definition ? { definition } : {}),
    deployment: spec.deployment,
    replicas: spec.replicas,
    env: spec.env,
    maxSurge: spec.maxSurge,
    maxUnavailable: spec.maxUnavailable,
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
    cpuLimitMillicores: spec.cpuLimitMillicores ?? null,
    ...(spec.cpuRequestMillicores !== undefined
      ? { cpuRequestMillicores: spec.cpuRequestMillicores }
      : spec.hpa
        ? { cpuRequestMillicores: spec.hpa.cpuRequestMillicores }
        : {}),
    ...(spec.sessionAffinityTimeoutSeconds !== undefined
      ? { affinityTimeoutSeconds: spec.sessionAffinityTimeoutSeconds }
      : {}),
    ...(spec.rttMs !== undefined ? { rttMs: spec.rttMs } : {}),
    methodRouting: spec.routing === 'mcp-method',
    sessionHash: spec.routing === 'session-hash',
    ...(spec.hpa
      ? {
          hpa: {
            minReplicas: spec.hpa.minReplicas,
            maxReplicas: spec.hpa.maxReplicas,
            targetCpuUtilization: spec.hpa.targetCpuUtilization,
            syncPeriodSeconds: spec.hpa.syncPeriodSeconds,
            cpuInitializationSeconds: spec.hpa.cpuInitializationSeconds,
            tolerance: spec.hpa.tolerance,
            ...(spec.hpa.initialReadinessDelaySeconds !== undefined
              ? { initialReadinessDelaySeconds: spec.hpa.initialReadinessDelaySeconds }
              : {}),
            ...(spec.hpa.metricResolutionSeconds !== undefined
              ? { metricResolutionSeconds: spec.hpa.metricResolutionSeconds }
              : {}),
            scaleUpStabilizationSeconds: spec.hpa.scaleUp.stabilizationWindowSeconds,
            scaleDownStabilizationSeconds: spec.hpa.scaleDown.stabilizationWindowSeconds,
            scaleUpPolicies: spec.hpa.scaleUp.policies,
            scaleDownPolicies: spec.hpa.scaleDown.policies,
            scaleUpSelectPolicy: spec.hpa.scaleUp.selectPolicy,
            scaleDownSelectPolicy: spec.hpa.scaleDown.selectPolicy,
          },
        }
      : {}),
  };
}

/** A foreign variant's record again, from its spec (overridesFromSpec renders the same objects). */
function definitionOfSpec(spec: VariantSpec): VariantDefinition {
  return {
    name: spec.name,
    protocol: spec.protocol,
    server: spec.server,
    store: 'memory',
    routing: spec.routing === 'client-ip' ? 'client-ip' : spec.routing === 'round-robin' ? 'none' : 'l7',
    redis: spec.redis,
    ...(spec.foreign ? { foreign: spec.foreign } : {}),
  };
}
