import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterProvider, GeneratorRun } from '../cluster/provider.js';
import type { GeneratorSpec } from '../rundir/generator-spec.js';
import { mergeEngineResults } from '../rundir/merge-results.js';
import type { EngineResult } from '../rundir/raw-result.js';
import { type EngineProgress, startEngine } from '../scenarios/engine/engine.js';
import type { LoadSpec } from './definitions.js';

/** What the runner needs from a load generator, whichever engine it is and wherever it runs. */
export interface LoadHandle {
  startedAtMs: number;
  result: Promise<EngineResult>;
  /** in-cluster load: every generator pod's own result and the ones that delivered none */
  generators?: Promise<GeneratorRun>;
}

/** Load from generator pods inside the cluster instead of this process (kind/kube). */
export interface InClusterLoad {
  provider: Pick<ClusterProvider, 'runGenerators'>;
  /** the variant's endpoint as pods reach it */
  url: string;
  count: number;
  /** how far ahead the common start instant is set, so every pod is scheduled and ready by then */
  leadMs: number;
  cpuRequestMillicores: number;
  cpuLimitMillicores: number;
}

export interface LoadRequest {
  engine: 'builtin' | 'k6';
  url: string;
  protocol: '2025-11-25' | '2026-07-28';
  scenario: string;
  scenarioParams: Record<string, unknown>;
  load: LoadSpec;
  durationMs: number;
  seed: number;
  sourceAddresses: number;
  signal: AbortSignal;
  onProgress?: (p: EngineProgress) => void;
  inCluster?: InClusterLoad;
}

export async function startLoad(req: LoadRequest): Promise<LoadHandle> {
  if (req.inCluster) return startInCluster(req, req.inCluster);
  const start =
    req.engine === 'k6' ? (await import('../scenarios/k6-runner/run-k6.js')).startK6 : startEngine;
  const handle = await start({
    url: req.url,
    protocol: req.protocol,
    scenario: req.scenario,
    scenarioParams: req.scenarioParams,
    load: req.load,
    durationMs: req.durationMs,
    seed: req.seed,
    sourceAddresses: req.sourceAddresses,
    signal: req.signal,
    onProgress: req.onProgress,
  });
  return { startedAtMs: handle.startedAtMs, result: handle.result };
}

/**
 * The pods are created now with a start instant `leadMs` ahead; this resolves at that instant, so the
 * trial's time axis (and its timed actions) start when the pods' load does. The result is the exact
 * merge of the pods' results; a pod that delivered none leaves its share out, and the result says so
 * in its engine notes (the runner records each such pod as a harness fault).
 */
async function startInCluster(req: LoadRequest, inCluster: InClusterLoad): Promise<LoadHandle> {
  const { provider } = inCluster;
  if (!provider.runGenerators) throw new Error('this cluster provider cannot run in-cluster load generators');
  const startAtMs = Date.now() + inCluster.leadMs;
  const spec: GeneratorSpec = {
    schema: 'mcpbench/generator-spec@1',
    url: inCluster.url,
    protocol: req.protocol,
    scenario: req.scenario,
    scenarioParams: req.scenarioParams,
    load: req.load.model === 'open' ? { ...req.load, unit: req.load.unit } : req.load,
    durationMs: req.durationMs,
    seed: req.seed,
    count: inCluster.count,
    startAtMs,
  };
  const generators = provider.runGenerators({
    spec,
    cpuRequestMillicores: inCluster.cpuRequestMillicores,
    cpuLimitMillicores: inCluster.cpuLimitMillicores,
    signal: req.signal,
  });
  const result = generators.then((run) => {
    if (run.results.length === 0)
      throw new Error(
        `no generator pod delivered a result: ${run.faults.map((f) => `#${f.index} ${f.reason}`).join('; ')}`,
      );
    const merged = mergeEngineResults(
      run.results.map((r) => r.result),
      req.load.model === 'open'
        ? { model: 'open', rate: req.load.rate, unit: req.load.unit, durationMs: req.durationMs }
        : { model: 'closed', agents: req.load.agents, durationMs: req.durationMs },
    );
    for (const f of run.faults)
      merged.engineFaults.notes.push(
        `generator ${f.index}${f.pod ? ` (pod ${f.pod})` : ''} delivered no result, its share of the load is missing: ${f.reason}`,
      );
    return merged;
  });
  // A pod failure before the start instant still lets the caller wait for the whole run's outcome.
  generators.catch(() => {});
  await sleep(Math.max(0, startAtMs - Date.now()), undefined, { signal: req.signal }).catch(() => {});
  return { startedAtMs: startAtMs, result, generators };
}
