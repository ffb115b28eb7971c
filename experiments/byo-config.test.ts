import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { variantSpec } from '../cluster/manifests.js';
import { BUILTIN_VARIANT_NAMES } from '../cluster/variants.js';
import { buildRunConfig, ConfigError, resolveExperiments, variantDefinition } from './config.js';
import { formatProblem, preflight, preflightNotes } from './preflight.js';

/** Variants defined in the run config (servers that are not ours): validation and preflight. */

/** Whether a Docker engine answers here (the kind image check asks it), and an image it has (or none). */
const { dockerWorks, presentImage } = (() => {
  try {
    const names = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter((n) => n && !n.includes('<none>'));
    return { dockerWorks: true, presentImage: names[0] };
  } catch {
    return { dockerWorks: false, presentImage: undefined };
  }
})();

const everything = {
  name: 'everything',
  protocol: 'auto',
  routing: 'client-ip',
  local: { command: 'node', args: ['server.js', 'streamableHttp'], portEnv: 'PORT' },
};

function configError(file: Record<string, unknown>, flags: Record<string, unknown> = {}): string {
  try {
    buildRunConfig(file, flags, 'run.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('variants in the run config', () => {
  it('keeps the three built-ins as the default, each a record', () => {
    const config = buildRunConfig({}, {});
    expect(config.variants).toEqual([...BUILTIN_VARIANT_NAMES]);
    expect(config.variantDefinitions.map((d) => [d.name, d.protocol, d.server])).toEqual([
      ['legacy-sticky', '2025-11-25', 'legacy'],
      ['legacy-redis', '2025-11-25', 'legacy'],
      ['rc', '2026-07-28', 'rc'],
    ]);
  });

  it('mixes built-in names with definitions; --variants selects among both', () => {
    const file = { variants: ['rc', everything] };
    const config = buildRunConfig(file, {});
    expect(config.variants).toEqual(['rc', 'everything']);
    const d = variantDefinition(config, 'everything');
    expect(d).toMatchObject({ server: 'foreign', protocol: 'auto', routing: 'client-ip', redis: false });
    expect(d.foreign).toMatchObject({ path: '/mcp', readiness: 'mcp', livenessPath: null });
    expect(buildRunConfig(file, { variants: 'everything' }).variants).toEqual(['everything']);
    expect(buildRunConfig(file, { variants: 'everything,legacy-redis' }).variantDefinitions[1]?.name).toBe(
      'legacy-redis',
    );
  });

  it('names the bad field of a definition, with list indices as the YAML counts them', () => {
    const msg = configError({
      variants: [
        'rc',
        { ...everything, local: { command: '', portEnv: 'PORT' } },
        { ...everything, name: 'b', local: { command: 'x' } },
        { name: 'c', protocol: '2026-07-28' },
        { ...everything, name: 'd', protocol: '2026' },
        'nope',
        { ...everything, name: 'e', workload: { tools: { echo: { wieght: 1 } } } },
      ],
    });
    expect(msg).toContain('run.yaml: variants[1].local.command: needs a value');
    expect(msg).toContain('run.yaml: variants[2].local: say how the port is passed');
    expect(msg).toContain('run.yaml: variants[3]: needs local (a command) or kube (an image)');
    expect(msg).toContain('run.yaml: variants[4].protocol:');
    expect(msg).toContain('run.yaml: variants[5]: unknown variant "nope"');
    expect(msg).toContain('run.yaml: variants[6].workload.tools.echo:');
    expect(configError({}, { variants: 'rc,ghost' })).toContain('--variants[1]: unknown variant "ghost"');
    expect(configError({ variants: ['rc', 'rc'] })).toContain('variants[1]: variant "rc" is listed twice');
  });

  it('renders a foreign variant through the same manifests, with its own probes and no MCPBENCH_* env', () => {
    const config = buildRunConfig(
      { variants: [{ ...everything, redis: { env: 'REDIS_URL' }, liveness: { path: '/health' } }] },
      {},
    );
    const spec = variantSpec('everything', {
      definition: variantDefinition(config, 'everything'),
      replicas: 3,
    });
    expect(spec).toMatchObject({
      server: 'foreign',
      protocol: 'auto',
      replicas: 3,
      routing: 'client-ip',
      redis: true,
      maxSurge: 1,
      preStopSleepSeconds: 2,
      env: { REDIS_URL: 'redis://mcp-redis:6379' },
    });
    expect(spec.foreign?.livenessPath).toBe('/health');
  });

  it('preflight: a command that is not there, and a foreign variant on kind, name the field', async () => {
    const runDir = join(await mkdtemp(join(tmpdir(), 'mcpbench-byo-')), 'run');
    const run = async (file: Record<string, unknown>) => {
      const config = buildRunConfig(file, {});
      const experiments = resolveExperiments(config);
      return (await preflight({ config, experiments, runDir, runDirSource: '--out' })).map(formatProblem);
    };
    const missing = await run({
      experiments: ['ttl-cache'],
      variants: [
        { ...everything, local: { command: 'tools/no-such/bin/server', args: ['--port', '{port}'] } },
      ],
    });
    expect(missing).toEqual([
      expect.stringMatching(
        /^variants\[0\]\.local\.command: "tools\/no-such\/bin\/server" is not an executable file/,
      ),
    ]);
    const onKind = (
      await run({ cluster: 'kind', experiments: ['ttl-cache'], variants: ['rc', everything] })
    ).filter((p) => p.startsWith('variants'));
    expect(onKind).toEqual([
      expect.stringMatching(
        /^variants\[1\]\.kube: everything: --cluster kind runs the server from an image: give kube\.image/,
      ),
    ]);
  });

  it.skipIf(!dockerWorks)(
    'preflight on kind: an image the Docker engine lacks is named, with what to do',
    async () => {
      const runDir = join(await mkdtemp(join(tmpdir(), 'mcpbench-byo-')), 'run');
      const config = buildRunConfig(
        {
          cluster: 'kind',
          experiments: ['ttl-cache'],
          variants: [
            { ...everything, kube: { image: 'mcpbench-byo/no-such-server:never-built' } },
            ...(presentImage ? [{ ...everything, name: 'present', kube: { image: presentImage } }] : []),
          ],
        },
        {},
      );
      const problems = (
        await preflight({ config, experiments: resolveExperiments(config), runDir, runDirSource: '--out' })
      )
        .map(formatProblem)
        .filter((p) => p.startsWith('variants'));
      // Only the missing one: the other image is one the engine has.
      expect(problems).toEqual([
        'variants[0].kube.image: everything: image mcpbench-byo/no-such-server:never-built is not in the local Docker engine: ' +
          'build it (docker build -t mcpbench-byo/no-such-server:never-built .) or pull it (docker pull mcpbench-byo/no-such-server:never-built), ' +
          'then run again; the harness loads it into the kind cluster',
      ]);
    },
  );

  it('examples/byo-kind.yaml is a valid run config for kind and kube, its server from an image', async () => {
    const file = parse(await readFile(new URL('../examples/byo-kind.yaml', import.meta.url), 'utf8'));
    const config = buildRunConfig({ ...file, cluster: 'kube' }, {});
    expect(config.variantDefinitions.map((d) => [d.name, d.server, d.foreign?.kube?.image])).toEqual([
      ['everything', 'foreign', 'mcpbench-byo/server-everything:dev'],
    ]);
    expect(preflightNotes(config)).toHaveLength(1);
  });

  it('preflight on kube says the image is used as it is, and loads nothing', () => {
    const image = 'registry.example/team/server:1.2';
    const config = buildRunConfig(
      { cluster: 'kube', experiments: ['ttl-cache'], variants: ['rc', { ...everything, kube: { image } }] },
      {},
    );
    expect(preflightNotes(config)).toEqual([
      `everything: --cluster kube runs image ${image} as it is (imagePullPolicy IfNotPresent): the cluster's nodes must have it or be able to pull it; the harness loads nothing`,
    ]);
    expect(
      preflightNotes(buildRunConfig({ experiments: ['ttl-cache'], variants: [everything] }, {})),
    ).toEqual([]);
  });
});
