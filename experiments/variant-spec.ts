import { type DeploymentMode, variantSpec } from '../cluster/manifests.js';
import type { VariantName, VariantSpec } from '../cluster/provider.js';
import type { VariantDefinition } from '../cluster/variants.js';
import type { ExperimentCase, ExperimentDefinition } from './definitions.js';

/** An experiment's deployment of one variant, rendered through the shared manifests. */
export function variantSpecFor(
  def: ExperimentDefinition,
  c: ExperimentCase,
  variant: VariantName,
  options: { l7?: boolean; deployment?: DeploymentMode; definition?: VariantDefinition } = {},
): VariantSpec {
  const d = options.definition;
  const foreign = d?.server === 'foreign';
  return variantSpec(variant, {
    ...(d ? { definition: d } : {}),
    deployment: options.deployment,
    replicas: def.hpa ? def.hpa.minReplicas : (c.replicas ?? d?.replicas ?? def.replicas),
    // The experiments' MCPBENCH_* settings configure our servers; a foreign one has its own env.
    env: foreign ? {} : { ...def.serverEnv, ...c.serverEnv },
    hpa: def.hpa,
    // The pod's CPU request and limit: the container's resources, the HPA's denominator, and on local
    // the CFS quota of each replica. Absent fields keep the manifests' defaults.
    ...(def.resources?.cpuRequestMillicores !== undefined
      ? { cpuRequestMillicores: def.resources.cpuRequestMillicores }
      : {}),
    ...(def.resources?.cpuLimitMillicores !== undefined
      ? { cpuLimitMillicores: def.resources.cpuLimitMillicores }
      : {}),
    rttMs: c.rttMs ?? def.rttMs,
    methodRouting: options.l7,
    sessionHash: options.l7,
  });
}
