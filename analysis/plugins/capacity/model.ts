import jStat from 'jstat';
import { linearRegression, mean, sampleStandardDeviation } from 'simple-statistics';
import type { CapacityStep, CapacityTrial, ReplicaSample } from '../../../rundir/layout.js';

/**
 * The capacity experiment's numbers, from its raw files only: sustainable rate per trial with a 95%
 * interval over trials, the Universal Scalability Law fitted to the capacities at each replica count,
 * the cost per unit of work from samples.jsonl, and the pods a population of agents needs.
 * Pure functions: the plugin (analysis.ts), the report and `mcpbench plan` all call these.
 */

export interface RateInterval {
  mean: number;
  low: number | null;
  high: number | null;
  n: number;
}

/** Mean and 95% Student-t interval of per-trial values (no interval from one trial). */
export function tInterval(values: number[]): RateInterval | null {
  if (values.length === 0) return null;
  const m = mean(values);
  if (values.length < 2) return { mean: m, low: null, high: null, n: 1 };
  const half =
    jStat.studentt.inv(0.975, values.length - 1) *
    (sampleStandardDeviation(values) / Math.sqrt(values.length));
  return { mean: m, low: m - half, high: m + half, n: values.length };
}

/** USL: X(N) = λN / (1 + σ(N−1) + κN(N−1)). */
export interface UslFit {
  lambda: number;
  sigma: number;
  kappa: number;
  /** the replica count past which adding pods stops paying (throughput peaks): sqrt((1−σ)/κ); null when κ ≤ 0 */
  peakReplicas: number | null;
  /** X(peakReplicas), when there is a peak */
  peakRate: number | null;
  points: number;
}

export function uslRate(fit: Pick<UslFit, 'lambda' | 'sigma' | 'kappa'>, n: number): number {
  return (fit.lambda * n) / (1 + fit.sigma * (n - 1) + fit.kappa * n * (n - 1));
}

/**
 * Gunther's linearisation: with λ = X(1), N·X(1)/X(N) − 1 = σ(N−1) + κN(N−1), least squares through the
 * origin in (σ, κ). Needs X(1) and at least one more replica count; with exactly one more, κ is set to 0
 * (two points fix one coefficient). σ and κ are clamped at 0 (negative contention is measurement noise).
 */
export function fitUsl(points: Array<{ replicas: number; rate: number }>): UslFit | null {
  const one = points.find((p) => p.replicas === 1);
  const others = points.filter((p) => p.replicas > 1 && p.rate > 0);
  if (!one || one.rate <= 0 || others.length === 0) return null;
  const lambda = one.rate;
  const rows = others.map((p) => ({
    a: p.replicas - 1,
    b: p.replicas * (p.replicas - 1),
    y: (p.replicas * lambda) / p.rate - 1,
  }));
  let sigma: number;
  let kappa: number;
  if (rows.length === 1) {
    const r = rows[0] as (typeof rows)[number];
    sigma = r.y / r.a;
    kappa = 0;
  } else {
    // normal equations of y = σa + κb
    let saa = 0;
    let sab = 0;
    let sbb = 0;
    let say = 0;
    let sby = 0;
    for (const r of rows) {
      saa += r.a * r.a;
      sab += r.a * r.b;
      sbb += r.b * r.b;
      say += r.a * r.y;
      sby += r.b * r.y;
    }
    const det = saa * sbb - sab * sab;
    sigma = det !== 0 ? (say * sbb - sby * sab) / det : say / saa;
    kappa = det !== 0 ? (saa * sby - sab * say) / det : 0;
    if (kappa < 0) {
      kappa = 0;
      sigma = say / saa;
    }
    if (sigma < 0) {
      sigma = 0;
      kappa = Math.max(0, sby / sbb);
    }
  }
  sigma = Math.max(0, sigma);
  const peakReplicas = kappa > 0 && sigma < 1 ? Math.sqrt((1 - sigma) / kappa) : null;
  const fit = { lambda, sigma, kappa };
  return {
    ...fit,
    peakReplicas,
    peakRate: peakReplicas === null ? null : uslRate(fit, peakReplicas),
    points: points.length,
  };
}

/** Fit without the largest replica count, predict it, and the relative error of the prediction. */
export function uslHoldout(
  points: Array<{ replicas: number; rate: number }>,
): { heldOut: number; predicted: number; measured: number; error: number; fittedOn: number } | null {
  if (points.length < 3) return null;
  const largest = points.reduce((a, b) => (b.replicas > a.replicas ? b : a));
  const fit = fitUsl(points.filter((p) => p !== largest));
  if (!fit) return null;
  const predicted = uslRate(fit, largest.replicas);
  return {
    heldOut: largest.replicas,
    predicted,
    measured: largest.rate,
    error: (predicted - largest.rate) / largest.rate,
    fittedOn: points.length - 1,
  };
}

/** Cost per unit of work, from the samples of the steps that met the SLO; null: not measured. */
export interface CapacityCost {
  /** server CPU (all replicas) per turn, ms */
  cpuMsPerTurn: number | null;
  /** Redis CPU per turn, ms */
  redisCpuMsPerTurn: number | null;
  /** growth of Redis memory per turn, bytes */
  redisBytesPerTurn: number | null;
  /** slope of replica RSS against live sessions, bytes per session (legacy) */
  rssBytesPerSession: number | null;
  /** slope of Redis memory against live sessions, bytes per session (legacy-redis) */
  redisBytesPerSession: number | null;
  /** the pods' CPU at the sustainable rate, as a share of their limit (null when not measured) */
  cpuShareOfLimitAtCapacity: number | null;
}

type Sample = ReplicaSample;
const podCpu = (s: Sample): number | null => {
  let total = 0;
  for (const r of s.replicas) {
    if (typeof r.cpuSecondsTotal !== 'number') return null;
    total += r.cpuSecondsTotal;
  }
  return s.replicas.length ? total : null;
};
const redisCpu = (s: Sample) => s.redis?.cpuSecondsTotal ?? null;
const redisMem = (s: Sample) => s.redis?.usedMemoryBytes ?? null;

/** Per-second rate of a counter over [fromMs, toMs], from the first and last sample inside it. */
function counterRate(
  samples: Sample[],
  fromMs: number,
  toMs: number,
  read: (s: Sample) => number | null,
): { delta: number; seconds: number } | null {
  const inside = samples.filter((s) => s.tMs >= fromMs && s.tMs <= toMs && read(s) !== null);
  const a = inside[0];
  const b = inside.at(-1);
  if (!a || !b || b.tMs - a.tMs < 500) return null;
  // a replica that restarted resets its counter: such a window is not used
  const delta = (read(b) as number) - (read(a) as number);
  if (delta < 0) return null;
  return { delta, seconds: (b.tMs - a.tMs) / 1000 };
}

export function capacityCost(
  capacity: CapacityTrial,
  samples: Sample[],
  cpuLimitMillicores: number | null,
): CapacityCost {
  const good = capacity.steps.filter((s) => s.verdict === 'pass');
  const perTurn = (read: (s: Sample) => number | null, scale: number) => {
    let amount = 0;
    let turns = 0;
    for (const step of good) {
      const r = counterRate(samples, step.settleStartMs, step.endMs, read);
      if (!r) continue;
      amount += r.delta;
      turns += r.seconds * step.rate * Math.min(1, step.throughputRatio);
    }
    return turns > 0 ? (amount * scale) / turns : null;
  };
  const cpuMsPerTurn = perTurn(podCpu, 1000);
  const sessionsOf = (s: Sample) => {
    let n = 0;
    for (const r of s.replicas) {
      if (typeof r.sessions !== 'number') return null;
      n += r.sessions;
    }
    return s.replicas.length ? n : null;
  };
  const slope = (read: (s: Sample) => number | null) => {
    const pts: Array<[number, number]> = [];
    for (const s of samples) {
      const x = sessionsOf(s);
      const y = read(s);
      if (x !== null && y !== null) pts.push([x, y]);
    }
    const xs = new Set(pts.map((p) => p[0]));
    if (pts.length < 3 || xs.size < 2) return null;
    return linearRegression(pts).m;
  };
  const rss = (s: Sample) => {
    let n = 0;
    for (const r of s.replicas) {
      if (typeof r.rssBytes !== 'number') return null;
      n += r.rssBytes;
    }
    return s.replicas.length ? n : null;
  };
  // the pods' CPU over the step at the sustainable rate itself, against their limits
  const atCapacity = good.find((s) => s.rate === capacity.result.sustainableRate);
  const busy = atCapacity ? counterRate(samples, atCapacity.settleStartMs, atCapacity.endMs, podCpu) : null;
  const share =
    busy && cpuLimitMillicores
      ? ((busy.delta / busy.seconds) * 1000) / (cpuLimitMillicores * capacity.replicas)
      : null;
  return {
    cpuMsPerTurn,
    redisCpuMsPerTurn: perTurn(redisCpu, 1000),
    redisBytesPerTurn: perTurn(redisMem, 1),
    rssBytesPerSession: slope(rss),
    redisBytesPerSession: slope(redisMem),
    cpuShareOfLimitAtCapacity: share,
  };
}

/** The sustainable rate of a search, judged again from its steps (e.g. at another SLO). */
export function sustainableFrom(steps: Array<Pick<CapacityStep, 'rate' | 'verdict'>>): number | null {
  const fails = steps.filter((s) => s.verdict === 'fail').map((s) => s.rate);
  const bad = fails.length ? Math.min(...fails) : Number.POSITIVE_INFINITY;
  const passes = steps.filter((s) => s.verdict === 'pass' && s.rate < bad).map((s) => s.rate);
  return passes.length ? Math.max(...passes) : null;
}

export interface PlanLoad {
  agents: number;
  turnsPerMinute: number;
  /** capacity kept free, 0.3 = each pod planned at 70% of its sustainable rate */
  headroom: number;
  /** CPU limit of the planned pods, millicores; null: the measured limit */
  podCpuMillicores: number | null;
}

export interface VariantPlan {
  variant: string;
  /** turns per second the population asks for */
  demand: number;
  /** the per-pod sustainable rate planned with (after --pod-cpu scaling), and its interval */
  perPod: RateInterval;
  /** from how many replicas the per-pod figure was measured */
  measuredReplicas: number;
  pods: number;
  /** pods from the interval's high and low per-pod rate (fewer, more); null without an interval */
  podsLow: number | null;
  podsHigh: number | null;
  podCpuMillicores: number | null;
  totalCpuCores: number | null;
  /** Redis CPU (cores of its one thread) and memory the population needs; null: not measured */
  redisCpuCores: number | null;
  redisMemoryBytes: number | null;
  binds: string;
  notes: string[];
}

/** Input per variant: its measured capacity at the smallest replica count, and its cost figures. */
export interface PlanInput {
  variant: string;
  replicas: number;
  /** sustainable rate at `replicas`, over trials */
  rate: RateInterval;
  cpuLimitMillicores: number | null;
  cost: CapacityCost;
  usesRedis: boolean;
  generatorLimited: boolean;
  limitsEnforced: boolean | null;
  usl: UslFit | null;
}

const podsFor = (demand: number, perPod: number, headroom: number) =>
  perPod > 0 ? Math.max(1, Math.ceil(demand / (perPod * (1 - headroom)) - 1e-9)) : Number.POSITIVE_INFINITY;

/**
 * The pods a population needs: demand = agents × turns per minute / 60; pods = ⌈demand / (per-pod rate ×
 * (1 − headroom))⌉, the per-pod rate scaled linearly to another pod CPU limit when asked. Linear in pods
 * (what a Deployment behind round robin gives when nothing is shared); the USL fit, when measured, is
 * noted where it says adding pods stops paying before that count.
 */
export function planVariant(input: PlanInput, load: PlanLoad): VariantPlan {
  const notes: string[] = [];
  const demand = (load.agents * load.turnsPerMinute) / 60;
  let scale = 1;
  if (load.podCpuMillicores !== null && input.cpuLimitMillicores) {
    scale = load.podCpuMillicores / input.cpuLimitMillicores;
    if (scale !== 1)
      notes.push(
        `per-pod capacity scaled linearly from the measured ${input.cpuLimitMillicores}m limit to ${load.podCpuMillicores}m (×${scale.toFixed(2)}); not measured at that limit`,
      );
  } else if (load.podCpuMillicores !== null)
    notes.push(
      `the run recorded no pod CPU limit, so --pod-cpu ${load.podCpuMillicores}m cannot rescale it: used as measured`,
    );
  const per = (x: number | null) => (x === null ? null : (x / input.replicas) * scale);
  const perPod: RateInterval = {
    mean: per(input.rate.mean) as number,
    low: per(input.rate.low),
    high: per(input.rate.high),
    n: input.rate.n,
  };
  const pods = podsFor(demand, perPod.mean, load.headroom);
  const podsLow = perPod.high !== null ? podsFor(demand, perPod.high, load.headroom) : null;
  const podsHigh =
    perPod.low !== null ? (perPod.low > 0 ? podsFor(demand, perPod.low, load.headroom) : null) : null;
  const podCpu = load.podCpuMillicores ?? input.cpuLimitMillicores;
  const redisCpuCores =
    input.usesRedis && input.cost.redisCpuMsPerTurn !== null
      ? (demand * input.cost.redisCpuMsPerTurn) / 1000
      : null;
  const redisMemoryBytes =
    input.usesRedis && input.cost.redisBytesPerSession !== null
      ? Math.max(0, input.cost.redisBytesPerSession) * load.agents
      : null;
  let binds: string;
  if (redisCpuCores !== null && redisCpuCores >= 0.8)
    binds = `Redis CPU (${(redisCpuCores * 100).toFixed(0)}% of its one thread: shard or scale Redis first)`;
  else if (input.cost.cpuShareOfLimitAtCapacity === null) binds = 'pod capacity (CPU per turn not measured)';
  else if (input.cost.cpuShareOfLimitAtCapacity >= 0.8)
    binds = `pod CPU (${(input.cost.cpuShareOfLimitAtCapacity * 100).toFixed(0)}% of the limit at the sustainable rate)`;
  else
    binds = `the latency SLO, before pod CPU (${(input.cost.cpuShareOfLimitAtCapacity * 100).toFixed(0)}% of the limit at the sustainable rate)`;
  if (input.generatorLimited)
    notes.push(
      'the load generator was the limit in a search: the per-pod rate is a lower bound, so the pod count is an upper bound',
    );
  if (input.limitsEnforced === false)
    notes.push(
      'per-pod CPU limits were not enforced in this run: the per-pod rate is what an unlimited process on this host carried',
    );
  if (input.usl?.peakReplicas != null && pods > input.usl.peakReplicas)
    notes.push(
      `the USL fit peaks at ${input.usl.peakReplicas.toFixed(1)} replicas: beyond that one Deployment adds no throughput, so ${pods} pods need to be split (more Deployments / shards)`,
    );
  if (!Number.isFinite(pods)) notes.push('no measured capacity: no pod count');
  return {
    variant: input.variant,
    demand,
    perPod,
    measuredReplicas: input.replicas,
    pods,
    podsLow,
    podsHigh,
    podCpuMillicores: podCpu,
    totalCpuCores: podCpu && Number.isFinite(pods) ? (pods * podCpu) / 1000 : null,
    redisCpuCores,
    redisMemoryBytes,
    binds,
    notes,
  };
}
