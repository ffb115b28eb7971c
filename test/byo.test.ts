import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * Bring your own server, end to end: the real CLI runs examples/byo.yaml (ttl-cache, rolling-update,
 * pod-kill, capacity) against two MCP servers that are not ours, on the local cluster: the reference server
 * @modelcontextprotocol/server-everything (2025-11-25, sessions) and a server on the Python mcp SDK
 * (2026-07-28, stateless). Both say `protocol: auto`. The report must have the same sections as for
 * our own servers, and mark what these servers do not offer "not applicable", with the reason. On
 * local, neither needs a replica header or a /metrics endpoint: the Service proxy counts the load spread
 * and the sessions in use, and /proc gives each replica's CPU and memory.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin/mcpbench.js');

beforeAll(() => {
  // The project's own install step (npm + PyPI), idempotent: seconds when both are there.
  const r = spawnSync('bash', [join(root, 'scripts/install-byo-servers.sh')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run byo:install failed:\n${r.stdout}\n${r.stderr}`);
}, 300_000);

describe('mcpbench run --config examples/byo.yaml (servers that are not ours)', () => {
  it('detects each protocol, plans the load from tools/list, and marks what the servers lack', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'mcpbench-byo-')), 'run');
    const stderr: string[] = [];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        process.execPath,
        [cli, 'run', '--config', 'examples/byo.yaml', '--duration', '3s', '--out', out],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stderr.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
      child.on('exit', (c) => resolve(c));
    });
    const log = stderr.join('');
    expect(code, log).toBe(0);
    expect(log).toMatch(
      /everything: protocol 2025-11-25 \(detected: initialize answered protocolVersion 2025-11-25/,
    );
    expect(log).toMatch(/py-inventory: protocol 2026-07-28 \(detected: server\/discover answered/);
    expect(log).toContain('arguments inferred for lookup_item, list_warehouses');

    const manifest = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(manifest.status).toBe('complete');
    const everything = manifest.variantInfo.everything;
    const py = manifest.variantInfo['py-inventory'];
    expect(everything.tools).toEqual(['echo', 'get-sum', 'trigger-long-running-operation']);
    expect(everything.skipped.map((s: { tool: string }) => s.tool)).toContain('get-env');
    expect(everything.notApplicable).toEqual({
      tasks: '2025-11-25 has no tasks: long-running calls block',
      handles: 'no handle flow (workload.handle)',
      ttl: '2025-11-25 list results carry no ttlMs',
    });
    expect(everything.measuredBy).toEqual({
      loadSpread: "the Service proxy's own per-replica request counts",
      cpu: "the OS (/proc: the replica's processes' utime + stime)",
      memory: "the OS (/proc: the replica's processes' VmRSS)",
      sessions: 'the Service proxy (Mcp-Session-Id values in use, not yet DELETEd)',
    });
    // The Python server marks tools/list fresh for 5 s: ttl applies; tasks, handles and sessions do not.
    expect(py.listTtlMs).toBe(5000);
    expect(py.notApplicable.sessions).toBe(
      '2026-07-28 is stateless: no sessions to hold, so no memory per session',
    );
    expect(Object.keys(py.notApplicable).sort()).toEqual(['handles', 'sessions', 'tasks']);
    expect(py.measuredBy.sessions).toBeUndefined();

    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    const ids = [...new Set(summary.variants.map((v: { experimentId: string }) => v.experimentId))];
    expect(ids.map((id) => String(id).split('~')[0]).sort()).toEqual([
      'capacity',
      'pod-kill',
      'rolling-update',
      'ttl-cache',
    ]);
    for (const v of summary.variants) {
      expect(v.requests, `${v.experimentId}/${v.variant}`).toBeGreaterThan(0);
      expect(v.protocol).toBe(v.variant === 'everything' ? '2025-11-25' : '2026-07-28');
      // Not applicable is not a zero: no per-trial value to compare.
      if (v.experiment !== 'ttl-cache') expect(v.perTrial.tasksLost).toBeUndefined();
    }
    // capacity: each variant searched at one replica count at least, with its per-pod rate, its CPU per
    // turn from /proc, and memory per session only where there are sessions.
    const cap = summary.variants.filter((v: { experiment: string }) => v.experiment === 'capacity');
    expect(cap.map((v: { variant: string }) => v.variant).sort()).toEqual(['everything', 'py-inventory']);
    for (const v of cap) {
      const where = `capacity/${v.variant}`;
      expect(v.capacity.replicas, where).toBeGreaterThanOrEqual(1);
      expect(v.capacity.trials.length, where).toBeGreaterThanOrEqual(1);
      expect(v.capacity.trials[0].steps, where).toBeGreaterThanOrEqual(2);
      expect(v.capacity.perPod.mean, where).toBeGreaterThan(0);
      expect(v.capacity.cost.cpuMsPerTurn, where).toBeGreaterThan(0);
    }
    const capOf = (name: string) => cap.find((v: { variant: string }) => v.variant === name).capacity;
    expect(capOf('everything').cost.rssBytesPerSession).toBeTypeOf('number');
    expect(capOf('py-inventory').cost.rssBytesPerSession).toBeNull();
    // The 2026-07-28 variant is compared against the 2025-11-25 one, as rc is against legacy-*.
    expect(summary.comparisons.length).toBeGreaterThan(0);
    for (const c of summary.comparisons)
      expect([c.baseline, c.candidate]).toEqual(['everything', 'py-inventory']);
    // The Python server's agents hit their list cache; the legacy one re-lists every turn.
    const ttl = summary.variants.filter((v: { experiment: string }) => v.experiment === 'ttl-cache');
    expect(
      ttl.find((v: { variant: string }) => v.variant === 'py-inventory').lifecycle.listCacheHits,
    ).toBeGreaterThan(0);

    const report = await readFile(join(out, 'report.md'), 'utf8');
    for (const section of [
      '## Verdict',
      '## Servers that are not ours',
      '## ttl-cache',
      '## rolling-update',
      '## pod-kill',
      '## capacity',
      '## Capacity',
    ])
      expect(report).toContain(section);
    expect(report).toContain('n/a (2025-11-25 has no tasks: long-running calls block)');
    expect(report).toContain('n/a (no long-running tool (workload.longRunning))');
    expect(report).toContain('n/a (2025-11-25 list results carry no ttlMs)');
    expect(report).toContain('tasks lost not applicable');
    expect(report).toContain('n/a (2026-07-28 is stateless: no sessions to hold, so no memory per session)');
    expect(report).toMatch(/\| everything ×1 \| [\d.]+ ms \|/); // server CPU per turn, from /proc
    expect(report).toMatch(/everything [\d.]+ ms vs py-inventory/);
    expect(report).toMatch(
      /\*\*capacity\*\*: at 1 replica\(s\), py-inventory sustains [\d.]+ turns\/s; everything /,
    );
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  }, 240_000);
});
