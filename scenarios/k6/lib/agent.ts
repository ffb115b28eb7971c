/**
 * The k6 side of mcpbench: the run's configuration from the environment, k6's options (its
 * executors), and k6's own modules handed to the agent (lib/client.ts: one simulated MCP client per
 * VU running the shared agent core, and the metrics it records).
 */

import { sleep } from 'k6';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import { LEGACY, MODERN } from '../../models/protocol.ts';
import { resolveScenario, type ScenarioDefinition } from '../../models/scenarios.ts';
import { createK6Agent, type RunConfig, type SetupData } from './client.ts';

export type { SetupData };

declare const console: { log(...args: unknown[]): void };

// ---------------------------------------------------------------------------------------------
// Configuration from the environment (k6 `-e NAME=value` or the process environment)
// ---------------------------------------------------------------------------------------------

function env(name: string): string | undefined {
  const v = __ENV[name];
  return v === undefined || v === '' ? undefined : v;
}

function fail(message: string): never {
  throw new Error(message);
}

function num(name: string, fallback?: number): number {
  const raw = env(name);
  if (raw === undefined) {
    if (fallback === undefined) fail(`${name} is required`);
    return fallback as number;
  }
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) fail(`${name} must be a non-negative number, got "${raw}"`);
  return n;
}

/** A duration: plain milliseconds ("10000") or with a unit ("500ms", "10s", "2m"). */
function durationMs(name: string, fallback: number): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) fail(`${name} must be a duration such as 10s, 500ms or 2m, got "${raw}"`);
  const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * factor);
}

function json<T>(name: string): T | undefined {
  const raw = env(name);
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    return fail(`${name} must be JSON: ${(err as Error).message}`);
  }
}

type Stage = NonNullable<RunConfig['stages']>[number];

function readConfig(): RunConfig {
  const url =
    env('MCPBENCH_URL') ??
    fail('MCPBENCH_URL is required (the MCP endpoint, e.g. http://127.0.0.1:3000/mcp)');
  const protocol = env('MCPBENCH_PROTOCOL') ?? 'auto';
  if (protocol !== 'auto' && protocol !== LEGACY && protocol !== MODERN) {
    fail(`MCPBENCH_PROTOCOL must be auto, ${LEGACY} or ${MODERN}, got "${protocol}"`);
  }
  const modelRaw = env('MCPBENCH_MODEL') ?? (env('MCPBENCH_RATE') !== undefined ? 'open' : 'closed');
  if (modelRaw !== 'open' && modelRaw !== 'closed')
    fail(`MCPBENCH_MODEL must be open or closed, got "${modelRaw}"`);
  const unit = env('MCPBENCH_UNIT') ?? 'sessions';
  if (unit !== 'sessions' && unit !== 'requests')
    fail(`MCPBENCH_UNIT must be sessions or requests, got "${unit}"`);
  const stages = json<Stage[]>('MCPBENCH_STAGES');
  if (stages !== undefined) {
    if (!Array.isArray(stages)) fail('MCPBENCH_STAGES must be a JSON array of {durationMs, target}');
    for (const s of stages) {
      if (
        typeof s?.durationMs !== 'number' ||
        typeof s?.target !== 'number' ||
        s.durationMs < 0 ||
        s.target < 0
      ) {
        fail('MCPBENCH_STAGES must be a JSON array of {durationMs, target} with non-negative numbers');
      }
    }
  }
  const rate = modelRaw === 'open' ? num('MCPBENCH_RATE') : 0;
  const agents = modelRaw === 'closed' ? Math.max(1, Math.round(num('MCPBENCH_AGENTS', 10))) : 0;
  const peakRate = Math.max(rate, ...(stages ?? []).map((s) => s.target));
  const maxVUs = Math.round(num('MCPBENCH_MAX_VUS', Math.min(1_000, Math.max(50, Math.ceil(peakRate)))));
  return {
    url,
    protocol: protocol as RunConfig['protocol'],
    model: modelRaw,
    unit,
    rate,
    agents,
    durationMs: durationMs('MCPBENCH_DURATION', 10_000),
    stages,
    seed: Math.round(num('MCPBENCH_SEED', 1)),
    timeoutMs: durationMs('MCPBENCH_TIMEOUT', 10_000),
    maxVUs,
    preAllocatedVUs: Math.min(
      maxVUs,
      Math.round(num('MCPBENCH_PREALLOCATED_VUS', Math.min(100, Math.max(5, Math.ceil(peakRate / 10))))),
    ),
  };
}

/** The scenario: a registry name (MCPBENCH_SCENARIO or the script's own) + MCPBENCH_SCENARIO_PARAMS,
 * or a whole definition in MCPBENCH_SCENARIO_DEFINITION. */
function readScenario(defaultName?: string): ScenarioDefinition {
  const definition = json<ScenarioDefinition>('MCPBENCH_SCENARIO_DEFINITION');
  if (definition) return definition;
  const name = env('MCPBENCH_SCENARIO') ?? defaultName ?? fail('MCPBENCH_SCENARIO is required');
  return resolveScenario(name, json<Record<string, unknown>>('MCPBENCH_SCENARIO_PARAMS') ?? {});
}

const ms = (n: number) => `${Math.max(0, Math.round(n))}ms`;

/** k6 options: open model = arrival-rate executors, closed model = VU executors. */
function buildOptions(config: RunConfig): Record<string, unknown> {
  let executor: Record<string, unknown>;
  const stages = config.stages?.map((s) => ({ duration: ms(s.durationMs), target: s.target }));
  if (config.model === 'open') {
    executor = stages
      ? {
          executor: 'ramping-arrival-rate',
          startRate: config.rate,
          timeUnit: '1s',
          stages,
          preAllocatedVUs: config.preAllocatedVUs,
          maxVUs: config.maxVUs,
        }
      : {
          executor: 'constant-arrival-rate',
          rate: config.rate,
          timeUnit: '1s',
          duration: ms(config.durationMs),
          preAllocatedVUs: config.preAllocatedVUs,
          maxVUs: config.maxVUs,
        };
  } else {
    executor = stages
      ? {
          executor: 'ramping-vus',
          startVUs: config.agents,
          stages,
          gracefulRampDown: ms(config.timeoutMs + 1_000),
        }
      : { executor: 'constant-vus', vus: config.agents, duration: ms(config.durationMs) };
  }
  return {
    scenarios: { mcpbench: { ...executor, gracefulStop: ms(config.timeoutMs + 1_000) } },
    // Fewer system tags keep k6's per-sample work and its JSON output small.
    systemTags: ['status', 'method', 'scenario', 'error_code'],
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
    setupTimeout: ms(config.timeoutMs + 5_000),
  };
}

// ---------------------------------------------------------------------------------------------
// Script glue: k6's own modules and globals, given to the agent (lib/client.ts)
// ---------------------------------------------------------------------------------------------

const agent = createK6Agent({
  request: (method, url, body, params) => http.request(method, url, body, params),
  sleep,
  metrics: {
    req: new Trend('mcpbench_req', true),
    err: new Counter('mcpbench_err'),
    event: new Counter('mcpbench_event'),
    turn: new Trend('mcpbench_turn', true),
    backoff: new Trend('mcpbench_backoff', true),
  },
  vu: () => __VU,
  log: (line) => console.log(line),
});

const setupRun = (config: RunConfig): SetupData => agent.setupRun(config);

/** One k6 iteration: a whole agent session, or (open model, unit requests) one plain call. */
const iterate = (config: RunConfig, scenario: ScenarioDefinition, data: SetupData): void =>
  agent.iterate(config, scenario, data);

/**
 * What a k6 script exports (options, setup, the default function) for the scenario named here, or by
 * MCPBENCH_SCENARIO / MCPBENCH_SCENARIO_DEFINITION when no name is given.
 */
export function script(scenarioName?: string): {
  options: Record<string, unknown>;
  setup: () => SetupData;
  iterate: (data: SetupData) => void;
} {
  const config = readConfig();
  const scenario = readScenario(scenarioName);
  return {
    options: buildOptions(config),
    setup: () => setupRun(config),
    iterate: (data) => iterate(config, scenario, data),
  };
}
