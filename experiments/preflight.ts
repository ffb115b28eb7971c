import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { parseThresholds, plannedMatch, type ThresholdSpec } from '../rundir/threshold-spec.js';
import { requireK6 } from '../scenarios/k6-runner/run-k6.js';
import { SCENARIOS } from '../scenarios/models/scenarios.js';
import { serverConfigEnvKeys, serverConfigProblems } from '../servers/common/config.js';
import { runDirProblem } from '../util/file-errors.js';
import { type RunConfig, variantsFor } from './config.js';
import { type ExperimentDefinition, experimentId } from './definitions.js';

/**
 * Everything a run can be told wrong, checked before anything starts (no replica, proxy, Redis or
 * cluster): every problem is collected, each naming its flag, config field or file, so one attempt
 * shows them all. `mcpbench run` prints them and exits 2.
 *
 * Each check is one entry of PREFLIGHT_CHECKS; the load engine's binary (k6 for --engine k6) and the
 * provisioning of Redis add theirs there, beside the ones below.
 */

export interface PreflightProblem {
  /** the flag, config field or file that is wrong, e.g. `overrides.ttl-cache.serverEnv.MCPBENCH_TTL_MS` */
  field: string;
  message: string;
}

export interface PreflightInput {
  config: RunConfig;
  experiments: ExperimentDefinition[];
  /** the run directory this run will create (absolute) */
  runDir: string;
  /** how the run directory was given: `--out`, `out` (config file) or the default */
  runDirSource: string;
}

export type PreflightCheck = (input: PreflightInput) => Promise<PreflightProblem[]> | PreflightProblem[];

export function formatProblem(p: PreflightProblem): string {
  return `${p.field}: ${p.message}`;
}

/** The run directory must not exist yet, or be empty, and be creatable. */
const checkRunDir: PreflightCheck = async ({ runDir, runDirSource }) => {
  const problem = await runDirProblem(runDir);
  return problem ? [{ field: `${runDirSource} ${runDir}`, message: problem }] : [];
};

/**
 * Every replica's MCPBENCH_* environment, validated by the servers' own start-up validation (so the
 * two can never disagree), per experiment × case; a variable nothing reads is refused too, since a
 * misspelt one would otherwise silently leave the default in place.
 */
const checkServerEnv: PreflightCheck = async ({ config, experiments }) => {
  const problems: PreflightProblem[] = [];
  const legacy = await import('../servers/legacy/server.js');
  const known = new Set<string>([
    ...Object.values(serverConfigEnvKeys),
    ...Object.keys(legacy.LegacyEnvSchema.shape),
  ]);
  for (const def of experiments) {
    const usesLegacy = variantsFor(def, config).some((v) => v.startsWith('legacy'));
    const seen = new Set<string>();
    for (const [i, c] of def.cases.entries()) {
      const env = { ...def.serverEnv, ...c.serverEnv };
      const field = (variable: string) =>
        c.serverEnv && variable in c.serverEnv
          ? `overrides.${def.name}.cases[${i}].serverEnv.${variable}`
          : `overrides.${def.name}.serverEnv.${variable}`;
      const add = (variable: string, message: string) => {
        const f = field(variable);
        if (seen.has(f)) return;
        seen.add(f);
        problems.push({ field: f, message });
      };
      for (const variable of Object.keys(env))
        if (!known.has(variable))
          add(variable, 'no server reads this variable (see README, Server settings)');
      for (const p of serverConfigProblems(env)) add(p.source, p.message);
      if (usesLegacy) for (const p of legacy.legacyEnvProblems(env)) add(p.source, p.message);
    }
  }
  return problems;
};

const SCENARIO_PARAMS = new Set(
  [...Object.values(SCENARIOS).flatMap((s) => Object.keys(s)), 'fixedArguments'].filter(
    (k) => k !== 'name' && k !== 'description',
  ),
);

/** Scenario names and their parameters, which the engine would otherwise reject only once replicas are up. */
const checkScenarios: PreflightCheck = ({ experiments }) => {
  const problems: PreflightProblem[] = [];
  for (const def of experiments) {
    if (!SCENARIOS[def.scenario])
      problems.push({
        field: `overrides.${def.name}.scenario`,
        message: `unknown scenario "${def.scenario}" (choose from ${Object.keys(SCENARIOS).join(', ')})`,
      });
    for (const key of Object.keys(def.scenarioParams))
      if (!SCENARIO_PARAMS.has(key))
        problems.push({
          field: `overrides.${def.name}.scenarioParams.${key}`,
          message: `unknown scenario parameter (choose from ${[...SCENARIO_PARAMS].join(', ')})`,
        });
  }
  return problems;
};

/** A threshold whose {experiment, variant} tags select no planned experiment × variant. */
const checkThresholdSelectors: PreflightCheck = ({ config, experiments }) => {
  const specs: ThresholdSpec[] = parseThresholds(config.thresholds);
  const planned = experiments.flatMap((def) =>
    def.cases.flatMap((c) =>
      variantsFor(def, config).map((variant) => ({
        experiment: def.name,
        experimentId: experimentId(def.name, c, def.cases.length),
        variant,
      })),
    ),
  );
  const problems: PreflightProblem[] = [];
  const reported = new Set<string>();
  for (const spec of specs) {
    if (reported.has(spec.source) || planned.some((p) => plannedMatch(spec, p))) continue;
    reported.add(spec.source);
    const ids = [...new Set(planned.map((p) => p.experimentId))].join(', ');
    const variants = [...new Set(planned.map((p) => p.variant))].join(', ');
    problems.push({
      field: `thresholds.${spec.source}`,
      message: `selects no experiment × variant of this run (experiments: ${ids}; variants: ${variants})`,
    });
  }
  return problems;
};

/** The absolute path of `command` (a name looked up in PATH, or a path), or null. */
async function findExecutable(command: string): Promise<string | null> {
  const candidates = isAbsolute(command)
    ? [command]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  for (const path of candidates) {
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  return null;
}

/** The binaries and the cluster access the chosen provider needs. */
const checkCluster: PreflightCheck = async ({ config }) => {
  const problems: PreflightProblem[] = [];
  if (config.cluster === 'kind') {
    const kind = await import('../cluster/kind/provider.js');
    const kindBinary = kind.kindPaths().kind;
    const found = { kind: await findExecutable(kindBinary), docker: await findExecutable('docker') };
    if (!found.kind)
      problems.push({
        field: '--cluster kind',
        message: 'no kind binary in .cache/offline/bin or PATH (build it: npm run cluster:build-offline)',
      });
    if (!found.docker)
      problems.push({
        field: '--cluster kind',
        message:
          'no docker binary in PATH (kind runs its node in Docker: apt-get install -y docker.io, then start dockerd)',
      });
    if (found.kind && found.docker) {
      const why = await kind.kindUnavailable({});
      if (why) problems.push({ field: '--cluster kind', message: why });
    }
  }
  if (config.cluster === 'kube' && config.context) {
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    try {
      kc.loadFromDefault();
      const names = kc.getContexts().map((c) => c.name);
      if (!names.includes(config.context))
        problems.push({
          field: '--context',
          message: `no context "${config.context}" in the kubeconfig (contexts: ${names.join(', ') || 'none'})`,
        });
    } catch (err) {
      problems.push({ field: '--context', message: `cannot read the kubeconfig: ${(err as Error).message}` });
    }
  }
  return problems;
};

/** --engine k6 needs the user's own k6 >= 1.0 (K6_BINARY or PATH); mcpbench never ships one. */
const checkEngine: PreflightCheck = async ({ config }) => {
  if (config.engine !== 'k6') return [];
  try {
    await requireK6();
    return [];
  } catch (err) {
    return [{ field: '--engine k6', message: (err as Error).message.replace(/^--engine k6: /, '') }];
  }
};

/** An external Redis is for the local cluster only: kind and kube run Redis in the cluster. */
const checkRedisUrl: PreflightCheck = ({ config }) =>
  config.cluster !== 'local' && config.redisUrl
    ? [
        {
          field: '--redis-url / redisUrl',
          message: `only --cluster local uses it (${config.cluster} runs Redis in the cluster)`,
        },
      ]
    : [];

/**
 * Variants whose server is not ours: on local their command must be there (a name in PATH, or a path
 * from their working directory) and so must that directory; on kind and kube they need an image
 * (`kube.image`), and on kind the local Docker engine must have it (the harness loads it into the
 * cluster; kind pulls nothing).
 */
const checkForeignVariants: PreflightCheck = async ({ config }) => {
  const problems: PreflightProblem[] = [];
  const toLoad: Array<{ name: string; image: string; field: string }> = [];
  for (const [i, d] of config.variantDefinitions.entries()) {
    if (d.server !== 'foreign') continue;
    const field = `variants[${i}]`;
    if (config.cluster !== 'local') {
      const image = d.foreign?.kube?.image;
      if (!image)
        problems.push({
          field: `${field}.kube`,
          message: `${d.name}: --cluster ${config.cluster} runs the server from an image: give kube.image (and kube.containerPort, kube.env)`,
        });
      else if (config.cluster === 'kind') toLoad.push({ name: d.name, image, field: `${field}.kube.image` });
      continue;
    }
    const local = d.foreign?.local;
    if (!local) {
      problems.push({ field: `${field}.local`, message: `${d.name}: --cluster local needs local.command` });
      continue;
    }
    const cwd = local.cwd ? resolve(local.cwd) : process.cwd();
    if (
      local.cwd &&
      !(await access(cwd).then(
        () => true,
        () => false,
      ))
    )
      problems.push({ field: `${field}.local.cwd`, message: `${local.cwd}: no such directory` });
    const found = local.command.includes('/')
      ? await findExecutable(resolve(cwd, local.command))
      : await findExecutable(local.command);
    if (!found)
      problems.push({
        field: `${field}.local.command`,
        message: `"${local.command}" is not an executable file${local.command.includes('/') ? ` (from ${cwd})` : ' in PATH'}; install the server first (for examples/byo.yaml: npm run byo:install)`,
      });
  }
  if (toLoad.length && (await findExecutable('docker'))) {
    const kind = await import('../cluster/kind/provider.js');
    for (const m of await kind.missingForeignImages(toLoad))
      problems.push({
        field: toLoad.find((t) => t.name === m.variant)?.field ?? 'variants',
        message: `${m.variant}: ${m.message}`,
      });
  }
  return problems;
};

/**
 * What the run will do that the user should know before it starts, though nothing is wrong: on kube a
 * server that is not ours runs from its image as it is (`imagePullPolicy: IfNotPresent`), nothing is
 * loaded or built for it.
 */
export function preflightNotes(config: RunConfig): string[] {
  if (config.cluster !== 'kube') return [];
  return config.variantDefinitions.flatMap((d) =>
    d.server === 'foreign' && d.foreign?.kube?.image
      ? [
          `${d.name}: --cluster kube runs image ${d.foreign.kube.image} as it is (imagePullPolicy IfNotPresent): the cluster's nodes must have it or be able to pull it; the harness loads nothing`,
        ]
      : [],
  );
}

/**
 * The steps and the time after each that an HPA needs to show a scale-up and a scale-down: each step
 * held for a metric window and a sync (one window to see it, one sync to act), then base load until
 * the next step (or the end) for the scale-down stabilisation window plus a metric window and a sync,
 * so that the deployment is back at minReplicas before the next step. Enforced for a named profile
 * (`overrides.hpa.profile`), whose point is its timing; a run shortened with --duration without one is
 * a smoke run and may see no scaling.
 */
export function hpaTimingProblems(def: ExperimentDefinition): string[] {
  const h = def.hpa;
  const stages = def.load.stages;
  if (!h || !stages?.length) return [];
  const peak = Math.max(...stages.map((s) => s.target));
  // every run of stages at the peak (a ramp up to it counts as part of the step)
  const holds: Array<{ start: number; end: number }> = [];
  let at = 0;
  for (const s of stages) {
    const last = holds[holds.length - 1];
    if (s.target === peak) {
      if (last && last.end === at) last.end = at + s.durationMs;
      else holds.push({ start: at, end: at + s.durationMs });
    }
    at += s.durationMs;
  }
  const s = (ms: number) => `${Math.round(ms / 100) / 10} s`;
  const res = (h.metricResolutionSeconds ?? 15) * 1000;
  const sync = h.syncPeriodSeconds * 1000;
  const needUp = res + sync;
  const needDown = h.scaleDownStabilizationSeconds * 1000 + res + sync;
  const problems: string[] = [];
  for (const [i, hold] of holds.entries()) {
    const which = holds.length > 1 ? `step ${i + 1}` : 'the step';
    const after = (holds[i + 1]?.start ?? def.durationMs) - hold.end;
    if (hold.end - hold.start < needUp)
      problems.push(
        `${which} lasts ${s(hold.end - hold.start)}; the HPA needs at least ${s(needUp)} (metrics ${s(res)} + sync ${s(sync)}) to scale up`,
      );
    if (after < needDown)
      problems.push(
        `${s(after)} of base load after ${which}; a scale-down needs at least ${s(needDown)} (stabilisation ${s(h.scaleDownStabilizationSeconds * 1000)} + metrics ${s(res)} + sync ${s(sync)})`,
      );
  }
  return problems;
}

const checkHpaTiming: PreflightCheck = ({ config, experiments }) =>
  experiments.flatMap((def) => {
    const profile = config.overrides[def.name as keyof typeof config.overrides]?.profile;
    if (!profile) return [];
    return hpaTimingProblems(def).map((message) => ({
      field: `overrides.${def.name}.profile ${profile}`,
      message: `${message} (a longer --duration or overrides.${def.name}.duration, or the load's stages)`,
    }));
  });

/**
 * An open model of agent turns (capacity's default) keeps each agent's session across its turns; the
 * built-in engine does that, the k6 scripts do not (yet), so --engine k6 with unit turns is refused.
 */
const checkTurnUnit: PreflightCheck = ({ config, experiments }) =>
  config.engine !== 'k6'
    ? []
    : experiments
        .filter((d) => d.load.model === 'open' && d.load.unit === 'turns')
        .map((d) => ({
          field: `overrides.${d.name}.load.unit`,
          message:
            'unit turns (one turn per arrival on a kept session) needs --engine builtin; the k6 scripts run sessions or requests',
        }));

/** The checks, in the order their problems are printed. Add new ones here. */
export const PREFLIGHT_CHECKS: PreflightCheck[] = [
  checkRunDir,
  checkServerEnv,
  checkScenarios,
  checkThresholdSelectors,
  checkHpaTiming,
  checkCluster,
  checkEngine,
  checkTurnUnit,
  checkRedisUrl,
  checkForeignVariants,
];

/** Runs every check and returns every problem found (none: the run may start). */
export async function preflight(input: PreflightInput): Promise<PreflightProblem[]> {
  const problems: PreflightProblem[] = [];
  for (const check of PREFLIGHT_CHECKS) problems.push(...(await check(input)));
  return problems;
}
