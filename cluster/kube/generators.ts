import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { GeneratorResultSchema } from '../../rundir/generator-spec.js';
import { unframeResult } from '../../rundir/result-framing.js';
import { generatorJobObjects, type K8sObject } from '../manifests.js';
import type { GeneratorRequest, GeneratorRun } from '../provider.js';
import { watchObjects } from './watch.js';

/**
 * One trial's in-cluster load generators: an Indexed Job (cluster/manifests/generator.yaml) in the
 * provider's namespace. The results come back through the pod-log API (framed, rundir/result-framing.ts):
 * logs are kept by the kubelet after a pod ends, need no exec permission and no port on the pod, and
 * the host never talks to a pod address. Every index that ends without a readable result is a fault
 * of the harness, with its reason; the Job is deleted afterwards.
 */
export interface GeneratorJobContext {
  kc: k8s.KubeConfig;
  namespace: string;
  image?: string;
  apply(obj: K8sObject): Promise<void>;
  note(message: string): void;
}

/** How long after the load's planned end the pods get to drain, write their result and exit. */
const END_GRACE_MS = 60_000;

interface IndexState {
  pod: string;
  /** the pod's clock minus the harness's, from its "ready at" line as it arrived (null: not seen live) */
  clockSkewMs: number | null;
  following: boolean;
  node: string | null;
  ip: string | null;
  phase: string;
  deleted: boolean;
  reason: string | null;
}

export async function runGeneratorJob(
  ctx: GeneratorJobContext,
  req: GeneratorRequest,
): Promise<GeneratorRun> {
  const { spec } = req;
  const name = `mcpbench-gen-${randomBytes(3).toString('hex')}`;
  const core = ctx.kc.makeApiClient(k8s.CoreV1Api);
  const batch = ctx.kc.makeApiClient(k8s.BatchV1Api);
  for (const o of generatorJobObjects({
    name,
    image: ctx.image,
    count: spec.count,
    cpuRequestMillicores: req.cpuRequestMillicores,
    cpuLimitMillicores: req.cpuLimitMillicores,
    specJson: JSON.stringify(spec),
  }))
    await ctx.apply(o);

  // The first pod seen for each index decides its fate: a replacement the Job controller makes after a
  // deletion would start after the common instant and run a different load (it refuses to run).
  const byIndex = new Map<number, IndexState>();
  const ended = (s: IndexState) => s.deleted || s.phase === 'Succeeded' || s.phase === 'Failed';
  await new Promise<void>((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      stop();
      req.signal.removeEventListener('abort', finish);
      resolve();
    };
    const timer = setTimeout(
      finish,
      Math.max(0, spec.startAtMs + spec.durationMs + END_GRACE_MS - Date.now()),
    );
    req.signal.addEventListener('abort', finish, { once: true });
    const stop = watchObjects(
      ctx.kc,
      `/api/v1/namespaces/${ctx.namespace}/pods`,
      { labelSelector: `mcpbench/generator=${name}` },
      (phase, pod: k8s.V1Pod) => {
        const index = Number(pod.metadata?.annotations?.['batch.kubernetes.io/job-completion-index']);
        if (!Number.isInteger(index)) return;
        const podName = pod.metadata?.name ?? '';
        const known = byIndex.get(index);
        if (known && known.pod !== podName) return;
        const state: IndexState = known ?? {
          pod: podName,
          clockSkewMs: null,
          following: false,
          node: null,
          ip: null,
          phase: 'Pending',
          deleted: false,
          reason: null,
        };
        if (ended(state)) return;
        state.node = pod.spec?.nodeName ?? state.node;
        state.ip = pod.status?.podIP ?? state.ip;
        state.phase = pod.status?.phase ?? state.phase;
        if (phase === 'DELETED' || (pod.metadata?.deletionTimestamp && state.phase !== 'Succeeded')) {
          state.deleted = true;
          state.reason = 'deleted before it finished';
        }
        if (state.phase === 'Failed') state.reason = failureOf(pod);
        byIndex.set(index, state);
        if (state.phase === 'Running' && !state.following) {
          state.following = true;
          followReady(ctx, podName, state).catch(() => {});
        }
        if (ended(state)) {
          if (state.reason) ctx.note(`generator ${index} (pod ${podName}): ${state.reason}`);
          if (byIndex.size === spec.count && [...byIndex.values()].every(ended)) finish();
        }
      },
    );
  });

  const run: GeneratorRun = { results: [], faults: [], pods: [] };
  for (let index = 0; index < spec.count; index++) {
    const state = byIndex.get(index);
    if (!state) {
      run.faults.push({
        index,
        pod: null,
        reason: 'no pod ran for this index (not created or never scheduled)',
      });
      continue;
    }
    run.pods.push({ index, name: state.pod, node: state.node, ip: state.ip, clockSkewMs: state.clockSkewMs });
    if (!ended(state)) {
      run.faults.push({
        index,
        pod: state.pod,
        reason: `still ${state.phase} after the load's end and ${END_GRACE_MS / 1000} s of grace`,
      });
      continue;
    }
    if (state.deleted || state.phase === 'Failed') {
      const tail = await lastLogLine(core, ctx.namespace, state.pod);
      run.faults.push({ index, pod: state.pod, reason: [state.reason, tail].filter(Boolean).join(': ') });
      continue;
    }
    const log = await core
      .readNamespacedPodLog({ name: state.pod, namespace: ctx.namespace, container: 'generator' })
      .catch((err: Error) => `log unreadable: ${err.message}`);
    const framed = unframeResult(log);
    if (!('value' in framed)) {
      run.faults.push({ index, pod: state.pod, reason: framed.problem });
      continue;
    }
    const parsed = GeneratorResultSchema.safeParse(framed.value);
    if (!parsed.success || parsed.data.index !== index) {
      run.faults.push({
        index,
        pod: state.pod,
        reason: parsed.success
          ? `its result says index ${parsed.data.index}`
          : `its result is not a generator result: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
      });
      continue;
    }
    run.results.push(parsed.data);
  }
  await batch
    .deleteNamespacedJob({ name, namespace: ctx.namespace, propagationPolicy: 'Background' })
    .catch(() => {});
  return run;
}

/**
 * Follows a pod's log until its "ready at <epoch ms>" line arrives: that line's clock against the
 * harness's at its arrival is the pod's clock skew (the log's transport delay makes it read low by at
 * most that delay, tens of milliseconds). Best effort: without it the skew is reported as not measured.
 */
async function followReady(ctx: GeneratorJobContext, pod: string, state: IndexState): Promise<void> {
  let buffered = '';
  let abort: AbortController | undefined;
  const sink = new Writable({
    write(chunk, _enc, done) {
      const arrivedAt = Date.now();
      buffered += String(chunk);
      const m = /ready at (\d+)/.exec(buffered);
      if (m && state.clockSkewMs === null) {
        state.clockSkewMs = Number(m[1]) - arrivedAt;
        abort?.abort();
      }
      done();
    },
  });
  abort = await new k8s.Log(ctx.kc).log(ctx.namespace, pod, 'generator', sink, { follow: true });
  if (state.clockSkewMs !== null) abort.abort();
  setTimeout(() => abort?.abort(), 30_000).unref();
}

function failureOf(pod: k8s.V1Pod): string {
  if (pod.status?.reason === 'Evicted') return `evicted: ${pod.status.message ?? ''}`.trim();
  const t = pod.status?.containerStatuses?.[0]?.state?.terminated;
  if (!t) return `failed${pod.status?.reason ? ` (${pod.status.reason})` : ''}`;
  if (t.exitCode === 3) return 'ready after the common start instant (it ran no load)';
  return `exited ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}`;
}

async function lastLogLine(core: k8s.CoreV1Api, namespace: string, pod: string): Promise<string> {
  const log = await core
    .readNamespacedPodLog({ name: pod, namespace, container: 'generator', tailLines: 5 })
    .catch(() => '');
  return (
    log
      .trim()
      .split('\n')
      .filter((l) => l && !l.startsWith('MCPBENCH-RESULT'))
      .pop() ?? ''
  );
}
