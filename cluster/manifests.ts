import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { HpaPolicy, HpaSpec, VariantName, VariantSpec } from './provider.js';

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

/** What makes each variant what it is (design notes, "The deployments under test"). */
const VARIANT_SHAPE: Record<
  VariantName,
  { server: 'legacy' | 'rc'; store: 'memory' | 'redis'; affinity: 'ClientIP' | 'None' }
> = {
  'legacy-sticky': { server: 'legacy', store: 'memory', affinity: 'ClientIP' },
  'legacy-redis': { server: 'legacy', store: 'redis', affinity: 'None' },
  rc: { server: 'rc', store: 'redis', affinity: 'None' },
};

export interface VariantOverrides {
  replicas?: number;
  /** MCPBENCH_* variables added to the container env (override the manifest's) */
  env?: Record<string, string>;
  image?: string;
  hpa?: Partial<Omit<HpaSpec, 'scaleUp' | 'scaleDown'>> & {
    scaleUpStabilizationSeconds?: number;
    scaleDownStabilizationSeconds?: number;
  };
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

/** The rendered Deployment, Service and HPA of one variant, with the overrides applied. */
export function variantObjects(name: VariantName, overrides: VariantOverrides = {}): K8sObject[] {
  const shape = VARIANT_SHAPE[name];
  const objects = render('variant.yaml', {
    VARIANT: name,
    SERVER: shape.server,
    IMAGE: overrides.image ?? `mcpbench/server:dev`,
    REPLICAS: String(overrides.replicas ?? 2),
    STORE: shape.store,
    AFFINITY: shape.affinity,
  });
  const deployment = objects.find((o) => o.kind === 'Deployment') as K8sObject;
  const container = deployment.spec.template.spec.containers[0];
  for (const [k, v] of Object.entries(overrides.env ?? {})) {
    const existing = container.env.find((e: { name: string }) => e.name === k);
    if (existing) existing.value = v;
    else container.env.push({ name: k, value: v });
  }
  const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler') as K8sObject;
  if (overrides.hpa) {
    const h = overrides.hpa;
    if (h.minReplicas !== undefined) hpa.spec.minReplicas = h.minReplicas;
    if (h.maxReplicas !== undefined) hpa.spec.maxReplicas = h.maxReplicas;
    if (h.targetCpuUtilization !== undefined) {
      hpa.spec.metrics[0].resource.target.averageUtilization = h.targetCpuUtilization;
    }
    if (h.cpuRequestMillicores !== undefined) container.resources.requests.cpu = `${h.cpuRequestMillicores}m`;
    if (h.scaleUpStabilizationSeconds !== undefined) {
      hpa.spec.behavior.scaleUp.stabilizationWindowSeconds = h.scaleUpStabilizationSeconds;
    }
    if (h.scaleDownStabilizationSeconds !== undefined) {
      hpa.spec.behavior.scaleDown.stabilizationWindowSeconds = h.scaleDownStabilizationSeconds;
    }
    // Controller flags, not HPA fields (--horizontal-pod-autoscaler-sync-period, -cpu-initialization-period):
    // recorded as annotations so every provider reads the same values.
    hpa.metadata.annotations = {
      ...(h.syncPeriodSeconds !== undefined
        ? { 'mcpbench/sync-period-seconds': String(h.syncPeriodSeconds) }
        : {}),
      ...(h.cpuInitializationSeconds !== undefined
        ? { 'mcpbench/cpu-initialization-seconds': String(h.cpuInitializationSeconds) }
        : {}),
    };
    return objects;
  }
  return objects.filter((o) => o.kind !== 'HorizontalPodAutoscaler');
}

export function redisObjects(image = 'mcpbench/redis:dev'): K8sObject[] {
  return render('redis.yaml', { REDIS_IMAGE: image });
}

export function httpRouteObjects(): K8sObject[] {
  return render('httproute.yaml', {});
}

const millicores = (cpu: string | number): number =>
  typeof cpu === 'number' ? cpu * 1000 : cpu.endsWith('m') ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000;

const intOrPercent = (v: number | string, of: number, roundUp: boolean): number => {
  if (typeof v === 'number') return v;
  const pct = Number(v.replace('%', '')) / 100;
  return roundUp ? Math.ceil(pct * of) : Math.floor(pct * of);
};

function policies(
  list: Array<{ type: string; value: number; periodSeconds: number }> | undefined,
): HpaPolicy[] {
  return (list ?? []).map((p) => ({
    type: p.type as HpaPolicy['type'],
    value: p.value,
    periodSeconds: p.periodSeconds,
  }));
}

/** Derives what the local provider needs from the rendered objects (never from anything else). */
export function variantSpecFromObjects(
  name: VariantName,
  objects: K8sObject[],
  extra: { rttMs?: number; methodRouting?: boolean; sessionHash?: boolean } = {},
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
  const server = String(container.args.at(-1)).includes('/legacy/') ? 'legacy' : 'rc';
  let hpa: HpaSpec | undefined;
  if (hpaObj) {
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
      tolerance: 0.1,
      scaleUp: {
        stabilizationWindowSeconds: b.scaleUp?.stabilizationWindowSeconds ?? 0,
        policies: policies(b.scaleUp?.policies),
        selectPolicy: b.scaleUp?.selectPolicy ?? 'Max',
      },
      scaleDown: {
        stabilizationWindowSeconds: b.scaleDown?.stabilizationWindowSeconds ?? 300,
        policies: policies(b.scaleDown?.policies),
        selectPolicy: b.scaleDown?.selectPolicy ?? 'Max',
      },
    };
  }
  const routing: VariantSpec['routing'] =
    extra.methodRouting && server === 'rc'
      ? 'mcp-method'
      : service.spec.sessionAffinity === 'ClientIP'
        ? extra.sessionHash
          ? 'session-hash'
          : 'client-ip'
        : 'round-robin';
  return {
    name,
    server,
    replicas,
    env,
    maxSurge: intOrPercent(rolling.maxSurge ?? '25%', replicas, true),
    maxUnavailable: intOrPercent(rolling.maxUnavailable ?? '25%', replicas, false),
    terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds ?? 30,
    routing,
    redis: env.MCPBENCH_STORE === 'redis' || server === 'rc',
    hpa,
    rttMs: extra.rttMs,
  };
}

export function variantSpec(name: VariantName, overrides: VariantOverrides = {}): VariantSpec {
  return variantSpecFromObjects(name, variantObjects(name, overrides), overrides);
}
