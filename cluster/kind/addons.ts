import * as k8s from '@kubernetes/client-node';

/**
 * The add-ons a kind run relies on must work before it starts, not merely be installed: the HPA and
 * the providers' CPU readings need metrics.k8s.io. A metrics-server that says it is ready while the
 * APIService stays Available=False (e.g. "failing or missing response from …: bad status … 404")
 * leaves the HPA blind and every namespace hanging in Terminating (discovery fails), so the check is
 * the API itself: the APIService Available=True, and pod metrics with usage from kube-system.
 *
 * The judgements are pure functions over the objects the API returns (tested with recorded ones);
 * `waitForMetricsApi` makes the calls, bounded, with progress.
 */

const METRICS_APISERVICE = 'v1beta1.metrics.k8s.io';

export interface AddonVerdict {
  ok: boolean;
  /** what is wrong, or what was seen when ok */
  detail: string;
}

interface ApiServiceLike {
  spec?: { service?: { name?: string; namespace?: string; port?: number } | null };
  status?: { conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }> };
}

/** The APIService's Available condition: ok only when True; otherwise its reason and message. */
export function judgeApiService(obj: ApiServiceLike | null | undefined): AddonVerdict {
  if (!obj) return { ok: false, detail: `APIService ${METRICS_APISERVICE} does not exist` };
  const svc = obj.spec?.service;
  const target = svc ? `Service ${svc.namespace}/${svc.name}:${svc.port ?? 443}` : 'no service (local)';
  const available = obj.status?.conditions?.find((c) => c.type === 'Available');
  if (!available)
    return {
      ok: false,
      detail: `APIService ${METRICS_APISERVICE} has no Available condition yet (${target})`,
    };
  if (available.status === 'True')
    return { ok: true, detail: `APIService ${METRICS_APISERVICE} Available (${target})` };
  return {
    ok: false,
    detail:
      `APIService ${METRICS_APISERVICE} is Available=${available.status} (${available.reason ?? 'no reason'}): ` +
      `${available.message ?? 'no message'} [${target}]`,
  };
}

interface PodMetricsListLike {
  items?: Array<{
    metadata?: { name?: string };
    containers?: Array<{ name?: string; usage?: { cpu?: string; memory?: string } }>;
  }>;
}

/** Pod metrics from the API: ok when at least one pod has a container with CPU usage. */
export function judgePodMetrics(
  list: PodMetricsListLike | null | undefined,
  namespace: string,
): AddonVerdict {
  const items = list?.items ?? [];
  const withUsage = items.filter((p) => (p.containers ?? []).some((c) => c.usage?.cpu !== undefined));
  if (withUsage.length === 0)
    return {
      ok: false,
      detail: `GET /apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods returned ${items.length} pod(s), none with CPU usage yet`,
    };
  return { ok: true, detail: `${withUsage.length} pod(s) in ${namespace} with CPU usage` };
}

/** What to do when the metrics API never worked, from what was last seen. */
export function metricsApiAdvice(detail: string): string {
  const steps = [
    'kubectl -n kube-system get pods -l k8s-app=metrics-server; kubectl -n kube-system logs deploy/metrics-server',
    `kubectl get apiservice ${METRICS_APISERVICE} -o yaml`,
  ];
  let why = '';
  if (/\b404\b/.test(detail))
    why =
      "the API server reached something that does not serve metrics.k8s.io/v1beta1 at the APIService's Service: " +
      "check that the Service's port/targetPort reach metrics-server's --secure-port, and that the image is a metrics-server " +
      'built with its API group (cluster/offline/build.sh, step metrics-server); ';
  else if (/\b(401|403)\b|forbidden|unauthori/i.test(detail))
    why =
      'metrics-server refused the API server: it needs the RoleBinding to extension-apiserver-authentication-reader ' +
      'and the front-proxy client CA (kubeadm sets --requestheader-* on the API server); ';
  else if (/MissingEndpoints|no addresses|no endpoints|connection refused|timeout|dial tcp/i.test(detail))
    why =
      'no metrics-server pod answers behind its Service (pod not ready, crashing, or the pod network is broken); ';
  return `${why}look at: ${steps.join('; ')}`;
}

/** Waits (bounded, with progress) until metrics.k8s.io answers with pod metrics; throws with the reason otherwise. */
export async function waitForMetricsApi(
  kc: k8s.KubeConfig,
  opts: { timeoutMs?: number; intervalMs?: number; log?: (line: string) => void; namespace?: string } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const intervalMs = opts.intervalMs ?? 2_000;
  const log = opts.log ?? (() => {});
  const namespace = opts.namespace ?? 'kube-system';
  const reg = kc.makeApiClient(k8s.ApiregistrationV1Api);
  const metrics = new k8s.Metrics(kc);
  const started = Date.now();
  let lastLog = 0;
  let last: AddonVerdict = { ok: false, detail: 'not checked yet' };
  for (;;) {
    try {
      last = judgeApiService(await reg.readAPIService({ name: METRICS_APISERVICE }));
    } catch (err) {
      const code = (err as { code?: number }).code;
      last =
        code === 404
          ? judgeApiService(null)
          : { ok: false, detail: `reading APIService ${METRICS_APISERVICE}: ${(err as Error).message}` };
    }
    if (last.ok) {
      try {
        last = judgePodMetrics(
          (await metrics.getPodMetrics(namespace)) as unknown as PodMetricsListLike,
          namespace,
        );
      } catch (err) {
        last = {
          ok: false,
          detail: `GET /apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods: ${(err as Error).message}`,
        };
      }
      if (last.ok) {
        log(`kind: metrics API works (${last.detail}) after ${Math.round((Date.now() - started) / 1000)} s`);
        return;
      }
    }
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs)
      throw new Error(
        `kind: the metrics API did not work within ${Math.round(timeoutMs / 1000)} s, so the HPA and the CPU ` +
          `readings would be blind: ${last.detail}. ${metricsApiAdvice(last.detail)}`,
      );
    if (elapsed - lastLog >= 10_000) {
      lastLog = elapsed;
      log(
        `kind: waiting for the metrics API (${Math.round(elapsed / 1000)} s of ${Math.round(timeoutMs / 1000)} s): ${last.detail}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
