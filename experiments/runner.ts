import { mkdir, readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cadenceNotes, hpaCadence } from '../cluster/kind/kind-config.js';
import type { ClusterEvent, ClusterProvider, VariantHandle, VariantName } from '../cluster/provider.js';
import { judgeStep } from '../rundir/capacity-judge.js';
import { environmentFingerprint } from '../rundir/fingerprint.js';
import { histogramLog } from '../rundir/hlog.js';
import {
  type CapacityTrial,
  type InterruptedTrial,
  RUN_FILES,
  type RunManifest,
  stepDir,
  trialDir,
} from '../rundir/layout.js';
import type { EngineResult } from '../rundir/raw-result.js';
import { currentRunProcess } from '../rundir/run-process.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic-write.js';
import { runSearch } from './capacity-search.js';
import type { RunConfig } from './config.js';
import { loadsFromCluster, variantDefinition, variantsFor } from './config.js';
import {
  type ExperimentCase,
  type ExperimentDefinition,
  experimentId,
  type SearchSpec,
  type TimedAction,
} from './definitions.js';
import { describeTarget, type LoadTarget, loadTarget } from './foreign-target.js';
import { writeGenerators } from './generators-record.js';
import { type InClusterLoad, type LoadHandle, startLoad } from './load-driver.js';
import { TrialRecorder } from './trial-recorder.js';
import { variantSpecFor } from './variant-spec.js';

export interface SuiteOptions {
  config: RunConfig;
  experiments: ExperimentDefinition[];
  runDir: string;
  createProvider: () => Promise<ClusterProvider>;
  /** One line per step; progress lines are rewritten in place when `live` is set. */
  log: (line: string) => void;
  live?: (line: string) => void;
  signal: AbortSignal;
}

export class RunInterrupted extends Error {}

interface Step {
  def: ExperimentDefinition;
  c: ExperimentCase;
  id: string;
  variant: VariantName;
}

/** The shared Redis's figures only where the variant uses it (its cost per turn). */
function redisStatsOf(handle: VariantHandle, provider: ClusterProvider) {
  return handle.spec.redis && provider.redisStats
    ? async () => (await provider.redisStats?.()) ?? null
    : undefined;
}

function plan(options: SuiteOptions): Step[] {
  const steps: Step[] = [];
  for (const def of options.experiments) {
    for (const c of def.cases) {
      for (const variant of variantsFor(def, options.config)) {
        steps.push({ def, c, id: experimentId(def.name, c, def.cases.length), variant });
      }
    }
  }
  return steps;
}

/**
 * Rough wall time of the plan, so the user knows what they started: the load itself, plus what the
 * cluster costs per experiment × variant (bring-up and teardown: a few seconds locally, more on a real
 * cluster) and per trial (in-cluster load waits for its generator pods' common start).
 */
export function estimateSeconds(experiments: ExperimentDefinition[], config: RunConfig): number {
  const cluster = config.cluster !== 'local';
  const perStep = cluster ? 15 : 3;
  const perTrial = 1 + (loadsFromCluster(config) ? IN_CLUSTER_LEAD_MS / 1000 + 2 : 0);
  let total = 0;
  for (const def of experiments) {
    const variants = variantsFor(def, config).length;
    // a breakpoint search typically converges in about two thirds of its steps
    const trialS = def.search
      ? Math.ceil(def.search.maxSteps * 0.7) * ((def.search.settleMs + def.search.measureMs) / 1000 + 0.3)
      : def.durationMs / 1000 + perTrial;
    total += def.cases.length * variants * (perStep + def.trials * trialS);
  }
  return Math.round(total);
}

/**
 * Runs every experiment × case × variant × trial and writes the raw results. The manifest says
 * 'running' until the last raw file is written, then 'complete'; on Ctrl-C 'interrupted', on a crash
 * 'failed' — analysis never mistakes a partial run for a whole one.
 */
export async function runSuite(options: SuiteOptions): Promise<RunManifest> {
  const { config, runDir, log, signal } = options;
  await mkdir(runDir, { recursive: true });
  const existing = await readdir(runDir);
  if (existing.length > 0)
    throw new Error(`--out ${runDir}: directory is not empty; choose a new run directory`);

  const steps = plan(options);
  const manifest: RunManifest = {
    schema: 'mcpbench/run@1',
    name: config.name ?? runDir.split('/').filter(Boolean).pop() ?? 'run',
    status: 'running',
    startedAt: new Date().toISOString(),
    finishedAt: null,
    config: { ...config, resolvedExperiments: options.experiments } as unknown as Record<string, unknown>,
    fingerprint: environmentFingerprint() as unknown as Record<string, unknown>,
    cluster: { provider: config.cluster, kubernetesVersion: null },
    experiments: [...new Set(steps.map((s) => s.id))],
    variants: [...new Set(steps.map((s) => s.variant))],
    trials: Math.max(1, ...options.experiments.map((e) => e.trials)),
    completedTrials: {},
    interruptedTrials: {},
    process: currentRunProcess(),
    error: null,
  };
  const saveManifest = () => writeJsonAtomic(join(runDir, RUN_FILES.manifest), manifest);
  await saveManifest();

  try {
    for (const [index, step] of steps.entries()) {
      if (signal.aborted) throw new RunInterrupted('interrupted');
      log(
        `[${index + 1}/${steps.length}] ${step.id} × ${step.variant}: bringing up ${step.c.replicas ?? step.def.replicas} replica(s)`,
      );
      const provider = await options.createProvider();
      try {
        manifest.cluster.kubernetesVersion ??= await provider.kubernetesVersion();
        const definition = variantDefinition(config, step.variant);
        const spec = variantSpecFor(step.def, step.c, step.variant, {
          l7: config.l7,
          deployment: config.deployment,
          definition,
        });
        // What the bring-up says about the whole deployment (whether CPU limits hold) goes into every
        // trial's events: the trial's recorder only starts listening after up().
        const bringUp: ClusterEvent[] = [];
        const stopListening = provider.onEvent((e) => {
          if (e.kind === 'cpu-limits' && e.variant === step.variant) bringUp.push(e);
        });
        let handles: Awaited<ReturnType<ClusterProvider['up']>>;
        try {
          handles = await provider.up([spec]);
        } finally {
          stopListening();
        }
        const handle = handles.get(step.variant);
        if (!handle) throw new Error(`provider did not bring up ${step.variant}`);
        const target = await loadTarget(handle.url, definition, step.def, {
          serviceCounts: handle.countsRequests === true,
          perPodCpu: provider.name !== 'local',
        });
        if (target.info && !manifest.variantInfo?.[step.variant]) {
          manifest.variantInfo = { ...manifest.variantInfo, [step.variant]: target.info };
          const line = describeTarget(step.variant, target);
          if (line) log(line);
          await saveManifest();
        }
        for (let trial = 1; trial <= step.def.trials; trial++) {
          if (signal.aborted) throw new RunInterrupted('interrupted');
          const whole = await runTrial(options, provider, handle, step, trial, bringUp, target);
          const key = `${step.id}/${step.variant}`;
          if (!whole) {
            manifest.interruptedTrials = { ...manifest.interruptedTrials, [key]: trial };
            throw new RunInterrupted(`interrupted during ${key} trial ${trial}`);
          }
          manifest.completedTrials[key] = trial;
          await saveManifest();
        }
      } finally {
        await provider.down();
      }
    }
    manifest.status = 'complete';
  } catch (err) {
    manifest.status = err instanceof RunInterrupted || signal.aborted ? 'interrupted' : 'failed';
    manifest.error = (err as Error).message;
    throw err;
  } finally {
    manifest.finishedAt = new Date().toISOString();
    await saveManifest();
  }
  return manifest;
}

/**
 * A trial's recording: the bring-up's cluster events, every cluster event from now on, and a sample of
 * the replicas each second, until stopRecording().
 */
function startRecording(
  provider: ClusterProvider,
  handle: VariantHandle,
  variant: VariantName,
  bringUp: ClusterEvent[],
): { recorder: TrialRecorder; stopRecording: () => Promise<void> } {
  const recorder = new TrialRecorder(variant);
  for (const e of bringUp) recorder.cluster(e);
  const unsubscribe = provider.onEvent((e) => recorder.cluster(e));
  recorder.startSampling(handle, 1_000, redisStatsOf(handle, provider));
  return {
    recorder,
    stopRecording: async () => {
      unsubscribe();
      await recorder.stopSampling();
    },
  };
}

/**
 * One trial. Returns false when Ctrl-C cut its load short: its figures are then written as
 * engine.partial.json with an interrupted.json beside them, never as a whole trial's engine.json.
 */
async function runTrial(
  options: SuiteOptions,
  provider: ClusterProvider,
  handle: VariantHandle,
  step: Step,
  trial: number,
  bringUp: ClusterEvent[],
  target: LoadTarget,
): Promise<boolean> {
  const { def, variant } = step;
  if (def.search)
    return runCapacityTrial(options, provider, handle, step, trial, def.search, bringUp, target);
  const { recorder, stopRecording } = startRecording(provider, handle, variant, bringUp);
  const trialSignal = new AbortController();
  // Set when the run is interrupted before this trial's load has ended on its own.
  let loadEnded = false;
  let cutOff = false;
  const onAbort = () => {
    if (!loadEnded) cutOff = true;
    trialSignal.abort();
  };
  if (options.signal.aborted) cutOff = true;
  options.signal.addEventListener('abort', onAbort, { once: true });

  let load: LoadHandle | undefined;
  const pendingActions: Promise<number>[] = [];
  const inCluster = inClusterLoad(options, provider, handle, step);
  try {
    if (inCluster)
      options.log(
        `  ${step.id} × ${variant} trial ${trial}/${def.trials}: load from ${inCluster.count} generator pods in the cluster, to ${inCluster.url}`,
      );
    load = await startLoad({
      inCluster,
      engine: options.config.engine,
      url: handle.url,
      protocol: target.protocol,
      scenario: def.scenario,
      scenarioParams: target.scenarioParams,
      load: def.load,
      durationMs: def.durationMs,
      seed: options.config.seed * 1000 + trial,
      sourceAddresses: def.sourceAddresses,
      signal: trialSignal.signal,
      onProgress: (p) =>
        options.live?.(
          `  ${step.id} × ${variant} trial ${trial}/${def.trials}: ${Math.round(p.elapsedMs / 1000)}s/${Math.round(def.durationMs / 1000)}s ` +
            `${p.requests} req, ${p.errors} err, ${Math.round(p.ratePerSecond)}/s, p99 ${(p.p99Us / 1000).toFixed(1)} ms`,
        ),
    });
    const origin = load.startedAtMs;
    options.log(
      `  ${step.id} × ${variant} trial ${trial}/${def.trials}: load running for ${(def.durationMs / 1000).toFixed(1)} s`,
    );
    recordWindows(recorder, def, origin);
    // The autoscaler this trial runs under, as the provider got it (target, request, cadence): the
    // analysis judges the experiment's premise (base load below the target) against it.
    if (handle.spec.hpa) {
      recorder.experiment('hpa-spec', { ...handle.spec.hpa }, origin);
      if (provider.name === 'kind')
        for (const message of cadenceNotes(hpaCadence(handle.spec.hpa)))
          recorder.experiment('note', { message }, origin);
    }
    // Actions run one after another: each waits for its time and for the previous one to end plus
    // the settle time, so that a slow rollout delays the next event instead of overlapping it.
    let previous: Promise<number> = Promise.resolve(0);
    for (const action of def.actions) {
      const after = previous;
      previous = scheduleAction(
        action,
        origin,
        { previous: after, settleMs: def.settleMs ?? 0, loadEndsAt: origin + def.durationMs },
        handle,
        provider,
        recorder,
        trialSignal.signal,
      );
      pendingActions.push(previous);
    }
    for (const [i, stage] of stageStarts(def).entries()) {
      recorder.experiment('load-stage', { index: i, ...stage.detail }, origin + stage.atMs);
    }
    const result = await load.result;
    loadEnded = true;
    const generatorRun = load.generators ? await load.generators : undefined;
    await Promise.allSettled(pendingActions);
    await recorder.stopSampling();
    if (cutOff) {
      const ranMs = Math.round(result.durationMs);
      await writeTrial(options.runDir, step, trial, result, recorder, {
        schema: 'mcpbench/interrupted-trial@1',
        reason: 'interrupted (SIGINT/SIGTERM) before the load ran its full duration',
        plannedMs: def.durationMs,
        ranMs,
        requests: result.counts.requests,
      });
      options.log(
        `  ${step.id} × ${variant} trial ${trial}/${def.trials}: interrupted after ${(ranMs / 1000).toFixed(1)} s ` +
          `of ${(def.durationMs / 1000).toFixed(1)} s; kept as ${RUN_FILES.enginePartial}, not as a whole trial`,
      );
      return false;
    }
    if (generatorRun && inCluster) {
      const faults = await writeGenerators(
        trialDir(options.runDir, step.id, step.variant, trial),
        generatorRun,
        inCluster,
        load.startedAtMs,
      );
      for (const f of faults) {
        recorder.experiment('harness-fault', { source: 'generator', ...f });
        options.log(`  ${step.id} × ${variant} trial ${trial}/${def.trials}: HARNESS FAULT, ${f.message}`);
      }
    }
    await writeTrial(options.runDir, step, trial, result, recorder);
    options.log(
      `  ${step.id} × ${variant} trial ${trial}/${def.trials}: ${result.counts.requests} requests, ` +
        `${result.counts.errors} errors, ${Math.round(result.counts.requests / (result.durationMs / 1000))}/s`,
    );
    return true;
  } finally {
    trialSignal.abort();
    options.signal.removeEventListener('abort', onAbort);
    await stopRecording();
  }
}

/** How far ahead of now the generator pods' common start is set: time to schedule and start them. */
const IN_CLUSTER_LEAD_MS = 8_000;

/** Generator pods per trial unless --generators says: one per replica, at least 2, at most 4. */
const GENERATOR_POD_CPU = { request: 100, limit: 1_000 };

function inClusterLoad(
  options: SuiteOptions,
  provider: ClusterProvider,
  handle: VariantHandle,
  step: Step,
): InClusterLoad | undefined {
  const { config } = options;
  if (!loadsFromCluster(config) || !provider.runGenerators) return undefined;
  if (!handle.inClusterUrl) {
    options.log(
      `  ${step.id} × ${step.variant}: load from the host (the cluster's gateway has no Service of ours to address)`,
    );
    return undefined;
  }
  if ((step.c.rttMs ?? step.def.rttMs) > 0) {
    options.log(
      `  ${step.id} × ${step.variant}: load from the host (the emulated round trip is added on the host's path)`,
    );
    return undefined;
  }
  const replicas = step.def.hpa ? step.def.hpa.maxReplicas : step.def.replicas;
  return {
    provider,
    url: handle.inClusterUrl,
    count: config.generators ?? Math.min(4, Math.max(2, replicas)),
    leadMs: IN_CLUSTER_LEAD_MS,
    cpuRequestMillicores: GENERATOR_POD_CPU.request,
    cpuLimitMillicores: GENERATOR_POD_CPU.limit,
  };
}

function stageStarts(def: ExperimentDefinition): Array<{ atMs: number; detail: Record<string, unknown> }> {
  const load = def.load;
  const key = load.model === 'open' ? 'rate' : 'agents';
  const first = load.model === 'open' ? load.rate : load.agents;
  const out = [{ atMs: 0, detail: { [key]: first } as Record<string, unknown> }];
  let at = 0;
  for (const s of load.stages ?? []) {
    out.push({ atMs: at, detail: { [key]: s.target, rampMs: s.durationMs } });
    at += s.durationMs;
  }
  return out;
}

/** before / during / after windows on the trial's axis, for analysis to compare. */
function recordWindows(recorder: TrialRecorder, def: ExperimentDefinition, origin: number): void {
  const end = def.durationMs;
  if (def.actions.length === 0 && !def.load.stages) {
    recorder.experiment('window', { name: 'during', startMs: 0, endMs: end }, origin);
    return;
  }
  const before = def.beforeWindowMs;
  // The first second is warm-up (new connections, JIT): the baseline starts after it when there is room.
  const warmup = before >= 2_000 ? 1_000 : 0;
  recorder.experiment('window', { name: 'before', startMs: warmup, endMs: before }, origin);
  const lastAction = Math.max(before, ...def.actions.map((a) => a.atMs));
  const duringEnd = def.actions.length ? Math.min(end, lastAction + 3_000) : end;
  recorder.experiment('window', { name: 'during', startMs: before, endMs: duringEnd }, origin);
  if (duringEnd < end)
    recorder.experiment('window', { name: 'after', startMs: duringEnd, endMs: end }, origin);
}

async function scheduleAction(
  action: TimedAction,
  origin: number,
  order: {
    /** resolves to when the previous action ended (epoch ms; 0 when there was none or it did not run) */
    previous: Promise<number>;
    settleMs: number;
    /** an action that could not start before the load ends is not run */
    loadEndsAt: number;
  },
  handle: VariantHandle,
  provider: ClusterProvider,
  recorder: TrialRecorder,
  signal: AbortSignal,
): Promise<number> {
  const due = origin + action.atMs;
  try {
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait, undefined, { signal });
    const previousEnd = await order.previous;
    const settle = previousEnd + order.settleMs - Date.now();
    if (previousEnd > 0 && settle > 0) await sleep(settle, undefined, { signal });
  } catch {
    return 0; // trial ended or run interrupted before the action was due
  }
  if (signal.aborted) return 0;
  if (Date.now() >= order.loadEndsAt) {
    recorder.experiment('note', {
      message: `${action.action} due at ${(action.atMs / 1000).toFixed(1)} s not run: the previous action ended after the load did`,
    });
    return 0;
  }
  const lateMs = Date.now() - due;
  if (action.action === 'kill-redis' && !handle.spec.redis) {
    recorder.experiment('note', { message: 'kill-redis skipped: this variant does not use Redis' });
    return 0;
  }
  const cannotKill = action.action === 'kill-redis' ? provider.cannotKillRedis?.() : null;
  if (cannotKill) {
    recorder.experiment('note', { message: `kill-redis skipped: ${cannotKill}` });
    return 0;
  }
  const detail: Record<string, unknown> = { action: action.action };
  if (action.action === 'scale') detail.replicas = action.replicas;
  // started late: the previous action had not ended (and settled) when this one was due
  if (lateMs > 250) detail.lateMs = lateMs;
  recorder.experiment('action-start', detail);
  try {
    if (action.action === 'rollout') await handle.rollout();
    else if (action.action === 'kill-pod') detail.pod = await handle.killReplica();
    else if (action.action === 'kill-redis') await provider.killRedis();
    else await handle.scale(action.replicas);
    recorder.experiment('action-end', detail);
  } catch (err) {
    recorder.experiment('action-end', { ...detail, error: (err as Error).message });
  }
  return Date.now();
}

async function writeTrial(
  runDir: string,
  step: Step,
  trial: number,
  result: EngineResult,
  recorder: TrialRecorder,
  interrupted?: InterruptedTrial,
  originMs = result.startedAtMs,
) {
  const dir = trialDir(runDir, step.id, step.variant, trial);
  await mkdir(dir, { recursive: true });
  const { events, samples } = recorder.finish(originMs);
  await writeFileAtomic(
    join(dir, RUN_FILES.events),
    events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : ''),
  );
  await writeFileAtomic(
    join(dir, RUN_FILES.samples),
    samples.map((s) => JSON.stringify(s)).join('\n') + (samples.length ? '\n' : ''),
  );
  await writeFileAtomic(join(dir, RUN_FILES.hlog), histogramLog(result));
  if (interrupted) {
    // No engine.json: a reader (of any version) that looks for it finds no whole trial here.
    await writeJsonAtomic(join(dir, RUN_FILES.enginePartial), result);
    await writeJsonAtomic(join(dir, RUN_FILES.interrupted), interrupted);
    return;
  }
  // engine.json last: its presence marks the trial as whole.
  await writeJsonAtomic(join(dir, RUN_FILES.engine), result);
}

/** The open model's in-flight cap when a load does not set one (the engine's own default). */
const DEFAULT_MAX_IN_FLIGHT = 1_000;

/**
 * One trial of a breakpoint search (capacity experiment): every step is its own fixed-rate load
 * (settle, then measure), written to steps/NN/engine.json as it ends; capacity.json holds the steps'
 * verdicts and the result, and engine.json the step at the sustainable rate (the last step when none
 * passed), written last. Events and samples cover the whole search on one time axis. Returns false
 * when Ctrl-C cut the search short (capacity.json then says `interrupted`, and there is no engine.json).
 */
async function runCapacityTrial(
  options: SuiteOptions,
  provider: ClusterProvider,
  handle: VariantHandle,
  step: Step,
  trial: number,
  search: SearchSpec,
  bringUp: ClusterEvent[],
  target: LoadTarget,
): Promise<boolean> {
  const { def, variant } = step;
  const originMs = Date.now();
  const { recorder, stopRecording } = startRecording(provider, handle, variant, bringUp);
  const trialSignal = new AbortController();
  let cutOff = options.signal.aborted;
  const onAbort = () => {
    cutOff = true;
    trialSignal.abort();
  };
  options.signal.addEventListener('abort', onAbort, { once: true });
  const unit = def.load.model === 'open' ? def.load.unit : 'turns';
  const maxInFlight = (def.load.model === 'open' ? def.load.maxInFlight : undefined) ?? DEFAULT_MAX_IN_FLIGHT;
  const dir = trialDir(options.runDir, step.id, variant, trial);
  const label = `${step.id} × ${variant} trial ${trial}/${def.trials}`;
  const seed = options.config.seed * 1000 + trial;
  let partial: EngineResult | undefined;
  const load = (rate: number, durationMs: number, stepSeed: number, part: string) =>
    startLoad({
      engine: options.config.engine,
      url: handle.url,
      protocol: target.protocol,
      scenario: def.scenario,
      scenarioParams: target.scenarioParams,
      load: { model: 'open', rate, unit, maxInFlight },
      durationMs,
      seed: stepSeed,
      sourceAddresses: def.sourceAddresses,
      signal: trialSignal.signal,
      onProgress: (p) =>
        options.live?.(
          `  ${label}: ${rate.toFixed(1)} ${unit}/s ${part} ${Math.round(p.elapsedMs / 1000)}s ` +
            `${p.requests} req, ${p.errors} err, p99 ${(p.p99Us / 1000).toFixed(1)} ms`,
        ),
    });
  try {
    options.log(
      `  ${label}: breakpoint search from ${search.startRate} ${unit}/s (×${search.factor} up, then bisect to ±${Math.round(search.resolution * 100)}%)`,
    );
    const outcome = await runSearch(search, {
      runStep: async (rate, index) => {
        if (cutOff) return null;
        const settleStartMs = Date.now() - originMs;
        recorder.experiment('capacity-step', { index, rate, unit, part: 'settle' });
        if (search.settleMs > 0)
          await (await load(rate, search.settleMs, seed * 100 + index * 2, 'settle')).result;
        if (cutOff) return null;
        const measureStartMs = Date.now() - originMs;
        recorder.experiment('capacity-step', { index, rate, unit, part: 'measure' });
        const cpuBefore = process.cpuUsage();
        const wallBefore = performance.now();
        const result = await (await load(rate, search.measureMs, seed * 100 + index * 2 + 1, 'measure'))
          .result;
        const cpu = process.cpuUsage(cpuBefore);
        const wallMs = performance.now() - wallBefore;
        if (cutOff) {
          partial = result;
          return null;
        }
        await mkdir(stepDir(dir, index), { recursive: true });
        await writeJsonAtomic(join(stepDir(dir, index), RUN_FILES.engine), result);
        const judged = judgeStep(result, {
          rate,
          unit,
          slo: search.slo,
          generator: { cpuCores: wallMs > 0 ? (cpu.user + cpu.system) / 1000 / wallMs : 0, maxInFlight },
          generatorCpuLimit: search.generatorCpuLimit,
        });
        return {
          step: { ...judged, settleStartMs, measureStartMs, endMs: Date.now() - originMs },
          raw: result,
        };
      },
      log: (line) => options.log(`  ${label}: ${line}`),
    });
    await recorder.stopSampling();
    const limits = bringUp.findLast((e) => e.kind === 'cpu-limits')?.detail as
      | { enforced?: boolean; mechanism?: string; reason?: string }
      | undefined;
    const capacity: CapacityTrial = {
      schema: 'mcpbench/capacity-trial@1',
      replicas: step.c.replicas ?? def.replicas,
      unit,
      slo: search.slo,
      search: {
        startRate: search.startRate,
        factor: search.factor,
        resolution: search.resolution,
        maxSteps: search.maxSteps,
        settleMs: search.settleMs,
        measureMs: search.measureMs,
      },
      cpuLimitMillicores: handle.spec.cpuLimitMillicores ?? null,
      cpuLimitEnforced: typeof limits?.enforced === 'boolean' ? limits.enforced : null,
      cpuLimitNote: limits ? (limits.reason ?? limits.mechanism ?? null) : null,
      hostCores: availableParallelism(),
      steps: outcome.steps,
      result: outcome.result,
    };
    await mkdir(dir, { recursive: true });
    await writeJsonAtomic(join(dir, RUN_FILES.capacity), capacity);
    const { sustainableRate } = outcome.result;
    const atResult =
      outcome.raws[outcome.steps.findLastIndex((s) => s.verdict === 'pass' && s.rate === sustainableRate)] ??
      outcome.raws.at(-1);
    if (outcome.result.status === 'interrupted') {
      const shown = partial ?? atResult;
      const interrupted: InterruptedTrial = {
        schema: 'mcpbench/interrupted-trial@1',
        reason: `interrupted (SIGINT/SIGTERM) after ${outcome.steps.length} step(s) of the breakpoint search`,
        plannedMs: search.maxSteps * (search.settleMs + search.measureMs),
        ranMs: Date.now() - originMs,
        requests: outcome.steps.reduce((n, s) => n + s.requests, 0),
      };
      if (shown) await writeTrial(options.runDir, step, trial, shown, recorder, interrupted, originMs);
      else await writeJsonAtomic(join(dir, RUN_FILES.interrupted), interrupted);
      options.log(`  ${label}: interrupted after ${outcome.steps.length} step(s); not kept as a whole trial`);
      return false;
    }
    if (!atResult) throw new Error(`${label}: the search ran no step`);
    await writeTrial(options.runDir, step, trial, atResult, recorder, undefined, originMs);
    const r = outcome.result;
    options.log(
      `  ${label}: ${r.status}: sustainable ${r.sustainableRate === null ? 'none' : `${r.sustainableRate.toFixed(1)} ${unit}/s`}` +
        `${r.firstFailRate === null ? '' : `, first failing ${r.firstFailRate.toFixed(1)} ${unit}/s`} after ${outcome.steps.length} steps`,
    );
    return true;
  } finally {
    trialSignal.abort();
    options.signal.removeEventListener('abort', onAbort);
    await stopRecording();
  }
}
