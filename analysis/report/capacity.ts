import { fmt } from '../metrics.js';
import { uslRate, type VariantPlan } from '../plugins/capacity/model.js';
import type { RunSummary } from '../summary-types.js';
import { type Block, cell, type RichText, type Section, strong, table } from './model.js';

/** A figure, or "not measured" (never zero) when the run could not measure it. */
const measured = (x: number | null | undefined, f: (x: number) => string) =>
  x === null || x === undefined ? 'not measured' : f(x);
const bytes = (b: number) =>
  Math.abs(b) >= 1 << 20
    ? `${(b / (1 << 20)).toFixed(1)} MiB`
    : Math.abs(b) >= 1024
      ? `${(b / 1024).toFixed(1)} KiB`
      : `${b.toFixed(0)} B`;
const interval = (low: number | null, high: number | null, digits = 1) =>
  low !== null && high !== null ? ` [${fmt.num(low, digits)}, ${fmt.num(high, digits)}]` : '';

function planRow(p: VariantPlan): ReturnType<typeof cell>[] {
  const podsRange = p.podsLow !== null && p.podsHigh !== null ? ` (${p.podsLow}–${p.podsHigh})` : '';
  return [
    cell(p.variant),
    cell(fmt.num(p.demand), p.demand),
    cell(`${fmt.num(p.perPod.mean)}${interval(p.perPod.low, p.perPod.high)}`, p.perPod.mean),
    cell(Number.isFinite(p.pods) ? `${p.pods}${podsRange}` : '–', Number.isFinite(p.pods) ? p.pods : null),
    cell(p.podCpuMillicores === null ? 'none set' : `${p.podCpuMillicores}m`),
    cell(
      measured(p.totalCpuCores, (x) => x.toFixed(2)),
      p.totalCpuCores,
    ),
    cell(
      measured(p.redisCpuCores, (x) => x.toFixed(3)),
      p.redisCpuCores,
    ),
    cell(measured(p.redisMemoryBytes, bytes), p.redisMemoryBytes),
    cell(p.binds),
  ];
}

/** The headings of the planning table. */
const PLAN_HEADINGS = [
  'variant',
  'turns/s asked:',
  'per-pod turns/s [95% CI]:',
  'pods (interval):',
  'pod CPU',
  'total CPU cores:',
  'Redis CPU cores:',
  'Redis memory:',
  'binds first',
];

function planTableRows(plans: VariantPlan[]) {
  return plans.map(planRow);
}

/**
 * The report's Capacity section: latency against offered rate per variant (the knee marked), the
 * scaling curve with its USL fit and hold-out check, the cost per turn, and the plan for the run
 * config's `plan` load.
 */
export function capacitySection(summary: RunSummary): Section | null {
  const cap = summary.capacity;
  if (!cap) return null;
  const rows = summary.variants.filter((v) => v.experiment === cap.experiment && v.capacity);
  const blocks: Block[] = [];
  const slo = rows[0]?.capacity?.slo;
  if (slo)
    blocks.push({
      kind: 'note',
      text: [
        'SLO per step: ',
        strong(
          [
            slo.request && `request ${slo.request}`,
            slo.turn && `turn ${slo.turn}`,
            slo.errors && `errors ${slo.errors}`,
          ]
            .filter(Boolean)
            .join(', ') + `, throughput ≥ ${(slo.minThroughputRatio * 100).toFixed(0)}% of offered`,
        ),
        '. The sustainable rate is the highest rate that passed, with the first failing rate at most the resolution above it.',
      ],
    });

  // Latency against offered rate, the knee marked.
  const curve: ReturnType<typeof cell>[][] = [];
  for (const v of rows) {
    const c = v.capacity;
    if (!c) continue;
    const sustained = new Map(c.trials.map((t) => [t.trial, t.sustainableRate]));
    for (const s of [...c.steps].sort((a, b) => a.trial - b.trial || a.rate - b.rate)) {
      const knee = sustained.get(s.trial) === s.rate && s.verdict === 'pass' ? ' ◀ knee (sustainable)' : '';
      curve.push([
        cell(`${v.variant} ×${c.replicas}`),
        cell(String(s.trial), s.trial),
        cell(fmt.num(s.rate), s.rate),
        cell(fmt.ms(s.requestP99Us), s.requestP99Us),
        cell(fmt.ms(s.turnP99Us), s.turnP99Us),
        cell(`${s.verdict}${knee}${s.verdict !== 'pass' && s.reasons.length ? `: ${s.reasons[0]}` : ''}`),
      ]);
    }
  }
  blocks.push({
    kind: 'table',
    table: table(
      ['variant × replicas', 'trial:', 'offered /s:', 'request p99:', 'turn p99:', 'verdict'],
      curve,
    ),
  });

  const generatorLimited = rows.filter((v) => (v.capacity?.generatorLimitedSteps ?? 0) > 0);
  for (const v of generatorLimited)
    blocks.push({
      kind: 'note',
      text: [
        strong(`The load generator was the limit (${v.variant}, ${v.capacity?.replicas} replica(s))`),
        `: ${v.capacity?.generatorLimitedSteps} step(s) were limited by the generator, not the server; they are not counted as server capacity, and the rate above is only a lower bound. Run the generator elsewhere (--load-from, a bigger host) or lower the in-flight demand.`,
      ],
    });
  const unenforced = rows.filter((v) => v.capacity?.cpuLimitEnforced !== true);
  if (unenforced.length)
    blocks.push({
      kind: 'note',
      text: [
        strong('Per-pod CPU limits were not enforced'),
        ` for ${unenforced.map((v) => `${v.variant} ×${v.capacity?.replicas}`).join(', ')}` +
          `${unenforced[0]?.capacity?.cpuLimitNote ? ` (${unenforced[0].capacity.cpuLimitNote})` : ' (the provider did not report enforcement)'}: ` +
          'these rates are what an unlimited process carried on this host, not what a pod with the stated limit carries.',
      ],
    });

  // Scaling curve and USL fit.
  const scalingRows: ReturnType<typeof cell>[][] = [];
  const fitLines: RichText[] = [];
  for (const s of cap.scaling) {
    const x1 = s.points.find((p) => p.replicas === 1)?.rate ?? null;
    for (const p of s.points) {
      const eff = x1 ? p.rate / (p.replicas * x1) : null;
      const predicted = s.usl ? uslRate(s.usl, p.replicas) : null;
      scalingRows.push([
        cell(s.variant),
        cell(String(p.replicas), p.replicas),
        cell(`${fmt.num(p.rate)}${interval(p.low, p.high)}`, p.rate),
        cell(fmt.num(p.rate / p.replicas), p.rate / p.replicas),
        cell(eff === null ? '–' : fmt.pct(eff), eff),
        cell(predicted === null ? '–' : fmt.num(predicted), predicted),
      ]);
    }
    if (s.usl)
      fitLines.push([
        strong(s.variant),
        `: USL fit on ${s.usl.points} replica counts: λ ${fmt.num(s.usl.lambda)}/s, contention σ ${s.usl.sigma.toFixed(3)}, coherency κ ${s.usl.kappa.toFixed(4)}; ` +
          (s.usl.peakReplicas === null
            ? 'no peak within the fit (κ = 0): adding pods keeps paying, with diminishing returns when σ > 0.'
            : `adding pods stops paying past ${s.usl.peakReplicas.toFixed(1)} replicas (peak ${fmt.num(s.usl.peakRate)}/s).`) +
          (s.usl.points === 2 ? ' Two points fix σ only (κ taken as 0).' : ''),
      ]);
    else if (s.points.length)
      fitLines.push([strong(s.variant), ': no USL fit (it needs 1 replica and at least one more count).']);
    if (s.holdout)
      fitLines.push([
        strong(s.variant),
        `: hold-out check: fitted on ${s.holdout.fittedOn} counts${s.holdout.fittedOn === 2 ? ' (two points: σ only)' : ''}, the fit predicts ${fmt.num(s.holdout.predicted)}/s at ${s.holdout.heldOut} replicas; measured ${fmt.num(s.holdout.measured)}/s (error ${(s.holdout.error * 100).toFixed(1)}%).`,
      ]);
    if (s.hostBound) fitLines.push([strong(`${s.variant}: bounded by the host`), `: ${s.hostBound}.`]);
  }
  blocks.push({
    kind: 'table',
    table: table(
      [
        'variant',
        'replicas:',
        'sustainable /s [95% CI]:',
        'per pod /s:',
        'scaling efficiency:',
        'USL fit /s:',
      ],
      scalingRows,
    ),
  });
  if (fitLines.length) blocks.push({ kind: 'list', items: fitLines });

  // Cost per unit of work.
  blocks.push({
    kind: 'table',
    table: table(
      [
        'variant × replicas',
        'server CPU / turn:',
        'Redis CPU / turn:',
        'Redis memory / turn:',
        'RSS / live session:',
        'Redis memory / session:',
        'pod CPU at capacity:',
      ],
      rows.map((v) => {
        const c = v.capacity?.cost;
        return [
          cell(`${v.variant} ×${v.capacity?.replicas}`),
          cell(
            measured(c?.cpuMsPerTurn, (x) => `${x.toFixed(2)} ms`),
            c?.cpuMsPerTurn ?? null,
          ),
          cell(
            measured(c?.redisCpuMsPerTurn, (x) => `${x.toFixed(3)} ms`),
            c?.redisCpuMsPerTurn ?? null,
          ),
          cell(measured(c?.redisBytesPerTurn, bytes), c?.redisBytesPerTurn ?? null),
          v.notApplicable?.sessions
            ? cell(`n/a (${v.notApplicable.sessions})`)
            : cell(measured(c?.rssBytesPerSession, bytes), c?.rssBytesPerSession ?? null),
          cell(measured(c?.redisBytesPerSession, bytes), c?.redisBytesPerSession ?? null),
          cell(
            measured(c?.cpuShareOfLimitAtCapacity, (x) => `${(x * 100).toFixed(0)}% of limit`),
            c?.cpuShareOfLimitAtCapacity ?? null,
          ),
        ];
      }),
    ),
  });

  // The plan for the config's load.
  const load = cap.plan.load;
  blocks.push({
    kind: 'note',
    text: [
      'Plan for ',
      strong(
        `${load.agents} agents × ${load.turnsPerMinute} turns/min, ${Math.round(load.headroom * 100)}% headroom`,
      ),
      ' (run config `plan`; re-plan any load with `mcpbench plan RUN_DIR --agents N --turns-per-minute R`):',
    ],
  });
  blocks.push({ kind: 'table', table: table(PLAN_HEADINGS, planTableRows(cap.plan.variants)) });
  const notes = cap.plan.variants.flatMap((p) =>
    p.notes.map((n) => [strong(p.variant), `: ${n}`] as RichText),
  );
  if (notes.length) blocks.push({ kind: 'list', items: notes });
  return { title: 'Capacity', blocks };
}
