import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { cpuMillicores, MIN_CPU_MILLICORES } from '../cluster/manifests.js';
import { VARIANT_NAMES, type VariantName } from '../cluster/provider.js';
import { BUILTIN_VARIANTS, builtinVariant, type VariantDefinition } from '../cluster/variants.js';
import { parseThreshold, parseThresholds } from '../rundir/threshold-spec.js';
import { WorkloadSchema } from '../scenarios/models/workload.ts';
import { describeFileError } from '../util/file-errors.js';
import { type ExperimentDefinition, repeatedActions, repeatedSteps } from './definitions.js';
import { DEFAULT_EXPERIMENTS, EXPERIMENT_NAMES, type ExperimentName } from './registry.js';
import { MIN_LOAD_DURATION_MS, parseDuration, parsePercent } from './values.js';

/**
 * The run configuration: flags layered over an optional YAML/JSON file, validated with errors that
 * name the field (`overrides.hpa.trials: expected a number`), then resolved into concrete experiment
 * definitions. Nothing downstream reads flags or files.
 */

/**
 * A duration with its unit ("30s", "2m", "1500ms"; experiments/values.ts). A bare number is refused
 * with a hint ("write 30s or 30ms"), in YAML as on the command line: it is ambiguous, and reading it
 * as milliseconds turned `duration: 5` into a 5 ms run.
 */
const durationSchema = (minMs = 1) =>
  z.unknown().transform((value, ctx) => {
    try {
      return parseDuration(value, { minMs });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
/** A run's or an experiment's duration: at least 1 s. */
const DurationSchema = durationSchema(MIN_LOAD_DURATION_MS);

const StageSchema = z.strictObject({ duration: durationSchema(1), target: z.number().min(0) });

const LoadSchema = z.discriminatedUnion('model', [
  z.strictObject({
    model: z.literal('closed'),
    agents: z.number().int().positive(),
    stages: z.array(StageSchema).optional(),
  }),
  z.strictObject({
    model: z.literal('open'),
    rate: z.number().positive(),
    /** what `rate` counts; the engines' own default (scenarios/engine), so that one word means one thing */
    unit: z.enum(['sessions', 'turns', 'requests']).default('sessions'),
    stages: z.array(StageSchema).optional(),
    maxInFlight: z.number().int().positive().optional(),
  }),
]);

const EnvSchema = z.record(
  z.string().regex(/^MCPBENCH_[A-Z0-9_]+$/, 'server env keys are MCPBENCH_* variables'),
  z.union([z.string(), z.number(), z.boolean()]).transform(String),
);

/** A percentage with its % ("5%" → 0.05; experiments/values.ts), in the config file as on the command line. */
const percentSchema = (maxPercent: number) =>
  z.unknown().transform((value, ctx) => {
    try {
      return parsePercent(value, { maxPercent });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

const SloExpression = (metric: 'latency' | 'turn' | 'errors') =>
  z
    .string()
    .nullable()
    .superRefine((expr, ctx) => {
      if (expr === null) return;
      try {
        parseThreshold(metric, expr);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    });

/** capacity: the breakpoint search (experiments/capacity-search.ts); every field optional. */
const SearchSchema = z
  .strictObject({
    startRate: z.number().positive(),
    factor: z.number().gt(1).max(10),
    /** converged when the first failing rate is at most this far above the last passing one, e.g. 5% */
    resolution: percentSchema(100),
    maxSteps: z.number().int().min(1).max(50),
    settle: durationSchema(0),
    measure: DurationSchema,
    /** the load generator is the limit at or above this much CPU of its own process, in cores */
    generatorCpuLimit: z.number().min(0.1).max(64),
  })
  .partial();

/** capacity: the SLO a step is judged against (k6 threshold syntax; null turns an objective off). */
const SloSchema = z
  .strictObject({
    request: SloExpression('latency'),
    turn: SloExpression('turn'),
    errors: SloExpression('errors'),
    /** completed over offered, at least, e.g. 95% */
    minThroughput: percentSchema(100),
  })
  .partial();
/** A Kubernetes CPU quantity ("500m", "0.5", 2) as whole millicores, at least the least a CFS quota enforces. */
const cpuQuantity = (value: unknown, ctx: z.RefinementCtx): number => {
  try {
    const m = cpuMillicores(value);
    if (m < MIN_CPU_MILLICORES)
      throw new Error(`${m}m is below ${MIN_CPU_MILLICORES}m, the least a CPU quota can enforce`);
    return m;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
};
const CpuQuantitySchema = z.unknown().transform(cpuQuantity);

/**
 * Per-pod CPU, as a Deployment's container resources: `cpuRequest` (also what the HPA's utilisation
 * is a percentage of) and `cpuLimit` (on local a CFS quota per replica; `none` runs without a limit).
 */
const ResourcesSchema = z.strictObject({
  cpuRequest: CpuQuantitySchema.optional(),
  cpuLimit: z
    .unknown()
    .transform((v, ctx) => (v === 'none' ? null : cpuQuantity(v, ctx)))
    .optional(),
});
type ResourcesConfig = z.output<typeof ResourcesSchema>;

const ExperimentOverrideSchema = z.strictObject({
  /** a named preset of the experiment (hpa: fast, the default, or realistic); checked against the experiment's own */
  profile: z.string().min(1).optional(),
  duration: DurationSchema.optional(),
  trials: z.number().int().min(1).max(100).optional(),
  replicas: z.number().int().min(1).max(32).optional(),
  serverEnv: EnvSchema.optional(),
  rttMs: z.number().min(0).max(1_000).optional(),
  scenario: z.string().min(1).optional(),
  scenarioParams: z.record(z.string(), z.unknown()).optional(),
  load: LoadSchema.optional(),
  sourceAddresses: z.number().int().min(1).max(250).optional(),
  resources: ResourcesSchema.optional(),
  cases: z
    .array(
      z.strictObject({
        id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'case ids are lower-case words joined by - or .'),
        serverEnv: EnvSchema.optional(),
        rttMs: z.number().min(0).max(1_000).optional(),
        /** Deployment replicas of this case (capacity: one case per replica count) */
        replicas: z.number().int().min(1).max(32).optional(),
      }),
    )
    .min(1)
    .optional(),
  /** rolling-update, pod-kill: how many times the event repeats in a trial, and how far apart */
  events: z
    .strictObject({
      count: z.number().int().min(1).max(50),
      spacing: DurationSchema,
    })
    .partial()
    .optional(),
  /** hpa: how many load steps a trial runs, and how far apart their starts are */
  steps: z
    .strictObject({
      count: z.number().int().min(1).max(50),
      spacing: DurationSchema,
    })
    .partial()
    .optional(),
  search: SearchSchema.optional(),
  slo: SloSchema.optional(),
  hpa: z
    .strictObject({
      minReplicas: z.number().int().min(1),
      maxReplicas: z.number().int().min(1),
      targetCpuUtilization: z.number().int().min(1).max(1000),
      /** moved to `resources.cpuRequest` (one value for the container and the HPA); refused with that hint */
      cpuRequestMillicores: z.unknown(),
      syncPeriodSeconds: z.number().min(0.5),
      scaleUpStabilizationSeconds: z.number().min(0),
      scaleDownStabilizationSeconds: z.number().min(0),
      cpuInitializationSeconds: z.number().min(0),
      tolerance: z.number().min(0).max(1),
      initialReadinessDelaySeconds: z.number().min(0),
      // metrics-server refuses a resolution under 10 s; the local provider can go lower (kind is floored, and says so)
      metricResolutionSeconds: z.number().min(1),
    })
    .partial()
    .optional(),
});

const EnvVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment variable name');
const PlainEnv = z.record(EnvVarName, z.union([z.string(), z.number(), z.boolean()]).transform(String));
const UrlPath = z.string().regex(/^\/[^\s?#]*$/, 'a path starting with /');

/**
 * A variant defined in the run config: any MCP server over Streamable HTTP (cluster/variants.ts).
 * Local runs start `local.command`; kind/kube run `kube.image`.
 */
const ForeignVariantSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/, 'a variant name is lower-case letters, digits and -'),
    protocol: z.enum(['2025-11-25', '2026-07-28', 'auto']),
    routing: z.enum(['client-ip', 'none', 'l7']).default('none'),
    replicas: z.number().int().min(1).max(32).optional(),
    /** the variant needs the Redis the harness runs; `env` receives its URL */
    redis: z.strictObject({ env: EnvVarName }).optional(),
    path: UrlPath.default('/mcp'),
    readiness: z.union([z.literal('mcp'), z.strictObject({ path: UrlPath })]).default('mcp'),
    liveness: z.union([z.literal('none'), z.strictObject({ path: UrlPath })]).default('none'),
    local: z
      .strictObject({
        command: z.string().trim().min(1, 'needs a value, got an empty string'),
        args: z.array(z.union([z.string(), z.number()]).transform(String)).default([]),
        env: PlainEnv.default({}),
        cwd: z.string().min(1).optional(),
        portEnv: EnvVarName.optional(),
      })
      .superRefine((l, ctx) => {
        if (!l.portEnv && !l.args.some((a) => a.includes('{port}')))
          ctx.addIssue({
            code: 'custom',
            message: 'say how the port is passed: {port} in args, or portEnv (e.g. PORT)',
          });
      })
      .optional(),
    kube: z
      .strictObject({
        image: z.string().trim().min(1),
        env: PlainEnv.default({}),
        containerPort: z.number().int().min(1).max(65535).default(8080),
      })
      .optional(),
    workload: WorkloadSchema.optional(),
  })
  .superRefine((v, ctx) => {
    if (!v.local && !v.kube)
      ctx.addIssue({ code: 'custom', message: 'needs local (a command) or kube (an image), or both' });
  })
  .transform(
    (v): VariantDefinition => ({
      name: v.name,
      protocol: v.protocol,
      server: 'foreign',
      store: 'memory',
      routing: v.routing,
      ...(v.replicas !== undefined ? { replicas: v.replicas } : {}),
      redis: v.redis !== undefined,
      foreign: {
        ...(v.local ? { local: v.local } : {}),
        ...(v.kube ? { kube: v.kube } : {}),
        path: v.path,
        readiness: v.readiness === 'mcp' ? 'mcp' : { httpPath: v.readiness.path },
        livenessPath: v.liveness === 'none' ? null : v.liveness.path,
        ...(v.redis ? { redisEnv: v.redis.env } : {}),
        ...(v.workload ? { workload: v.workload } : {}),
      },
    }),
  );

/**
 * `variants:` a list of built-in names and variant definitions (or a comma-separated string of names,
 * as `--variants` gives it). Resolved to the names, in order; the definitions go to `variantDefinitions`.
 */
const VariantsSchema = z.unknown().transform((given, ctx): Array<string | VariantDefinition> => {
  const value =
    typeof given === 'string'
      ? given
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : given;
  if (!Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'expected a list of variant names and definitions' });
    return z.NEVER;
  }
  // Each entry on its own, so that an error names the entry and its field (variants[1].local.command).
  // A name resolves against the built-ins and the variants the list defines.
  const definedNames = value
    .map((e) => (typeof e === 'object' && e !== null && 'name' in e ? String(e.name) : null))
    .filter((n): n is string => n !== null);
  const known = [...new Set([...VARIANT_NAMES, ...definedNames])];
  const seen = new Set<string>();
  return value.map((entry, i) => {
    const given = typeof entry === 'string' ? entry : (entry as { name?: unknown } | null)?.name;
    const name = typeof given === 'string' ? given.trim() : '';
    if (name && seen.has(name))
      ctx.addIssue({ code: 'custom', path: [i], message: `variant "${name}" is listed twice` });
    seen.add(name);
    if (typeof entry === 'string') {
      if (!name) ctx.addIssue({ code: 'custom', path: [i], message: 'needs a value, got an empty string' });
      else if (!known.includes(name))
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `unknown variant "${name}" (choose from ${known.join(', ')}, or define it)`,
        });
      return name;
    }
    const r = ForeignVariantSchema.safeParse(entry);
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: [i, ...issue.path] } as never);
    return '';
  });
});

const csv = <T extends string>(allowed: readonly T[], what: string) =>
  z
    .union([z.array(z.string()), z.string()])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
    .superRefine((list, ctx) => {
      for (const item of list) {
        if (!allowed.includes(item as T)) {
          ctx.addIssue({
            code: 'custom',
            message: `unknown ${what} "${item}" (choose from ${allowed.join(', ')})`,
          });
        }
      }
      if (list.length === 0) ctx.addIssue({ code: 'custom', message: `at least one ${what} is needed` });
    })
    .transform((list) => list as T[]);

const RunConfigSchema = z
  .strictObject({
    cluster: z.enum(['local', 'kind', 'kube']).default('local'),
    /** kubeconfig context for --cluster kube */
    context: z.string().trim().min(1, 'needs a value, got an empty string').optional(),
    /** kind: leave the cluster up after the run (a cluster that was up before a run is always left). */
    keep: z.boolean().default(false),
    engine: z.enum(['builtin', 'k6']).default('builtin'),
    /** local: an external Redis to use instead of starting one (REDIS_URL does the same); never killed. */
    redisUrl: z.string().optional(),
    /** L7 Services: legacy-sticky hashes Mcp-Session-Id, rc routes on Mcp-Method and balances per request. */
    l7: z.boolean().default(false),
    /** prepared: preStop delay, readiness off on SIGTERM, grace to match, PDB; unprepared: none of these. */
    deployment: z.enum(['prepared', 'unprepared']).default('prepared'),
    /**
     * Where the load comes from on kind/kube: `cluster` (default there) runs it in generator pods next to
     * the servers, through the Service's in-cluster address; `host` drives it from this machine through
     * the ports published on 127.0.0.1. Local runs always load from the host.
     */
    loadFrom: z.enum(['cluster', 'host']).optional(),
    /** In-cluster generator pods per trial (default: one per replica of the experiment, at least 2, at most 4). */
    generators: z.number().int().min(1).max(256).optional(),
    experiments: csv(EXPERIMENT_NAMES, 'experiment').default([...EXPERIMENT_NAMES]),
    variants: VariantsSchema.default([...VARIANT_NAMES]),
    /**
     * Overrides every experiment's own duration (its timed actions and load stages scale with it);
     * an `overrides.<name>.duration` in the file is more specific and wins over it, a `--duration` flag
     * wins over both.
     */
    duration: DurationSchema.optional(),
    /**
     * Per-pod CPU request and limit for every experiment (`--cpu-request`, `--cpu-limit`); an
     * `overrides.<name>.resources` field is more specific and wins over it, a flag wins over both.
     */
    resources: ResourcesSchema.optional(),
    /** Overrides every experiment's own number of trials; precedence as for `duration`. */
    trials: z.number().int().min(1).max(100).optional(),
    seed: z.number().int().min(0).default(1),
    out: z.string().trim().min(1, 'needs a value, got an empty string').optional(),
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'a run name is letters, digits, . _ -')
      .optional(),
    overrides: z.partialRecord(z.enum(EXPERIMENT_NAMES), ExperimentOverrideSchema).default({}),
    /** The agent population the report's capacity planning table is made for (`mcpbench plan` takes flags). */
    plan: z
      .strictObject({
        agents: z.number().int().positive().default(5_000),
        turnsPerMinute: z.number().positive().default(2),
        /** capacity kept free, e.g. 30% */
        headroom: percentSchema(99).default(0.3),
      })
      .default({ agents: 5_000, turnsPerMinute: 2, headroom: 0.3 }),
    /** k6-style thresholds checked after the run (analysis/thresholds.ts; README): a failed one exits 1. */
    thresholds: z
      .unknown()
      .optional()
      .superRefine((value, ctx) => {
        try {
          parseThresholds(value);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^thresholds\.?:? ?/, '') });
        }
      }),
  })
  .transform((c, ctx) => {
    // A definition with a built-in's name replaces it.
    const defined = new Map<string, VariantDefinition>();
    for (const v of c.variants) if (typeof v !== 'string') defined.set(v.name, v);
    const names: VariantName[] = c.variants.map((v) => (typeof v === 'string' ? v : v.name));
    if (names.length === 0)
      ctx.addIssue({ code: 'custom', path: ['variants'], message: 'at least one variant is needed' });
    const variantDefinitions = names.map(
      (n) => defined.get(n) ?? builtinVariant(n) ?? (BUILTIN_VARIANTS[0] as VariantDefinition),
    );
    return { ...c, variants: names, variantDefinitions };
  });
export type RunConfig = z.output<typeof RunConfigSchema>;

/** A variant of this run by name (its definition from the config, or the built-in). */
export function variantDefinition(config: RunConfig, name: VariantName): VariantDefinition {
  const d = config.variantDefinitions.find((v) => v.name === name) ?? builtinVariant(name);
  if (!d) throw new Error(`variant ${name}: not a variant of this run`);
  return d;
}

export class ConfigError extends Error {}

/** `variants[1].local.command`: list indices in brackets, as a reader of the YAML counts them. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`))
    .join('');
}

/** Formats zod issues as `field.path: message` lines, prefixed with where the value came from. */
function describeIssues(error: z.ZodError, source: string): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length ? fieldPath(issue.path) : '(top level)';
      return `${source}: ${path}: ${issue.message}`;
    })
    .join('\n');
}

/** Reads a YAML or JSON config file; errors name the file and the field. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--config ${path}: ${describeFileError(err, path, 'read')}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`--config ${path}: not valid YAML/JSON: ${(err as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(`--config ${path}: expected a mapping at the top level`);
  return value as Record<string, unknown>;
}

/** Fields a flag sets for every experiment: given as a flag, it also beats `overrides.<name>.<field>`. */
const EVERY_EXPERIMENT_FLAGS = ['duration', 'trials'] as const;
/** The flags of `resources.<field>`, for errors that name what the user typed. */
const RESOURCE_FLAGS: Record<keyof ResourcesConfig, string> = {
  cpuRequest: '--cpu-request',
  cpuLimit: '--cpu-limit',
};

/**
 * Flags win over the file, everywhere: a flag given for every experiment (`--duration`, `--trials`)
 * also replaces the per-experiment values of the file's `overrides`. Both are validated together so
 * an error names its source.
 */
export function buildRunConfig(
  file: Record<string, unknown>,
  flags: Record<string, unknown>,
  fileName?: string,
): RunConfig {
  const fileResult = RunConfigSchema.safeParse(file);
  if (!fileResult.success) throw new ConfigError(describeIssues(fileResult.error, fileName ?? 'config'));
  const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  // `--cpu-limit` / `--cpu-request` replace only their own field of the file's `resources`.
  const flagResources =
    given.resources && typeof given.resources === 'object'
      ? Object.fromEntries(Object.entries(given.resources).filter(([, v]) => v !== undefined))
      : {};
  delete given.resources;
  const merged: Record<string, unknown> = { ...file, ...given };
  if (Object.keys(flagResources).length)
    merged.resources = { ...(file.resources as Record<string, unknown> | undefined), ...flagResources };
  // `--variants a,b` selects by name among the built-ins and the variants the file defines.
  if (typeof flags.variants === 'string' && Array.isArray(file.variants)) {
    const definedInFile = new Map(
      (file.variants as unknown[])
        .filter((v): v is { name: string } => typeof v === 'object' && v !== null && 'name' in v)
        .map((v) => [v.name, v]),
    );
    merged.variants = flags.variants
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((n) => definedInFile.get(n) ?? n);
  }
  const result = RunConfigSchema.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues
        .map((i) => {
          const flag =
            i.path[0] === 'resources' && String(i.path[1]) in flagResources
              ? RESOURCE_FLAGS[i.path[1] as keyof ResourcesConfig]
              : `--${fieldPath(i.path)}`;
          return `${flag}: ${i.message}`;
        })
        .join('\n'),
    );
  }
  const config = result.data;
  for (const field of EVERY_EXPERIMENT_FLAGS) {
    if (flags[field] === undefined) continue;
    for (const o of Object.values(config.overrides)) if (o) delete o[field];
  }
  for (const field of Object.keys(flagResources) as Array<keyof ResourcesConfig>)
    for (const o of Object.values(config.overrides)) if (o?.resources) delete o.resources[field];
  if (config.cluster === 'local' && config.loadFrom === 'cluster')
    throw new ConfigError(
      '--load-from cluster: needs --cluster kind or kube (a local run loads from the host)',
    );
  if (config.generators !== undefined && (config.cluster === 'local' || config.loadFrom === 'host'))
    throw new ConfigError(
      '--generators: only with in-cluster load (--cluster kind|kube, not --load-from host)',
    );
  if (config.generators !== undefined && config.engine === 'k6')
    throw new ConfigError('--generators: in-cluster generators run the built-in engine, not --engine k6');
  for (const [name, o] of Object.entries(config.overrides)) {
    if (o?.hpa && 'cpuRequestMillicores' in o.hpa)
      throw new ConfigError(
        `${fileName ?? 'config'}: overrides.${name}.hpa.cpuRequestMillicores: the pod's CPU request is ` +
          `overrides.${name}.resources.cpuRequest (e.g. 250m): one value for the container and the HPA`,
      );
    if (o?.events && !DEFAULT_EXPERIMENTS[name as ExperimentName].events) {
      const withEvents = EXPERIMENT_NAMES.filter((n) => DEFAULT_EXPERIMENTS[n].events);
      throw new ConfigError(`overrides.${name}.events: only ${withEvents.join(', ')} repeat an event`);
    }
    if (o?.steps && !DEFAULT_EXPERIMENTS[name as ExperimentName].steps) {
      const withSteps = EXPERIMENT_NAMES.filter((n) => DEFAULT_EXPERIMENTS[n].steps);
      throw new ConfigError(`overrides.${name}.steps: only ${withSteps.join(', ')} repeats a load step`);
    }
    if (o?.steps && o.load?.stages)
      throw new ConfigError(
        `overrides.${name}.steps: give either steps or load.stages (the steps are expanded into the stages)`,
      );
    const profiles = Object.keys(DEFAULT_EXPERIMENTS[name as ExperimentName].profiles ?? {});
    if (o?.profile !== undefined && !profiles.includes(o.profile)) {
      throw new ConfigError(
        profiles.length
          ? `overrides.${name}.profile: unknown profile "${o.profile}" (choose from ${profiles.join(', ')})`
          : `overrides.${name}.profile: ${name} has no profiles`,
      );
    }
    if (o?.hpa && !DEFAULT_EXPERIMENTS[name as ExperimentName].hpa) {
      const withHpa = EXPERIMENT_NAMES.filter((n) => DEFAULT_EXPERIMENTS[n].hpa);
      throw new ConfigError(`overrides.${name}.hpa: only ${withHpa.join(', ')} has an HPA`);
    }
    for (const field of ['search', 'slo'] as const) {
      if (o?.[field] && !DEFAULT_EXPERIMENTS[name as ExperimentName].search) {
        const searching = EXPERIMENT_NAMES.filter((n) => DEFAULT_EXPERIMENTS[n].search);
        throw new ConfigError(
          `overrides.${name}.${field}: only ${searching.join(', ')} runs a breakpoint search`,
        );
      }
    }
  }
  return config;
}

function scaleTimes<N extends string>(
  def: ExperimentDefinition<N>,
  durationMs: number,
): ExperimentDefinition<N> {
  if (durationMs === def.durationMs) return def;
  const f = durationMs / def.durationMs;
  const load = def.load.stages
    ? {
        ...def.load,
        stages: def.load.stages.map((s) => ({ ...s, durationMs: Math.max(1, Math.round(s.durationMs * f)) })),
      }
    : def.load;
  return {
    ...def,
    durationMs,
    beforeWindowMs: Math.round(def.beforeWindowMs * f),
    actions: def.actions.map((a) => ({ ...a, atMs: Math.round(a.atMs * f) })),
    events: def.events && {
      ...def.events,
      firstAtMs: Math.round(def.events.firstAtMs * f),
      spacingMs: Math.round(def.events.spacingMs * f),
    },
    steps: def.steps && {
      ...def.steps,
      firstAtMs: Math.round(def.steps.firstAtMs * f),
      rampMs: Math.round(def.steps.rampMs * f),
      holdMs: Math.round(def.steps.holdMs * f),
      spacingMs: Math.round(def.steps.spacingMs * f),
    },
    load,
  };
}

/** The concrete experiments this run will execute, in suite order. */
/** Rollout spacing on kind/kube: a rollout there plus its settle time (measured on kind, see above). */
const REAL_CLUSTER_ROLLOUT_SPACING_MS = 20_000;

export function resolveExperiments(config: RunConfig): ExperimentDefinition[] {
  return EXPERIMENT_NAMES.filter((n) => config.experiments.includes(n)).map((name: ExperimentName) => {
    const o = config.overrides[name] ?? {};
    const preset = o.profile ? DEFAULT_EXPERIMENTS[name].profiles?.[o.profile] : undefined;
    const defaults: ExperimentDefinition = DEFAULT_EXPERIMENTS[name];
    const base: ExperimentDefinition = preset ? { ...defaults, ...preset } : defaults;
    const load = o.load
      ? o.load.model === 'closed'
        ? {
            model: 'closed' as const,
            agents: o.load.agents,
            stages: o.load.stages?.map((s) => ({ durationMs: s.duration, target: s.target })),
          }
        : {
            model: 'open' as const,
            rate: o.load.rate,
            unit: o.load.unit,
            maxInFlight: o.load.maxInFlight,
            stages: o.load.stages?.map((s) => ({ durationMs: s.duration, target: s.target })),
          }
      : base.load;
    let def: ExperimentDefinition = {
      ...base,
      trials: o.trials ?? config.trials ?? base.trials,
      replicas: o.replicas ?? base.replicas,
      serverEnv: { ...base.serverEnv, ...o.serverEnv },
      rttMs: o.rttMs ?? base.rttMs,
      scenario: o.scenario ?? base.scenario,
      scenarioParams: { ...base.scenarioParams, ...o.scenarioParams },
      load,
      sourceAddresses: o.sourceAddresses ?? base.sourceAddresses,
      cases: o.cases ?? base.cases,
      hpa: base.hpa && { ...base.hpa, ...o.hpa },
      search: base.search && {
        ...base.search,
        ...dropUndefined({
          startRate: o.search?.startRate,
          factor: o.search?.factor,
          resolution: o.search?.resolution,
          maxSteps: o.search?.maxSteps,
          settleMs: o.search?.settle,
          measureMs: o.search?.measure,
          generatorCpuLimit: o.search?.generatorCpuLimit,
        }),
        slo: {
          ...base.search.slo,
          ...dropUndefined({
            request: o.slo?.request,
            turn: o.slo?.turn,
            errors: o.slo?.errors,
            minThroughputRatio: o.slo?.minThroughput,
          }),
        },
      },
      resources: resolveResources(name, base.resources, config.resources, o.resources),
    };
    if (def.hpa && def.hpa.minReplicas > def.hpa.maxReplicas) {
      throw new ConfigError(
        `overrides.hpa.hpa: minReplicas (${def.hpa.minReplicas}) > maxReplicas (${def.hpa.maxReplicas})`,
      );
    }
    // A rollout on a real cluster takes far longer than locally (15-17 s for 3 replicas on a 2-core
    // kind node, against 4-8 s): spaced as locally, the second rollout would start late and be cut
    // off by the end of the load. Unless the config says otherwise, rollouts there are spaced wider.
    const clusterSpacing =
      config.cluster !== 'local' && base.events?.action === 'rollout'
        ? Math.max(base.events.spacingMs, REAL_CLUSTER_ROLLOUT_SPACING_MS)
        : undefined;
    if (base.events && (o.events || clusterSpacing)) {
      const events = {
        ...base.events,
        count: o.events?.count ?? base.events.count,
        spacingMs: o.events?.spacing ?? clusterSpacing ?? base.events.spacingMs,
      };
      def = { ...def, events, ...repeatedActions(events) };
    }
    if (base.steps && o.steps) {
      const steps = {
        ...base.steps,
        count: o.steps.count ?? base.steps.count,
        spacingMs: o.steps.spacing ?? base.steps.spacingMs,
      };
      const least = steps.holdMs + 2 * steps.rampMs;
      if (steps.spacingMs <= least)
        throw new ConfigError(
          `overrides.${name}.steps.spacing: ${steps.spacingMs / 1000} s must be longer than a step with its ramps (${least / 1000} s)`,
        );
      const expanded = repeatedSteps(steps);
      def = {
        ...def,
        steps,
        durationMs: expanded.durationMs,
        load: { ...def.load, stages: expanded.stages },
      };
    } else if (o.load) def = { ...def, steps: undefined }; // the run's own load: no steps of ours
    const duration = o.duration ?? config.duration;
    if (duration !== undefined) def = scaleTimes(def, duration);
    return def;
  });
}

function dropUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Per field: `overrides.<name>.resources` over the run's `resources` over the experiment's own. */
function resolveResources(
  name: string,
  base: ExperimentDefinition['resources'],
  run: ResourcesConfig | undefined,
  own: ResourcesConfig | undefined,
): ExperimentDefinition['resources'] {
  const pick = <K extends keyof ResourcesConfig>(k: K) => (own?.[k] !== undefined ? own[k] : run?.[k]);
  const request = pick('cpuRequest') ?? base?.cpuRequestMillicores;
  const limit = pick('cpuLimit') !== undefined ? pick('cpuLimit') : base?.cpuLimitMillicores;
  if (request !== undefined && typeof limit === 'number' && request > limit) {
    const where = (k: keyof ResourcesConfig) =>
      own?.[k] !== undefined
        ? `overrides.${name}.resources.${k}`
        : run?.[k] !== undefined
          ? `resources.${k} (${RESOURCE_FLAGS[k]})`
          : `${name}'s own ${k}`;
    throw new ConfigError(
      `${where('cpuRequest')}: ${request}m is above ${where('cpuLimit')} ${limit}m; a pod's CPU request cannot exceed its limit`,
    );
  }
  if (request === undefined && limit === undefined) return undefined;
  return {
    ...(request !== undefined ? { cpuRequestMillicores: request } : {}),
    ...(limit !== undefined ? { cpuLimitMillicores: limit } : {}),
  };
}

export function variantsFor(def: ExperimentDefinition, config: RunConfig): VariantName[] {
  return config.variants.filter((v) => !def.variants || def.variants.includes(v));
}

/** Whether a run's load comes from generator pods in the cluster (kind/kube by default, built-in engine). */
export function loadsFromCluster(config: RunConfig): boolean {
  if (config.cluster === 'local' || config.engine === 'k6') return false;
  return (config.loadFrom ?? 'cluster') === 'cluster';
}
