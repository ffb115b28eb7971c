import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerOk, startLoopbackServer } from '../../../test/loopback-server.js';
import { runEngine } from '../engine.js';
import { globalIndex, owns, type Segment, shareOf, validSegment } from './segment.ts';

const segments = (count: number): Segment[] =>
  Array.from({ length: count }, (_, index) => ({ index, count }));

describe('segments of one load', () => {
  it('are disjoint and together exactly the whole, for any count and total', () => {
    for (const count of [1, 2, 3, 7]) {
      for (const total of [0, 1, 2, 5, 12, 100]) {
        const taken = segments(count).flatMap((s) =>
          Array.from({ length: total }, (_, j) => j).filter((j) => owns(s, j)),
        );
        expect(taken.sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, j) => j));
        expect(segments(count).reduce((n, s) => n + shareOf(s, total), 0)).toBe(total);
        for (const s of segments(count)) {
          const mine = Array.from({ length: shareOf(s, total) }, (_, k) => globalIndex(s, k));
          expect(mine.every((j) => j < total && owns(s, j))).toBe(true);
        }
      }
    }
  });

  it('rejects a share that is not one', () => {
    expect(validSegment({ index: 0, count: 1 })).toBeNull();
    expect(validSegment({ index: 3, count: 3 })).toMatch(/index/);
    expect(validSegment({ index: 0, count: 0 })).toMatch(/count/);
    expect(validSegment({ index: 0.5, count: 2 })).toMatch(/index/);
  });
});

describe('the engine runs its segment of the load', () => {
  let canned: Server;
  let url = '';
  const clientsBy = new Map<string, Set<string>>();
  beforeAll(async () => {
    ({ server: canned, url } = await startLoopbackServer((req, body, res) => {
      const run = String(new URL(req.url ?? '/', 'http://x').searchParams.get('run'));
      const client = String(req.headers['x-mcpbench-client'] ?? '');
      if (!clientsBy.has(run)) clientsBy.set(run, new Set());
      clientsBy.get(run)?.add(client);
      answerOk(body, res);
    }));
  });
  afterAll(() => canned.close());

  it('closed model: each segment drives its own agents, and the segments together drive every agent once', async () => {
    const agents = 7;
    const run = (tag: string, segment?: Segment) =>
      runEngine({
        url: `${url}?run=${tag}`,
        protocol: '2026-07-28',
        scenario: 'calls',
        load: { model: 'closed', agents },
        durationMs: 1_000,
        seed: 5,
        segment,
      });
    await run('whole');
    await Promise.all(segments(3).map((s) => run(`seg${s.index}`, s)));
    const whole = clientsBy.get('whole') ?? new Set();
    expect(whole.size).toBe(agents);
    const parts = segments(3).map((s) => clientsBy.get(`seg${s.index}`) ?? new Set<string>());
    expect(parts.map((p) => p.size)).toEqual([3, 2, 2]);
    const union = new Set(parts.flatMap((p) => [...p]));
    expect(union.size).toBe(agents);
    expect([...union].sort()).toEqual([...whole].sort());
  });

  it('open model: the segments start disjoint shares of one schedule that add up to the whole', async () => {
    const rate = 300;
    const durationMs = 2_000;
    const results = await Promise.all(
      segments(3).map((segment) =>
        runEngine({
          url: `${url}?run=open${segment.index}`,
          protocol: '2026-07-28',
          scenario: 'calls',
          load: { model: 'open', rate, unit: 'requests' },
          durationMs,
          segment,
        }),
      ),
    );
    // Every arrival that fell due is either started (a request) or missed (the generator's fault).
    const due = results.map((r) => r.counts.requests + r.engineFaults.missedArrivals);
    const whole = (rate * durationMs) / 1000;
    expect(Math.abs(due.reduce((a, b) => a + b, 0) - whole)).toBeLessThanOrEqual(3);
    for (const d of due) expect(Math.abs(d - whole / 3)).toBeLessThanOrEqual(2);
  });
});
