import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { type TrialSpec, writeRun } from '../analysis/fixtures.js';
import { analyseRun } from '../analysis/index.js';
import { experimentId } from '../experiments/definitions.js';
import { DEFAULT_EXPERIMENTS, EXPERIMENT_NAMES } from '../experiments/registry.js';
import { createRng } from '../util/prng.ts';

/**
 * Analysis cost is proportional to histogram buckets, not to requests: a run directory holding
 * `--requests` recorded requests (every experiment of the suite × 3 variants × 3 trials, log-normal latencies from
 * 200 µs to seconds, turns and errors included) is summarised and rendered (summary.json,
 * report.md, report.html, exactly what `mcpbench report` does) `--repeat` times; the median is
 * printed against the 2 s goal.
 *
 *   npm run bench:analysis [-- --requests 10000000 --repeat 5]
 */

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000000' },
    repeat: { type: 'string', default: '5' },
  },
});
const requests = Number(args.requests);
const repeat = Number(args.repeat);
if (!Number.isInteger(requests) || requests < 36 || !Number.isInteger(repeat) || repeat < 1) {
  process.stderr.write('bench:analysis: --requests must be an integer ≥ 36 and --repeat ≥ 1\n');
  process.exit(2);
}

// every experiment id the suite's defaults produce (experiments/registry.ts): one per case
const experiments = EXPERIMENT_NAMES.flatMap((name) =>
  DEFAULT_EXPERIMENTS[name].cases.map((c, _, cases) => experimentId(name, c, cases.length)),
);
const variants = ['legacy-sticky', 'legacy-redis', 'rc'];
const trialsPer = 3;
const perTrial = Math.ceil(requests / (experiments.length * variants.length * trialsPer));

const rng = createRng(42);
const logNormal = (medianUs: number, sigma: number) => {
  const u = Math.max(1e-12, rng());
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  return Math.max(1, Math.round(medianUs * Math.exp(sigma * z)));
};

async function main(): Promise<void> {
  const setupStarted = performance.now();
  const specs: TrialSpec[] = [];
  for (const experimentId of experiments)
    for (const [vi, variant] of variants.entries())
      for (let trial = 1; trial <= trialsPer; trial++) {
        const samples = new Array<number>(perTrial);
        for (let i = 0; i < perTrial; i++) samples[i] = logNormal(2_000 + vi * 500, 0.8);
        const turnSamples = new Array<number>(Math.floor(perTrial / 3));
        for (let i = 0; i < turnSamples.length; i++) turnSamples[i] = logNormal(20_000, 0.5);
        specs.push({
          experimentId,
          variant,
          trial,
          samples,
          turnSamples,
          roundTrips: perTrial,
          errors: { transport: Math.floor(perTrial / 10_000), session_lost: vi < 2 ? 3 : 0 },
        });
      }
  const dir = await writeRun(specs);
  const total = perTrial * specs.length;
  process.stderr.write(
    `bench:analysis: ${total.toLocaleString('en')} recorded requests in ${specs.length} trials written in ` +
      `${((performance.now() - setupStarted) / 1000).toFixed(1)} s; analysing ${repeat}×\n`,
  );
  const times: number[] = [];
  try {
    for (let i = 0; i < repeat; i++) {
      const started = performance.now();
      const result = await analyseRun(dir);
      times.push(performance.now() - started);
      if (result.summary.variants.reduce((s, v) => s + v.requests, 0) !== total)
        throw new Error('summary lost requests');
    }
  } finally {
    await rm(dirname(dir), { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] as number;
  process.stdout.write(
    `analysis of ${total.toLocaleString('en')} requests (load + summarise + summary.json + report.md + report.html): ` +
      `median ${(median / 1000).toFixed(2)} s, min ${((times[0] as number) / 1000).toFixed(2)} s, max ${((times[times.length - 1] as number) / 1000).toFixed(2)} s ` +
      `over ${repeat} — goal ≤ 2 s: ${median <= 2_000 ? 'met' : 'MISSED'}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`bench:analysis: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
