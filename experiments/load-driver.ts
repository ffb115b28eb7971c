import type { EngineResult } from '../rundir/raw-result.js';
import { type EngineProgress, startEngine } from '../scenarios/engine/engine.js';
import type { LoadSpec } from './definitions.js';

/** What the runner needs from a load generator, whichever engine it is. */
export interface LoadHandle {
  startedAtMs: number;
  result: Promise<EngineResult>;
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
}

export async function startLoad(req: LoadRequest): Promise<LoadHandle> {
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
