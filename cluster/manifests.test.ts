import { describe, expect, it } from 'vitest';
import { variantObjects, variantSpec, variantSpecFromObjects } from './manifests.js';

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
});
