import { describe, expect, it } from 'vitest';
import { objectsFor, reachabilityProbe } from './kube/provider.js';
import { gatewayObjects, type K8sObject, variantSpec } from './manifests.js';
import type { VariantDefinition } from './variants.js';

/**
 * The objects kind/kube apply for a server that is not ours: rendered from its record (image, env,
 * container port, probes, the Redis URL where it uses the harness's Redis, its routing) through the
 * same path the kube provider takes (VariantSpec → objectsFor), with the built-ins' preparation.
 */

const everything: VariantDefinition = {
  name: 'everything',
  protocol: '2025-11-25',
  server: 'foreign',
  store: 'memory',
  routing: 'client-ip',
  redis: false,
  foreign: {
    kube: { image: 'mcpbench-byo/server-everything:dev', env: { LOG_LEVEL: 'warn' }, containerPort: 3001 },
    path: '/mcp',
    readiness: 'mcp',
    livenessPath: null,
  },
};

const withRedis: VariantDefinition = {
  name: 'ours-after',
  protocol: '2026-07-28',
  server: 'foreign',
  store: 'memory',
  routing: 'none',
  redis: true,
  foreign: {
    kube: { image: 'team/server-next:1.4', env: {}, containerPort: 8080 },
    path: '/v1/mcp',
    readiness: { httpPath: '/ready' },
    livenessPath: '/health',
    redisEnv: 'REDIS_URL',
  },
};

function rendered(d: VariantDefinition, extra: Parameters<typeof variantSpec>[1] = {}) {
  const objects = objectsFor(
    variantSpec(d.name, { definition: d, replicas: 2, ...extra }),
    'mcpbench/server:dev',
  );
  const of = (kind: string) => objects.find((o) => o.kind === kind) as K8sObject;
  const deployment = of('Deployment');
  return {
    objects,
    deployment,
    pod: deployment.spec.template.spec,
    container: deployment.spec.template.spec.containers[0],
    service: of('Service'),
    kinds: objects.map((o) => o.kind),
  };
}

describe('manifests of a server that is not ours', () => {
  it('runs its image as it is, with its env and port, and probes it without asking anything of it', () => {
    const { deployment, container, service } = rendered(everything);
    expect(deployment.metadata.annotations).toMatchObject({ 'mcpbench/server': 'foreign' });
    expect(container.image).toBe('mcpbench-byo/server-everything:dev');
    expect(container.imagePullPolicy).toBe('IfNotPresent');
    expect(container.args).toBeUndefined(); // the image's own entry point
    expect(container.ports).toEqual([{ name: 'http', containerPort: 3001 }]);
    // Its env only: none of our MCPBENCH_* settings, no Redis URL it did not ask for.
    expect(container.env).toEqual([{ name: 'LOG_LEVEL', value: 'warn' }]);
    // readiness `mcp`: accepts connections on its port (a kubelet httpGet counts only 200-399).
    expect(container.readinessProbe).toEqual({
      tcpSocket: { port: 'http' },
      periodSeconds: 1,
      failureThreshold: 1,
    });
    expect(container.livenessProbe).toBeUndefined();
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http' }]);
    expect(service.spec.sessionAffinity).toBe('ClientIP');
    expect(service.spec.sessionAffinityConfig.clientIP.timeoutSeconds).toBe(10_800);
  });

  it('gives it the Redis URL in the variable it names, its probe paths, and round robin', () => {
    const { container, service } = rendered(withRedis);
    expect(container.image).toBe('team/server-next:1.4');
    expect(container.env).toEqual([{ name: 'REDIS_URL', value: 'redis://mcp-redis:6379' }]);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(service.spec.sessionAffinity).toBe('None');
    expect(service.spec.sessionAffinityConfig).toBeUndefined();
    expect(variantSpec(withRedis.name, { definition: withRedis })).toMatchObject({
      redis: true,
      routing: 'round-robin',
    });
  });

  it('prepares it like ours where that needs nothing from the server: preStop, grace period, PDB', () => {
    const prepared = rendered(everything);
    expect(prepared.kinds).toEqual(['Deployment', 'PodDisruptionBudget', 'Service']);
    expect(prepared.container.lifecycle).toEqual({ preStop: { sleep: { seconds: 2 } } });
    expect(prepared.pod.terminationGracePeriodSeconds).toBe(8);
    expect(prepared.deployment.metadata.annotations['mcpbench/deployment']).toBe('prepared');
    const unprepared = rendered(everything, { deployment: 'unprepared' });
    expect(unprepared.kinds).toEqual(['Deployment', 'Service']);
    expect(unprepared.container.lifecycle).toBeUndefined();
    expect(unprepared.pod.terminationGracePeriodSeconds).toBe(5);
  });

  it('routes it at L7 like the built-ins of its era, its gateway reaching the pods on its port', () => {
    const l7 = { ...everything, routing: 'l7' as const };
    const spec = variantSpec(l7.name, { definition: l7 });
    expect(spec.routing).toBe('session-hash');
    expect(variantSpec('next', { definition: { ...withRedis, name: 'next', routing: 'l7' } }).routing).toBe(
      'mcp-method',
    );
    const config = gatewayObjects(l7.name, 'session-hash', 'ns-1', 'mcpbench/gateway:dev', 3001).find(
      (o) => o.kind === 'ConfigMap',
    );
    expect(config?.data['haproxy.cfg']).toContain('mcp-everything-pods.ns-1.svc.cluster.local:3001');
    expect(config?.data['haproxy.cfg']).not.toContain('cluster.local:8080');
  });

  it('is reached through its own health: our /healthz, its readiness path, or its MCP endpoint below 500', () => {
    const ours = reachabilityProbe('http://127.0.0.1:30083/mcp', {});
    expect(ours.url).toBe('http://127.0.0.1:30083/healthz');
    expect([ours.ok(200), ours.ok(503)]).toEqual([true, false]);
    const mcp = reachabilityProbe('http://127.0.0.1:4000/mcp', { foreign: everything.foreign });
    expect(mcp.url).toBe('http://127.0.0.1:4000/mcp');
    // server-everything answers a GET without a session with 400: it is up.
    expect([mcp.ok(400), mcp.ok(405), mcp.ok(502)]).toEqual([true, true, false]);
    const path = reachabilityProbe('http://127.0.0.1:4001/v1/mcp', { foreign: withRedis.foreign });
    expect(path.url).toBe('http://127.0.0.1:4001/ready');
    expect([path.ok(204), path.ok(404)]).toEqual([true, false]);
  });
});
