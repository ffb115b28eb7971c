import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { kindUnavailable, loadImagesIntoKind } from '../kind/provider.js';

/**
 * A server that is not ours on a real cluster, through the real CLI: the MCP reference server
 * (@modelcontextprotocol/server-everything, 2025-11-25, sessions in memory) from its own image
 * (`bash cluster/offline/build.sh byo`), examples/byo-kind.yaml: a shortened ttl-cache and pod-kill. kind unless
 * MCPBENCH_KUBECONFIG names a cluster for the kube provider (there the image is used as it is; when
 * that cluster is a kind cluster, context kind-NAME, the test loads the image into it first, as the
 * kind provider would). Skips, saying why, when there is no cluster or no image.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'bin/mcpbench.js');
const IMAGE = 'mcpbench-byo/server-everything:dev';
const kubeconfig = process.env.MCPBENCH_KUBECONFIG;
const context = process.env.MCPBENCH_KUBE_CONTEXT;

function imageMissing(): string | null {
  try {
    execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
    return null;
  } catch {
    return `no image ${IMAGE} (run: bash cluster/offline/build.sh byo, after npm run byo:install)`;
  }
}
const skipReason = (kubeconfig ? null : await kindUnavailable()) ?? imageMissing();
if (skipReason) console.warn(`bring-your-own cluster test skipped: ${skipReason}`);

interface Sample {
  replicas: Array<{
    name: string;
    cpuMillicores: number | null;
    cpuSecondsTotal?: number | null;
    rssBytes?: number | null;
    sessions?: number | null;
  }>;
}

const jsonl = async <T>(file: string): Promise<T[]> =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

describe.skipIf(skipReason !== null)('a server that is not ours on a real cluster (shortened suite)', () => {
  beforeAll(async () => {
    const name = context?.startsWith('kind-') ? context.slice('kind-'.length) : undefined;
    if (kubeconfig && name) await loadImagesIntoKind({ clusterName: name }, [IMAGE]);
  });

  it('runs ttl-cache and pod-kill against server-everything from its image, and marks what it lacks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpbench-byo-kube-'));
    const out = join(dir, 'run');
    const config = join(dir, 'byo.yaml');
    // examples/byo-kind.yaml, with ttl-cache long enough (40 s) for metrics-server to have scraped its
    // pods twice (at its 15 s resolution), so their CPU and memory show up in the samples.
    const example = parse(await readFile(join(root, 'examples/byo-kind.yaml'), 'utf8'));
    expect(example.variants[0].kube.image).toBe(IMAGE);
    await writeFile(config, stringify({ ...example, overrides: { 'ttl-cache': { duration: '40s' } } }));
    const args = kubeconfig
      ? ['--cluster', 'kube', ...(context ? ['--context', context] : [])]
      : ['--cluster', 'kind'];
    const stderr: string[] = [];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [cli, 'run', '--config', config, ...args, '--out', out], {
        cwd: root,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}) },
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
      child.on('exit', (c) => resolve(c));
    });
    const log = stderr.join('');
    expect(code, log.slice(-4000)).toBe(0);
    if (kubeconfig) expect(log).toContain(`runs image ${IMAGE} as it is (imagePullPolicy IfNotPresent)`);
    expect(log).toMatch(
      /everything: protocol 2025-11-25 \(detected: initialize answered protocolVersion 2025-11-25/,
    );

    const manifest = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(manifest.status).toBe('complete');
    expect(manifest.cluster.provider).toBe(kubeconfig ? 'kube' : 'kind');
    const info = manifest.variantInfo.everything;
    expect(info.tools).toEqual(['echo', 'get-sum']);
    expect(info.notApplicable).toMatchObject({
      tasks: 'no long-running tool (workload.longRunning)',
      handles: 'no handle flow (workload.handle)',
      ttl: '2025-11-25 list results carry no ttlMs',
    });
    // No replica header, but the cluster sees each pod's CPU: the load spread is not marked n/a here.
    expect(info.notApplicable.replicaHeader).toBeUndefined();

    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as {
      variants: Array<{
        experiment: string;
        variant: string;
        requests: number;
        errors: Record<string, number>;
      }>;
    };
    expect(summary.variants.map((v) => `${v.experiment}/${v.variant}`).sort()).toEqual([
      'pod-kill/everything',
      'ttl-cache/everything',
    ]);
    for (const v of summary.variants) expect(v.requests, `${v.experiment}/${v.variant}`).toBeGreaterThan(0);
    const report = await readFile(join(out, 'report.md'), 'utf8');
    expect(report).toContain('Servers that are not ours');
    expect(report).toContain('n/a (no long-running tool (workload.longRunning))');

    // Its pods are watched like ours: each kill named and said how. On kind a kill is a crash (SIGKILL
    // from the node): the pod stays and its container restarts. On kube it is a deletion: the killed pod
    // is seen to exit and as many new pods to start (the trial's events begin after the bring-up, so the
    // first pods are not in them; a replacement can be seen a moment before the kill's own event).
    const trial = join(out, 'raw', 'pod-kill', 'everything', 'trial-1');
    const events = await jsonl<{
      tMs: number;
      kind: string;
      variant: string;
      detail: Record<string, unknown>;
    }>(join(trial, 'events.jsonl'));
    const kills = events.filter((e) => e.kind === 'pod-killed');
    expect(kills.length).toBeGreaterThanOrEqual(1);
    const crashes = !kubeconfig; // --cluster kind; --cluster kube deletes, even on a kind cluster
    for (const k of kills) expect(String(k.detail.how)).toMatch(crashes ? /^SIGKILL/ : /^deleted/);
    if (!crashes) {
      const started = events.filter((e) => e.kind === 'pod-started' && e.variant === 'everything');
      expect(started.length).toBeGreaterThanOrEqual(kills.length);
      for (const k of kills)
        expect(events.some((e) => e.kind === 'pod-exited' && e.detail.pod === k.detail.pod)).toBe(true);
    }
    expect(report).toContain('Prepared deployment, for these servers');

    // Its cost samples come from the metrics API, as ours do on a cluster: a CPU rate and working-set
    // memory per pod, no CPU-seconds total and no session count (nothing is read from the server itself).
    const ttlDir = (await readdir(join(out, 'raw'))).find((d) => d.startsWith('ttl-cache')) as string;
    const replicas = (
      await Promise.all(
        [join(out, 'raw', ttlDir, 'everything', 'trial-1'), trial].map((d) =>
          jsonl<Sample>(join(d, 'samples.jsonl')),
        ),
      )
    )
      .flat()
      .flatMap((s) => s.replicas);
    expect(replicas.length).toBeGreaterThan(0);
    for (const r of replicas) {
      expect(r.cpuSecondsTotal ?? null).toBeNull();
      expect(r.sessions ?? null).toBeNull();
    }
    expect(replicas.filter((r) => (r.cpuMillicores ?? 0) > 0).length).toBeGreaterThan(0);
    expect(replicas.filter((r) => (r.rssBytes ?? 0) > 0).length).toBeGreaterThan(0);
  });
});
