import * as hdr from 'hdr-histogram-js';
import { mergeHistograms } from './histograms.js';
import { type EngineResult, MAX_FAILURE_RECORDS, type TimeseriesPoint } from './raw-result.js';

/**
 * One trial's result from the results of the generators that ran its segments together (each a whole
 * EngineResult of its share): histograms added bucket by bucket (so every percentile of the merge is
 * exact), counts summed, series aligned by wall-clock second. The merge is what thresholds, analysis
 * and compare read; the per-generator results stay beside it in the raw directory.
 *
 * What cannot be exact is said here: a second's p50/p99 in the merged series is the highest of the
 * generators' for that second (the series keeps no per-second histograms), an upper bound; the
 * achieved rate ratio is the request-weighted mean of the generators'.
 */
export function mergeEngineResults(
  parts: readonly EngineResult[],
  load?: EngineResult['load'],
): EngineResult {
  const [first] = parts;
  if (!first) throw new Error('mergeEngineResults: no results to merge');
  const startedAtMs = Math.min(...parts.map((p) => p.startedAtMs));
  const endMs = Math.max(...parts.map((p) => p.startedAtMs + p.durationMs));

  const keys = [...new Set(parts.flatMap((p) => Object.keys(p.histograms)))].sort();
  const histograms: Record<string, string> = {};
  for (const key of keys) {
    const merged = mergeHistograms(parts.map((p) => p.histograms[key]));
    histograms[key] = hdr.encodeIntoCompressedBase64(merged);
    merged.destroy();
  }

  const requests = parts.reduce((n, p) => n + p.counts.requests, 0);
  const weighted = (f: (p: EngineResult) => number) =>
    requests > 0 ? parts.reduce((s, p) => s + f(p) * p.counts.requests, 0) / requests : f(first);

  return {
    schema: first.schema,
    engine: first.engine,
    scenario: first.scenario,
    target: first.target,
    load: load ?? sumLoad(parts),
    startedAtMs,
    durationMs: endMs - startedAtMs,
    histograms,
    counts: sumRecords(parts.map((p) => p.counts)),
    errors: sumRecords(parts.map((p) => p.errors)),
    ...(parts.some((p) => p.errorCauses) ? { errorCauses: sumCauses(parts) } : {}),
    ...(parts.some((p) => p.failures) ? { failures: mergeFailures(parts, startedAtMs) } : {}),
    ...(parts.some((p) => p.backoff)
      ? { backoff: sumRecords(parts.map((p) => p.backoff ?? { count: 0, totalMs: 0 })) }
      : {}),
    lifecycle: sumRecords(parts.map((p) => p.lifecycle)),
    perReplica: sumRecords(parts.map((p) => p.perReplica)),
    timeseries: alignSeries(parts, startedAtMs),
    engineFaults: {
      missedArrivals: parts.reduce((n, p) => n + p.engineFaults.missedArrivals, 0),
      maxSchedulingLagUs: Math.max(...parts.map((p) => p.engineFaults.maxSchedulingLagUs)),
      achievedRateRatio: weighted((p) => p.engineFaults.achievedRateRatio),
      notes: parts.flatMap((p, i) => p.engineFaults.notes.map((n) => `generator ${i}: ${n}`)),
    },
  };
}

/** Adds records of numbers key by key (a key missing in one counts as 0 there). */
function sumRecords<T extends Record<string, number | undefined>>(records: readonly T[]): T {
  const out: Record<string, number> = {};
  for (const r of records)
    for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = (out[k] ?? 0) + v;
  return out as T;
}

function sumCauses(parts: readonly EngineResult[]): NonNullable<EngineResult['errorCauses']> {
  const out: Record<string, Record<string, number>> = {};
  for (const p of parts)
    for (const [cls, causes] of Object.entries(p.errorCauses ?? {})) {
      const into = out[cls] ?? {};
      out[cls] = into;
      for (const [cause, n] of Object.entries(causes)) into[cause] = (into[cause] ?? 0) + n;
    }
  return out;
}

/**
 * The parts' per-failure records on the merged time axis (ms since the earliest start), in time order;
 * beyond the engine's own bound the rest are counted as dropped, as one engine would.
 */
function mergeFailures(
  parts: readonly EngineResult[],
  startedAtMs: number,
): NonNullable<EngineResult['failures']> {
  const records = parts
    .flatMap((p) =>
      (p.failures?.records ?? []).map((r) => ({ ...r, tMs: r.tMs + (p.startedAtMs - startedAtMs) })),
    )
    .sort((a, b) => a.tMs - b.tMs);
  const kept = records.slice(0, MAX_FAILURE_RECORDS);
  const dropped = parts.reduce((n, p) => n + (p.failures?.dropped ?? 0), 0) + (records.length - kept.length);
  return { records: kept, dropped };
}

/** The whole load the parts ran together: agents and rates add up over segments. */
function sumLoad(parts: readonly EngineResult[]): EngineResult['load'] {
  const [first] = parts as [EngineResult];
  const add = (f: (l: EngineResult['load']) => number | undefined) =>
    parts.some((p) => f(p.load) !== undefined) ? parts.reduce((n, p) => n + (f(p.load) ?? 0), 0) : undefined;
  const rate = add((l) => l.rate);
  const agents = add((l) => l.agents);
  return {
    ...first.load,
    ...(rate !== undefined ? { rate } : {}),
    ...(agents !== undefined ? { agents } : {}),
    durationMs: Math.max(...parts.map((p) => p.load.durationMs)),
  };
}

/** Points of every part on one axis: whole seconds since the earliest start, summed per second. */
function alignSeries(parts: readonly EngineResult[], startedAtMs: number): TimeseriesPoint[] {
  const bySecond = new Map<number, TimeseriesPoint>();
  for (const p of parts) {
    const shift = Math.round((p.startedAtMs - startedAtMs) / 1000);
    for (const point of p.timeseries) {
      const t = point.t + shift;
      const into = bySecond.get(t);
      if (!into) {
        bySecond.set(t, {
          ...point,
          t,
          perReplica: { ...point.perReplica },
          ...(point.errorsByClass ? { errorsByClass: { ...point.errorsByClass } } : {}),
        });
        continue;
      }
      into.requests += point.requests;
      into.errors += point.errors;
      if (point.errorsByClass) {
        const byClass = { ...(into.errorsByClass ?? {}) };
        for (const [c, n] of Object.entries(point.errorsByClass)) byClass[c] = (byClass[c] ?? 0) + n;
        into.errorsByClass = byClass;
      }
      into.p50Us = Math.max(into.p50Us, point.p50Us);
      into.p99Us = Math.max(into.p99Us, point.p99Us);
      for (const [r, n] of Object.entries(point.perReplica))
        into.perReplica[r] = (into.perReplica[r] ?? 0) + n;
    }
  }
  return [...bySecond.values()].sort((a, b) => a.t - b.t);
}
