import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { judgeApiService, judgePodMetrics, metricsApiAdvice } from './addons.js';

/**
 * The add-on check's judgement over objects as the API server returns them (recorded shapes), so it
 * is tested without a cluster: the 404 seen on a fresh offline-built kind cluster, a working one, and
 * the states in between.
 */

const apiService404 = parse(`
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: { name: v1beta1.metrics.k8s.io, labels: { k8s-app: metrics-server } }
spec:
  group: metrics.k8s.io
  groupPriorityMinimum: 100
  insecureSkipTLSVerify: true
  service: { name: metrics-server, namespace: kube-system, port: 443 }
  version: v1beta1
  versionPriority: 100
status:
  conditions:
    - lastTransitionTime: "2026-11-30T10:02:11Z"
      message: 'failing or missing response from https://10.96.41.7:443/apis/metrics.k8s.io/v1beta1: bad status from https://10.96.41.7:443/apis/metrics.k8s.io/v1beta1: 404'
      reason: FailedDiscoveryCheck
      status: "False"
      type: Available
`);

const apiServiceOk = {
  ...apiService404,
  status: {
    conditions: [
      {
        type: 'Available',
        status: 'True',
        reason: 'Passed',
        message: 'all checks passed',
        lastTransitionTime: 'x',
      },
    ],
  },
};

describe('judgeApiService', () => {
  it('fails on the 404 a metrics-server that does not serve the group gives, with the condition message', () => {
    const v = judgeApiService(apiService404);
    expect(v.ok).toBe(false);
    expect(v.detail).toContain('Available=False (FailedDiscoveryCheck)');
    expect(v.detail).toContain('bad status from https://10.96.41.7:443/apis/metrics.k8s.io/v1beta1: 404');
    expect(v.detail).toContain('Service kube-system/metrics-server:443');
    expect(metricsApiAdvice(v.detail)).toContain('does not serve metrics.k8s.io/v1beta1');
  });

  it('passes only on Available=True', () => {
    expect(judgeApiService(apiServiceOk)).toMatchObject({ ok: true });
    expect(judgeApiService({ ...apiService404, status: {} }).detail).toContain('no Available condition yet');
    expect(judgeApiService(null)).toEqual({
      ok: false,
      detail: 'APIService v1beta1.metrics.k8s.io does not exist',
    });
    const noEndpoints = {
      ...apiService404,
      status: {
        conditions: [
          {
            type: 'Available',
            status: 'False',
            reason: 'MissingEndpoints',
            message:
              'endpoints for service/metrics-server in "kube-system" have no addresses with port name "https"',
          },
        ],
      },
    };
    const v = judgeApiService(noEndpoints);
    expect(v.ok).toBe(false);
    expect(v.detail).toContain('MissingEndpoints');
    expect(metricsApiAdvice(v.detail)).toContain('no metrics-server pod answers');
  });

  it('advises by cause: refused credentials, and no pod behind the Service', () => {
    expect(metricsApiAdvice('bad status from https://x/apis/metrics.k8s.io/v1beta1: 403')).toContain(
      'extension-apiserver-authentication-reader',
    );
    expect(metricsApiAdvice('dial tcp 10.96.41.7:443: connect: connection refused')).toContain(
      'no metrics-server pod answers',
    );
  });
});

describe('judgePodMetrics', () => {
  it('needs at least one pod with CPU usage', () => {
    expect(judgePodMetrics({ items: [] }, 'kube-system')).toEqual({
      ok: false,
      detail:
        'GET /apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods returned 0 pod(s), none with CPU usage yet',
    });
    expect(
      judgePodMetrics({ items: [{ metadata: { name: 'etcd' }, containers: [] }] }, 'kube-system').ok,
    ).toBe(false);
    const recorded = {
      kind: 'PodMetricsList',
      apiVersion: 'metrics.k8s.io/v1beta1',
      items: [
        {
          metadata: { name: 'etcd-mcpbench-control-plane', namespace: 'kube-system' },
          timestamp: '2026-11-30T10:05:00Z',
          window: '15.02s',
          containers: [{ name: 'etcd', usage: { cpu: '21384521n', memory: '41236Ki' } }],
        },
        {
          metadata: { name: 'coredns-abc', namespace: 'kube-system' },
          containers: [{ name: 'coredns', usage: { cpu: '1834211n', memory: '12004Ki' } }],
        },
      ],
    };
    expect(judgePodMetrics(recorded, 'kube-system')).toEqual({
      ok: true,
      detail: '2 pod(s) in kube-system with CPU usage',
    });
  });
});
