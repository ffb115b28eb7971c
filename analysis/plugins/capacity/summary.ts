import type { Trial } from '../../load-run.js';
import type { CapacityRunSummary, CapacityVariantSummary, VariantSummary } from '../../summary-types.js';
import {
  type CapacityCost,
  capacityCost,
  fitUsl,
  type PlanLoad,
  planVariant,
  tInterval,
  uslHoldout,
} from './model.js';

/** The variants whose state lives in Redis (design: legacy-redis sessions, rc Tasks). */
const REDIS_VARIANTS = new Set(['legacy-redis', 'rc']);

/** The capacity block of one experiment × variant (one replica count), from its trials' capacity.json. */
export function summariseCapacity(trials: Trial[]): CapacityVariantSummary | null {
  const searched = trials.filter((t) => t.capacity);
  const first = searched[0]?.capacity;
  if (!first) return null;
  const results = searched.map((t) => ({
    trial: t.trial,
    sustainableRate: t.capacity?.result.sustainableRate ?? null,
    status: t.capacity?.result.status ?? 'unknown',
    steps: t.capacity?.steps.length ?? 0,
  }));
  const rates = results.flatMap((r) => (r.sustainableRate === null ? [] : [r.sustainableRate]));
  const rate = tInterval(rates);
  const per = (x: number | null) => (x === null ? null : x / first.replicas);
  const costs = searched.map((t) =>
    capacityCost(
      t.capacity as NonNullable<Trial['capacity']>,
      t.samples,
      t.capacity?.cpuLimitMillicores ?? null,
    ),
  );
  const meanOf = (k: keyof CapacityCost) => {
    const xs = costs.flatMap((c) => (c[k] === null ? [] : [c[k] as number]));
    return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null;
  };
  const cost: CapacityCost = {
    cpuMsPerTurn: meanOf('cpuMsPerTurn'),
    redisCpuMsPerTurn: meanOf('redisCpuMsPerTurn'),
    redisBytesPerTurn: meanOf('redisBytesPerTurn'),
    rssBytesPerSession: meanOf('rssBytesPerSession'),
    redisBytesPerSession: meanOf('redisBytesPerSession'),
    cpuShareOfLimitAtCapacity: meanOf('cpuShareOfLimitAtCapacity'),
  };
  const enforced = searched.map((t) => t.capacity?.cpuLimitEnforced ?? null);
  return {
    replicas: first.replicas,
    unit: first.unit,
    slo: first.slo,
    trials: results,
    rate,
    perPod: rate && { mean: rate.mean / first.replicas, low: per(rate.low), high: per(rate.high), n: rate.n },
    generatorLimitedSteps: searched.reduce(
      (n, t) => n + (t.capacity?.steps.filter((s) => s.verdict === 'generator-limited').length ?? 0),
      0,
    ),
    generatorLimitedTrials: results.filter((r) => r.status === 'generator-limited').length,
    cpuLimitMillicores: first.cpuLimitMillicores,
    cpuLimitEnforced: enforced.includes(false) ? false : enforced.includes(null) ? null : true,
    cpuLimitNote: searched.map((t) => t.capacity?.cpuLimitNote).find((n) => n) ?? null,
    hostCores: first.hostCores,
    cost,
    steps: searched.flatMap((t) =>
      (t.capacity?.steps ?? []).map((s) => ({
        trial: t.trial,
        rate: s.rate,
        requestP99Us: s.requestP99Us,
        turnP99Us: s.turnP99Us,
        verdict: s.verdict,
        reasons: s.reasons,
      })),
    ),
  };
}

/** The plan load of a run config (`plan`), with the defaults for runs that did not record one. */
export function planLoadOf(config: Record<string, unknown>): PlanLoad {
  const p = (config.plan ?? {}) as Record<string, unknown>;
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : d);
  return {
    agents: num(p.agents, 5_000),
    turnsPerMinute: num(p.turnsPerMinute, 2),
    headroom: typeof p.headroom === 'number' && p.headroom >= 0 && p.headroom < 1 ? p.headroom : 0.3,
    podCpuMillicores: null,
  };
}

/**
 * The run-level capacity figures of one experiment (its cases are replica counts): per variant the
 * scaling curve with its USL fit and hold-out check, and the plan for `load`.
 */
export function capacityRunSummary(
  variants: VariantSummary[],
  load: PlanLoad,
  experiment = 'capacity',
): CapacityRunSummary | undefined {
  const rows = variants.filter((v) => v.experiment === experiment && v.capacity);
  if (!rows.length) return undefined;
  const names = [...new Set(rows.map((v) => v.variant))];
  const scaling = names.map((variant) => {
    const mine = rows
      .filter((v) => v.variant === variant)
      .sort((a, b) => (a.capacity?.replicas ?? 0) - (b.capacity?.replicas ?? 0));
    const points = mine.flatMap((v) => {
      const c = v.capacity;
      return c?.rate ? [{ replicas: c.replicas, rate: c.rate.mean, low: c.rate.low, high: c.rate.high }] : [];
    });
    const hostBound = mine
      .map((v) => v.capacity)
      .flatMap((c) => {
        if (!c) return [];
        if (c.cpuLimitEnforced === false || c.cpuLimitMillicores === null)
          return [
            `CPU limits were not enforced at ${c.replicas} replica(s): the replicas and the load generator share the host's ${c.hostCores} cores`,
          ];
        const total = c.replicas * c.cpuLimitMillicores;
        return total > c.hostCores * 1000
          ? [
              `${c.replicas} replicas × ${c.cpuLimitMillicores}m = ${(total / 1000).toFixed(2)} cores of limits exceed the host's ${c.hostCores} cores: the curve there is bounded by the host`,
            ]
          : [];
      });
    return {
      variant,
      points,
      usl: fitUsl(points),
      holdout: uslHoldout(points),
      hostBound: hostBound.length ? hostBound.join('; ') : null,
    };
  });
  const plans = names.flatMap((variant) => {
    const smallest = rows
      .filter((v) => v.variant === variant && v.capacity?.rate)
      .sort((a, b) => (a.capacity?.replicas ?? 0) - (b.capacity?.replicas ?? 0))[0];
    const c = smallest?.capacity;
    if (!c?.rate) return [];
    return [
      planVariant(
        {
          variant,
          replicas: c.replicas,
          rate: c.rate,
          cpuLimitMillicores: c.cpuLimitMillicores,
          cost: c.cost,
          usesRedis: REDIS_VARIANTS.has(variant),
          generatorLimited: c.generatorLimitedTrials > 0,
          limitsEnforced: c.cpuLimitEnforced,
          usl: scaling.find((s) => s.variant === variant)?.usl ?? null,
        },
        load,
      ),
    ];
  });
  const unplanned = names
    .filter((variant) => !plans.some((p) => p.variant === variant))
    .map((variant) => ({
      variant,
      reason: 'no rate met the SLO at any replica count: nothing to plan from',
    }));
  return { experiment, scaling, plan: { load, variants: plans, unplanned } };
}
