import type { V1Deployment, V1DeploymentStatus } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { variantSpec } from '../manifests.js';
import { chooseL7Gateway, cpuMillicores, isPodReady, objectsFor, rolledOut } from './provider.js';

describe('kube provider helpers (no cluster needed)', () => {
  it('re-renders a VariantSpec into the same objects the manifests give', () => {
    const spec = variantSpec('legacy-sticky', { replicas: 3, env: { MCPBENCH_TOOL_LATENCY_MS: '7' } });
    const objs = objectsFor(spec, 'img:x');
    const dep = objs.find((o) => o.kind === 'Deployment');
    expect(dep?.spec.replicas).toBe(3);
    expect(dep?.spec.template.spec.containers[0].image).toBe('img:x');
    const env = dep?.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>;
    expect(env.find((e) => e.name === 'MCPBENCH_TOOL_LATENCY_MS')?.value).toBe('7');
    expect(objs.find((o) => o.kind === 'Service')?.spec.sessionAffinity).toBe('ClientIP');
    expect(objs.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);
  });

  it('keeps the HPA when the spec has one', () => {
    const spec = variantSpec('rc', { hpa: { minReplicas: 1, maxReplicas: 5, targetCpuUtilization: 60 } });
    const hpa = objectsFor(spec).find((o) => o.kind === 'HorizontalPodAutoscaler');
    expect(hpa?.spec.maxReplicas).toBe(5);
    expect(hpa?.spec.metrics[0].resource.target.averageUtilization).toBe(60);
  });

  it('calls a rollout complete only when every replica is new and available and the spec was observed', () => {
    const d = (status: V1DeploymentStatus, generation = 2): V1Deployment => ({
      metadata: { generation },
      spec: { replicas: 2, selector: {}, template: {} },
      status,
    });
    expect(
      rolledOut(d({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })),
    ).toBe(true);
    expect(
      rolledOut(d({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })),
    ).toBe(false);
    expect(
      rolledOut(d({ observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2 })),
    ).toBe(false);
    expect(
      rolledOut(
        d({
          observedGeneration: 2,
          replicas: 2,
          updatedReplicas: 2,
          availableReplicas: 1,
          unavailableReplicas: 1,
        }),
      ),
    ).toBe(false);
  });

  it('reads pod readiness and CPU quantities', () => {
    expect(isPodReady({ status: { conditions: [{ type: 'Ready', status: 'True' }] } })).toBe(true);
    expect(
      isPodReady({
        metadata: { deletionTimestamp: new Date() },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      }),
    ).toBe(false);
    expect(cpuMillicores('250m')).toBe(250);
    expect(cpuMillicores('1')).toBe(1000);
    expect(cpuMillicores('123456789n')).toBeCloseTo(123.456789);
    expect(cpuMillicores('1500u')).toBe(1.5);
  });

  it('carries HTTPRoutes out with the Gateway API when the cluster has it, else with HAProxy', () => {
    expect(chooseL7Gateway(null)).toEqual({
      haproxy: 'the cluster does not serve the Gateway API (gateway.networking.k8s.io/v1)',
    });
    expect(chooseL7Gateway([])).toEqual({
      haproxy: 'the cluster serves the Gateway API but has no GatewayClass',
    });
    expect(chooseL7Gateway(['istio'])).toEqual({ gatewayClassName: 'istio' });
    expect(chooseL7Gateway(['istio', 'eg'])).toMatchObject({
      haproxy: expect.stringContaining('gatewayClassName'),
    });
    expect(chooseL7Gateway(['istio', 'eg'], 'eg')).toEqual({ gatewayClassName: 'eg' });
    expect(() => chooseL7Gateway(['istio'], 'eg')).toThrow(
      'gatewayClassName: "eg" is not a GatewayClass of this cluster (it has istio)',
    );
  });
});
