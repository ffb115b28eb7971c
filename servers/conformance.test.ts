import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisProcess, startRedis } from '../cluster/local/redis-server.js';
import { type ServerProcess, startServerProcess } from '../cluster/local/server-process.js';

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, `server` mode, every
 * scenario including pending ones) against the legacy server, JSON responses + memory store and SSE
 * responses + Redis store.
 *
 * Must pass: the scenarios our catalogue and transport can support (lifecycle, ping, tools/list,
 * tools/call errors, SSE streams, DNS-rebinding protection).
 *
 * Expected to fail, by design, with the reason recorded below: the suite expects the fixture tools,
 * prompts and resources of its "everything" server (test_image_content, test_reconnection, ...) and
 * features a benchmark server deliberately leaves out (prompts, resources, completion, logging,
 * sampling, elicitation, progress, SSE resumability). `tools-call-simple-text` passes trivially: it
 * accepts the isError result our server gives for the unknown fixture tool `test_simple_text`.
 *
 * The CLI needs `fs.globSync` (Node 22) for its tier-check command only; on Node 20 a load hook
 * replaces that one import, so the server scenarios run unchanged.
 */

const MUST_PASS = [
  'server-initialize',
  'ping',
  'tools-list',
  'tools-call-simple-text',
  'tools-call-error',
  'server-sse-multiple-streams',
  'dns-rebinding-protection',
];

const EXPECTED_FAILURES: Record<string, string> = {
  'logging-set-level': 'no logging capability (logging/setLevel → method not found)',
  'completion-complete': 'no completions capability',
  'tools-call-image': 'fixture tool test_image_content is not in our catalogue',
  'tools-call-audio': 'fixture tool test_audio_content is not in our catalogue',
  'tools-call-embedded-resource': 'fixture tool test_embedded_resource is not in our catalogue',
  'tools-call-mixed-content': 'fixture tool test_multiple_content_types is not in our catalogue',
  'tools-call-with-logging': 'no logging notifications from our tools',
  'tools-call-with-progress': 'our tools send no progress notifications',
  'tools-call-sampling': 'our tools never ask the client to sample',
  'tools-call-elicitation': 'our tools never elicit',
  'elicitation-sep1034-defaults': 'our tools never elicit',
  'elicitation-sep1330-enums': 'our tools never elicit',
  'json-schema-2020-12': 'fixture tool json_schema_2020_12_tool is not in our catalogue',
  'server-sse-polling':
    'fixture tool test_reconnection is not in our catalogue; no SSE event store, so no priming event / resumption',
  'resources-list': 'no resources capability',
  'resources-read-text': 'no resources capability',
  'resources-read-binary': 'no resources capability',
  'resources-templates-read': 'no resources capability',
  'resources-subscribe': 'no resources capability',
  'resources-unsubscribe': 'no resources capability',
  'prompts-list': 'no prompts capability',
  'prompts-get-simple': 'no prompts capability',
  'prompts-get-with-args': 'no prompts capability',
  'prompts-get-embedded-resource': 'no prompts capability',
  'prompts-get-with-image': 'no prompts capability',
};

const require = createRequire(import.meta.url);
const cliPath = join(
  dirname(require.resolve('@modelcontextprotocol/conformance/package.json')),
  'dist/index.js',
);

const HOOKS = `export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!url.includes('/@modelcontextprotocol/conformance/dist/index.js')) return result;
  const source = String(result.source).replace(/^#!.*\\n/, '').replace('globSync as o,', '');
  return { ...result, source: "const o = () => { throw new Error('globSync needs Node 22'); };\\n" + source };
}
`;
const REGISTER = `import { register } from 'node:module';
register(new URL('./hooks.mjs', import.meta.url));
`;

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
}

let work: string;
let redis: RedisProcess;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'mcpbench-conformance-'));
  await writeFile(join(work, 'hooks.mjs'), HOOKS);
  await writeFile(join(work, 'register.mjs'), REGISTER);
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.terminate(2_000)));
  await redis?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Runs every server scenario against `url`; returns each scenario's checks. */
async function runSuite(url: string, name: string): Promise<Map<string, Check[]>> {
  const out = join(work, name);
  const nodeArgs = 'globSync' in fs ? [] : ['--import', join(work, 'register.mjs')];
  await new Promise<void>((resolve) => {
    // Exit code 1 only says that some scenario failed; the checks below say which.
    execFile(
      process.execPath,
      [...nodeArgs, cliPath, 'server', '--url', url, '--suite', 'all', '-o', out],
      { cwd: work, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      () => resolve(),
    );
  });
  const results = new Map<string, Check[]>();
  for (const dir of await readdir(out)) {
    const scenario = dir.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
    results.set(scenario, JSON.parse(await readFile(join(out, dir, 'checks.json'), 'utf8')) as Check[]);
  }
  return results;
}

const failures = (checks: Check[]) => checks.filter((c) => c.status === 'FAILURE');

describe.each([
  { name: 'json-memory', env: {} as Record<string, string> },
  { name: 'sse-redis', env: { MCPBENCH_LEGACY_JSON_RESPONSE: 'false', MCPBENCH_STORE: 'redis' } },
])('MCP conformance suite against the legacy server ($name)', ({ name, env }) => {
  it('passes the scenarios it supports; fails only the ones recorded as out of scope', async () => {
    const server = await startServerProcess({
      kind: 'legacy',
      env: { ...env, MCPBENCH_REDIS_URL: redis.url },
    });
    servers.push(server);
    const results = await runSuite(server.url, name);

    expect(results.size, 'the suite ran no scenario').toBeGreaterThan(20);
    for (const scenario of MUST_PASS) {
      const checks = results.get(scenario);
      expect(checks, `${scenario} did not run`).toBeDefined();
      expect(failures(checks ?? []), `${scenario} failed`).toEqual([]);
      expect(
        (checks ?? []).some((c) => c.status === 'SUCCESS'),
        `${scenario} made no check`,
      ).toBe(true);
    }
    for (const [scenario, checks] of results) {
      if (MUST_PASS.includes(scenario)) continue;
      // A scenario neither list knows (a new conformance release) must be classified here.
      expect(EXPECTED_FAILURES[scenario], `unclassified scenario ${scenario}`).toBeDefined();
      // (With JSON responses server-sse-polling has nothing to check and reports no check at all.)
      const passes = failures(checks).length === 0 && checks.some((c) => c.status === 'SUCCESS');
      expect(passes, `${scenario} now passes: move it to MUST_PASS (${EXPECTED_FAILURES[scenario]})`).toBe(
        false,
      );
    }
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
  });
});
