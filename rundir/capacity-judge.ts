import * as hdr from 'hdr-histogram-js';
import type { CapacitySlo, CapacityStep } from './layout.js';
import { type EngineResult, HISTOGRAM_KEYS, requestLatencyKey } from './raw-result.js';
import { latencyAggregateMs, parseThreshold, type ThresholdSpec, thresholdHolds } from './threshold-spec.js';

/**
 * How one fixed-rate step of a capacity search is judged against its SLO. The runner judges each step
 * as it runs (to pick the next rate); analysis and `mcpbench plan` judge the same raw step results
 * again at another SLO, so both read this one function.
 */

/** The SLO a capacity search uses when the run config names none. */
export const DEFAULT_CAPACITY_SLO: CapacitySlo = {
  request: 'p(99)<250',
  turn: 'p(99)<1000',
  errors: 'rate<1%',
  minThroughputRatio: 0.95,
};

/** The SLO's expressions, parsed; an error names the field (slo.request: ...). */
function parseSlo(slo: CapacitySlo): {
  request: ThresholdSpec | null;
  turn: ThresholdSpec | null;
  errors: ThresholdSpec | null;
} {
  const one = (field: 'request' | 'turn' | 'errors', metric: string) => {
    const expr = slo[field];
    if (expr === null) return null;
    try {
      return parseThreshold(metric, expr);
    } catch (err) {
      throw new Error(`slo.${field}: ${(err as Error).message}`);
    }
  };
  return { request: one('request', 'latency'), turn: one('turn', 'turn'), errors: one('errors', 'errors') };
}

/** A latency aggregation (ms) of an encoded histogram, or null when it holds nothing. */
function latencyMs(encoded: string | undefined, spec: ThresholdSpec): number | null {
  if (!encoded) return null;
  const h = hdr.decodeFromCompressedBase64(encoded);
  try {
    return latencyAggregateMs(spec, h);
  } finally {
    h.destroy();
  }
}

function p99Us(encoded: string | undefined): number | null {
  if (!encoded) return null;
  const h = hdr.decodeFromCompressedBase64(encoded);
  const v = h.totalCount ? h.getValueAtPercentile(99) : null;
  h.destroy();
  return v;
}

/**
 * Achieved over offered throughput from the engine's 1 s series: turns completed per second in the
 * whole seconds inside the load window (after the first), over the offered rate.
 * Every arrival is answered in the end (the engine drains in-flight work), so the totals alone cannot
 * tell a server that keeps up from one that queues; the rate inside the window can: it is the offered
 * rate when the server keeps up, whatever its latency, and the server's own rate when it does not.
 * Null when the window has no such second (measure windows under 3 s), or too few answers in them.
 */
function interiorThroughputRatio(
  engine: EngineResult,
  rate: number,
  unit: CapacityStep['unit'],
): number | null {
  const windowS = engine.load.durationMs / 1000;
  const interior = engine.timeseries.filter((p) => p.t >= 1 && p.t + 1 <= windowS);
  // arrivals are evenly spaced, so a count in whole seconds is off by one: below 20 it says too little
  if (!interior.length || rate * interior.length < MIN_INTERIOR_COUNT) return null;
  // a second in which no turn ended has no `turns`; a series with none at all did not record them (k6)
  if (unit === 'turns' && !engine.timeseries.some((p) => p.turns !== undefined)) return null;
  let done = 0;
  for (const p of interior) {
    // turns end once per arrival; requests per arrival vary (sessions set up, lists, calls), so
    // with another unit the answers per second are compared with the window's own average
    done += unit === 'turns' ? (p.turns ?? 0) : p.requests;
  }
  const perSecond = done / interior.length;
  if (unit === 'turns') return perSecond / rate;
  return engine.counts.requests ? perSecond / (engine.counts.requests / windowS) : null;
}

const MIN_INTERIOR_COUNT = 20;
/** skipped arrivals above this share of the offered ones make the generator the limit */
const MISSED_SHARE = 0.01;

/** What the generator measured about itself over a step. */
interface GeneratorFigures {
  /** the harness process's CPU over the step, in cores (1 = one core busy all the time) */
  cpuCores: number;
  maxInFlight: number;
}

export interface JudgeOptions {
  rate: number;
  unit: CapacityStep['unit'];
  slo: CapacitySlo;
  generator: GeneratorFigures;
  /** the generator counts as the limit at or above this CPU (cores) */
  generatorCpuLimit: number;
}

/** The measured figures and the verdict of one step (its placing in the search is the caller's). */
export function judgeStep(
  engine: EngineResult,
  o: JudgeOptions,
): Omit<CapacityStep, 'index' | 'phase' | 'settleStartMs' | 'measureStartMs' | 'endMs'> {
  const slo = parseSlo(o.slo);
  const offered = o.rate * (engine.load.durationMs / 1000);
  const completed =
    o.unit === 'turns'
      ? engine.counts.turns
      : o.unit === 'sessions'
        ? engine.counts.sessions
        : engine.counts.requests;
  const throughputRatio =
    interiorThroughputRatio(engine, o.rate, o.unit) ?? (offered > 0 ? completed / offered : 1);
  const errorRate = engine.counts.requests ? engine.counts.errors / engine.counts.requests : 0;
  const requestKey = requestLatencyKey(engine);
  const reasons: string[] = [];
  const latencyFailures: string[] = [];
  if (slo.request) {
    const v = latencyMs(engine.histograms[requestKey], slo.request);
    if (v !== null && !thresholdHolds(slo.request, v))
      latencyFailures.push(`request ${slo.request.expression} broken: ${v.toFixed(1)} ms`);
  }
  if (slo.turn) {
    const v = latencyMs(engine.histograms[HISTOGRAM_KEYS.turn], slo.turn);
    if (v !== null && !thresholdHolds(slo.turn, v))
      latencyFailures.push(`turn ${slo.turn.expression} broken: ${v.toFixed(1)} ms`);
  }
  reasons.push(...latencyFailures);
  if (slo.errors) {
    const v = slo.errors.aggregation === 'count' ? engine.counts.errors : errorRate;
    if (!thresholdHolds(slo.errors, v))
      reasons.push(
        `errors ${slo.errors.expression} broken: ${slo.errors.aggregation === 'count' ? v : `${(v * 100).toFixed(2)}%`}`,
      );
  }
  if (throughputRatio < o.slo.minThroughputRatio)
    reasons.push(
      `throughput ${(throughputRatio * 100).toFixed(1)}% of offered, below ${(o.slo.minThroughputRatio * 100).toFixed(0)}%`,
    );
  const generatorReasons: string[] = [];
  if (o.generator.cpuCores >= o.generatorCpuLimit)
    generatorReasons.push(
      `the load generator used ${o.generator.cpuCores.toFixed(2)} cores (limit ${o.generatorCpuLimit}): it, not the server, may be what was measured`,
    );
  const missed = engine.engineFaults.missedArrivals;
  // one arrival due at the window's very end is missed by the clock, not by a generator that fell behind
  if (missed > Math.max(1, MISSED_SHARE * offered) && latencyFailures.length === 0)
    generatorReasons.push(
      `the load generator skipped ${missed} arrivals (in-flight cap ${o.generator.maxInFlight} or scheduling lag) while the server met its latency objectives`,
    );
  return {
    rate: o.rate,
    unit: o.unit,
    requests: engine.counts.requests,
    errors: engine.counts.errors,
    turns: engine.counts.turns,
    toolCalls: Object.hasOwn(engine.histograms, HISTOGRAM_KEYS.method('tools/call'))
      ? countOf(engine.histograms[HISTOGRAM_KEYS.method('tools/call')])
      : 0,
    requestP99Us: p99Us(engine.histograms[requestKey]),
    turnP99Us: p99Us(engine.histograms[HISTOGRAM_KEYS.turn]),
    errorRate,
    throughputRatio,
    generator: {
      cpuCores: o.generator.cpuCores,
      missedArrivals: missed,
      achievedRateRatio: engine.engineFaults.achievedRateRatio,
      maxInFlight: o.generator.maxInFlight,
    },
    verdict: generatorReasons.length ? 'generator-limited' : reasons.length ? 'fail' : 'pass',
    reasons: generatorReasons.length ? [...generatorReasons, ...reasons] : reasons,
  };
}

function countOf(encoded: string | undefined): number {
  if (!encoded) return 0;
  const h = hdr.decodeFromCompressedBase64(encoded);
  const n = h.totalCount;
  h.destroy();
  return n;
}
