import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { mergeEngineResults } from './merge-results.js';
import { type EngineResult, EngineResultSchema, emptyErrors, emptyLifecycle } from './raw-result.js';

function histogramOf(values: number[]): string {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (const v of values) h.recordValue(v);
  const encoded = hdr.encodeIntoCompressedBase64(h);
  h.destroy();
  return encoded;
}

function part(values: number[], startedAtMs: number, replica: string, perSecond: number[]): EngineResult {
  return {
    schema: 'mcpbench/engine-result@1',
    engine: 'builtin',
    scenario: 'calls',
    target: { url: 'http://svc/mcp', protocol: '2026-07-28' },
    load: { model: 'closed', agents: 2, durationMs: 3_000 },
    startedAtMs,
    durationMs: 3_000,
    histograms: { request: histogramOf(values) },
    counts: {
      requests: values.length,
      ok: values.length - 1,
      errors: 1,
      turns: 4,
      sessions: 2,
      roundTrips: values.length,
      bytesSent: 10,
      bytesReceived: 20,
    },
    errors: { ...emptyErrors(), transport: 1 },
    errorCauses: { transport: { ECONNRESET: 1 } },
    lifecycle: { ...emptyLifecycle(), handlesOpened: 3 },
    perReplica: { [replica]: values.length },
    timeseries: perSecond.map((requests, t) => ({
      t,
      requests,
      errors: t === 0 ? 1 : 0,
      p50Us: 100 * (t + 1),
      p99Us: 200,
      perReplica: { [replica]: requests },
      errorsByClass: (t === 0 ? { transport: 1 } : {}) as Record<string, number>,
    })),
    engineFaults: { missedArrivals: 2, maxSchedulingLagUs: 50, achievedRateRatio: 1, notes: ['n'] },
    failures: { records: [{ tMs: 500, class: 'transport' }], dropped: 0 },
  };
}

const percentileOfUnion = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1] as number;
};

describe('merging the generators of one trial', () => {
  const a = Array.from({ length: 1000 }, (_, i) => 1_000 + i);
  const b = Array.from({ length: 300 }, (_, i) => 50_000 + 10 * i);
  const merged = mergeEngineResults([part(a, 10_000, 'pod-a', [3, 4, 5]), part(b, 11_000, 'pod-b', [7, 8])]);

  it('is a valid engine result whose percentiles are those of the union of every value', () => {
    expect(EngineResultSchema.safeParse(merged).success).toBe(true);
    const h = hdr.decodeFromCompressedBase64(merged.histograms.request as string);
    expect(h.totalCount).toBe(a.length + b.length);
    for (const p of [50, 90, 99, 99.9]) {
      const exact = percentileOfUnion([...a, ...b], p);
      // HDR keeps 3 significant digits: a value is within 0.1% of the exact one.
      expect(Math.abs(h.getValueAtPercentile(p) - exact) / exact).toBeLessThan(0.001);
    }
    h.destroy();
  });

  it('sums counts, errors, causes and per-replica counts, and keeps the earliest start', () => {
    expect(merged.counts.requests).toBe(1_300);
    expect(merged.errors.transport).toBe(2);
    expect(merged.errorCauses?.transport?.ECONNRESET).toBe(2);
    expect(merged.lifecycle.handlesOpened).toBe(6);
    expect(merged.perReplica).toEqual({ 'pod-a': 1000, 'pod-b': 300 });
    expect(merged.engineFaults.missedArrivals).toBe(4);
    expect(merged.load.agents).toBe(4);
    expect(merged.startedAtMs).toBe(10_000);
    expect(merged.durationMs).toBe(4_000);
    expect(merged.engineFaults.notes).toEqual(['generator 0: n', 'generator 1: n']);
  });

  it('puts every failure record on the merged time axis, with its class per second', () => {
    // a's failure at 0.5 s of a; b's at 0.5 s of b, which started a second later
    expect(merged.failures).toEqual({
      records: [
        { tMs: 500, class: 'transport' },
        { tMs: 1_500, class: 'transport' },
      ],
      dropped: 0,
    });
    expect(merged.timeseries.map((p) => p.errorsByClass?.transport ?? 0)).toEqual([1, 1, 0]);
  });

  it('aligns the series by wall-clock second', () => {
    // b started one second after a: its second 0 is a's second 1.
    expect(merged.timeseries.map((p) => p.requests)).toEqual([3, 4 + 7, 5 + 8]);
    expect(merged.timeseries[1]?.perReplica).toEqual({ 'pod-a': 4, 'pod-b': 7 });
    expect(merged.timeseries[1]?.p50Us).toBe(200);
  });
});
