import { readdirSync, readFileSync } from 'node:fs';
import type { ClusterEvent, ReplicaStatus, VariantSpec } from '../provider.js';
import type { BackendCount } from './backend-tally.js';
import type { CpuLimiter } from './cpu-limit.js';
import type { HpaPod } from './hpa.js';
import { replicaReady, type ServerProcess, startServerProcess } from './server-process.js';
import type { Endpoint } from './service-proxy.js';

/** The Service in front of the pods: L4 (kube-proxy) or L7 (a gateway). */
export interface EndpointSink {
  setEndpoints(endpoints: Endpoint[]): void;
  /** what the Service has sent one endpoint so far (requests, sessions in use) */
  backendCount?(endpoint: string): BackendCount;
}

/**
 * A Deployment on loopback: pods are real server processes; a reconcile loop (every 250 ms) probes
 * readiness, keeps the Service's endpoints to the ready, non-terminating pods, replaces pods that
 * died, and carries out rolling updates within maxSurge / maxUnavailable as the Deployment controller
 * does. Termination follows the pod life cycle: the pod leaves the Service's endpoints after the
 * endpoint-removal lag (kube-proxy catching up) while, at the same time, its preStop sleep runs; then
 * SIGTERM, and SIGKILL once terminationGracePeriodSeconds (counted from the deletion, preStop included)
 * are over. A SIGKILLed pod (pod-kill) skips all of it.
 */

/**
 * How long a deleted pod stays in the Service's endpoints by default: kube-proxy rewrites its rules
 * at most once a second (--iptables-min-sync-period, default 1 s), after the EndpointSlice update.
 */
export const DEFAULT_ENDPOINT_REMOVAL_LAG_MS = 1_000;

interface Pod {
  name: string;
  revision: number;
  process: ServerProcess;
  ready: boolean;
  phase: 'starting' | 'running' | 'terminating';
  cpuMillicores: number | null;
  cpuTicks: number | null;
  cpuAt: number;
  /** start of the window the current CPU figure covers */
  cpuWindowStart: number;
  startedAt: number;
  /** last transition of the Ready condition */
  readyTransitionAt: number;
  everReady: boolean;
  /** SIGKILLed or terminated by the controller (not a crash) */
  stopping: boolean;
  livenessFailures: number;
  lastLivenessAt: number;
}

/** A pod that exited on its own before it was ever ready. */
interface Crash {
  pod: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  logs: string[];
}

const CLK_TCK = 100;
/** How often the controller probes readiness and reconciles (kubelet's probes are 1 s at best). */
const RECONCILE_MS = 250;
/** CPU sampling interval: the metric window the HPA sees. */
const CPU_SAMPLE_MS = 1_000;

/**
 * A pod's processes: the replica's process and every process below it (a command that is a launcher,
 * e.g. a shell script or `npx`, runs the server as its child), as a container's cgroup holds them all.
 */
function processTree(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length && out.length < 256) {
    const p = queue.shift() as number;
    out.push(p);
    try {
      for (const task of readdirSync(`/proc/${p}/task`))
        for (const child of readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').split(' '))
          if (child.trim()) queue.push(Number(child));
    } catch {
      // gone, or no children file: this process alone
    }
  }
  return out;
}

/** Resident memory of a pod's processes (VmRSS, summed), bytes; null when it cannot be read (e.g. it is gone). */
function rssBytes(pid: number): number | null {
  let total: number | null = null;
  for (const p of processTree(pid)) {
    try {
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) total = (total ?? 0) + Number(m[1]) * 1024;
    } catch {
      if (p === pid) return null;
    }
  }
  return total;
}

/** The live sessions a replica reports on /metrics (null: it keeps none, or did not answer in time). */
async function liveSessions(baseUrl: string): Promise<number | null> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(1_000) });
    if (res.status !== 200) {
      await res.body?.cancel();
      return null;
    }
    const body = (await res.json()) as { sessions?: unknown };
    return typeof body.sessions === 'number' ? body.sessions : null;
  } catch {
    return null;
  }
}

/** CPU time of a pod's processes (utime + stime, summed over the tree), clock ticks; null when it is gone. */
function cpuTicks(pid: number): number | null {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15 of stat)
    } catch {
      if (p === pid) return null;
    }
  }
  return total;
}

export class LocalDeployment {
  private pods: Pod[] = [];
  private revision = 1;
  private desired: number;
  private serial = 0;
  private loop: NodeJS.Timeout | undefined;
  private cpuLoop: NodeJS.Timeout | undefined;
  private reconciling = false;
  private stopped = false;
  private rolloutWaiters: Array<() => void> = [];
  private readonly exits = new Set<Promise<unknown>>();
  private crashes: Crash[] = [];
  /** CrashLoopBackOff: consecutive crashes before readiness, and when the next pod may start */
  private crashStreak = 0;
  private backoffUntil = 0;
  /** Terminating pods the Service still lists: the endpoint-removal lag has not passed yet. */
  private readonly unlisting = new Map<string, Endpoint>();
  /** Pending endpoint removals and preStop sleeps. */
  private readonly lifecycleTimers = new Set<NodeJS.Timeout>();

  constructor(
    readonly spec: VariantSpec,
    private readonly proxy: EndpointSink,
    private readonly env: Record<string, string>,
    private readonly emit: (kind: ClusterEvent['kind'], detail: Record<string, unknown>) => void,
    private readonly endpointRemovalLagMs = DEFAULT_ENDPOINT_REMOVAL_LAG_MS,
    /** Holds every replica to the spec's CPU limit (absent: replicas run unlimited). */
    private readonly limiter?: CpuLimiter,
  ) {
    this.desired = spec.replicas;
  }

  get desiredReplicas(): number {
    return this.desired;
  }

  pids(): number[] {
    return this.pods.map((p) => p.process.pid);
  }

  async start(): Promise<void> {
    const starting = [];
    for (let i = 0; i < this.desired; i++) starting.push(this.startPod());
    await Promise.all(starting);
    const deadline = Date.now() + 30_000;
    while (this.pods.filter((p) => p.ready).length < this.desired) {
      const crash = this.crashes[0];
      if (crash) {
        throw new Error(
          `${this.spec.name}: pod ${crash.pod} exited (${crash.signal ?? `code ${crash.code}`}) before it was ready:\n` +
            crash.logs.join('\n'),
        );
      }
      if (Date.now() > deadline) {
        const logs = this.pods.flatMap((p) => p.process.logs.slice(-5).map((l) => `${p.name}: ${l}`));
        throw new Error(`${this.spec.name}: replicas did not become ready within 30 s\n${logs.join('\n')}`);
      }
      await this.probe();
      await new Promise((r) => setTimeout(r, 100));
    }
    this.updateEndpoints();
    this.loop = setInterval(() => this.reconcile().catch(() => {}), RECONCILE_MS);
    this.cpuLoop = setInterval(() => this.sampleCpu(), CPU_SAMPLE_MS);
    this.sampleCpu();
  }

  private async startPod(): Promise<void> {
    const name = `${this.spec.name}-r${this.revision}-${(this.serial++).toString(36).padStart(3, '0')}`;
    const process = await startServerProcess({
      kind: this.spec.server,
      replica: name,
      env: this.env,
      waitReady: false,
      ...(this.limiter
        ? {
            wrap: (command: string, args: string[]) =>
              (this.limiter as CpuLimiter).wrap(name, this.spec.cpuLimitMillicores, command, args),
          }
        : {}),
      ...(this.spec.foreign ? { foreign: this.spec.foreign } : {}),
    });
    const pod: Pod = {
      name,
      revision: this.revision,
      process,
      ready: false,
      phase: 'starting',
      cpuMillicores: null,
      cpuTicks: null,
      cpuAt: 0,
      cpuWindowStart: 0,
      startedAt: Date.now(),
      readyTransitionAt: Date.now(),
      everReady: false,
      stopping: false,
      livenessFailures: 0,
      lastLivenessAt: Date.now(),
    };
    this.pods.push(pod);
    this.emit('pod-started', { pod: name, pid: process.pid, revision: pod.revision });
    const exit = process.exited.then(({ code, signal }) => {
      this.limiter?.release(name);
      this.pods = this.pods.filter((p) => p !== pod);
      this.updateEndpoints();
      this.emit('pod-exited', { pod: name, code, signal });
      if (!pod.stopping && !pod.everReady && !this.stopped) {
        // A crash before readiness: back off before the next start, as the kubelet does (capped lower).
        this.crashes.push({ pod: name, code, signal, logs: process.logs.slice(-20) });
        this.crashStreak++;
        const delay = Math.min(10_000, 500 * 2 ** (this.crashStreak - 1));
        this.backoffUntil = Date.now() + delay;
        this.emit('note', {
          pod: name,
          message: `pod exited before it was ready (${signal ?? `code ${code}`}); next start in ${delay} ms`,
          logs: process.logs.slice(-5),
        });
      }
    });
    this.exits.add(exit);
    exit.finally(() => this.exits.delete(exit));
  }

  private async probe(): Promise<void> {
    await Promise.all(
      this.pods
        .filter((p) => p.phase !== 'terminating')
        .map(async (pod) => {
          const ok = await replicaReady(pod.process.baseUrl, this.spec.foreign);
          if (pod.phase === 'terminating') return;
          if (ok !== pod.ready) pod.readyTransitionAt = Date.now();
          if (ok && !pod.ready) {
            this.emit('pod-ready', { pod: pod.name, afterMs: Date.now() - pod.startedAt });
            pod.everReady = true;
            this.crashStreak = 0;
          }
          pod.ready = ok;
          if (ok) pod.phase = 'running';
        }),
    );
  }

  private updateEndpoints(): void {
    this.proxy.setEndpoints([
      ...this.pods
        .filter((p) => p.ready && p.phase !== 'terminating')
        .map((p) => ({ name: p.name, port: p.process.port })),
      ...this.unlisting.values(),
    ]);
  }

  private after(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      this.lifecycleTimers.delete(timer);
      fn();
    }, ms);
    this.lifecycleTimers.add(timer);
  }

  /** livenessProbe: /healthz failing failureThreshold times in a row restarts the pod (here: replaces it). */
  private async checkLiveness(): Promise<void> {
    if (this.spec.foreign && this.spec.foreign.livenessPath === null) return; // no livenessProbe
    const probe = this.spec.livenessProbe ?? { periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 1 };
    const now = Date.now();
    await Promise.all(
      this.pods
        .filter((p) => p.phase === 'running' && now - p.lastLivenessAt >= probe.periodSeconds * 1000)
        .map(async (pod) => {
          pod.lastLivenessAt = now;
          let ok = false;
          try {
            const res = await fetch(
              `${pod.process.baseUrl}${this.spec.foreign?.livenessPath ?? '/healthz'}`,
              {
                signal: AbortSignal.timeout(probe.timeoutSeconds * 1000),
              },
            );
            ok = res.status === 200;
            await res.body?.cancel();
          } catch {
            ok = false;
          }
          pod.livenessFailures = ok ? 0 : pod.livenessFailures + 1;
          if (pod.livenessFailures >= probe.failureThreshold && pod.phase === 'running') {
            this.emit('note', { pod: pod.name, message: 'liveness probe failed; restarting the pod' });
            this.terminate(pod, 'liveness probe failed');
          }
        }),
    );
  }

  private terminate(pod: Pod, reason: string): void {
    const listed = pod.ready && pod.phase !== 'terminating';
    pod.stopping = true;
    pod.phase = 'terminating';
    if (pod.ready) pod.readyTransitionAt = Date.now();
    pod.ready = false;
    const preStopMs = this.spec.preStopSleepSeconds * 1000;
    const graceMs = this.spec.terminationGracePeriodSeconds * 1000;
    this.emit('pod-terminating', {
      pod: pod.name,
      reason,
      endpointRemovalLagMs: this.endpointRemovalLagMs,
      preStopSeconds: this.spec.preStopSleepSeconds,
      gracePeriodSeconds: this.spec.terminationGracePeriodSeconds,
    });
    // Two things start at the deletion, independently, as on a cluster: the endpoints catch up...
    if (listed) this.unlisting.set(pod.name, { name: pod.name, port: pod.process.port });
    this.after(this.endpointRemovalLagMs, () => {
      if (listed) this.emit('endpoint-removed', { pod: pod.name });
      this.unlisting.delete(pod.name);
      this.updateEndpoints();
    });
    // ...and the kubelet runs preStop, then sends SIGTERM with what is left of the grace period (when
    // preStop used it all, the kubelet grants 2 s more).
    this.after(preStopMs, () => {
      if (this.stopped) return;
      this.emit('pod-sigterm', { pod: pod.name });
      const left = graceMs - preStopMs;
      pod.process.terminate(left > 0 ? left : 2_000).catch(() => {});
    });
  }

  private async reconcile(): Promise<void> {
    if (this.reconciling || this.stopped) return;
    this.reconciling = true;
    try {
      await this.probe();
      await this.checkLiveness();
      this.updateEndpoints();
      if (this.stopped) return;
      const alive = this.pods.filter((p) => p.phase !== 'terminating');
      const current = alive.filter((p) => p.revision === this.revision);
      const old = alive.filter((p) => p.revision !== this.revision);
      if (old.length === 0) {
        if (Date.now() >= this.backoffUntil)
          for (let i = current.length; i < this.desired; i++) await this.startPod();
        const extra = current.length - this.desired;
        if (extra > 0) {
          const victims = [...current].sort(
            (a, b) => Number(a.ready) - Number(b.ready) || b.name.localeCompare(a.name),
          );
          for (const pod of victims.slice(0, extra)) this.terminate(pod, 'scaled down');
        }
        if (this.rolloutWaiters.length && current.length === this.desired && current.every((p) => p.ready)) {
          const waiters = this.rolloutWaiters;
          this.rolloutWaiters = [];
          for (const w of waiters) w();
        }
        return;
      }
      // Rolling update: at most desired + maxSurge pods, at least desired - maxUnavailable ready.
      const maxTotal = this.desired + this.spec.maxSurge;
      const minAvailable = this.desired - this.spec.maxUnavailable;
      let total = alive.length;
      let newCount = current.length;
      while (total < maxTotal && newCount < this.desired && Date.now() >= this.backoffUntil) {
        await this.startPod();
        total++;
        newCount++;
      }
      let ready = alive.filter((p) => p.ready).length;
      const victims = [...old].sort((a, b) => Number(a.ready) - Number(b.ready));
      for (const pod of victims) {
        const after = ready - (pod.ready ? 1 : 0);
        if (after < minAvailable) break;
        this.terminate(pod, 'rolling update');
        ready = after;
      }
    } finally {
      this.reconciling = false;
    }
  }

  private sampleCpu(): void {
    const now = Date.now();
    // metrics-server scrapes every --metric-resolution and serves the rate between its last two scrapes:
    // under an HPA the figure covers that window and changes only once per window, as on a cluster.
    const windowMs = Math.max(CPU_SAMPLE_MS, (this.spec.hpa?.metricResolutionSeconds ?? 0) * 1000);
    for (const pod of this.pods) {
      if (pod.cpuTicks !== null && now - pod.cpuAt < windowMs - CPU_SAMPLE_MS / 2) continue;
      const ticks = cpuTicks(pod.process.pid);
      if (ticks !== null && pod.cpuTicks !== null && now > pod.cpuAt) {
        // a child process that exited takes its ticks out of the tree's sum: never a negative figure
        pod.cpuMillicores = Math.round(
          ((Math.max(0, ticks - pod.cpuTicks) / CLK_TCK) * 1000 * 1000) / (now - pod.cpuAt),
        );
        pod.cpuWindowStart = pod.cpuAt;
      }
      pod.cpuTicks = ticks;
      pod.cpuAt = now;
    }
  }

  /** A new pod template: resolves once every pod runs the new revision and is ready. */
  async rollout(): Promise<void> {
    this.revision++;
    this.emit('rollout-start', { revision: this.revision });
    const done = new Promise<void>((resolve) => this.rolloutWaiters.push(resolve));
    await this.reconcile();
    await done;
    this.emit('rollout-end', { revision: this.revision });
  }

  /** SIGKILL one pod (a ready one unless named); the controller replaces it. */
  kill(name?: string): string {
    const pod = name
      ? this.pods.find((p) => p.name === name)
      : (this.pods.find((p) => p.ready && p.phase !== 'terminating') ?? this.pods[0]);
    if (!pod) throw new Error(`${this.spec.name}: no pod ${name ?? ''} to kill`);
    pod.stopping = true;
    pod.process.kill();
    this.emit('pod-killed', {
      pod: pod.name,
      pid: pod.process.pid,
      how: 'SIGKILL (process crash, replaced by a new pod)',
    });
    return pod.name;
  }

  scale(replicas: number, reason: string): void {
    if (replicas === this.desired) return;
    this.emit('replicas-changed', { from: this.desired, to: replicas, reason });
    this.desired = replicas;
  }

  /** The pods as the HPA controller sees them: Ready condition, start time, last CPU sample. */
  hpaPods(): HpaPod[] {
    return this.pods.map((p) => ({
      name: p.name,
      ready: p.ready,
      terminating: p.phase === 'terminating',
      startedAtMs: p.startedAt,
      readyTransitionMs: p.readyTransitionAt,
      cpuMillicores: p.cpuMillicores,
      sampledAtMs: p.cpuMillicores === null ? null : p.cpuAt,
      windowMs: p.cpuMillicores === null ? undefined : p.cpuAt - p.cpuWindowStart,
    }));
  }

  /**
   * The pods with their cost figures: CPU time so far and resident memory from /proc (the same
   * utime + stime the HPA's samples come from, so both agree; summed over the pod's processes), the
   * requests the Service sent each, and the live sessions: our servers report theirs on /metrics; a
   * server that is not ours is never asked (its /metrics, if any, is its own), its sessions are the
   * ones the Service saw in use (null for a server that has none).
   */
  async status(): Promise<ReplicaStatus[]> {
    const pods = [...this.pods];
    const foreign = this.spec.foreign !== undefined;
    const sessions = await Promise.all(
      pods.map((p) =>
        foreign
          ? (this.proxy.backendCount?.(p.name).sessions ?? null)
          : p.phase === 'starting'
            ? null
            : liveSessions(p.process.baseUrl),
      ),
    );
    return pods.map((p, i) => {
      const ticks = cpuTicks(p.process.pid);
      const routed = this.proxy.backendCount?.(p.name);
      return {
        name: p.name,
        ready: p.ready,
        phase: p.phase,
        cpuMillicores: p.cpuMillicores,
        cpuSecondsTotal: ticks === null ? null : ticks / CLK_TCK,
        rssBytes: rssBytes(p.process.pid),
        sessions: sessions[i] ?? null,
        ...(routed ? { serviceRequests: routed.requests } : {}),
      };
    });
  }

  /** Every pod gone: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 2_000): Promise<void> {
    this.stopped = true;
    for (const p of this.pods) p.stopping = true;
    if (this.loop) clearInterval(this.loop);
    if (this.cpuLoop) clearInterval(this.cpuLoop);
    for (const t of this.lifecycleTimers) clearTimeout(t);
    this.lifecycleTimers.clear();
    for (const w of this.rolloutWaiters) w();
    this.rolloutWaiters = [];
    await Promise.allSettled(this.pods.map((p) => p.process.terminate(graceMs)));
    await Promise.allSettled([...this.exits]);
  }

  killAllNow(): void {
    this.stopped = true;
    for (const t of this.lifecycleTimers) clearTimeout(t);
    this.lifecycleTimers.clear();
    for (const p of this.pods) {
      p.stopping = true;
      p.process.kill();
    }
  }
}
