import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { loadRun } from '../analysis/load-run.js';
import { rejudgeRun } from '../analysis/plugins/capacity/rejudge.js';
import { capacityRunSummary } from '../analysis/plugins/capacity/summary.js';
import { summariseLoaded } from '../analysis/summarise.js';
import { cpuMillicores } from '../cluster/manifests.js';
import { parseThreshold } from '../rundir/threshold-spec.js';
import { percent, text } from './flags.js';

const positive = (flag: string, integer: boolean) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new InvalidArgumentError(
      `${flag}: "${value}" is not a ${integer ? 'whole number' : 'number'} above 0`,
    );
  return n;
};

const sloFlag = (value: string) => {
  try {
    parseThreshold('latency', value);
  } catch (err) {
    throw new InvalidArgumentError(
      `--slo: ${(err as Error).message} (request latency in ms, e.g. 'p(99)<200')`,
    );
  }
  return value;
};

const podCpuFlag = (value: string) => {
  try {
    const m = cpuMillicores(value);
    if (m <= 0) throw new Error('a pod CPU limit is above 0');
    return m;
  } catch (err) {
    throw new InvalidArgumentError(`--pod-cpu: ${(err as Error).message}`);
  }
};

const headroomFlag = (value: string) => {
  const h = percent('--headroom')(value);
  if (h >= 1)
    throw new InvalidArgumentError(`--headroom: ${value} leaves no capacity to plan with (below 100%)`);
  return h;
};

interface PlanOptions {
  agents: number;
  turnsPerMinute: number;
  slo?: string;
  headroom: number;
  podCpu?: number;
  json?: boolean;
}

const fmtBytes = (b: number | null) =>
  b === null
    ? 'not measured'
    : b >= 1 << 20
      ? `${(b / (1 << 20)).toFixed(1)} MiB`
      : `${(b / 1024).toFixed(1)} KiB`;

/** `mcpbench plan RUN_DIR --agents N --turns-per-minute R`: pods (and Redis) a population needs, from a capacity run. */
export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description(
      'pods, CPU and Redis needed per variant for N agents at R turns per minute each, from the capacity experiment of a run directory (reads only the run directory)',
    )
    .argument('<run-dir>', 'a run directory whose run included the capacity experiment', text('RUN_DIR'))
    .requiredOption('--agents <n>', 'concurrent agents to plan for', positive('--agents', true))
    .requiredOption(
      '--turns-per-minute <r>',
      'turns each agent runs per minute',
      positive('--turns-per-minute', false),
    )
    .option(
      '--slo <expr>',
      "request latency objective to judge the measured steps at instead of the run's (e.g. 'p(99)<200', ms)",
      sloFlag,
    )
    .option('--headroom <pct>', 'capacity kept free on every pod, with its % (e.g. 30%)', headroomFlag, 0.3)
    .option(
      '--pod-cpu <cpu>',
      'CPU limit of the planned pods (500m, 0.5, 2); per-pod capacity is scaled linearly from the measured limit',
      podCpuFlag,
    )
    .option('--json', 'print the plan as JSON')
    .action(async (dir: string, o: PlanOptions) => {
      let run: Awaited<ReturnType<typeof loadRun>>;
      try {
        run = await loadRun(resolve(dir));
      } catch (err) {
        program.error(`mcpbench plan: ${(err as Error).message}`, { exitCode: 2 });
      }
      if (!run.trials.some((t) => t.capacity))
        program.error(
          `mcpbench plan: ${dir}: this run has no capacity experiment results (run: mcpbench run --experiments capacity)` +
            (run.problems.length ? `; files that could not be read: ${run.problems.join('; ')}` : ''),
          { exitCode: 2 },
        );
      const rejudged = o.slo ? await rejudgeRun(run, { request: o.slo }) : [];
      const summary = summariseLoaded(run);
      const load = {
        agents: o.agents,
        turnsPerMinute: o.turnsPerMinute,
        headroom: o.headroom,
        podCpuMillicores: o.podCpu ?? null,
      };
      const cap = capacityRunSummary(summary.variants, load);
      const plans = cap?.plan.variants ?? [];
      const notes = [
        ...(run.status !== 'complete'
          ? [`the run is ${run.status}: the plan covers the trials that were written`]
          : []),
        ...(o.slo
          ? [
              `steps re-judged at request ${o.slo}: the sustainable rate is the highest measured rate that passes below the lowest that fails (the search's rates were chosen for the run's own SLO, so the bracket may be coarser)`,
            ]
          : []),
        ...rejudged.map((p) => `not re-judged: ${p}`),
      ];
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify({ run: summary.run, load, slo: o.slo ?? null, variants: plans, unplanned: cap?.plan.unplanned ?? [], scaling: cap?.scaling ?? [], notes }, null, 2)}\n`,
        );
        return;
      }
      const out: string[] = [];
      out.push(
        `Plan for ${o.agents} agents × ${o.turnsPerMinute} turns/min = ${((o.agents * o.turnsPerMinute) / 60).toFixed(1)} turns/s, ${Math.round(o.headroom * 100)}% headroom${o.podCpu ? `, pods of ${o.podCpu}m` : ''} (run ${summary.run})`,
      );
      for (const p of plans) {
        const range =
          p.podsLow !== null && p.podsHigh !== null
            ? ` (95% interval ${p.podsLow}–${p.podsHigh})`
            : ' (no interval: one trial)';
        out.push(
          `  ${p.variant}: ${Number.isFinite(p.pods) ? p.pods : 'no'} pods${Number.isFinite(p.pods) ? range : ''}; per pod ${p.perPod.mean.toFixed(1)} turns/s` +
            ` (measured at ${p.measuredReplicas} replica(s)); total CPU ${p.totalCpuCores === null ? 'not measured' : `${p.totalCpuCores.toFixed(2)} cores`}` +
            `; Redis CPU ${p.redisCpuCores === null ? 'not measured' : `${p.redisCpuCores.toFixed(3)} cores`}, memory ${fmtBytes(p.redisMemoryBytes)}` +
            `; binds first: ${p.binds}`,
        );
        for (const n of p.notes) out.push(`    note: ${n}`);
      }
      for (const u of cap?.plan.unplanned ?? []) out.push(`  ${u.variant}: no plan: ${u.reason}`);
      for (const n of notes) out.push(`  note: ${n}`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
