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
 * With --scaling, instead: rc at 1 and 2 replicas, --trials each, and the ratio of the sustainable
 * rates with a 95% bootstrap interval (two pods should carry more than 1.5× one when the host has the
 * cores for both and the generator).
 *
 *   npm run bench:capacity [-- --cpu-ms 20 --limit 250 --measure 6s --variants legacy-sticky,legacy-redis,rc]
 *   npm run bench:capacity -- --scaling [--trials 3]
 */

const { values } = parseArgs({
  options: {
    'cpu-ms': { type: 'string', default: '20' },
    limit: { type: 'string', default: '250' },
    measure: { type: 'string', default: '6s' },
    variants: { type: 'string', default: 'legacy-sticky,legacy-redis,rc' },
    scaling: { type: 'boolean', default: false },
    trials: { type: 'string', default: '3' },
  },
});
const cpuMs = Number(values['cpu-ms']);
const limit = Number(values.limit);
if (!(cpuMs > 0) || !(limit >= 10)) throw new Error('--cpu-ms must be > 0 and --limit ≥ 10 (millicores)');
const theory = limit / cpuMs;
const scaling = values.scaling === true;
const trials = Number(values.trials);
const variants = scaling ? ['rc'] : String(values.variants).split(',');
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
    ...(scaling
      ? [
          `    trials: ${trials}`,
          '    cases: [{ id: replicas-1, replicas: 1 }, { id: replicas-2, replicas: 2 }]',
          `    search: { startRate: ${theory / 2}, factor: 2, resolution: 5%, maxSteps: 14, settle: 1s, measure: ${values.measure} }`,
        ]
      : []),
    ...(scaling
      ? []
      : [
          `    search: { startRate: ${theory / 10}, factor: 2, resolution: 5%, maxSteps: 14, settle: 1s, measure: ${values.measure} }`,
        ]),
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
if (scaling) {
  const rates = async (id: string) => {
    const out1: number[] = [];
    for (let t = 1; t <= trials; t++) {
      const c = CapacityTrialSchema.parse(
        JSON.parse(
          await readFile(join(trialDir(out, `capacity~${id}`, 'rc', t), RUN_FILES.capacity), 'utf8'),
        ),
      );
      if (c.result.sustainableRate !== null) out1.push(c.result.sustainableRate);
    }
    return out1;
  };
  const one = await rates('replicas-1');
  const two = await rates('replicas-2');
  const m = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // percentile bootstrap of mean(two) / mean(one), resampling trials within each count
  let seed = 1;
  const rnd = () => {
    seed = (seed * 48271) % 2147483647;
    return seed / 2147483647;
  };
  const draws: number[] = [];
  for (let i = 0; i < 4000; i++) {
    const pick = (xs: number[]) => m(xs.map(() => xs[Math.floor(rnd() * xs.length)] as number));
    draws.push(pick(two) / pick(one));
  }
  draws.sort((a, b) => a - b);
  process.stdout.write(
    `rc, 1 replica: ${one.map((x) => x.toFixed(2)).join(', ')} turns/s; 2 replicas: ${two.map((x) => x.toFixed(2)).join(', ')}\n` +
      `ratio of means ${(m(two) / m(one)).toFixed(2)}, 95% bootstrap interval [${draws[100]?.toFixed(2)}, ${draws[3899]?.toFixed(2)}]\n`,
  );
  await rm(base, { recursive: true, force: true });
  process.exit(0);
}
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
