import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TrialRecorder } from '../../experiments/trial-recorder.js';
import { variantSpec } from '../manifests.js';
import type { ClusterEvent, VariantHandle } from '../provider.js';
import { CpuLimiter } from './cpu-limit.js';
import { createLocalProvider } from './provider.js';

/**
 * Per-pod CPU limits on the embedded cluster, with real server processes in real cgroups: a replica
 * whose tool calls burn CPU is held to its quota (CPU time ÷ wall time ≤ the limit), and runs freely
 * without one; the cgroups are gone after down(); where none can be made the run says so.
 */

type Provider = ReturnType<typeof createLocalProvider>;
let provider: Provider | undefined;
afterEach(async () => {
  await provider?.down();
  provider = undefined;
});

/** Whether this machine lets the harness make cgroups with a CPU quota (root, cgroup v1 or v2 with cpu). */
function cgroupsWritable(): boolean {
  const v1 = '/sys/fs/cgroup/cpu';
  try {
    if (existsSync(join(v1, 'cpu.cfs_quota_us'))) {
      accessSync(v1, constants.W_OK);
      return process.getuid?.() === 0;
    }
    return (
      readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/).includes('cpu') &&
      process.getuid?.() === 0
    );
  } catch {
    return false;
  }
}
const canLimit = cgroupsWritable();

/** Drives the variant hard for `ms` and returns its one replica's CPU seconds per wall second. */
async function cpuPerWallSecond(handle: VariantHandle, ms: number): Promise<number> {
  const { runEngine } = await import('../../scenarios/engine/engine.js');
  // Warm up first, so that Node's start-up and JIT are not part of the figure.
  await runEngine({
    url: handle.url,
    protocol: '2026-07-28',
    scenario: 'calls',
    load: { model: 'closed', agents: 6 },
    durationMs: 1_000,
  });
  const before = (await handle.replicas())[0];
  const t0 = performance.now();
  await runEngine({
    url: handle.url,
    protocol: '2026-07-28',
    scenario: 'calls',
    load: { model: 'closed', agents: 6 },
    durationMs: ms,
  });
  const after = (await handle.replicas())[0];
  const wallS = (performance.now() - t0) / 1000;
  expect(after?.name).toBe(before?.name);
  const cpuS = Number(after?.cpuSecondsTotal) - Number(before?.cpuSecondsTotal);
  expect(cpuS).toBeGreaterThan(0);
  return cpuS / wallS;
}

const spec = (cpuLimitMillicores: number | null) =>
  variantSpec('rc', {
    replicas: 1,
    // 50 ms of CPU per tool call: 6 agents calling back to back want far more than a core, and the
    // load generator's own share of a busy host is enough to keep the replica's queue full.
    env: { MCPBENCH_TOOL_CPU_MS: '50' },
    cpuRequestMillicores: 100,
    cpuLimitMillicores,
  });

describe('per-pod CPU limits (local)', () => {
  it.skipIf(!canLimit)(
    'holds a replica to a 250m quota, which it exceeds unlimited; removes the cgroups on down()',
    async () => {
      // Both replicas weigh as much as 16 ordinary processes, so that a busy shared host does not
      // starve them: then the quota is the only thing that tells the two runs apart.
      provider = createLocalProvider({ cgroupCpuShares: 16_384 });
      const events: ClusterEvent[] = [];
      provider.onEvent((e) => events.push(e));
      const limited = (await provider.up([spec(250)])).get('rc')!;
      const limitEvent = events.find((e) => e.kind === 'cpu-limits');
      expect(limitEvent?.variant).toBe('rc');
      expect(limitEvent?.detail).toMatchObject({ enforced: true, cpuLimitMillicores: 250 });
      expect(['cgroup-v1', 'cgroup-v2']).toContain(limitEvent?.detail.mechanism);
      // The replica sits in its own cgroup with the kubelet's quota: 25 ms per 100 ms period.
      const runDir = provider.cgroupDir()!;
      const pod = (await limited.replicas())[0]!;
      const podDir = join(runDir, pod.name);
      const pid = provider.pids()[0]!;
      expect(readFileSync(join(podDir, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(pid));
      if (limitEvent?.detail.mechanism === 'cgroup-v1') {
        expect(readFileSync(join(podDir, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('25000');
        expect(readFileSync(join(podDir, 'cpu.cfs_period_us'), 'utf8').trim()).toBe('100000');
      } else {
        expect(readFileSync(join(podDir, 'cpu.max'), 'utf8').trim()).toBe('25000 100000');
      }
      const limitedRatio = await cpuPerWallSecond(limited, 3_000);
      await provider.down();
      expect(existsSync(podDir)).toBe(false);
      expect(existsSync(runDir)).toBe(false);
      expect(provider.cgroupDir()).toBeNull();

      provider = createLocalProvider({ cgroupCpuShares: 16_384 });
      const unlimitedEvents: ClusterEvent[] = [];
      provider.onEvent((e) => unlimitedEvents.push(e));
      const unlimited = (await provider.up([spec(null)])).get('rc')!;
      expect(unlimitedEvents.find((e) => e.kind === 'cpu-limits')?.detail).toMatchObject({
        enforced: false,
        cpuLimitMillicores: null,
        mechanism: 'none',
      });
      // Unlimited, the replica still gets a cgroup of its own, without a quota (as a kubelet does it).
      const unlimitedPod = (await unlimited.replicas())[0]!;
      const unlimitedDir = join(provider.cgroupDir()!, unlimitedPod.name);
      if (limitEvent?.detail.mechanism === 'cgroup-v1')
        expect(readFileSync(join(unlimitedDir, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('-1');
      const unlimitedRatio = await cpuPerWallSecond(unlimited, 3_000);
      console.log(
        `CPU-s per wall-s: limited 250m ${limitedRatio.toFixed(3)}, unlimited ${unlimitedRatio.toFixed(3)}`,
      );
      // The quota bounds CPU time per wall second at 0.25 (a little over at period edges).
      expect(limitedRatio).toBeLessThanOrEqual(0.3);
      expect(unlimitedRatio).toBeGreaterThan(0.6);
    },
    60_000,
  );

  it('runs unlimited and says why when no cgroup can be made there', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'mcpbench-cgroup-')), 'nothing-here');
    provider = createLocalProvider({ cgroupRoot: missing });
    const events: ClusterEvent[] = [];
    provider.onEvent((e) => events.push(e));
    const handle = (await provider.up([spec(250)])).get('rc')!;
    const detail = events.find((e) => e.kind === 'cpu-limits')?.detail;
    expect(detail).toMatchObject({ enforced: false, cpuLimitMillicores: 250, mechanism: 'none' });
    expect(String(detail?.reason)).toContain(missing);
    // The replica still serves, without a limit, and still reports its costs.
    const [pod] = await handle.replicas();
    expect(pod?.ready).toBe(true);
    expect(pod?.cpuSecondsTotal).toBeGreaterThan(0);
    expect(pod?.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(provider.cgroupDir()).toBeNull();
  }, 30_000);

  it.skipIf(!canLimit || !existsSync('/usr/bin/setpriv'))(
    'says limits are not enforced when the harness is not root (cgroup root not writable)',
    () => {
      // The module itself, as an unprivileged user (nobody) facing the machine's real cgroup tree.
      const module = fileURLToPath(new URL('../../dist/cluster/local/cpu-limit.js', import.meta.url));
      const script = `import(${JSON.stringify(module)}).then(({ CpuLimiter }) => { const l = new CpuLimiter(); console.log(JSON.stringify(l.detail(250))); l.removeAll(); })`;
      const out = spawnSync(
        '/usr/bin/setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, '-e', script],
        { encoding: 'utf8', timeout: 20_000 },
      );
      expect(out.status, out.stderr).toBe(0);
      const detail = JSON.parse(out.stdout.trim());
      expect(detail).toMatchObject({ enforced: false, cpuLimitMillicores: 250, mechanism: 'none' });
      expect(detail.reason).toMatch(/cannot create a cgroup under .*(EACCES|EPERM|EROFS)/);
    },
    30_000,
  );

  it.skipIf(!canLimit)(
    'leaves no cgroup behind when a replica exits, and sweeps runs whose harness died',
    () => {
      const limiter = new CpuLimiter();
      expect(limiter.detail(500)).toMatchObject({ enforced: true });
      const dir = limiter.runCgroup!;
      const wrapped = limiter.wrap('solo-r1-000', 500, process.execPath, ['-e', 'process.exit(0)']);
      const done = spawnSync(wrapped.command, wrapped.args, { encoding: 'utf8' });
      expect(done.status, done.stderr).toBe(0);
      expect(existsSync(join(dir, 'solo-r1-000'))).toBe(true);
      limiter.release('solo-r1-000');
      expect(existsSync(join(dir, 'solo-r1-000'))).toBe(false);
      // A run cgroup whose owner is gone (a SIGKILLed harness: pid far above pid_max) is removed by the next run.
      const base = join(dir, '..');
      const stale = join(base, 'mcpbench-99999999-stale0');
      spawnSync('mkdir', ['-p', join(stale, 'pod-a')]);
      expect(existsSync(join(stale, 'pod-a'))).toBe(true);
      new CpuLimiter().removeAll();
      expect(existsSync(stale)).toBe(false);
      limiter.removeAll();
      expect(existsSync(dir)).toBe(false);
    },
  );
});

describe('cost samples (local)', () => {
  it('records CPU time, RSS and live sessions per replica and the Redis figures for legacy-redis', async () => {
    provider = createLocalProvider();
    const handle = (await provider.up([variantSpec('legacy-redis', { replicas: 2 })])).get('legacy-redis')!;
    const recorder = new TrialRecorder('legacy-redis');
    const p = provider;
    recorder.startSampling(handle, 300, async () => (await p.redisStats?.()) ?? null);
    const { runEngine } = await import('../../scenarios/engine/engine.js');
    const startedAt = Date.now();
    await runEngine({
      url: handle.url,
      protocol: '2025-11-25',
      scenario: 'calls',
      load: { model: 'closed', agents: 4 },
      durationMs: 2_000,
    });
    await recorder.stopSampling();
    const { samples } = recorder.finish(startedAt);
    expect(samples.length).toBeGreaterThanOrEqual(3);
    const last = samples.at(-1)!;
    expect(last.replicas).toHaveLength(2);
    for (const r of last.replicas) {
      expect(r.cpuSecondsTotal).toBeGreaterThan(0);
      expect(r.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(typeof r.sessions).toBe('number');
    }
    // The agents' sessions live in the replicas (legacy) and in Redis (their metadata).
    expect(last.replicas.reduce((s, r) => s + Number(r.sessions), 0)).toBeGreaterThanOrEqual(1);
    expect(last.redis?.keys).toBeGreaterThanOrEqual(1);
    expect(last.redis?.usedMemoryBytes).toBeGreaterThan(100_000);
    expect(last.redis?.cpuSecondsTotal).toBeGreaterThan(0);
    // CPU time only grows, replica by replica.
    const first = samples[0]!;
    for (const r of last.replicas) {
      const earlier = first.replicas.find((x) => x.name === r.name);
      if (earlier) expect(Number(r.cpuSecondsTotal)).toBeGreaterThanOrEqual(Number(earlier.cpuSecondsTotal));
    }
    expect(Number(last.redis?.cpuSecondsTotal)).toBeGreaterThanOrEqual(Number(first.redis?.cpuSecondsTotal));
  }, 60_000);
});
