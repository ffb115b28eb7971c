import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GeneratorResult,
  GeneratorResultSchema,
  type GeneratorSpec,
} from '../../rundir/generator-spec.js';
import { mergeEngineResults } from '../../rundir/merge-results.js';
import { unframeResult } from '../../rundir/result-framing.js';
import { answerOk, startLoopbackServer } from '../../test/loopback-server.js';

const run = promisify(execFile);
const MAIN = new URL('../../dist/scenarios/generator/main.js', import.meta.url).pathname;

/** The generator pod's program, run as the pods run it (a process per index, the spec in its env). */
describe('generator program', () => {
  let canned: Server;
  let url = '';
  let answered = 0;
  beforeAll(async () => {
    ({ server: canned, url } = await startLoopbackServer((_req, body, res) => {
      answered++;
      answerOk(body, res);
    }));
  });
  afterAll(() => canned.close());

  const spec = (startAtMs: number): GeneratorSpec => ({
    schema: 'mcpbench/generator-spec@1',
    url,
    protocol: '2026-07-28',
    scenario: 'calls',
    scenarioParams: {},
    load: { model: 'open', rate: 100, unit: 'requests' },
    durationMs: 1_500,
    seed: 3,
    count: 2,
    startAtMs,
  });
  const generator = (index: number, s: GeneratorSpec) =>
    run(process.execPath, [MAIN], {
      env: {
        ...process.env,
        MCPBENCH_GENERATOR_SPEC: JSON.stringify(s),
        JOB_COMPLETION_INDEX: String(index),
      },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout,
        stderr: e.stderr,
      }),
    );

  it('two pods start together, each runs its share, and their framed results merge into the whole', async () => {
    answered = 0;
    const s = spec(Date.now() + 2_000);
    const outs = await Promise.all([generator(0, s), generator(1, s)]);
    expect(outs.map((o) => o.code)).toEqual([0, 0]);
    const results = outs.map((o) => {
      const framed = unframeResult(o.stdout);
      if (!('value' in framed)) throw new Error(framed.problem);
      return GeneratorResultSchema.parse(framed.value) as GeneratorResult;
    });
    expect(results.map((r) => r.index)).toEqual([0, 1]);
    for (const r of results) expect(Math.abs(r.result.startedAtMs - s.startAtMs)).toBeLessThan(1_000);
    const merged = mergeEngineResults(results.map((r) => r.result));
    expect(merged.counts.requests).toBe(
      results[0]!.result.counts.requests + results[1]!.result.counts.requests,
    );
    // Every request the pods counted reached the server, and the arrivals that fell due add up to the whole load.
    expect(merged.counts.requests).toBe(answered);
    expect(Math.abs(merged.counts.requests + merged.engineFaults.missedArrivals - 150)).toBeLessThanOrEqual(
      2,
    );
  });

  it('refuses a bad spec or index, and a start instant that has passed, naming why', async () => {
    const late = await generator(0, spec(Date.now() - 5_000));
    expect(late.code).toBe(3);
    expect(late.stderr).toMatch(/after the common start/);
    const badIndex = await generator(2, spec(Date.now() + 1_000));
    expect(badIndex.code).toBe(2);
    expect(badIndex.stderr).toMatch(/JOB_COMPLETION_INDEX 2/);
    const bad = await generator(0, { ...spec(Date.now()), durationMs: -1 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/durationMs/);
  });
});
