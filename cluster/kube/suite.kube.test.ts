import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { kindUnavailable } from '../kind/provider.js';

/**
 * The four experiments, shortened, against every variant on a real cluster through the real CLI:
 * real rollouts, real pod deletions, real HPA decisions. kind (built offline) unless
 * MCPBENCH_KUBECONFIG names another cluster for the kube provider. Skips, saying why, otherwise.
 */
const cli = fileURLToPath(new URL('../../bin/mcpbench.js', import.meta.url));
const kubeconfig = process.env.MCPBENCH_KUBECONFIG;
const skipReason = kubeconfig ? null : await kindUnavailable();
if (skipReason) console.warn(`cluster suite skipped: ${skipReason}`);

interface VariantSummary {
  experiment: string;
  variant: string;
  requests: number;
  errors: Record<string, number>;
  disruption: { rolloutDurationMs: number | null } | null;
  scaling: { timeline: unknown[]; maxReplicas: number } | null;
}

describe.skipIf(skipReason !== null)('mcpbench run on a real cluster (shortened suite)', () => {
  it('runs every experiment × variant and writes a complete, analysed run directory', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'mcpbench-kube-suite-')), 'run');
    const args = kubeconfig
      ? [
          '--cluster',
          'kube',
          ...(process.env.MCPBENCH_KUBE_CONTEXT ? ['--context', process.env.MCPBENCH_KUBE_CONTEXT] : []),
        ]
      : ['--cluster', 'kind'];
    const stderr: string[] = [];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        process.execPath,
        [cli, 'run', ...args, '--duration', '8s', '--trials', '1', '--out', out],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
          env: { ...process.env, ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}) },
        },
      );
      child.stderr.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
      child.on('exit', (c) => resolve(c));
    });
    expect(code, stderr.join('').slice(-4000)).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(manifest.status).toBe('complete');
    expect(manifest.cluster.provider).toBe(kubeconfig ? 'kube' : 'kind');
    expect(manifest.cluster.kubernetesVersion).toMatch(/^v1\./);
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as {
      variants: VariantSummary[];
    };
    const got = summary.variants.map((v) => `${v.experiment}/${v.variant}`).sort();
    for (const e of ['hpa', 'pod-kill', 'rolling-update', 'ttl-cache'])
      for (const v of ['legacy-redis', 'legacy-sticky', 'rc']) expect(got).toContain(`${e}/${v}`);
    for (const v of summary.variants) expect(v.requests, `${v.experiment}/${v.variant}`).toBeGreaterThan(0);
    // A real rollout happened and was timed; the HPA's decisions were sampled.
    for (const v of summary.variants.filter((x) => x.experiment === 'rolling-update'))
      expect(v.disruption?.rolloutDurationMs, v.variant).toBeGreaterThan(0);
    for (const v of summary.variants.filter((x) => x.experiment === 'hpa'))
      expect(v.scaling?.timeline.length, v.variant).toBeGreaterThan(0);
    const events = await readFile(join(out, 'raw', 'pod-kill', 'rc', 'trial-1', 'events.jsonl'), 'utf8');
    expect(events).toMatch(/"kind":"pod-killed"/);
  });
});
