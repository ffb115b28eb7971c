import { describe, expect, it } from 'vitest';
import {
  cpuMillicores,
  overridesFromSpec,
  variantObjects,
  variantSpec,
  variantSpecFromObjects,
} from './manifests.js';
import { VARIANT_NAMES } from './provider.js';

/** What the preparation changes: the kinds rendered, and the pod's life-cycle fields. */
const shape = (objects: ReturnType<typeof variantObjects>) => {
  const deployment = objects.find((o) => o.kind === 'Deployment')!;
  const pod = deployment.spec.template.spec;
  return {
    kinds: objects.map((o) => o.kind),
    annotations: deployment.metadata.annotations,
    grace: pod.terminationGracePeriodSeconds,
    lifecycle: pod.containers[0].lifecycle,
    env: pod.containers[0].env,
  };
};

describe('manifests are the source of truth', () => {
  it('derives each variant from its Deployment, Service and HPA objects', () => {
    const sticky = variantSpec('legacy-sticky', { replicas: 3 });
    expect(sticky).toMatchObject({
      server: 'legacy',
      replicas: 3,
      routing: 'client-ip',
      redis: false,
      maxSurge: 1,
      maxUnavailable: 1,
    });
    expect(sticky.env.MCPBENCH_STORE).toBe('memory');
    expect(variantSpec('legacy-redis')).toMatchObject({ routing: 'round-robin', redis: true });
    expect(variantSpec('rc')).toMatchObject({
      server: 'rc',
      routing: 'round-robin',
      redis: true,
      hpa: undefined,
    });
  });

  it('follows an edited object, not a hard-coded default', () => {
    const objects = variantObjects('rc', { replicas: 4 });
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    deployment.spec.strategy.rollingUpdate = { maxSurge: '50%', maxUnavailable: 0 };
    deployment.spec.template.spec.terminationGracePeriodSeconds = 30;
    const spec = variantSpecFromObjects('rc', objects);
    expect(spec).toMatchObject({ maxSurge: 2, maxUnavailable: 0, terminationGracePeriodSeconds: 30 });
  });

  it('renders the HPA behaviour the experiment asks for', () => {
    const spec = variantSpec('rc', {
      hpa: {
        minReplicas: 1,
        maxReplicas: 6,
        targetCpuUtilization: 60,
        scaleDownStabilizationSeconds: 5,
        syncPeriodSeconds: 2,
      },
      env: { MCPBENCH_TOOL_CPU_MS: '3' },
    });
    expect(spec.hpa).toMatchObject({
      minReplicas: 1,
      maxReplicas: 6,
      targetCpuUtilization: 60,
      syncPeriodSeconds: 2,
    });
    expect(spec.hpa?.scaleDown.stabilizationWindowSeconds).toBe(5);
    expect(spec.env.MCPBENCH_TOOL_CPU_MS).toBe('3');
  });

  it('prepares every variant for disruption: preStop, shutdown delay, grace period to match, PDB', () => {
    for (const name of VARIANT_NAMES) {
      const objects = variantObjects(name, { replicas: 3 });
      const deployment = objects.find((o) => o.kind === 'Deployment')!;
      const pod = deployment.spec.template.spec;
      const container = pod.containers[0];
      const env = (k: string) => Number(container.env.find((e: { name: string }) => e.name === k)?.value);
      expect(deployment.metadata.annotations['mcpbench/deployment']).toBe('prepared');
      expect(container.lifecycle).toEqual({ preStop: { sleep: { seconds: 2 } } });
      expect(env('MCPBENCH_SHUTDOWN_DELAY_MS')).toBe(1000);
      // The server stays unready and serving for the delay, and the probe looks often enough to see it.
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container.readinessProbe.periodSeconds * 1000).toBeLessThanOrEqual(
        env('MCPBENCH_SHUTDOWN_DELAY_MS'),
      );
      expect(pod.terminationGracePeriodSeconds).toBe(8);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
        2 + (env('MCPBENCH_SHUTDOWN_DELAY_MS') + env('MCPBENCH_SHUTDOWN_GRACE_MS')) / 1000,
      );
      const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget')!;
      expect(pdb.apiVersion).toBe('policy/v1');
      expect(pdb.spec.maxUnavailable).toBe(1);
      expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
      expect(deployment.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
      expect(variantSpec(name)).toMatchObject({
        deployment: 'prepared',
        preStopSleepSeconds: 2,
        terminationGracePeriodSeconds: 8,
      });
    }
  });

  it('raises the grace period when the drain is made longer', () => {
    const spec = variantSpec('rc', { env: { MCPBENCH_SHUTDOWN_GRACE_MS: '10000' } });
    expect(spec.terminationGracePeriodSeconds).toBe(2 + 1 + 10 + 1);
  });

  it('renders the unprepared Deployment as it was: no preStop, no delay, no PDB, 5 s grace', () => {
    for (const name of VARIANT_NAMES) {
      const objects = variantObjects(name, { deployment: 'unprepared' });
      const deployment = objects.find((o) => o.kind === 'Deployment')!;
      const container = deployment.spec.template.spec.containers[0];
      expect(deployment.metadata.annotations['mcpbench/deployment']).toBe('unprepared');
      expect(container.lifecycle).toBeUndefined();
      expect(container.env.map((e: { name: string }) => e.name)).not.toContain('MCPBENCH_SHUTDOWN_DELAY_MS');
      expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(5);
      expect(objects.map((o) => o.kind)).toEqual(['Deployment', 'Service']);
      const spec = variantSpec(name, { deployment: 'unprepared' });
      expect(spec).toMatchObject({ deployment: 'unprepared', preStopSleepSeconds: 0 });
      // kind/kube re-render a spec into the very objects the local provider followed.
      expect(shape(variantObjects(name, overridesFromSpec(spec)))).toEqual(
        shape(variantObjects(name, { deployment: 'unprepared' })),
      );
    }
    const prepared = variantSpec('rc', { replicas: 2 });
    expect(shape(variantObjects('rc', overridesFromSpec(prepared)))).toEqual(
      shape(variantObjects('rc', { replicas: 2 })),
    );
  });

  it('renders per-pod CPU requests and limits from overrides and reads them back', () => {
    const resources = (objects: ReturnType<typeof variantObjects>) =>
      objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].resources;
    // The manifests' defaults, the same for every variant.
    for (const name of VARIANT_NAMES) {
      expect(variantSpec(name)).toMatchObject({ cpuRequestMillicores: 250, cpuLimitMillicores: 1000 });
    }
    const objects = variantObjects('legacy-redis', { cpuRequestMillicores: 300, cpuLimitMillicores: 500 });
    expect(resources(objects).requests.cpu).toBe('300m');
    expect(resources(objects).limits.cpu).toBe('500m');
    // Memory is left as the manifests have it.
    expect(resources(objects).limits.memory).toBe('512Mi');
    const spec = variantSpecFromObjects('legacy-redis', objects);
    expect(spec).toMatchObject({ cpuRequestMillicores: 300, cpuLimitMillicores: 500 });
    // Re-rendered from the spec (kind/kube), the same resources come out.
    expect(resources(variantObjects('legacy-redis', overridesFromSpec(spec)))).toEqual(resources(objects));
    // null: no CPU limit at all, and it stays absent through the round trip.
    const unlimited = variantSpec('rc', { cpuLimitMillicores: null });
    expect(unlimited.cpuLimitMillicores).toBeUndefined();
    expect(resources(variantObjects('rc', overridesFromSpec(unlimited))).limits.cpu).toBeUndefined();
    // A request above the limit, or below what a quota can enforce, is refused naming the field.
    expect(() => variantSpec('rc', { cpuRequestMillicores: 800, cpuLimitMillicores: 500 })).toThrow(
      /rc: the CPU request \(800m\) is above the CPU limit \(500m\)/,
    );
    expect(() => variantSpec('rc', { cpuLimitMillicores: 5 })).toThrow(/cpuLimitMillicores must be .* ≥ 10/);
  });

  it('keeps the HPA denominator and the container request one value', () => {
    const spec = variantSpec('rc', {
      hpa: { minReplicas: 1, maxReplicas: 4, targetCpuUtilization: 50 },
      cpuRequestMillicores: 400,
    });
    expect(spec.hpa?.cpuRequestMillicores).toBe(400);
    expect(spec.cpuRequestMillicores).toBe(400);
    const again = variantSpec('rc', overridesFromSpec(spec));
    expect(again.hpa?.cpuRequestMillicores).toBe(400);
    expect(again.cpuRequestMillicores).toBe(400);
  });

  it('reads Kubernetes CPU quantities', () => {
    expect(cpuMillicores('250m')).toBe(250);
    expect(cpuMillicores('0.5')).toBe(500);
    expect(cpuMillicores('2')).toBe(2000);
    expect(cpuMillicores(1)).toBe(1000);
    expect(() => cpuMillicores('half')).toThrow(/"half" is not a CPU quantity/);
    expect(() => cpuMillicores('0.0005')).toThrow(/whole millicores/);
  });
});
