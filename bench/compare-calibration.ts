import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type CompareResult, formatPercent } from '../analysis/compare.js';
import { compareRunDirs } from '../analysis/compare-runs.js';
import { parsePercent } from '../experiments/values.js';
import { writeJsonAtomic } from '../util/atomic-write.js';

/**
 * How far `mcpbench compare` can be trusted, measured rather than assumed:
 *
 * - false alarms: runs of the same build compared pairwise (A/A); how often does compare exit 1?
 * - power: the same build with the server made `--slowdown` times slower (MCPBENCH_SLOWDOWN holds
 *   every response back until it took that factor × its real handling time) against the baseline
 *   runs (A/B); how often does compare exit 1?
 *
 * Baseline and slowed runs alternate so drift on a shared machine hits both arms alike. Every run
 * is a real `mcpbench run` (real servers, proxies, Redis, engine); every comparison is the real
 * compare. All pairs are compared, so comparisons share runs: the rates are unbiased, their
 * intervals (Wilson, treating comparisons as independent) are optimistic.
 *
 *   npm run bench:compare-calibration [-- --runs 6 --trials 3 --duration 2s --slowdown 1.2 --threshold 5%]
 */

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '6' },
    trials: { type: 'string', default: '3' },
    duration: { type: 'string', default: '2s' },
    experiments: { type: 'string', default: 'ttl-cache' },
    variants: { type: 'string' },
    slowdown: { type: 'string', default: '1.2' },
    threshold: { type: 'string', default: '5%' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write(
    'npm run bench:compare-calibration [-- --runs 6 --trials 3 --duration 2s --experiments ttl-cache ' +
      '[--variants a,b] --slowdown 1.2 --threshold 5% --out DIR]\n' +
      '  runs --runs baseline runs and --runs slowed runs (alternating), then compares every A/A and A/B pair\n',
  );
  process.exit(0);
}

function positive(name: string, value: string | undefined, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    process.stderr.write(
      `compare-calibration: --${name} must be a positive ${integer ? 'integer' : 'number'}, got "${value}"\n`,
    );
    process.exit(2);
  }
  return n;
}
const runs = positive('runs', args.runs, true);
const slowdown = positive('slowdown', args.slowdown, false);
// The same reading of --threshold as `mcpbench compare`: a percentage with its % ("5%").
let threshold: number;
try {
  threshold = parsePercent(args.threshold);
} catch (err) {
  process.stderr.write(`compare-calibration: --threshold: ${(err as Error).message}\n`);
  process.exit(2);
}
if (runs < 2 || slowdown <= 1) {
  process.stderr.write('compare-calibration: needs --runs ≥ 2 and --slowdown > 1\n');
  process.exit(2);
}

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
const outDir = resolve(args.out ?? join(root, 'results', `calibration-${stamp}`));

let child: ReturnType<typeof spawn> | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\ncompare-calibration: ${signal}, stopping the current run\n`);
    if (child?.pid) child.kill('SIGINT');
    process.exitCode = 130;
    setTimeout(() => process.exit(130), 15_000).unref();
  });
}

async function runOnce(name: string, slowed: boolean): Promise<string> {
  const dir = join(outDir, 'runs', name);
  const config = join(outDir, slowed ? 'slowed.yaml' : 'baseline.yaml');
  const cli = [
    join(root, 'bin', 'mcpbench.js'),
    'run',
    '--experiments',
    args.experiments as string,
    '--trials',
    args.trials as string,
    '--duration',
    args.duration as string,
    '--config',
    config,
    '--out',
    dir,
    '--json',
    ...(args.variants ? ['--variants', args.variants] : []),
  ];
  const started = Date.now();
  await new Promise<void>((resolveRun, reject) => {
    child = spawn(process.execPath, cli, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      child = null;
      if (code === 0) resolveRun();
      else reject(new Error(`run ${name} exited ${code}:\n${stderr}`));
    });
  });
  process.stderr.write(`  ${name}: ${Math.round((Date.now() - started) / 1000)} s\n`);
  return dir;
}

function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.96;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

function rate(k: number, n: number): string {
  const [lo, hi] = wilson(k, n);
  return `${k}/${n} = ${formatPercent(k / n)} (95% CI ${formatPercent(lo)}–${formatPercent(hi)})`;
}

async function main(): Promise<void> {
  await mkdir(join(outDir, 'runs'), { recursive: true });
  const experiment = (args.experiments as string).split(',')[0];
  // Only MCPBENCH_SLOWDOWN differs between the arms (serverEnv overrides merge into the defaults).
  const overrides = (env: Record<string, string>) =>
    `overrides:\n${(args.experiments as string)
      .split(',')
      .map((e) => `  ${e.trim()}:\n    serverEnv: ${JSON.stringify(env)}\n`)
      .join('')}`;
  await writeFile(join(outDir, 'baseline.yaml'), overrides({}));
  await writeFile(join(outDir, 'slowed.yaml'), overrides({ MCPBENCH_SLOWDOWN: String(slowdown) }));
  process.stderr.write(
    `compare-calibration: ${runs} baseline + ${runs} slowed (×${slowdown}) runs of ${args.experiments} ` +
      `(${args.trials} trials × ${args.duration}), alternating → ${outDir}\n`,
  );
  const a: string[] = [];
  const b: string[] = [];
  for (let i = 1; i <= runs; i++) {
    a.push(await runOnce(`A${i}`, false));
    b.push(await runOnce(`B${i}`, true));
  }
  const options = { threshold };
  const aa: Array<{ pair: string; result: CompareResult }> = [];
  const ab: Array<{ pair: string; result: CompareResult }> = [];
  for (const arm of [a, b]) {
    for (let i = 0; i < arm.length; i++)
      for (let j = i + 1; j < arm.length; j++) {
        const result = await compareRunDirs(arm[i] as string, arm[j] as string, options);
        aa.push({ pair: `${arm[i]?.split('/').pop()} vs ${arm[j]?.split('/').pop()}`, result });
      }
  }
  for (const x of a)
    for (const y of b) {
      const result = await compareRunDirs(x, y, options);
      ab.push({ pair: `${x.split('/').pop()} vs ${y.split('/').pop()}`, result });
    }
  const fired = (list: typeof aa) => list.filter((c) => c.result.regressions.length > 0);
  const metricsOf = (list: typeof aa) => {
    const counts = new Map<string, number>();
    for (const c of list)
      for (const r of c.result.regressions) {
        const key = `${r.variant} ${r.label}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    return [...counts].sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k} ×${n}`);
  };
  const falseAlarms = fired(aa);
  const detected = fired(ab);
  const effect = (variant: string, metric: string) => {
    const rel = ab
      .flatMap((c) => c.result.changes)
      .filter((ch) => ch.variant === variant && ch.metric === metric && ch.relative !== null)
      .map((ch) => ch.relative as number)
      .sort((x, y) => x - y);
    return rel[Math.floor(rel.length / 2)] ?? null;
  };
  const variants = [...new Set(ab.flatMap((c) => c.result.changes.map((ch) => ch.variant)))];
  const lines = [
    `compare calibration: ${args.experiments}, ${args.trials} trials × ${args.duration} per run, threshold ${formatPercent(threshold)}, alpha 0.05`,
    `  A/A false alarms (same build, ${runs} + ${runs} runs, all pairs): ${rate(falseAlarms.length, aa.length)} — goal ≤ 5%`,
    `  A/B detection (server ${formatPercent(slowdown - 1)} slower):       ${rate(detected.length, ab.length)} — goal ≥ 95%`,
    `  median end-to-end effect of the slowdown on ${experiment}: ${variants
      .map((v) => {
        const p50 = effect(v, 'p50Us');
        const turn = effect(v, 'turnMeanUs');
        return `${v} request p50 ${p50 === null ? '–' : `+${formatPercent(p50)}`}, turn mean ${turn === null ? '–' : `+${formatPercent(turn)}`}`;
      })
      .join('; ')}`,
    `  metrics that cried regression in A/A: ${metricsOf(falseAlarms).join(', ') || 'none'}`,
    `  metrics that caught the slowdown:     ${metricsOf(detected).slice(0, 8).join(', ') || 'none'}`,
    `  missed A/B pairs: ${
      ab
        .filter((c) => c.result.regressions.length === 0)
        .map((c) => c.pair)
        .join(', ') || 'none'
    }`,
  ];
  await writeJsonAtomic(join(outDir, 'calibration.json'), {
    args,
    threshold,
    falseAlarms: { fired: falseAlarms.length, comparisons: aa.length, pairs: falseAlarms.map((c) => c.pair) },
    detection: { fired: detected.length, comparisons: ab.length },
    summary: lines,
  });
  process.stdout.write(`${lines.join('\n')}\n  details: ${join(outDir, 'calibration.json')}\n`);
}

main().catch((err) => {
  process.stderr.write(`compare-calibration: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
