import { resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { analyseRun } from '../analysis/index.js';
import { VARIANT_NAMES } from '../cluster/provider.js';
import { buildRunConfig, ConfigError, readConfigFile, resolveExperiments } from '../experiments/config.js';
import { formatProblem, preflight, preflightNotes } from '../experiments/preflight.js';
import { createProvider, prepareRunCluster } from '../experiments/providers.js';
import { EXPERIMENT_NAMES } from '../experiments/registry.js';
import { estimateSeconds, RunInterrupted, runSuite } from '../experiments/runner.js';
import { checkSystemNeeds, type SystemNeeds, SystemPreflightError } from '../experiments/system-preflight.js';
import { text } from './flags.js';

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${flag} must be a positive integer, got "${value}"`);
    return n;
  };
}

function defaultRunDir(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `results/run-${stamp}`;
}

/** `mcpbench run`: the experiments × variants suite, raw results, then the reports. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'run the experiments against every variant and write a run directory with summary and reports',
    )
    .addOption(
      new Option('--cluster <provider>', 'where the variants run (default local)').choices([
        'local',
        'kind',
        'kube',
      ]),
    )
    .option('--context <name>', 'kubeconfig context for --cluster kube', text('--context'))
    .option('--keep', 'kind: leave the cluster up after the run (one that was up before is always left)')
    .option(
      '--experiments <list>',
      `comma-separated subset of ${EXPERIMENT_NAMES.join(', ')} (default all)`,
      text('--experiments'),
    )
    .option(
      '--variants <list>',
      `comma-separated variants: the built-ins ${VARIANT_NAMES.join(', ')} and any the --config file defines (default: the file's variants, else the built-ins)`,
      text('--variants'),
    )
    .addOption(
      new Option(
        '--engine <engine>',
        'load generator (default builtin; k6: your own k6 >= 1.0, K6_BINARY or PATH)',
      ).choices(['builtin', 'k6']),
    )
    .option(
      '--redis-url <url>',
      'local: use this Redis instead of starting one (also REDIS_URL); it is never killed',
      text('--redis-url'),
    )
    .option(
      '--l7',
      'L7 Services: legacy-sticky sticky on Mcp-Session-Id, rc routed on Mcp-Method per request',
    )
    .addOption(
      new Option(
        '--load-from <where>',
        'kind/kube: cluster (default: generator pods next to the servers) or host (this machine, via 127.0.0.1 ports)',
      ).choices(['cluster', 'host']),
    )
    .option(
      '--generators <n>',
      'in-cluster generator pods per trial (default: one per replica, at least 2, at most 4)',
      positiveInt('--generators'),
    )
    .option(
      '--duration <d>',
      "every experiment's load duration, e.g. 30s (actions and ramps scale with it)",
      text('--duration'),
    )
    .option(
      '--trials <n>',
      'trials per experiment × variant (default: per experiment, 3 for ttl-cache, else 1)',
      positiveInt('--trials'),
    )
    .option('--seed <n>', 'seed of the simulated agents (default 1)', positiveInt('--seed'))
    .option(
      '--cpu-request <cpu>',
      "every pod's CPU request, e.g. 250m (default: per experiment, else the manifests' 250m; the HPA's utilisation is relative to it)",
      text('--cpu-request'),
    )
    .option(
      '--cpu-limit <cpu>',
      "every pod's CPU limit, e.g. 500m or 2, or none (default: the manifests' 1000m; local: a CFS quota per replica)",
      text('--cpu-limit'),
    )
    .option(
      '--config <file>',
      'YAML/JSON run config (flags win); see README for its fields',
      text('--config'),
    )
    .option('--out <dir>', 'run directory to create (default results/run-<timestamp>)', text('--out'))
    .option('--json', 'print the run summary paths as JSON on stdout, progress only on stderr')
    .action(async (opts: Record<string, unknown>) => {
      let config: ReturnType<typeof buildRunConfig>;
      let experiments: ReturnType<typeof resolveExperiments>;
      try {
        const file = typeof opts.config === 'string' ? await readConfigFile(opts.config) : {};
        config = buildRunConfig(
          file,
          {
            cluster: opts.cluster,
            context: opts.context,
            keep: opts.keep,
            experiments: opts.experiments,
            variants: opts.variants,
            engine: opts.engine,
            redisUrl: opts.redisUrl,
            l7: opts.l7,
            loadFrom: opts.loadFrom,
            generators: opts.generators,
            duration: opts.duration,
            trials: opts.trials,
            seed: opts.seed,
            out: opts.out,
            resources: { cpuRequest: opts.cpuRequest, cpuLimit: opts.cpuLimit },
          },
          typeof opts.config === 'string' ? opts.config : undefined,
        );
        experiments = resolveExperiments(config);
      } catch (err) {
        if (err instanceof ConfigError) program.error(`mcpbench run: ${err.message}`, { exitCode: 2 });
        throw err;
      }
      const runDir = resolve(config.out ?? defaultRunDir());
      // Every flag, field, server setting, scenario, threshold selector, output path and binary the
      // run needs, checked before anything starts; all problems at once.
      const problems = await preflight({
        config,
        experiments,
        runDir,
        runDirSource: opts.out !== undefined ? '--out' : config.out !== undefined ? 'out' : 'run directory',
      });
      if (problems.length) {
        for (const p of problems) process.stderr.write(`mcpbench run: ${formatProblem(p)}\n`);
        program.error(`mcpbench run: ${problems.length} problem(s) found before starting; nothing was run`, {
          exitCode: 2,
        });
      }
      for (const note of preflightNotes(config)) process.stderr.write(`mcpbench run: ${note}\n`);
      const tty = process.stderr.isTTY && !opts.json;
      let liveShown = false;
      const log = (line: string) => {
        if (liveShown) process.stderr.write('\r\x1b[2K');
        liveShown = false;
        process.stderr.write(`${line}\n`);
      };
      const live = tty
        ? (line: string) => {
            process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
            liveShown = true;
          }
        : undefined;

      // Redis (for a local run whose variants use it) is found before anything starts; none is exit 2.
      let needs: SystemNeeds;
      try {
        needs = await checkSystemNeeds(config, experiments, log);
      } catch (err) {
        if (err instanceof SystemPreflightError)
          program.error(`mcpbench run: ${err.message}`, { exitCode: 2 });
        throw err;
      }

      const controller = new AbortController();
      let interrupts = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        interrupts++;
        if (interrupts === 1) {
          log(
            `mcpbench run: ${signal} — stopping load, tearing down the cluster, marking the run interrupted (again to force)`,
          );
          controller.abort();
        } else {
          process.exit(130);
        }
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);

      const started = Date.now();
      log(
        `mcpbench run: ${experiments.map((e) => e.name).join(', ')} × ${config.variants.join(', ')} on ${config.cluster} ` +
          `(engine ${config.engine}), about ${estimateSeconds(experiments, config)} s` +
          `${config.cluster === 'kind' ? ' (plus about 75 s if the kind cluster must be created)' : ''} → ${runDir}`,
      );
      let teardown: () => Promise<void> = async () => {};
      try {
        teardown = await prepareRunCluster(config, log);
        await runSuite({
          config,
          experiments,
          runDir,
          createProvider: () => createProvider(config, log, needs),
          log,
          live,
          signal: controller.signal,
        });
      } catch (err) {
        const interrupted = err instanceof RunInterrupted || controller.signal.aborted;
        log(
          `mcpbench run: ${interrupted ? 'interrupted' : `failed: ${(err as Error).message}`} (raw results so far in ${runDir})`,
        );
        process.exitCode = interrupted ? 130 : 1;
        return;
      } finally {
        await teardown().catch((err) =>
          log(`mcpbench run: cluster teardown failed: ${(err as Error).message}`),
        );
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      const analysis = await analyseRun(runDir, { thresholds: config.thresholds });
      const wall = Math.round((Date.now() - started) / 1000);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ runDir, wallSeconds: wall, ...analysis }, null, 2)}\n`);
      } else {
        log(`mcpbench run: done in ${wall} s`);
        log(`  run directory: ${runDir}`);
        log(`  summary:       ${analysis.summaryPath}`);
        log(`  report (md):   ${analysis.reportMdPath}`);
        log(`  report (html): ${analysis.reportHtmlPath}`);
        if (analysis.junitPath) log(`  junit:         ${analysis.junitPath}`);
      }
      if (analysis.thresholdFailures.length > 0) {
        for (const f of analysis.thresholdFailures) log(`  threshold ${f}`);
        log(`mcpbench run: ${analysis.thresholdFailures.length} threshold(s) failed`);
        process.exitCode = 1;
      }
    });
}
