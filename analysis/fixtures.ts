import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import {
  type ReplicaSample,
  RUN_FILES,
  type RunManifest,
  type TrialEvent,
  trialDir,
} from '../rundir/layout.js';
import { type EngineResult, emptyLifecycle } from '../rundir/raw-result.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic-write.js';

/**
 * Builds real run directories (real HDR histograms of known samples) for analysis tests and the
 * analysis benchmark: the format under test is exactly what the runner writes.
 */

export interface TrialSpec {
  experimentId: string;
  variant: string;
  trial: number;
  /** request latencies in µs */
  samples: number[];
  turnSamples?: number[];
  roundTrips?: number;
  errors?: Partial<EngineResult['errors']>;
  /** the trial's events.jsonl (none when omitted) */
  events?: TrialEvent[];
  /** the trial's samples.jsonl: the replica timeline (none when omitted) */
  replicaSamples?: ReplicaSample[];
  /** fields of engine.json to set as given (failure records, time series, duration...) */
  engine?: Partial<EngineResult>;
}

function histogram(values: number[]): string {
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

function engineResult(t: TrialSpec): EngineResult {
  const requests = t.samples.length;
  const errors = {
    transport: 0,
    timeout: 0,
    http_status: 0,
    jsonrpc: 0,
    session_lost: 0,
    task_lost: 0,
    task_failed: 0,
    handle_rejected: 0,
    ...t.errors,
  };
  const errorCount = Object.values(errors).reduce((s, n) => s + n, 0);
  const turns = t.turnSamples?.length ?? 0;
  const histograms: Record<string, string> = {
    request: histogram(t.samples),
    'request:corrected': histogram(t.samples),
  };
  if (turns) histograms.turn = histogram(t.turnSamples ?? []);
  return {
    schema: 'mcpbench/engine-result@1',
    engine: 'builtin',
    scenario: 'turns',
    target: { url: 'http://127.0.0.1:1/mcp', protocol: t.variant === 'rc' ? '2026-07-28' : '2025-11-25' },
    load: { model: 'closed', agents: 4, durationMs: 5_000 },
    startedAtMs: 1_700_000_000_000,
    durationMs: 5_000,
    histograms,
    counts: {
      requests,
      ok: requests - errorCount,
      errors: errorCount,
      turns,
      sessions: 1,
      roundTrips: t.roundTrips ?? requests,
      bytesSent: requests * 100,
      bytesReceived: requests * 1000,
    },
    errors,
    lifecycle: {
      ...emptyLifecycle(),
      sessionsLost: errors.session_lost,
      reinitialisations: errors.session_lost,
    },
    perReplica: { a: requests },
    timeseries: [0, 1, 2, 3, 4].map((s) => ({
      t: s,
      requests: Math.floor(requests / 5),
      errors: 0,
      p50Us: 1000,
      p99Us: 2000,
      perReplica: { a: Math.floor(requests / 5) },
    })),
    engineFaults: { missedArrivals: 0, maxSchedulingLagUs: 0, achievedRateRatio: 1, notes: [] },
    ...t.engine,
  };
}

export async function writeRun(trials: TrialSpec[], dir?: string): Promise<string> {
  const runDir = dir ?? join(await mkdtemp(join(tmpdir(), 'mcpbench-analysis-')), 'run');
  await mkdir(runDir, { recursive: true });
  const manifest: RunManifest = {
    schema: 'mcpbench/run@1',
    name: 'fixture',
    status: 'complete',
    startedAt: new Date(0).toISOString(),
    finishedAt: new Date(0).toISOString(),
    config: {},
    fingerprint: { cores: 2 },
    cluster: { provider: 'local', kubernetesVersion: null },
    experiments: [...new Set(trials.map((t) => t.experimentId))],
    variants: [...new Set(trials.map((t) => t.variant))],
    trials: Math.max(...trials.map((t) => t.trial)),
    completedTrials: {},
    error: null,
  };
  for (const t of trials) {
    const d = trialDir(runDir, t.experimentId, t.variant, t.trial);
    await mkdir(d, { recursive: true });
    await writeFileAtomic(
      join(d, RUN_FILES.events),
      (t.events ?? []).map((e) => `${JSON.stringify(e)}\n`).join(''),
    );
    await writeFileAtomic(
      join(d, RUN_FILES.samples),
      (t.replicaSamples ?? []).map((s) => `${JSON.stringify(s)}\n`).join(''),
    );
    await writeJsonAtomic(join(d, RUN_FILES.engine), engineResult(t));
  }
  await writeJsonAtomic(join(runDir, RUN_FILES.manifest), manifest);
  return runDir;
}
