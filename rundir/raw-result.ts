import { z } from 'zod';

/**
 * The raw result of one engine run (one trial of one experiment against one variant), as written to
 * `raw/<experiment>/<variant>/trial-<n>/engine.json`. Every engine (built-in, k6) produces exactly
 * this; analysis reads only this (plus the trial's events and samples). Latencies are microseconds.
 *
 * Histograms are HdrHistogram snapshots encoded with hdr-histogram-js `encodeIntoCompressedBase64`
 * (the same payload the HdrHistogram log format carries), so they merge exactly across trials.
 */
export const ERROR_CLASSES = [
  /** connection refused / reset / socket closed before a response */
  'transport',
  /** no response within the request timeout */
  'timeout',
  /** an HTTP status other than 2xx that is not one of the classes below */
  'http_status',
  /** a JSON-RPC error object in a 2xx response */
  'jsonrpc',
  /** legacy: 404 for a session the client held (it re-initialises; counted once per loss) */
  'session_lost',
  /** rc: a task id the server no longer knows, or a task that never finished before its deadline */
  'task_lost',
  /** rc: a task that reached status failed */
  'task_failed',
  /** rc: a workspace handle the server refused */
  'handle_rejected',
  /**
   * a 2xx answer that is not the JSON-RPC response to the request (wrong or missing id, not JSON-RPC,
   * a content type other than JSON or an event stream) or a notification not answered 202 with no
   * body: the server did not speak the protocol (absent in results written before it existed)
   */
  'invalid_response',
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** At most this many failed requests are kept one by one in an engine result (the rest are counted per second). */
export const MAX_FAILURE_RECORDS = 5_000;

/** Histogram keys every engine writes (others may be added, e.g. `method:<name>` per JSON-RPC method). */
export const HISTOGRAM_KEYS = {
  /** every HTTP request, service time (send → full response) */
  request: 'request',
  /** every request, corrected for coordinated omission (open model: intended start → response) */
  requestCorrected: 'request:corrected',
  /** one agent turn: discovery + its tool calls (excluding think time) */
  turn: 'turn',
  /** per JSON-RPC method: `method:tools/list`, `method:tools/call`, ... */
  method: (m: string) => `method:${m}`,
} as const;

const TimeseriesPointSchema = z.object({
  /** whole seconds since the engine started */
  t: z.number().int().min(0),
  requests: z.number().int().min(0),
  errors: z.number().int().min(0),
  /** built-in engine: agent turns that ended in this second (absent when none did, from k6, and in older results) */
  turns: z.number().int().min(0).optional(),
  p50Us: z.number().min(0),
  p99Us: z.number().min(0),
  /** requests answered by each replica (from the x-mcpbench-replica response header) in this second */
  perReplica: z.record(z.string(), z.number().int().min(0)),
  /** errors of this second by class (absent in results written before it was recorded) */
  errorsByClass: z.record(z.string(), z.number().int().min(0)).optional(),
});
export type TimeseriesPoint = z.infer<typeof TimeseriesPointSchema>;

export const EngineResultSchema = z.object({
  schema: z.literal('mcpbench/engine-result@1'),
  engine: z.enum(['builtin', 'k6']),
  scenario: z.string(),
  target: z.object({
    url: z.string(),
    protocol: z.enum(['2025-11-25', '2026-07-28']),
    /** `--protocol auto`: what the probe saw that decided the protocol */
    detectedBy: z.string().optional(),
  }),
  load: z.object({
    model: z.enum(['open', 'closed']),
    /** open model: target arrival rate (agent sessions, agent turns or requests per second, see `unit`) */
    rate: z.number().optional(),
    unit: z.enum(['sessions', 'turns', 'requests']).optional(),
    /** closed model: concurrent agents */
    agents: z.number().optional(),
    durationMs: z.number(),
  }),
  startedAtMs: z.number(),
  durationMs: z.number(),
  histograms: z.record(z.string(), z.string()),
  counts: z.object({
    requests: z.number().int(),
    ok: z.number().int(),
    errors: z.number().int(),
    turns: z.number().int(),
    sessions: z.number().int(),
    /** HTTP round trips, all kinds (list, call, initialize, discover, tasks/get, DELETE...) */
    roundTrips: z.number().int(),
    bytesSent: z.number().int(),
    bytesReceived: z.number().int(),
  }),
  errors: z.object({
    transport: z.number().int(),
    timeout: z.number().int(),
    http_status: z.number().int(),
    jsonrpc: z.number().int(),
    session_lost: z.number().int(),
    task_lost: z.number().int(),
    task_failed: z.number().int(),
    handle_rejected: z.number().int(),
    invalid_response: z.number().int().optional(),
  }),
  /**
   * Why errors happened, per class: a short cause (an HTTP status, a transport error code, what was
   * wrong with an answer) and how often; at most 20 causes per class. Absent in older results.
   */
  errorCauses: z.record(z.string(), z.record(z.string(), z.number().int())).optional(),
  /**
   * Each failed request with its time (ms since the engine started), class and cause, in the order
   * they happened: the first MAX_FAILURE_RECORDS of them, `dropped` counting the rest (which the
   * per-second `errorsByClass` still places). Lets analysis put every failure in the disruption
   * event it falls in. Absent in results written before it was recorded.
   */
  failures: z
    .object({
      records: z.array(
        z.object({ tMs: z.number().min(0), class: z.enum(ERROR_CLASSES), cause: z.string().optional() }),
      ),
      dropped: z.number().int().min(0),
    })
    .optional(),
  /**
   * The clients' back-off after failed exchanges: how many waits and their total (ms), summed over
   * clients. Never part of any latency. Absent in results written before it was recorded.
   */
  backoff: z.object({ count: z.number().int(), totalMs: z.number() }).optional(),
  lifecycle: z.object({
    sessionsLost: z.number().int(),
    reinitialisations: z.number().int(),
    tasksStarted: z.number().int(),
    tasksCompleted: z.number().int(),
    tasksCancelled: z.number().int(),
    tasksLost: z.number().int(),
    tasksFailed: z.number().int(),
    handlesOpened: z.number().int(),
    handlesRejected: z.number().int(),
    listCacheHits: z.number().int(),
    listCacheMisses: z.number().int(),
  }),
  perReplica: z.record(z.string(), z.number().int()),
  timeseries: z.array(TimeseriesPointSchema),
  /** The load generator's own shortfalls: never counted as the server's errors. */
  engineFaults: z.object({
    /** open model: arrivals that could not be started on time (the generator fell behind) */
    missedArrivals: z.number().int(),
    maxSchedulingLagUs: z.number(),
    /** achieved arrival rate / asked rate (open model), 1 when closed */
    achievedRateRatio: z.number(),
    notes: z.array(z.string()),
  }),
});
export type EngineResult = z.infer<typeof EngineResultSchema>;

/** Zeroed lifecycle counters: the starting point of every engine run (and of test fixtures). */
export function emptyLifecycle(): EngineResult['lifecycle'] {
  return {
    sessionsLost: 0,
    reinitialisations: 0,
    tasksStarted: 0,
    tasksCompleted: 0,
    tasksCancelled: 0,
    tasksLost: 0,
    tasksFailed: 0,
    handlesOpened: 0,
    handlesRejected: 0,
    listCacheHits: 0,
    listCacheMisses: 0,
  };
}

/** Zeroed error counters, one per class. */
export function emptyErrors(): Record<ErrorClass, number> {
  return Object.fromEntries(ERROR_CLASSES.map((c) => [c, 0])) as Record<ErrorClass, number>;
}

/** The request-latency histogram of a result: corrected for coordinated omission in open-model runs. */
export function requestLatencyKey(result: Pick<EngineResult, 'load'>): string {
  return result.load.model === 'open' ? HISTOGRAM_KEYS.requestCorrected : HISTOGRAM_KEYS.request;
}
