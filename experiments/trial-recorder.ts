import type { ClusterEvent, RedisStats, VariantHandle } from '../cluster/provider.js';
import type { ReplicaSample, TrialEvent } from '../rundir/layout.js';

/**
 * Collects everything that happens during one trial on one time axis: cluster events, the
 * experiment's own actions, and a once-a-second sample of the variant's replicas. Times are epoch ms
 * while recording and are turned into offsets from the load's start when the trial is written.
 */
export class TrialRecorder {
  private readonly events: Array<Omit<TrialEvent, 'tMs'>> = [];
  private readonly samples: Array<Omit<ReplicaSample, 'tMs'> & { atMs: number }> = [];
  private sampler: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();

  constructor(private readonly variant: string) {}

  cluster(event: ClusterEvent): void {
    if (event.variant !== this.variant && event.variant !== 'cluster') return;
    this.events.push({
      atMs: event.atMs,
      source: 'cluster',
      kind: event.kind,
      variant: event.variant,
      detail: event.detail,
    });
  }

  experiment(kind: string, detail: Record<string, unknown> = {}, atMs = Date.now()): void {
    this.events.push({ atMs, source: 'experiment', kind, variant: this.variant, detail });
  }

  /**
   * Samples replicas every `intervalMs` until stopSampling(); a slow read never overlaps the next.
   * Each sample carries the cost figures the provider knows (CPU time, RSS, live sessions per replica)
   * and, given `redisStats` (variants that use Redis), the shared Redis's CPU time, memory and keys.
   */
  startSampling(
    handle: VariantHandle,
    intervalMs = 1_000,
    redisStats?: () => Promise<RedisStats | null>,
  ): void {
    const take = async () => {
      const atMs = Date.now();
      try {
        const [replicas, desired, redis] = await Promise.all([
          handle.replicas(),
          handle.desiredReplicas(),
          redisStats ? redisStats().catch(() => null) : undefined,
        ]);
        this.samples.push({
          atMs,
          desired,
          ready: replicas.filter((r) => r.ready).length,
          replicas: replicas.map((r) => ({
            name: r.name,
            ready: r.ready,
            phase: r.phase,
            cpuMillicores: r.cpuMillicores,
            ...(r.cpuSecondsTotal !== undefined ? { cpuSecondsTotal: r.cpuSecondsTotal } : {}),
            ...(r.rssBytes !== undefined ? { rssBytes: r.rssBytes } : {}),
            ...(r.sessions !== undefined ? { sessions: r.sessions } : {}),
            ...(r.serviceRequests !== undefined ? { serviceRequests: r.serviceRequests } : {}),
          })),
          // A Redis that could not be read is recorded as unknown figures, never as zeros.
          ...(redis !== undefined
            ? { redis: redis ?? { cpuSecondsTotal: null, usedMemoryBytes: null, keys: null } }
            : {}),
        });
      } catch (err) {
        this.experiment('note', { message: `replica sample failed: ${(err as Error).message}` }, atMs);
      }
    };
    this.sampling = take();
    this.sampler = setInterval(() => {
      this.sampling = this.sampling.then(take);
    }, intervalMs);
  }

  async stopSampling(): Promise<void> {
    if (this.sampler) clearInterval(this.sampler);
    this.sampler = undefined;
    await this.sampling;
  }

  /** Events and samples with `tMs` relative to `originMs` (the engine's start), in time order. */
  finish(originMs: number): { events: TrialEvent[]; samples: ReplicaSample[] } {
    const events = this.events.map((e) => ({ tMs: e.atMs - originMs, ...e })).sort((a, b) => a.atMs - b.atMs);
    const samples = this.samples.map(({ atMs, ...s }) => ({ tMs: atMs - originMs, ...s }));
    return { events, samples };
  }
}
