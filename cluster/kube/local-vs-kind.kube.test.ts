import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { kindUnavailable } from '../kind/provider.js';

/**
 * The same shortened suite (rolling-update and pod-kill only, every variant, one trial) on the local provider and on
 * kind, then `mcpbench compare` local → kind: every disruption metric is tested over events on both, and
 * every significant difference carries the provider mechanisms that bear on it (or says it has none).
 */
const cli = fileURLToPath(new URL('../../bin/mcpbench.js', import.meta.url));
const skipReason = await kindUnavailable();
if (skipReason) console.warn(`local-vs-kind skipped: ${skipReason}`);

function mcpbench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const out: string[] = [];
    const err: string[] = [];
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => err.push(d));
    child.on('exit', (code) => resolve({ code, stdout: out.join(''), stderr: err.join('') }));
  });
}

interface Change {
  experimentId: string;
  variant: string;
  metric: string;
  verdict: string;
  events?: { baseline: number; candidate: number };
  explanations?: string[];
}

describe.skipIf(skipReason !== null)('local and kind, compared', () => {
  it('runs the same shortened suite on both and explains each difference compare finds', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mcpbench-local-vs-kind-'));
    // the experiments' own lengths: a rollout on kind takes about 15 s, so a shorter trial ends before
    // its rollouts do and leaves nothing to compare per event
    const suite = ['--experiments', 'rolling-update,pod-kill', '--trials', '1'];
    for (const provider of ['local', 'kind']) {
      const r = await mcpbench(['run', '--cluster', provider, ...suite, '--out', join(root, provider)]);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
    }
    const cmp = await mcpbench(['compare', join(root, 'local'), join(root, 'kind'), '--json']);
    // 0: no regression, 1: kind is significantly worse somewhere; 2 would be a refused comparison
    expect([0, 1], cmp.stderr).toContain(cmp.code);
    const result = JSON.parse(cmp.stdout) as { changes: Change[]; warnings: string[] };
    expect(result.warnings).toContain('cluster provider differs: local vs kind');
    const perEvent = result.changes.filter((c) => c.metric === 'failedPerEvent');
    // both experiments × three variants, each tested over events (at least two on each side)
    expect(perEvent).toHaveLength(6);
    for (const c of perEvent) {
      expect(c.events?.baseline).toBeGreaterThanOrEqual(2);
      expect(c.events?.candidate).toBeGreaterThanOrEqual(2);
      expect(c.verdict).not.toBe('not tested');
    }
    for (const c of result.changes.filter((c) => c.verdict === 'better' || c.verdict === 'worse'))
      expect(Array.isArray(c.explanations), `${c.experimentId}/${c.variant} ${c.metric}`).toBe(true);
    // disruption counts that differ are explained by at least the endpoint-removal mechanism
    for (const c of perEvent.filter((c) => c.verdict === 'better' || c.verdict === 'worse'))
      expect(c.explanations?.some((e) => e.startsWith('endpoint removal:'))).toBe(true);
  });
});
