import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { GeneratorRun } from '../cluster/provider.js';
import { type GeneratorsFile, RUN_FILES } from '../rundir/layout.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import type { InClusterLoad } from './load-driver.js';

/** A generator is taken to have been the limit when it used this share of its CPU limit, or missed arrivals. */
const SATURATED_CPU_SHARE = 0.9;

/**
 * Writes an in-cluster trial's generators.json and each pod's own result beside the merged engine.json,
 * and returns what the run must name as its own faults: pods that delivered nothing, and pods that
 * were saturated (the generator, not the server, may have been the limit).
 */
export async function writeGenerators(
  dir: string,
  run: GeneratorRun,
  load: InClusterLoad,
  startAtMs: number,
): Promise<Array<{ index: number; pod: string | null; message: string }>> {
  const limitCores = load.cpuLimitMillicores / 1000;
  const generators: GeneratorsFile['generators'] = run.results.map((r) => {
    const pod = run.pods.find((p) => p.index === r.index);
    const cpuCores = r.wallMs > 0 ? r.cpuMs / r.wallMs : 0;
    return {
      index: r.index,
      pod: pod?.name ?? '',
      node: pod?.node ?? null,
      ip: pod?.ip ?? null,
      startedLateMs: r.startedLateMs,
      clockSkewMs: pod?.clockSkewMs ?? null,
      cpuMs: r.cpuMs,
      wallMs: r.wallMs,
      cpuCores,
      cpuLimitCores: limitCores,
      requests: r.result.counts.requests,
      missedArrivals: r.result.engineFaults.missedArrivals,
      saturated: cpuCores >= SATURATED_CPU_SHARE * limitCores || r.result.engineFaults.missedArrivals > 0,
    };
  });
  const file: GeneratorsFile = {
    schema: 'mcpbench/generators@1',
    url: load.url,
    count: load.count,
    startAtMs,
    generators,
    faults: run.faults,
  };
  await mkdir(dir, { recursive: true });
  for (const r of run.results) await writeJsonAtomic(join(dir, RUN_FILES.generator(r.index)), r);
  await writeJsonAtomic(join(dir, RUN_FILES.generators), file);
  return [
    ...run.faults.map((f) => ({
      index: f.index,
      pod: f.pod,
      message: `generator ${f.index}${f.pod ? ` (pod ${f.pod})` : ''} delivered no result (${f.reason}); its share of the load is missing from this trial`,
    })),
    ...generators
      .filter((g) => g.saturated)
      .map((g) => ({
        index: g.index,
        pod: g.pod,
        message: `generator ${g.index} (pod ${g.pod}) was saturated (${g.cpuCores.toFixed(2)} of ${limitCores} cores, ${g.missedArrivals} arrivals missed): the generator may have been the limit`,
      })),
  ];
}
