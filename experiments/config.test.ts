import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRunConfig, ConfigError, readConfigFile, resolveExperiments } from './config.js';
import { DEFAULT_EXPERIMENTS } from './registry.js';

describe('run config', () => {
  it('defaults to every experiment and variant on the local cluster', () => {
    const config = buildRunConfig({}, {});
    expect(config.cluster).toBe('local');
    expect(config.experiments).toEqual(['ttl-cache', 'rolling-update', 'pod-kill', 'hpa', 'capacity']);
    expect(config.variants).toEqual(['legacy-sticky', 'legacy-redis', 'rc']);
    expect(resolveExperiments(config).map((e) => e.trials)).toEqual([3, 1, 1, 1, 1]);
  });

  it('names the flag when a flag value is wrong', () => {
    expect(() => buildRunConfig({}, { experiments: 'ttl-cache,warp-drive' })).toThrow(
      /--experiments: unknown experiment "warp-drive"/,
    );
    expect(() => buildRunConfig({}, { duration: 'soon' })).toThrow(/--duration: "soon" is not a duration/);
  });

  it('names the file and the field path when the config file is wrong', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpbench-config-'));
    const path = join(dir, 'run.yaml');
    await writeFile(path, 'overrides:\n  hpa:\n    trials: many\n    replcias: 3\n');
    const file = await readConfigFile(path);
    let message = '';
    try {
      buildRunConfig(file, {}, path);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain(`${path}: overrides.hpa.trials`);
    expect(message).toMatch(/replcias/);
  });

  it('lets flags win over the file and scales timed actions with --duration', () => {
    const config = buildRunConfig(
      { trials: 5, experiments: ['rolling-update'] },
      { trials: 2, duration: '24s' },
    );
    const [rolling] = resolveExperiments(config);
    expect(rolling?.trials).toBe(2);
    expect(rolling?.durationMs).toBe(24_000);
    const base = DEFAULT_EXPERIMENTS['rolling-update'];
    expect(rolling?.actions[0]?.atMs).toBe(
      Math.round((base.actions[0]?.atMs ?? 0) * (24_000 / base.durationMs)),
    );
  });

  it('merges per-experiment server env and cases from the file', () => {
    const config = buildRunConfig(
      {
        experiments: 'ttl-cache',
        overrides: {
          'ttl-cache': {
            serverEnv: { MCPBENCH_CATALOGUE_SIZE: 500 },
            cases: [
              { id: 'rtt-0', rttMs: 0 },
              { id: 'rtt-20ms', rttMs: 20 },
            ],
          },
        },
      },
      {},
    );
    const [ttl] = resolveExperiments(config);
    expect(ttl?.serverEnv.MCPBENCH_CATALOGUE_SIZE).toBe('500');
    expect(ttl?.serverEnv.MCPBENCH_TTL_MS).toBe('60000');
    expect(ttl?.cases.map((c) => c.id)).toEqual(['rtt-0', 'rtt-20ms']);
  });

  it('rejects an HPA whose minimum exceeds its maximum', () => {
    const config = buildRunConfig({ overrides: { hpa: { hpa: { minReplicas: 5, maxReplicas: 2 } } } }, {});
    expect(() => resolveExperiments(config)).toThrow(/minReplicas \(5\) > maxReplicas \(2\)/);
  });

  it('lets a flag beat the file everywhere, per-experiment overrides included', () => {
    const file = {
      duration: '6s',
      trials: 4,
      overrides: { 'ttl-cache': { duration: '4s', trials: 2 }, hpa: { duration: '5s' } },
    };
    const fromFile = resolveExperiments(buildRunConfig(file, {}));
    const ttl = (defs: ReturnType<typeof resolveExperiments>) => defs.find((d) => d.name === 'ttl-cache');
    // in the file the more specific value wins: overrides.<name> over the run-wide field
    expect(ttl(fromFile)?.durationMs).toBe(4_000);
    expect(ttl(fromFile)?.trials).toBe(2);
    expect(fromFile.find((d) => d.name === 'rolling-update')?.durationMs).toBe(6_000);
    expect(fromFile.find((d) => d.name === 'rolling-update')?.trials).toBe(4);
    const flagged = buildRunConfig(file, { duration: '2s', trials: 3 });
    const defs = resolveExperiments(flagged);
    expect(defs.map((d) => d.durationMs)).toEqual([2_000, 2_000, 2_000, 2_000, 2_000]);
    expect(defs.map((d) => d.trials)).toEqual([3, 3, 3, 3, 3]);
    // what run.json records is what ran
    expect(flagged.overrides['ttl-cache']).toEqual({});
    // a rollout scaled with the flag's duration, not the file's
    const rolling = defs.find((d) => d.name === 'rolling-update');
    const base = DEFAULT_EXPERIMENTS['rolling-update'];
    expect(rolling?.actions[0]?.atMs).toBe(
      Math.round((base.actions[0]?.atMs ?? 0) * (2_000 / base.durationMs)),
    );
  });

  it('counts an open load in sessions unless told otherwise, as the engines do', () => {
    const config = buildRunConfig({ overrides: { hpa: { load: { model: 'open', rate: 5 } } } }, {});
    const hpa = resolveExperiments(config).find((d) => d.name === 'hpa');
    expect(hpa?.load).toMatchObject({ model: 'open', rate: 5, unit: 'sessions' });
  });

  it('repeats the disruption events by default and lets the run config change their count and spacing', () => {
    const defaults = resolveExperiments(buildRunConfig({}, {}));
    const kinds = (name: string) => defaults.find((d) => d.name === name)?.actions.map((a) => a.action);
    expect(kinds('rolling-update')).toEqual(['rollout', 'rollout', 'rollout']);
    expect(kinds('pod-kill')).toEqual(['kill-pod', 'kill-pod', 'kill-pod', 'kill-pod', 'kill-redis']);
    const [kill] = resolveExperiments(
      buildRunConfig(
        { experiments: ['pod-kill'], overrides: { 'pod-kill': { events: { count: 6, spacing: '5s' } } } },
        {},
      ),
    );
    const first = DEFAULT_EXPERIMENTS['pod-kill'].events?.firstAtMs ?? 0;
    // six kills 5 s apart, Redis one spacing after the last, and one spacing after that to recover
    expect(kill?.actions.map((a) => a.atMs)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => first + i * 5_000));
    expect(kill?.actions.at(-1)?.action).toBe('kill-redis');
    expect(kill?.durationMs).toBe(first + 7 * 5_000);
    expect(() => buildRunConfig({ overrides: { 'ttl-cache': { events: { count: 2 } } } }, {})).toThrow(
      'overrides.ttl-cache.events: only rolling-update, pod-kill repeat an event',
    );
    expect(() => buildRunConfig({ overrides: { 'pod-kill': { events: { count: 0 } } } }, {})).toThrow(
      /overrides\.pod-kill\.events\.count/,
    );
    expect(() => buildRunConfig({ overrides: { 'pod-kill': { events: { spacing: 5 } } } }, {})).toThrow(
      /no unit/,
    );
  });

  it('refuses an HPA override on an experiment without an HPA', () => {
    expect(() => buildRunConfig({ overrides: { 'pod-kill': { hpa: { maxReplicas: 3 } } } }, {})).toThrow(
      'overrides.pod-kill.hpa: only hpa has an HPA',
    );
  });

  it('resolves per-pod CPU from the flags, the file and the experiment, naming the bad field', () => {
    const byName = (config: ReturnType<typeof buildRunConfig>) =>
      Object.fromEntries(resolveExperiments(config).map((e) => [e.name, e.resources]));
    // The hpa experiment states its request; the others keep the manifests' defaults.
    expect(byName(buildRunConfig({}, {}))).toMatchObject({
      hpa: { cpuRequestMillicores: 300 },
      'ttl-cache': undefined,
    });
    const file = {
      resources: { cpuLimit: '500m', cpuRequest: 0.1 },
      overrides: { hpa: { resources: { cpuRequest: '200m' } } },
    };
    expect(byName(buildRunConfig(file, {}))).toMatchObject({
      hpa: { cpuRequestMillicores: 200, cpuLimitMillicores: 500 },
      'ttl-cache': { cpuRequestMillicores: 100, cpuLimitMillicores: 500 },
    });
    // A flag wins over the file's top level and over overrides.<name>.resources, field by field.
    expect(
      byName(buildRunConfig(file, { resources: { cpuRequest: '150m', cpuLimit: 'none' } })),
    ).toMatchObject({
      hpa: { cpuRequestMillicores: 150, cpuLimitMillicores: null },
      'ttl-cache': { cpuRequestMillicores: 150, cpuLimitMillicores: null },
    });
    expect(() => buildRunConfig({}, { resources: { cpuLimit: 'lots' } })).toThrow(
      /--cpu-limit: "lots" is not a CPU quantity/,
    );
    expect(() =>
      buildRunConfig({ overrides: { hpa: { resources: { cpuLimit: '5m' } } } }, {}, 'r.yaml'),
    ).toThrow(/r.yaml: overrides.hpa.resources.cpuLimit: 5m is below 10m/);
    expect(() =>
      resolveExperiments(buildRunConfig({ overrides: { hpa: { resources: { cpuLimit: '100m' } } } }, {})),
    ).toThrow(/hpa's own cpuRequest: 300m is above overrides.hpa.resources.cpuLimit 100m/);
    // The HPA's old request field points at the one place the request now lives.
    expect(() => buildRunConfig({ overrides: { hpa: { hpa: { cpuRequestMillicores: 100 } } } }, {})).toThrow(
      /overrides.hpa.hpa.cpuRequestMillicores: the pod's CPU request is overrides.hpa.resources.cpuRequest/,
    );
  });

  it('resolves the capacity search, its SLO and replica cases, and names a bad field', () => {
    const config = buildRunConfig(
      {
        overrides: {
          capacity: {
            cases: [
              { id: 'replicas-1', replicas: 1 },
              { id: 'replicas-2', replicas: 2 },
            ],
            search: { resolution: '5%', measure: '4s', settle: '0s' },
            slo: { request: 'p(99)<200', turn: null, minThroughput: '90%' },
          },
        },
        plan: { agents: 100, headroom: '20%' },
      },
      {},
    );
    const cap = resolveExperiments(config).find((d) => d.name === 'capacity');
    expect(cap?.cases.map((c) => c.replicas)).toEqual([1, 2]);
    expect(cap?.search).toMatchObject({ resolution: 0.05, measureMs: 4_000, settleMs: 0, factor: 2 });
    expect(cap?.search?.slo).toEqual({
      request: 'p(99)<200',
      turn: null,
      errors: 'rate<1%',
      minThroughputRatio: 0.9,
    });
    expect(config.plan).toEqual({ agents: 100, turnsPerMinute: 2, headroom: 0.2 });
    expect(() => buildRunConfig({ overrides: { capacity: { search: { resolution: 5 } } } }, {})).toThrow(
      /overrides\.capacity\.search\.resolution: write 5%/,
    );
    expect(() => buildRunConfig({ overrides: { capacity: { slo: { request: 'fast' } } } }, {})).toThrow(
      /overrides\.capacity\.slo\.request/,
    );
    expect(() => buildRunConfig({ overrides: { hpa: { search: { maxSteps: 3 } } } }, {})).toThrow(
      /overrides\.hpa\.search: only capacity runs a breakpoint search/,
    );
  });
});
