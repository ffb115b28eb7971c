import * as hdr from 'hdr-histogram-js';
import {
  type EngineResult,
  type ErrorClass,
  emptyErrors,
  emptyLifecycle,
  HISTOGRAM_KEYS,
  MAX_FAILURE_RECORDS,
  type TimeseriesPoint,
} from '../../rundir/raw-result.js';

/**
 * Everything the engine measures: HDR histograms (µs, 3 significant digits) per key, counters,
 * lifecycle events, per-replica attribution and a 1-second time series. Single-threaded: the engine's
 * event loop is the only writer.
 */

const build = () =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });

type Lifecycle = EngineResult['lifecycle'];

const MAX_CAUSES = 20;

/** A second of the time series before anything happened in it. */
const emptySecond = (t: number): TimeseriesPoint => ({
  t,
  requests: 0,
  errors: 0,
  turns: 0,
  p50Us: 0,
  p99Us: 0,
  perReplica: {},
});

export class Recorder {
  readonly histograms = new Map<string, hdr.Histogram>();
  readonly errors: Record<ErrorClass, number> = emptyErrors();
  readonly counts = {
    requests: 0,
    ok: 0,
    errors: 0,
    turns: 0,
    sessions: 0,
    roundTrips: 0,
    bytesSent: 0,
    bytesReceived: 0,
  };
  readonly lifecycle: Lifecycle = emptyLifecycle();
  /** why errors happened, per class (at most MAX_CAUSES causes each): filled on the error path only */
  readonly errorCauses: Partial<Record<ErrorClass, Record<string, number>>> = {};
  /** the clients' back-off waits: how many, and their total in ms (never inside a latency) */
  readonly backoff = { count: 0, totalMs: 0 };
  readonly perReplica: Record<string, number> = {};
  /** the first MAX_FAILURE_RECORDS failed requests, one by one (time since start, class, cause) */
  readonly failures: NonNullable<EngineResult['failures']> = { records: [], dropped: 0 };
  readonly timeseries: TimeseriesPoint[] = [];
  private second = build();
  private secondIndex = 0;
  /** when the current second ends: a comparison per request instead of a BigInt division */
  private secondEndsNs: bigint;
  private secondPoint: TimeseriesPoint = emptySecond(0);

  constructor(private readonly startNs: bigint) {
    this.secondEndsNs = startNs + 1_000_000_000n;
  }

  /** per-method histograms by bare method name: no key string built per request */
  private readonly byMethod = new Map<string, hdr.Histogram>();

  private methodHistogram(method: string): hdr.Histogram {
    let h = this.byMethod.get(method);
    if (!h) {
      h = this.histogram(HISTOGRAM_KEYS.method(method));
      this.byMethod.set(method, h);
    }
    return h;
  }

  histogram(key: string): hdr.Histogram {
    let h = this.histograms.get(key);
    if (!h) {
      h = build();
      this.histograms.set(key, h);
    }
    return h;
  }

  private roll(nowNs: bigint): void {
    if (nowNs < this.secondEndsNs) return;
    const index = Number((nowNs - this.startNs) / 1_000_000_000n);
    while (index > this.secondIndex) {
      this.closeSecond();
      this.secondIndex++;
      this.secondPoint = emptySecond(this.secondIndex);
    }
    this.secondEndsNs = this.startNs + BigInt(this.secondIndex + 1) * 1_000_000_000n;
  }

  private closeSecond(): void {
    if (this.second.totalCount > 0) {
      this.secondPoint.p50Us = this.second.getValueAtPercentile(50);
      this.secondPoint.p99Us = this.second.getValueAtPercentile(99);
    }
    this.timeseries.push(this.secondPoint);
    this.second.reset();
  }

  /** One HTTP exchange: service time, CO-corrected time, and where it landed. */
  request(
    method: string,
    serviceUs: number,
    correctedUs: number,
    replica: string | null,
    nowNs: bigint,
    sent: number,
    received: number,
  ) {
    this.roll(nowNs);
    const us = Math.max(1, Math.round(serviceUs));
    this.methodHistogram(method).recordValue(us);
    if (!method.endsWith(' long_operation')) {
      this.histogram(HISTOGRAM_KEYS.request).recordValue(us);
      this.histogram(HISTOGRAM_KEYS.requestCorrected).recordValue(Math.max(us, Math.round(correctedUs)));
      this.second.recordValue(us);
    }
    this.counts.requests++;
    this.counts.roundTrips++;
    this.counts.bytesSent += sent;
    this.counts.bytesReceived += received;
    this.secondPoint.requests++;
    if (replica) {
      this.perReplica[replica] = (this.perReplica[replica] ?? 0) + 1;
      this.secondPoint.perReplica[replica] = (this.secondPoint.perReplica[replica] ?? 0) + 1;
    }
  }

  /** An arrival the engine could not start on time: its latency counts from when it was due. */
  correctedOnly(us: number): void {
    this.histogram(HISTOGRAM_KEYS.requestCorrected).recordValue(Math.max(1, Math.round(us)));
  }

  ok(): void {
    this.counts.ok++;
  }

  error(kind: ErrorClass, nowNs: bigint, cause?: string): void {
    this.roll(nowNs);
    this.errors[kind]++;
    this.counts.errors++;
    this.secondPoint.errors++;
    this.secondPoint.errorsByClass ??= {};
    const byClass = this.secondPoint.errorsByClass;
    byClass[kind] = (byClass[kind] ?? 0) + 1;
    if (this.failures.records.length < MAX_FAILURE_RECORDS) {
      const tMs = Math.max(0, Math.round(Number(nowNs - this.startNs) / 100_000) / 10);
      this.failures.records.push(cause === undefined ? { tMs, class: kind } : { tMs, class: kind, cause });
    } else this.failures.dropped++;
    if (cause !== undefined) this.cause(kind, cause);
  }

  /** Counts a cause of an error of class `kind` (at most MAX_CAUSES distinct ones; the rest as "other"). */
  cause(kind: ErrorClass, cause: string, n = 1): void {
    let causes = this.errorCauses[kind];
    if (!causes) {
      causes = {};
      this.errorCauses[kind] = causes;
    }
    const key = cause in causes || Object.keys(causes).length < MAX_CAUSES ? cause : 'other';
    causes[key] = (causes[key] ?? 0) + n;
  }

  /** A client waited `ms` before its next exchange. */
  backedOff(ms: number): void {
    this.backoff.count++;
    this.backoff.totalMs += ms;
  }

  /** One agent turn; with `nowNs` (the built-in engine's clock) it is also counted in its second. */
  turn(us: number, nowNs?: bigint): void {
    this.counts.turns++;
    if (nowNs !== undefined) {
      this.roll(nowNs);
      this.secondPoint.turns = (this.secondPoint.turns ?? 0) + 1;
    }
    this.histogram(HISTOGRAM_KEYS.turn).recordValue(Math.max(1, Math.round(us)));
  }

  /** Closes the series at `endNs` and encodes the histograms. */
  finish(endNs: bigint): Pick<EngineResult, 'histograms' | 'timeseries'> {
    this.roll(endNs);
    this.closeSecond();
    const histograms: Record<string, string> = {};
    for (const [key, h] of this.histograms) histograms[key] = hdr.encodeIntoCompressedBase64(h);
    return { histograms, timeseries: this.timeseries };
  }

  /** A progress snapshot of the last full second. */
  lastSecond(): TimeseriesPoint | undefined {
    return this.timeseries[this.timeseries.length - 1];
  }
}
