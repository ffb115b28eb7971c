import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from '../../util/processes.js';

/**
 * Per-pod CPU limits on the embedded cluster, the way the kubelet enforces resources.limits.cpu:
 * every replica in its own cgroup with a CFS quota of limit × period per period (100 ms). One cgroup
 * per run, `mcpbench-<pid>-<random>`, holds one child per replica:
 *
 *   cgroup v1  <root>/cpu/mcpbench-…/<replica>/{cpu.cfs_period_us, cpu.cfs_quota_us, cgroup.procs}
 *   cgroup v2  <root>/mcpbench-…/<replica>/{cpu.max, cgroup.procs}   (+cpu in the parents' subtree_control)
 *
 * A replica is placed in its cgroup before it runs any of its own code: it is started through a
 * one-line `sh` wrapper that writes its own pid into cgroup.procs and then execs the server (same pid,
 * like runc putting the container's init in its cgroup before exec), so not even Node's start-up runs
 * outside the quota; writing the pid from the harness after spawn would leave that window open.
 *
 * Where cgroups cannot be made (not root, read-only, no cpu controller), replicas run unlimited and
 * `detail()` says so with the reason; the provider puts that on the trial's events as `cpu-limits`.
 * Cgroups are removed when their replica exits and all at once on down() / exit (processes still in
 * one are moved to the parent first, so removal never waits for a dying process); a run that was
 * SIGKILLed leaves empty cgroups, which the next run removes (their owner pid is dead).
 */

export type CpuLimitMechanism = 'cgroup-v1' | 'cgroup-v2' | 'kubernetes' | 'none';

/** The `detail` of a `cpu-limits` cluster event, one per variant bring-up (agreed with the analysis). */
export interface CpuLimitsDetail {
  enforced: boolean;
  cpuLimitMillicores: number | null;
  mechanism: CpuLimitMechanism;
  reason?: string;
}

/** The CFS period the kubelet uses (cpu.cfs_period_us default, 100 ms). */
const CFS_PERIOD_US = 100_000;
const RUN_PREFIX = 'mcpbench-';

/** Where the cgroup file systems are mounted: MCPBENCH_CGROUP_ROOT, else /sys/fs/cgroup. */
function defaultRoot(): string {
  const env = process.env.MCPBENCH_CGROUP_ROOT;
  return env && env.trim() !== '' ? env : '/sys/fs/cgroup';
}

type Layout =
  | { kind: 'cgroup-v1'; base: string }
  | { kind: 'cgroup-v2'; base: string }
  | { kind: 'none'; reason: string };

function detectLayout(root: string): Layout {
  if (existsSync(join(root, 'cpu', 'cpu.cfs_quota_us')))
    return { kind: 'cgroup-v1', base: join(root, 'cpu') };
  const controllers = join(root, 'cgroup.controllers');
  if (existsSync(controllers)) {
    const list = readFileSync(controllers, 'utf8').trim().split(/\s+/);
    if (list.includes('cpu')) return { kind: 'cgroup-v2', base: root };
    return { kind: 'none', reason: `${root} is cgroup v2 without the cpu controller` };
  }
  return {
    kind: 'none',
    reason: `no cgroup cpu controller under ${root} (neither ${join(root, 'cpu', 'cpu.cfs_quota_us')} nor cgroup v2's cgroup.controllers)`,
  };
}

const errText = (err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : String(err);
};

/** The pids in a cgroup (cgroup.procs), or none when it cannot be read. */
function procsOf(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Moves whatever still runs in `dir` to `parent`, then removes `dir`; true when it is gone. */
function removeCgroup(dir: string, parent: string): boolean {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      rmdirSync(dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY') return false;
      for (const pid of procsOf(dir)) {
        try {
          appendFileSync(join(parent, 'cgroup.procs'), `${pid}\n`);
        } catch {
          // gone meanwhile
        }
      }
    }
  }
  return false;
}

export class CpuLimiter {
  private readonly layout: Layout;
  private readonly runDir: string | null;
  private runDirState: 'absent' | 'created' | { failed: string } = 'absent';
  private readonly replicas = new Set<string>();

  private readonly cpuShares: number | undefined;

  /**
   * `cpuShares`: the weight of every replica's cgroup against everything else on the host (cgroup v1
   * cpu.shares, v2 cpu.weight derived the way the kubelet does). Default: the kernel's (1024, the
   * same as any process), because the harness and its load generator share the host with the replicas
   * and weighting the replicas down by their requests would change what every experiment measures.
   */
  constructor(options: { root?: string; cpuShares?: number } = {}) {
    const root = options.root ?? defaultRoot();
    this.cpuShares = options.cpuShares;
    this.layout = detectLayout(root);
    this.runDir =
      this.layout.kind === 'none'
        ? null
        : join(this.layout.base, `${RUN_PREFIX}${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    if (this.layout.kind !== 'none') sweepStale(this.layout.base);
  }

  /** Creates the run's cgroup once; its failure is the reason limits are not enforced. */
  private ensureRunDir(): string | null {
    if (this.runDirState === 'created') return null;
    if (typeof this.runDirState === 'object') return this.runDirState.failed;
    if (this.layout.kind === 'none' || !this.runDir)
      return this.layout.kind === 'none' ? this.layout.reason : null;
    try {
      if (this.layout.kind === 'cgroup-v2') {
        // cpu must be enabled for the run's cgroup (in its parent) and for its children (in it).
        const parentControl = join(this.layout.base, 'cgroup.subtree_control');
        if (!readFileSync(parentControl, 'utf8').split(/\s+/).includes('cpu'))
          writeFileSync(parentControl, '+cpu');
        mkdirSync(this.runDir);
        this.runDirState = 'created';
        writeFileSync(join(this.runDir, 'cgroup.subtree_control'), '+cpu');
      } else {
        mkdirSync(this.runDir);
        this.runDirState = 'created';
      }
      this.writeWeight(this.runDir);
      return null;
    } catch (err) {
      const why = `cannot create a cgroup under ${this.layout.base} (${errText(err)})`;
      if (this.runDirState === 'created') removeCgroup(this.runDir, this.layout.base);
      this.runDirState = { failed: why };
      return why;
    }
  }

  /** Whether a pod with this limit will be held to it here, and how (the `cpu-limits` event's detail). */
  detail(cpuLimitMillicores: number | null | undefined): CpuLimitsDetail {
    const limit = cpuLimitMillicores ?? null;
    if (limit === null)
      return {
        enforced: false,
        cpuLimitMillicores: null,
        mechanism: 'none',
        reason: 'the pod sets no CPU limit',
      };
    const failed = this.ensureRunDir();
    if (failed || this.layout.kind === 'none')
      return {
        enforced: false,
        cpuLimitMillicores: limit,
        mechanism: 'none',
        reason: `${failed ?? 'no cgroup cpu controller'}; replicas run without a CPU limit`,
      };
    return { enforced: true, cpuLimitMillicores: limit, mechanism: this.layout.kind };
  }

  /**
   * The command that starts `replica` inside its own cgroup, with the quota of `cpuLimitMillicores`
   * (none when it is null: like a kubelet, every pod gets a cgroup, limited or not). The command as is
   * where cgroups cannot be made. Throws when the cgroup cannot be set up although the run's could:
   * a pod that cannot get its limit does not start, as with a kubelet.
   */
  wrap(
    replica: string,
    cpuLimitMillicores: number | null | undefined,
    command: string,
    args: string[],
  ): { command: string; args: string[] } {
    if (this.layout.kind === 'none' || this.ensureRunDir() !== null) return { command, args };
    const dir = this.cgroupOf(replica);
    mkdirSync(dir);
    this.replicas.add(replica);
    const quotaUs =
      cpuLimitMillicores == null
        ? null
        : Math.max(1_000, Math.round((cpuLimitMillicores * CFS_PERIOD_US) / 1000));
    if (this.layout.kind === 'cgroup-v1') {
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quotaUs ?? -1));
    } else {
      writeFileSync(join(dir, 'cpu.max'), `${quotaUs ?? 'max'} ${CFS_PERIOD_US}`);
    }
    this.writeWeight(dir);
    // $0 is the cgroup.procs file; "$@" the server's command line, exec'd with the same pid.
    return {
      command: '/bin/sh',
      args: ['-c', 'echo $$ > "$0" && exec "$@"', join(dir, 'cgroup.procs'), command, ...args],
    };
  }

  /** The configured weight, on a replica's cgroup and on the run's (which is what competes with the host). */
  private writeWeight(dir: string): void {
    if (this.cpuShares === undefined || this.layout.kind === 'none') return;
    if (this.layout.kind === 'cgroup-v1') writeFileSync(join(dir, 'cpu.shares'), String(this.cpuShares));
    else {
      // The kubelet's shares → weight mapping (cgroup v2 cpu.weight is 1..10000).
      const weight = Math.min(10_000, Math.max(1, 1 + Math.floor(((this.cpuShares - 2) * 9999) / 262_142)));
      writeFileSync(join(dir, 'cpu.weight'), String(weight));
    }
  }

  /** The replica's cgroup directory (whether or not it exists). */
  cgroupOf(replica: string): string {
    if (!this.runDir) throw new Error('cpu limits are not enforced here');
    if (!/^[A-Za-z0-9._-]+$/.test(replica)) throw new Error(`replica name "${replica}" is not a cgroup name`);
    return join(this.runDir, replica);
  }

  /** The run's cgroup (null where limits are not enforced), for tests and leak checks. */
  get runCgroup(): string | null {
    return this.runDirState === 'created' ? this.runDir : null;
  }

  /** The replica's exit: its cgroup goes with it. */
  release(replica: string): void {
    if (!this.replicas.has(replica) || !this.runDir) return;
    if (this.layout.kind === 'none') return;
    // Leftover processes go to the top (cgroup v2 allows none in the run's cgroup, which has children).
    if (removeCgroup(this.cgroupOf(replica), this.layout.base)) this.replicas.delete(replica);
  }

  /** Every cgroup of this run, removed now (synchronous: also used from the exit handler). */
  removeAll(): void {
    if (!this.runDir || this.runDirState !== 'created' || this.layout.kind === 'none') return;
    for (const replica of [...this.replicas]) this.release(replica);
    if (removeCgroup(this.runDir, this.layout.base)) this.runDirState = 'absent';
  }
}

/** Run cgroups left by a harness that was SIGKILLed (its pid is dead): removed, with their children. */
function sweepStale(base: string): void {
  let entries: string[];
  try {
    entries = readdirSync(base);
  } catch {
    return;
  }
  for (const name of entries) {
    const m = /^mcpbench-(\d+)-[a-z0-9]+$/.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    const dir = join(base, name);
    try {
      for (const child of readdirSync(dir, { withFileTypes: true }))
        if (child.isDirectory()) removeCgroup(join(dir, child.name), base);
      removeCgroup(dir, base);
    } catch {
      // not ours to fight over
    }
  }
}
