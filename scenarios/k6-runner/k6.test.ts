import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisProcess, startRedis } from '../../cluster/local/redis-server.js';
import { type ServerProcess, startServerProcess } from '../../cluster/local/server-process.js';
import { EngineResultSchema } from '../../rundir/raw-result.js';
import {
  fitStages,
  foldK6Output,
  K6_INSTALL_HINT,
  k6Args,
  k6Binary,
  parseK6Time,
  requireK6,
  runK6,
} from './run-k6.js';

/**
 * k6 against real server processes (built by `npm test` / `npx tsc -p tsconfig.build.json`): the
 * result must be a valid EngineResult with the requests k6 made, attributed to the replica.
 */
const bin = k6Binary();
const skipReason = bin ? '' : ` (skipped: no k6 on PATH or in K6_BINARY; ${K6_INSTALL_HINT})`;
if (!bin) console.warn(`k6 tests against real servers${skipReason}`);

describe("finding the user's k6 (no k6 needed)", () => {
  /** A stand-in executable answering `version` as k6 <version> does. */
  async function fakeK6(version: string): Promise<{ dir: string; bin: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'mcpbench-k6-bin-'));
    const bin = join(dir, 'k6');
    await writeFile(bin, `#!/bin/sh\necho "k6 ${version} (go1.24.0, linux/amd64)"\n`);
    await chmod(bin, 0o755);
    return { dir, bin };
  }

  it('uses K6_BINARY, then the older MCPBENCH_K6, then k6 on PATH', async () => {
    const a = await fakeK6('v1.2.0');
    const b = await fakeK6('v1.3.0');
    expect(k6Binary({ K6_BINARY: a.bin, MCPBENCH_K6: b.bin, PATH: b.dir })).toBe(a.bin);
    expect(k6Binary({ MCPBENCH_K6: b.bin, PATH: a.dir })).toBe(b.bin);
    expect(k6Binary({ PATH: `/nonexistent:${b.dir}` })).toBe(b.bin);
    expect(k6Binary({ PATH: '/nonexistent' })).toBeNull();
    expect(() => k6Binary({ K6_BINARY: '/nonexistent/k6' })).toThrow(
      'K6_BINARY=/nonexistent/k6: not an executable file',
    );
  });

  it('requires k6 >= 1.0 and says how to install it', async () => {
    const old = await fakeK6('v0.57.0');
    await expect(requireK6({ K6_BINARY: old.bin })).rejects.toThrow(
      /is k6 v0\.57\.0; the scripts need k6 >= 1\.0/,
    );
    await expect(requireK6({ PATH: '/nonexistent' })).rejects.toThrow(
      /no k6 found.*install k6 >= 1\.0 yourself/,
    );
    const ok = await fakeK6('v1.8.1');
    await expect(requireK6({ PATH: ok.dir })).resolves.toBe(ok.bin);
  });
});

describe('k6 output folding (no k6 needed)', () => {
  it('parses k6 timestamps to sub-millisecond epoch ms', () => {
    expect(parseK6Time('2026-11-25T02:40:01.123456789Z')).toBeCloseTo(
      Date.UTC(2026, 10, 25, 2, 40, 1, 123) + 0.456789,
      2,
    );
    expect(parseK6Time('2026-11-25T03:40:01.5+01:00')).toBe(Date.UTC(2026, 10, 25, 2, 40, 1, 500));
  });

  it('folds samples into histograms, outcomes, replicas, life cycle and dropped arrivals', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpbench-k6-fold-'));
    const file = join(dir, 'out.json');
    const t0 = Date.UTC(2026, 0, 1, 0, 0, 0);
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    const point = (metric: string, ms: number, value: number, tags: Record<string, string>) =>
      JSON.stringify({ metric, type: 'Point', data: { time: at(ms), value, tags } });
    const lines = [
      JSON.stringify({
        type: 'Metric',
        data: { name: 'mcpbench_req', type: 'trend' },
        metric: 'mcpbench_req',
      }),
      point('mcpbench_req', 100, 1.5, { rpc: 'tools/call', replica: 'a', outcome: 'ok' }),
      point('mcpbench_req', 200, 2.5, { rpc: 'tools/call', replica: 'b', outcome: 'jsonrpc' }),
      point('mcpbench_req', 1_100, 0.5, { rpc: 'tools/list', replica: 'a', outcome: 'ok' }),
      point('mcpbench_req', 1_200, 9, { rpc: 'tools/call long_operation', replica: 'a', outcome: 'ok' }),
      point('mcpbench_err', 1_300, 1, { class: 'timeout', rpc: 'tools/call' }),
      point('mcpbench_event', 1_300, 1, { event: 'sessions' }),
      point('mcpbench_event', 1_300, 2, { event: 'listCacheHits' }),
      point('mcpbench_turn', 1_400, 4, {}),
      point('http_req_duration', 1_400, 4, {}),
      point('dropped_iterations', 1_500, 1, {}),
      point('iterations', 1_500, 3, {}),
      point('data_sent', 1_500, 1000, {}),
    ];
    await writeFile(file, `${lines.join('\n')}\n`);
    const result = await foldK6Output(file, {
      options: {
        url: 'http://127.0.0.1:1/mcp',
        scenario: 'calls',
        load: { model: 'open', rate: 4, unit: 'requests' },
        durationMs: 2_000,
      },
      protocol: '2026-07-28',
      scenario: 'calls',
      startedAtMs: t0,
    });
    expect(EngineResultSchema.parse(result)).toBeTruthy();
    expect(result.engine).toBe('k6');
    expect(result.counts).toMatchObject({
      requests: 5,
      ok: 3,
      errors: 2,
      turns: 1,
      sessions: 1,
      bytesSent: 1000,
    });
    expect(result.errors).toMatchObject({ jsonrpc: 1, timeout: 1, transport: 0 });
    expect(result.perReplica).toEqual({ a: 3, b: 1 });
    expect(result.lifecycle.listCacheHits).toBe(2);
    expect(result.engineFaults.missedArrivals).toBe(1);
    expect(result.engineFaults.achievedRateRatio).toBeCloseTo(0.75);
    // the long operation is kept out of the request histogram, as the built-in engine does
    const request = hdr.decodeFromCompressedBase64(result.histograms.request as string);
    expect(request.totalCount).toBe(3);
    expect(request.maxValue).toBeGreaterThanOrEqual(2_490);
    expect(request.maxValue).toBeLessThan(2_600);
    expect(result.histograms['method:tools/call long_operation']).toBeDefined();
    expect(result.timeseries.map((p) => p.requests)).toEqual([2, 2]);
    expect(result.timeseries[0]?.perReplica).toEqual({ a: 1, b: 1 });
  });

  it('fits ramping stages to the run duration as the built-in engine runs them', () => {
    const stages = [
      { durationMs: 1_000, target: 10 },
      { durationMs: 2_000, target: 30 },
    ];
    expect(fitStages(0, stages, 5_000)).toEqual([...stages, { durationMs: 2_000, target: 30 }]);
    expect(fitStages(0, stages, 2_000)).toEqual([
      { durationMs: 1_000, target: 10 },
      { durationMs: 1_000, target: 20 },
    ]);
    expect(fitStages(4, stages, 500)).toEqual([{ durationMs: 500, target: 7 }]);
  });

  it('names the scenario script and passes the load as k6 environment variables', () => {
    const args = k6Args(
      {
        url: 'http://127.0.0.1:9/mcp',
        scenario: 'turns',
        load: { model: 'closed', agents: 7 },
        durationMs: 3_000,
        sourceAddresses: 4,
      },
      '2025-11-25',
      { json: '/tmp/x.json' },
    );
    expect(args.at(-1)).toMatch(/scenarios\/k6\/turns\.ts$/);
    expect(args).toContain('MCPBENCH_AGENTS=7');
    expect(args).toContain('MCPBENCH_MODEL=closed');
    expect(args).toContain('MCPBENCH_PROTOCOL=2025-11-25');
    expect(args).toContain('127.0.0.10-127.0.0.13');
    expect(args).toContain('json=/tmp/x.json');
  });
});

describe(`k6 against real servers${skipReason}`, () => {
  let rc: ServerProcess | undefined;
  let legacy: ServerProcess | undefined;
  let redis: RedisProcess | undefined;
  beforeAll(async () => {
    if (!bin) return;
    redis = await startRedis();
    [rc, legacy] = await Promise.all([
      startServerProcess({
        kind: 'rc',
        replica: 'rc-k6',
        env: {
          MCPBENCH_REDIS_URL: redis.url,
          MCPBENCH_TASK_DURATION_MS: '200',
          MCPBENCH_TASK_POLL_INTERVAL_MS: '50',
        },
      }),
      startServerProcess({ kind: 'legacy', replica: 'legacy-k6' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([rc?.terminate(), legacy?.terminate()]);
    await redis?.stop();
  });

  it.skipIf(!bin)('runs the calls scenario for 3 s against the rc server (open model)', async () => {
    const server = rc as ServerProcess;
    const result = EngineResultSchema.parse(
      await runK6({
        url: server.url,
        protocol: 'auto',
        scenario: 'calls',
        load: { model: 'open', rate: 50, unit: 'requests' },
        durationMs: 3_000,
      }),
    );
    expect(result.engine).toBe('k6');
    expect(result.target.protocol).toBe('2026-07-28');
    expect(result.counts.requests).toBeGreaterThan(50);
    expect(result.counts.errors, JSON.stringify(result.errors)).toBe(0);
    expect(result.counts.ok).toBe(result.counts.requests);
    expect(result.perReplica).toEqual({ 'rc-k6': result.counts.requests });
    expect(Object.keys(result.histograms)).toEqual(expect.arrayContaining(['request', 'method:tools/call']));
    const h = hdr.decodeFromCompressedBase64(result.histograms.request as string);
    expect(h.totalCount).toBe(result.counts.requests);
    expect(result.timeseries.length).toBeGreaterThanOrEqual(3);
  });

  it.skipIf(!bin)(
    'runs the turns scenario against the legacy server with sessions (closed model)',
    async () => {
      const server = legacy as ServerProcess;
      const result = EngineResultSchema.parse(
        await runK6({
          url: server.url,
          protocol: '2025-11-25',
          scenario: 'turns',
          scenarioParams: { thinkTimeMs: 10, turnsPerSession: 2 },
          load: { model: 'closed', agents: 3 },
          durationMs: 3_000,
        }),
      );
      expect(result.counts.errors, JSON.stringify(result.errors)).toBe(0);
      expect(result.counts.sessions).toBeGreaterThan(1);
      expect(result.counts.turns).toBeGreaterThan(result.counts.sessions);
      for (const m of ['initialize', 'notifications/initialized', 'tools/list', 'tools/call', 'DELETE']) {
        expect(result.histograms[`method:${m}`], m).toBeDefined();
      }
      expect(result.perReplica['legacy-k6']).toBe(result.counts.requests);
    },
  );

  it.skipIf(!bin)(
    'runs the steady scenario against the rc server: handles and tasks (closed model)',
    async () => {
      const server = rc as ServerProcess;
      const result = EngineResultSchema.parse(
        await runK6({
          url: server.url,
          protocol: '2026-07-28',
          scenario: 'steady',
          scenarioParams: { thinkTimeMs: 10 },
          load: { model: 'closed', agents: 4 },
          durationMs: 3_000,
        }),
      );
      expect(result.counts.errors, JSON.stringify(result.errors)).toBe(0);
      expect(result.lifecycle.handlesOpened).toBeGreaterThan(0);
      expect(result.lifecycle.handlesRejected).toBe(0);
      expect(result.lifecycle.tasksStarted).toBeGreaterThan(0);
      expect(result.lifecycle.tasksCompleted + result.lifecycle.tasksCancelled).toBeGreaterThan(0);
      expect(result.lifecycle.listCacheHits).toBeGreaterThan(0);
      expect(result.histograms['method:tasks/get']).toBeDefined();
      expect(result.histograms['method:tools/call long_operation']).toBeDefined();
    },
  );
});
