import { median } from 'simple-statistics';
import type { RunSummary, VariantSummary } from './summary-types.js';

/**
 * Why a figure can differ between a run on the embedded local provider and one on a real cluster (kind
 * or kube), for `mcpbench compare` across providers. Each mechanism says what the local provider
 * emulates and what the cluster does instead, with the run's own figures where the runs hold them; a
 * change that is significant between two providers gets every mechanism that bears on its metric, so a
 * difference is either explained or visibly unexplained.
 */

interface Side {
  summary: RunSummary;
  variant: VariantSummary | undefined;
}

interface Mechanism {
  /** whether the mechanism bears on this experiment's metric */
  applies(experiment: string, metric: string): boolean;
  explain(local: Side, cluster: Side, clusterName: string): string | null;
}

const LATENCY = new Set([
  'p50Us',
  'p99Us',
  'turnMeanUs',
  'turnP50Us',
  'throughputPerSecond',
  'p99DuringUs',
  'eventP99Us',
]);
const DISRUPTION_COUNTS = new Set([
  'failedRequests',
  'errorRate',
  'failedPerEvent',
  'sessionsLost',
  'sessionsLostPerEvent',
  'tasksLost',
  'tasksLostPerEvent',
  'handlesRejectedPerEvent',
  'recoveryMs',
  'eventRecoveryMs',
]);
const DISRUPTION = new Set(['rolling-update', 'pod-kill']);
const experimentName = (experimentId: string) => experimentId.split('~')[0] as string;

function loadPath(s: Side): string {
  const src = s.summary.loadSource;
  if (!src) return 'the host';
  if (src.inCluster && !src.fromHost) return 'generator pods in the cluster';
  if (src.fromHost && !src.inCluster) return 'the host';
  return 'the host for some experiments and generator pods for the others';
}

/** Redis kill → replacement ready, per event, from the variant's event rows. */
function redisOutages(s: Side): number[] {
  return (s.variant?.disruption?.events ?? [])
    .filter((e) => /redis/i.test(e.kind) && e.durationMs !== null)
    .map((e) => e.durationMs as number);
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const MECHANISMS: Mechanism[] = [
  {
    applies: (_e, m) => LATENCY.has(m),
    explain: (_local, cluster, name) =>
      `load path: on local the load comes from this host over loopback through a userspace Service proxy; on ${name} it came from ${loadPath(cluster)}` +
      " and goes through kube-proxy (from the host: Docker's published port first), with the servers sharing the node's CPU with the control plane" +
      (cluster.summary.loadSource?.inCluster ? ' and the generator pods' : '') +
      `; a server that uses Redis reaches it over loopback on local, and through the Redis Service to another pod on ${name}`,
  },
  {
    applies: (e, m) => e === 'ttl-cache' && (m === 'bytesPerTurn' || m === 'roundTripsPerTurn'),
    explain: (_l, _c, name) =>
      `cache window: a client that honours ttlMs lists again when the window has passed, so the slower the turns, the more lists (and bytes) per turn; turns took longer on ${name}, and pod names in response headers are longer there too`,
  },
  {
    applies: (e, m) => e === 'rolling-update' && (m === 'recoveryMs' || m === 'eventRecoveryMs'),
    explain: (local, cluster, name) => {
      const fig = (s: Side) => {
        const ms = s.variant?.disruption?.rolloutDurationMs;
        return ms === null || ms === undefined ? 'not measured' : secs(ms);
      };
      return `rollout length: a replica replaced locally is a process started on this host; on ${name} a pod is scheduled, its container started and its readiness probe passed, so a rollout lasts longer and its last failure comes later (rollout: local ${fig(local)}, ${name} ${fig(cluster)})`;
    },
  },
  {
    applies: (e, m) => e === 'pod-kill' && DISRUPTION_COUNTS.has(m),
    explain: (_l, _c, name) =>
      name === 'kube'
        ? 'kill method: local SIGKILLs the server process; kube deletes the pod with a grace period of 0, which the kubelet carries out as a stop (SIGTERM, SIGKILL about 2 s later), so a prepared Deployment drains it'
        : `kill method: local SIGKILLs the server process and starts a new pod; ${name} SIGKILLs the container from the node and the kubelet restarts it in place (runs made before kills were crashes on kind deleted the pod instead: see the pod-killed events' \`how\`)`,
  },
  {
    applies: (e, m) => DISRUPTION.has(e) && DISRUPTION_COUNTS.has(m),
    explain: (_l, _c, name) =>
      `endpoint removal: local takes a terminating replica out of its Service after an emulated lag (MCPBENCH_ENDPOINT_REMOVAL_LAG_MS, 1 s by default) and resets connections to a stopped listener; on ${name} the EndpointSlice update and kube-proxy's resync decide when, and a replacement pod must be scheduled and pass its readiness probe before it serves`,
  },
  {
    applies: (e, m) => e === 'pod-kill' && DISRUPTION_COUNTS.has(m),
    explain: (local, cluster, name) => {
      const l = redisOutages(local);
      const c = redisOutages(cluster);
      if (!l.length && !c.length) return null;
      const fig = (xs: number[]) =>
        xs.length ? `${secs(median(xs))} (median of ${xs.length})` : 'not measured';
      return `Redis kill: local restarts redis-server after an emulated rescheduling delay; on ${name} the Redis pod is deleted and a new one scheduled and started. Kill to ready: local ${fig(l)}, ${name} ${fig(c)}`;
    },
  },
  {
    applies: (e) => e === 'hpa',
    explain: (_l, _c, name) =>
      `autoscaler cadence: both run the experiment's HPA flags, but metrics-server on ${name} refuses a resolution under 10 s, so a profile with shorter metric windows (fast: 1 s) sees the step later there (the trial notes say so); the realistic profile runs the same timing on both`,
  },
  {
    applies: (e, m) => e === 'capacity' || (e === 'hpa' && m === 'loadSpreadCv'),
    explain: (_l, cluster, name) =>
      `CPU: local holds each replica to its limit with a CFS quota on its own cgroup; on ${name} the kubelet sets the same quota, but the node's cores are shared with the control plane${cluster.summary.loadSource?.inCluster ? ' and the generator pods' : ''}, so a pod reaches its limit at a lower rate when the node is busy`,
  },
];

const isLocal = (s: RunSummary) => s.cluster.provider === 'local';

/**
 * The mechanisms that bear on one metric of one experiment × variant, when one run is local and the
 * other is not; [] when the providers are the same (nothing to explain by provider).
 */
export function providerExplanations(
  baseline: RunSummary,
  candidate: RunSummary,
  experimentId: string,
  variant: string,
  metric: string,
): string[] {
  if (isLocal(baseline) === isLocal(candidate)) return [];
  const [local, cluster] = isLocal(baseline) ? [baseline, candidate] : [candidate, baseline];
  const side = (s: RunSummary): Side => ({
    summary: s,
    variant: s.variants.find((v) => v.experimentId === experimentId && v.variant === variant),
  });
  const experiment = experimentName(experimentId);
  const out: string[] = [];
  for (const m of MECHANISMS) {
    if (!m.applies(experiment, metric)) continue;
    const text = m.explain(side(local), side(cluster), cluster.cluster.provider);
    if (text) out.push(text);
  }
  return out;
}
