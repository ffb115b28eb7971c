import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serviceCounts } from '../analysis/plugins/hpa/scaling.js';
import { createLocalProvider } from '../cluster/local/provider.js';
import type { ClusterProvider, ReplicaStatus, VariantHandle } from '../cluster/provider.js';
import {
  buildRunConfig,
  readConfigFile,
  resolveExperiments,
  variantDefinition,
} from '../experiments/config.js';
import { loadTarget } from '../experiments/foreign-target.js';
import { variantSpecFor } from '../experiments/variant-spec.js';
import { runEngine } from '../scenarios/engine/engine.js';

/**
 * The figures of a server that is not ours, on local, with real servers (examples/byo.yaml's two):
 * its load spread from the Service proxy's own per-replica counts (it names no replica in a header),
 * its sessions from what the Service saw in use, its CPU and RSS from /proc — over every process of the
 * replica, so a launcher in front of the server does not hide it — and never from a /metrics endpoint.
 */
const root = fileURLToPath(new URL('..', import.meta.url));

beforeAll(() => {
  const r = spawnSync('bash', [join(root, 'scripts/install-byo-servers.sh')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run byo:install failed:\n${r.stdout}\n${r.stderr}`);
}, 300_000);

let provider: ClusterProvider | undefined;
afterEach(async () => {
  await provider?.down();
  provider = undefined;
});

/** examples/byo.yaml's variant `name` (or `file`'s), changed by `edit`, brought up with `replicas` on local. */
async function upForeign(
  name: string,
  replicas: number,
  edit: (v: Record<string, unknown>) => void = () => {},
  file: Record<string, unknown> | undefined = undefined,
): Promise<{ handle: VariantHandle; target: Awaited<ReturnType<typeof loadTarget>> }> {
  file ??= await readConfigFile(join(root, 'examples/byo.yaml'));
  for (const v of file.variants as Array<Record<string, unknown>>) if (v.name === name) edit(v);
  const config = buildRunConfig({ ...file, variants: file.variants }, { variants: name });
  const def = resolveExperiments(config).find((d) => d.name === 'ttl-cache');
  if (!def) throw new Error('no ttl-cache in examples/byo.yaml');
  const definition = variantDefinition(config, name);
  const spec = variantSpecFor(def, { id: 'default', replicas }, name, { definition });
  provider = createLocalProvider();
  const handle = (await provider.up([spec])).get(name);
  if (!handle) throw new Error(`${name} did not come up`);
  expect(handle.countsRequests).toBe(true);
  const target = await loadTarget(handle.url, definition, def, { serviceCounts: handle.countsRequests });
  return { handle, target };
}

const byName = (rs: ReplicaStatus[]) => new Map(rs.map((r) => [r.name, r]));

function vmRss(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]) * 1024;
}

describe('a server that is not ours, on local', () => {
  it("spreads load by the Service proxy's counts, which equal the requests the engine sent through it", async () => {
    // server-everything (2025-11-25, sessions), 2 replicas behind ClientIP affinity: 4 source
    // addresses land on both.
    const { handle, target } = await upForeign('everything', 2);
    expect(target.info?.notApplicable.replicaHeader).toBeUndefined();
    expect(target.info?.measuredBy?.loadSpread).toBe("the Service proxy's own per-replica request counts");
    expect(target.info?.measuredBy?.sessions).toMatch(/Service proxy/);

    const before = await handle.replicas();
    const result = await runEngine({
      url: handle.url,
      protocol: target.protocol,
      scenario: 'turns',
      scenarioParams: target.scenarioParams,
      load: { model: 'closed', agents: 4 },
      durationMs: 1_500,
      sourceAddresses: 4,
    });
    const after = await handle.replicas();
    expect(result.counts.errors).toBe(0);
    expect(result.counts.requests).toBeGreaterThan(20);
    // the answers name no replica: the engine itself could not tell where they landed
    expect(result.timeseries.every((p) => Object.keys(p.perReplica).length === 0)).toBe(true);

    const was = byName(before);
    const delta = after.map((r) => (r.serviceRequests ?? 0) - (was.get(r.name)?.serviceRequests ?? 0));
    expect(after).toHaveLength(2);
    expect(delta.reduce((a, b) => a + b, 0)).toBe(result.counts.requests);
    for (const d of delta) expect(d).toBeGreaterThan(0);

    // The hpa analysis reads the same counts from the trial's samples.
    const samples = [before, after].map((replicas, i) => ({
      tMs: i * 10_000,
      desired: 2,
      ready: 2,
      replicas: replicas.map((r) => ({
        name: r.name,
        ready: r.ready,
        phase: r.phase,
        cpuMillicores: r.cpuMillicores,
        ...(r.serviceRequests !== undefined ? { serviceRequests: r.serviceRequests } : {}),
      })),
    }));
    const per = serviceCounts(samples, 0, 20_000);
    expect(Object.values(per ?? {}).reduce((a, b) => a + b, 0)).toBe(result.counts.requests);

    // Sessions are what the Service saw in use: the engine's agents DELETEd theirs at the end.
    expect(result.counts.sessions).toBeGreaterThanOrEqual(4);
    for (const r of after) expect(r.sessions).toBe(0);
  }, 120_000);

  it('reads CPU and RSS from /proc over the whole replica, launcher included, and no sessions for a stateless server', async () => {
    // py-inventory (2026-07-28) started through a shell that stays in front of it (no exec): the
    // replica's own pid is the shell, the server is its child.
    const { handle, target } = await upForeign('py-inventory', 1, (v) => {
      const local = v.local as { command: string; args: string[] };
      local.args = ['-c', `"${local.command}" "$@"; exit $?`, 'sh', ...local.args];
      local.command = '/bin/sh';
    });
    expect(target.info?.notApplicable.sessions).toMatch(/stateless/);
    expect(target.info?.measuredBy?.cpu).toMatch(/\/proc/);
    const [start] = await handle.replicas();
    const result = await runEngine({
      url: handle.url,
      protocol: target.protocol,
      scenario: 'turns',
      scenarioParams: target.scenarioParams,
      load: { model: 'closed', agents: 4 },
      durationMs: 1_500,
    });
    const [end] = await handle.replicas();
    expect(result.counts.errors).toBe(0);
    expect(start?.rssBytes).toBeTypeOf('number');
    expect(end?.cpuSecondsTotal).toBeTypeOf('number');
    // The shell alone is a few hundred KiB to a few MiB; the Python server behind it tens of MiB.
    const shellPid = (provider as unknown as { pids(): number[] }).pids()[0] as number;
    expect(readFileSync(`/proc/${shellPid}/cmdline`, 'utf8').split('\0')[0]).toMatch(/sh$/);
    expect(end?.rssBytes as number).toBeGreaterThan(vmRss(shellPid) + 10 * 1024 * 1024);
    // The load's CPU is the server's, the shell's is nil: the figure grew with the requests.
    expect((end?.cpuSecondsTotal as number) - (start?.cpuSecondsTotal as number)).toBeGreaterThan(0);
    // A stateless server: no session was ever seen, so none is reported (not a zero).
    expect(end?.sessions).toBeNull();
    expect(end?.serviceRequests).toBe(result.counts.requests + (start?.serviceRequests ?? 0));
  }, 120_000);

  it("never asks a foreign server's /metrics for its sessions: they are the ones the Service saw in use", async () => {
    // Our own legacy server, described as a server that is not ours: it does answer /metrics with its
    // session count, which must not be read (for a foreign server it would be its own format).
    const file = {
      experiments: ['ttl-cache'],
      variants: [
        {
          name: 'bait',
          protocol: '2025-11-25',
          readiness: { path: '/readyz' },
          local: {
            command: process.execPath,
            args: [join(root, 'dist/servers/legacy/main.js')],
            portEnv: 'MCPBENCH_PORT',
            env: { MCPBENCH_HOST: '127.0.0.1', MCPBENCH_REDIS_URL: 'redis://127.0.0.1:1' },
          },
        },
      ],
    };
    const { handle } = await upForeign('bait', 1, () => {}, file);
    const post = async (body: object, sessionId?: string) => {
      const res = await request(handle.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' } : {}),
        },
        body: JSON.stringify(body),
      });
      await res.body.text();
      return res.headers['mcp-session-id'] as string | undefined;
    };
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    };
    const routedBefore = (await handle.replicas())[0]?.serviceRequests ?? 0;
    // Two sessions opened; only the first is used after its initialize.
    const first = await post(init);
    const second = await post(init);
    expect(first && second && first !== second).toBe(true);
    await post({ jsonrpc: '2.0', id: 2, method: 'ping' }, first);

    const pid = (provider as unknown as { pids(): number[] }).pids()[0] as number;
    const port = /(?:^|\0)MCPBENCH_PORT=(\d+)/.exec(readFileSync(`/proc/${pid}/environ`, 'utf8'))?.[1];
    const metrics = await request(`http://127.0.0.1:${port}/metrics`);
    const own = (await metrics.body.json()) as { sessions: number };
    expect(own.sessions).toBe(2);
    const [replica] = await handle.replicas();
    expect(replica?.sessions).toBe(1);
    expect(replica?.serviceRequests).toBe(routedBefore + 3);
  }, 120_000);
});
