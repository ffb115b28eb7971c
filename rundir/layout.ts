import { join } from 'node:path';
import { z } from 'zod';

/**
 * The run directory: the only thing analysis reads.
 *
 *   <run>/run.json                                   RunManifest (status is 'complete' only once every raw file is written)
 *   <run>/raw/<experiment>/<variant>/trial-<n>/
 *        engine.json                                 EngineResult (scenarios/engine/raw-result.ts)
 *        histograms.hlog                             the same histograms in HdrHistogram log format (for other tools)
 *        events.jsonl                                one TrialEvent per line: cluster events + the experiment's own actions
 *        samples.jsonl                               one ReplicaSample per line, every second
 *        generators.json                             in-cluster load only: the generator pods, their health and
 *                                                    faults (GeneratorsFile); generator-<i>.json each pod's result
 *        interrupted.json                            only in a trial cut off by Ctrl-C (InterruptedTrial); such
 *                                                    a trial has engine.partial.json instead of engine.json
 *        capacity.json                               capacity experiment: the search's steps, verdicts and result
 *                                                    (CapacityTrial); engine.json is then the step at the result
 *        steps/<NN>/engine.json                      capacity experiment: every step's own engine result
 *   <run>/summary.json                               written by analysis
 *   <run>/report.md, report.html, junit.xml          written by analysis
 *
 * Every file is written atomically (experiments/atomic-write.ts), so a reader never sees half a file.
 */

const RunStatusSchema = z.enum(['running', 'complete', 'failed', 'interrupted']);

/**
 * A variant whose server is not ours: the protocol it spoke, the tools the load called (found with
 * tools/list), those left out and why, and the premises it does not support (`tasks`, `handles`,
 * `ttl`), each with the reason: analysis marks their metrics "not applicable", never zero.
 */
const VariantInfoSchema = z.object({
  server: z.string(),
  protocol: z.string(),
  detectedBy: z.string().optional(),
  tools: z.array(z.string()),
  inferred: z.array(z.string()),
  skipped: z.array(z.object({ tool: z.string(), reason: z.string() })),
  listTtlMs: z.number().nullable(),
  notApplicable: z.record(z.string(), z.string()),
  /** where each figure comes from (load spread, CPU, memory, sessions); absent in older runs */
  measuredBy: z.record(z.string(), z.string()).optional(),
});
export type VariantInfo = z.infer<typeof VariantInfoSchema>;

export const RunManifestSchema = z.object({
  schema: z.literal('mcpbench/run@1'),
  name: z.string(),
  status: RunStatusSchema,
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  /** the validated run config (flags + file), as used */
  config: z.record(z.string(), z.unknown()),
  fingerprint: z.record(z.string(), z.unknown()),
  cluster: z.object({ provider: z.string(), kubernetesVersion: z.string().nullable() }),
  experiments: z.array(z.string()),
  variants: z.array(z.string()),
  trials: z.number().int().min(1),
  /** trials actually written, per `<experiment>/<variant>` */
  completedTrials: z.record(z.string(), z.number().int()),
  /** the trial cut off by Ctrl-C, per `<experiment>/<variant>` (its files say so too; never a whole trial) */
  interruptedTrials: z.record(z.string(), z.number().int()).optional(),
  /** the process writing the run, so a reader can tell a live run from one whose process died */
  process: z
    .object({
      pid: z.number().int(),
      hostname: z.string(),
      bootId: z.string().nullable(),
      startTime: z.string().nullable(),
    })
    .optional(),
  error: z.string().nullable(),
  /** variants whose server is not ours, by name (absent in runs of the built-in variants only) */
  variantInfo: z.record(z.string(), VariantInfoSchema).optional(),
});
export type RunManifest = z.infer<typeof RunManifestSchema>;

/** A line of events.jsonl: a cluster event or an action the experiment took, on the trial's time axis. */
export const TrialEventSchema = z.object({
  /** ms since the trial's engine started (may be negative for set-up events) */
  tMs: z.number(),
  atMs: z.number(),
  /** 'experiment' for the experiment's own actions (e.g. kill-scheduled), else the ClusterEvent kind */
  source: z.enum(['cluster', 'experiment']),
  kind: z.string(),
  variant: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
export type TrialEvent = z.infer<typeof TrialEventSchema>;

/** A line of samples.jsonl: the variant's replicas once a second. */
export const ReplicaSampleSchema = z.object({
  tMs: z.number(),
  desired: z.number().int(),
  ready: z.number().int(),
  replicas: z.array(
    z.object({
      name: z.string(),
      ready: z.boolean(),
      phase: z.string(),
      cpuMillicores: z.number().nullable(),
      /** the pod's CPU time since it started, seconds (cost per unit of work); absent when unknown */
      cpuSecondsTotal: z.number().nullable().optional(),
      /** resident memory, bytes; absent when unknown */
      rssBytes: z.number().nullable().optional(),
      /**
       * live sessions the replica holds (legacy), from its own count, or for a server that is not ours on
       * local, the sessions the Service saw in use there; absent when unknown
       */
      sessions: z.number().nullable().optional(),
      /** HTTP requests the Service sent this replica since it started (local: the proxy's count); absent when not counted */
      serviceRequests: z.number().int().min(0).optional(),
    }),
  ),
  /** the shared Redis, where the variant uses one: its CPU time so far, memory in use and key count */
  redis: z
    .object({
      cpuSecondsTotal: z.number().nullable(),
      usedMemoryBytes: z.number().nullable(),
      keys: z.number().nullable(),
    })
    .optional(),
});
export type ReplicaSample = z.infer<typeof ReplicaSampleSchema>;

/** interrupted.json: why a trial's figures are not a whole trial. */
export const InterruptedTrialSchema = z.object({
  schema: z.literal('mcpbench/interrupted-trial@1'),
  reason: z.string(),
  /** the trial's planned load duration and how much of it ran */
  plannedMs: z.number(),
  ranMs: z.number(),
  requests: z.number().int(),
});
export type InterruptedTrial = z.infer<typeof InterruptedTrialSchema>;

/** The service-level objective a capacity step is judged against (k6 threshold syntax, ms / share). */
const CapacitySloSchema = z.object({
  /** request latency (corrected for coordinated omission), e.g. "p(99)<250" */
  request: z.string().nullable(),
  /** agent turn latency, e.g. "p(99)<1000" */
  turn: z.string().nullable(),
  /** share of failed requests, e.g. "rate<1%" */
  errors: z.string().nullable(),
  /** completed turns (or requests) over offered, at least this share */
  minThroughputRatio: z.number().min(0).max(1),
});
export type CapacitySlo = z.infer<typeof CapacitySloSchema>;

/** One fixed-rate step of a capacity search, as measured and as judged. */
const CapacityStepSchema = z.object({
  index: z.number().int().min(0),
  /** why this rate was tried */
  phase: z.enum(['step-up', 'step-down', 'bisect']),
  /** offered arrival rate, per second, in `unit` */
  rate: z.number(),
  unit: z.enum(['sessions', 'turns', 'requests']),
  /** ms on the trial's time axis (samples.jsonl) of the step's settle start, measure start and end */
  settleStartMs: z.number(),
  measureStartMs: z.number(),
  endMs: z.number(),
  /** measured over the measure window */
  requests: z.number().int(),
  errors: z.number().int(),
  turns: z.number().int(),
  toolCalls: z.number().int(),
  requestP99Us: z.number().nullable(),
  turnP99Us: z.number().nullable(),
  errorRate: z.number(),
  /** completed arrival units (turns, sessions or requests) per offered one */
  throughputRatio: z.number(),
  /** the load generator: its process's CPU over the step (1 = one core), arrivals it skipped, its in-flight cap */
  generator: z.object({
    cpuCores: z.number(),
    missedArrivals: z.number().int(),
    achievedRateRatio: z.number(),
    maxInFlight: z.number().int(),
  }),
  /** pass: within the SLO; fail: the server broke it; generator-limited: the generator, not the server, was the limit */
  verdict: z.enum(['pass', 'fail', 'generator-limited']),
  /** which objectives failed, or why the generator was the limit */
  reasons: z.array(z.string()),
});
export type CapacityStep = z.infer<typeof CapacityStepSchema>;

/** capacity.json: one trial's breakpoint search. */
export const CapacityTrialSchema = z.object({
  schema: z.literal('mcpbench/capacity-trial@1'),
  replicas: z.number().int().min(1),
  unit: z.enum(['sessions', 'turns', 'requests']),
  slo: CapacitySloSchema,
  search: z.object({
    startRate: z.number(),
    factor: z.number(),
    resolution: z.number(),
    maxSteps: z.number().int(),
    settleMs: z.number(),
    measureMs: z.number(),
  }),
  /** per-pod CPU limit asked for (millicores), and whether the provider enforced it (its cpu-limits event) */
  cpuLimitMillicores: z.number().nullable(),
  cpuLimitEnforced: z.boolean().nullable(),
  /** how the provider enforced it, or why it did not (the cpu-limits event), null when it said nothing */
  cpuLimitNote: z.string().nullable(),
  /** CPU cores of the host the run ran on: replicas × limit above it means the host, not the pods, bounds the curve */
  hostCores: z.number().int().min(1),
  steps: z.array(CapacityStepSchema),
  result: z.object({
    /** highest rate that passed with the first failing rate at most `resolution` above it; null: none passed */
    sustainableRate: z.number().nullable(),
    /** lowest rate the server failed at, null when none */
    firstFailRate: z.number().nullable(),
    /**
     * converged: bracketed to the resolution; generator-limited: the generator hit its limit first, so the
     * rate is only a lower bound; max-steps: out of steps before converging; none-passed: even the lowest rate
     * failed; interrupted: Ctrl-C
     */
    status: z.enum(['converged', 'generator-limited', 'max-steps', 'none-passed', 'interrupted']),
  }),
});
export type CapacityTrial = z.infer<typeof CapacityTrialSchema>;

export function stepDir(trialDirectory: string, index: number): string {
  return join(trialDirectory, 'steps', String(index).padStart(2, '0'));
}

export function trialDir(runDir: string, experiment: string, variant: string, trial: number): string {
  return join(runDir, 'raw', experiment, variant, `trial-${trial}`);
}

export const RUN_FILES = {
  manifest: 'run.json',
  summary: 'summary.json',
  reportMd: 'report.md',
  reportHtml: 'report.html',
  junit: 'junit.xml',
  engine: 'engine.json',
  enginePartial: 'engine.partial.json',
  interrupted: 'interrupted.json',
  hlog: 'histograms.hlog',
  events: 'events.jsonl',
  samples: 'samples.jsonl',
  generators: 'generators.json',
  generator: (index: number) => `generator-${index}.json`,
  capacity: 'capacity.json',
} as const;

/**
 * generators.json: where an in-cluster trial's load came from. The trial's engine.json is the exact
 * merge of the pods' results; a pod listed under `faults` delivered none (a harness fault: its share
 * of the load is missing, and the trial is marked so), never a server error.
 */
export const GeneratorsFileSchema = z.object({
  schema: z.literal('mcpbench/generators@1'),
  url: z.string(),
  count: z.number().int().min(1),
  startAtMs: z.number(),
  generators: z.array(
    z.object({
      index: z.number().int(),
      pod: z.string(),
      node: z.string().nullable(),
      ip: z.string().nullable(),
      /** how late the pod started its share, by its own clock (ms after the common instant) */
      startedLateMs: z.number(),
      /** the pod's clock minus the harness's when the pod said it was ready, ms (null: not measured) */
      clockSkewMs: z.number().nullable(),
      cpuMs: z.number(),
      wallMs: z.number(),
      /** CPU used over the run, in cores, and the pod's CPU limit in cores */
      cpuCores: z.number(),
      cpuLimitCores: z.number(),
      requests: z.number().int(),
      missedArrivals: z.number().int(),
      /** the generator, not the server, may have been the limit (CPU near its limit, or arrivals missed) */
      saturated: z.boolean(),
    }),
  ),
  faults: z.array(z.object({ index: z.number().int(), pod: z.string().nullable(), reason: z.string() })),
});
export type GeneratorsFile = z.infer<typeof GeneratorsFileSchema>;
