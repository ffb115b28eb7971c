import { setTimeout as sleep } from 'node:timers/promises';
import { type GeneratorResult, GeneratorSpecSchema } from '../../rundir/generator-spec.js';
import { frameResult } from '../../rundir/result-framing.js';
import { runEngine } from '../engine/engine.js';

/**
 * The entry point of an in-cluster load generator pod (one pod of an Indexed Job): it reads the
 * trial's spec from MCPBENCH_GENERATOR_SPEC and its share from JOB_COMPLETION_INDEX, waits for the
 * common start instant, runs its segment of the load with the built-in engine, and writes its raw
 * result, framed, to its log for the harness to read through the Kubernetes API.
 *
 * Exit codes: 0 result written; 2 bad spec or index; 3 the start instant had already passed when the
 * pod was ready (it would have run a different load than the others: it runs none).
 */
const LATE_TOLERANCE_MS = 250;

async function main(): Promise<number> {
  const raw = process.env.MCPBENCH_GENERATOR_SPEC;
  const parsed = GeneratorSpecSchema.safeParse(raw ? JSON.parse(raw) : undefined);
  if (!parsed.success) {
    console.error(
      `generator: MCPBENCH_GENERATOR_SPEC: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
    return 2;
  }
  const spec = parsed.data;
  const index = Number(process.env.JOB_COMPLETION_INDEX);
  if (!Number.isInteger(index) || index < 0 || index >= spec.count) {
    console.error(
      `generator: JOB_COMPLETION_INDEX ${process.env.JOB_COMPLETION_INDEX ?? '(unset)'} is not in [0, ${spec.count - 1}]`,
    );
    return 2;
  }
  const readyAtMs = Date.now();
  console.log(`generator ${index}/${spec.count}: ready at ${readyAtMs}, start at ${spec.startAtMs}`);
  if (readyAtMs > spec.startAtMs + LATE_TOLERANCE_MS) {
    console.error(
      `generator ${index}: ready ${readyAtMs - spec.startAtMs} ms after the common start: not running`,
    );
    return 3;
  }
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  await sleep(Math.max(0, spec.startAtMs - Date.now()));
  const startedLateMs = Date.now() - spec.startAtMs;
  const cpu0 = process.cpuUsage();
  const result = await runEngine({
    url: spec.url,
    protocol: spec.protocol,
    scenario: spec.scenario,
    scenarioParams: spec.scenarioParams,
    load: spec.load,
    durationMs: spec.durationMs,
    seed: spec.seed,
    segment: { index, count: spec.count },
    signal: stop.signal,
  });
  const cpu = process.cpuUsage(cpu0);
  const out: GeneratorResult = {
    schema: 'mcpbench/generator-result@1',
    index,
    count: spec.count,
    readyAtMs,
    startedLateMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: result.durationMs,
    result,
  };
  process.stdout.write(frameResult(out));
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`generator: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  },
);
