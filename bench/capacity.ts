import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CapacityTrialSchema, RUN_FILES, trialDir } from '../rundir/layout.js';

/**
 * How many steps the capacity search takes, and how close it lands, on a server whose capacity is
 * known from physics: every tool call burns --cpu-ms of CPU and each pod is held to --limit
 * millicores, so one pod carries limit ÷ CPU per call calls per second. The search starts 10× below
 * that, at ±5% (one call per turn, scenario `calls`; the latency objective is loose so that achieved
 * throughput decides). Runs `mcpbench run` on the local provider, real server processes.
 *
 *   npm run bench:capacity [-- --cpu-ms 20 --limit 250 --measure 4s --variants legacy-sticky,legacy-redis,rc]
 */

const { values } = parseArgs({
  options: {
    'cpu-ms': { type: 'string', default: '20' },
    limit: { type: 'string', default: '250' },
    measure: { type: 'string', default: '4s' },
    variants: { type: 'string', default: 'legacy-sticky,legacy-redis,rc' },
  },
});
const cpuMs = Number(values['cpu-ms']);
const limit = Number(values.limit);
if (!(cpuMs > 0) || !(limit >= 10)) throw new Error('--cpu-ms must be > 0 and --limit ≥ 10 (millicores)');
const theory = limit / cpuMs;
const variants = String(values.variants).split(',');
const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bin', 'mcpbench.js');

const base = await mkdtemp(join(tmpdir(), 'mcpbench-bench-capacity-'));
const out = join(base, 'run');
const config = join(base, 'run.yaml');
await writeFile(
  config,
  [
    'experiments: [capacity]',
    `variants: [${variants.join(', ')}]`,
    'overrides:',
    '  capacity:',
    '    scenario: calls',
    `    serverEnv: { MCPBENCH_TOOL_CPU_MS: ${cpuMs} }`,
    `    resources: { cpuLimit: ${limit}m, cpuRequest: ${limit}m }`,
    `    search: { startRate: ${theory / 10}, factor: 2, resolution: 5%, maxSteps: 14, settle: 1s, measure: ${values.measure} }`,
    "    slo: { request: 'p(99)<5000', turn: null }",
    '',
  ].join('\n'),
);
process.stderr.write(
  `capacity search: ${cpuMs} ms CPU per call, ${limit}m per pod → theory ${theory.toFixed(2)} calls/s; start ${(theory / 10).toFixed(2)}/s, ±5%\n`,
);
await new Promise<void>((resolve, reject) => {
  const child = execFile(process.execPath, [cli, 'run', '--config', config, '--out', out], (err) =>
    err ? reject(err) : resolve(),
  );
  child.stderr?.pipe(process.stderr);
});
const rows: string[] = [];
for (const variant of variants) {
  const c = CapacityTrialSchema.parse(
    JSON.parse(await readFile(join(trialDir(out, 'capacity', variant, 1), RUN_FILES.capacity), 'utf8')),
  );
  const rate = c.result.sustainableRate;
  rows.push(
    `| ${variant} | ${c.steps.length} | ${c.result.status} | ${rate === null ? '–' : rate.toFixed(2)} | ${theory.toFixed(2)} | ${rate === null ? '–' : (rate / theory).toFixed(3)} | ${c.cpuLimitEnforced ? 'yes' : `no (${c.cpuLimitNote ?? 'not reported'})`} |`,
  );
}
process.stdout.write(
  `| variant | steps | status | measured calls/s | theory | measured / theory | limit enforced |\n|---|---:|---|---:|---:|---:|---|\n${rows.join('\n')}\n`,
);
await rm(base, { recursive: true, force: true });
