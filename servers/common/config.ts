import { hostname } from 'node:os';
import { z } from 'zod';

/**
 * Everything a server under test can be told, from the environment (how Kubernetes configures a pod)
 * with command-line flags layered on top. Every field has a default that models a cheap server.
 */
const ServerConfigSchema = z.object({
  // An empty host would make node:http listen on every interface: never by accident.
  host: z.string().trim().min(1, 'needs an address, got an empty string').default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Name this replica reports in the X-Mcpbench-Replica header and on /metrics. */
  replica: z.string().min(1).default(`${hostname()}-${process.pid}`),
  /** legacy only: where session metadata lives. */
  store: z.enum(['memory', 'redis']).default('memory'),
  /** legacy with store=redis, and rc (tasks). */
  redisUrl: z.string().trim().min(1, 'needs a URL, got an empty string').default('redis://127.0.0.1:6379'),
  /** Cost model of every tool call. */
  toolLatencyMs: z.coerce.number().min(0).max(600_000).default(0),
  toolCpuMs: z.coerce.number().min(0).max(60_000).default(0),
  /**
   * Injected regression for calibrating `mcpbench compare`: every MCP response is held back until
   * the request has taken this factor × its real handling time (1.2 = a server 20% slower).
   */
  slowdown: z.coerce.number().min(1).max(10).default(1),
  payloadBytes: z.coerce
    .number()
    .int()
    .min(0)
    .max(16 * 1024 * 1024)
    .default(64),
  /** Number of tools in the catalogue: the platform tools plus generated fillers. */
  catalogueSize: z.coerce.number().int().min(10).max(500).default(10),
  /** rc only: cache hints on list results. */
  ttlMs: z.coerce.number().int().min(0).default(60_000),
  cacheScope: z.enum(['public', 'private']).default('public'),
  /** Long operations: how long the work takes and how often a client should poll. */
  taskDurationMs: z.coerce.number().int().min(0).max(3_600_000).default(2_000),
  taskPollIntervalMs: z.coerce.number().int().min(10).max(60_000).default(250),
  taskTtlMs: z.coerce.number().int().min(1_000).default(600_000),
  /** rc only: HMAC key for workspace handles; every replica of a deployment must share it. */
  handleSecret: z.string().min(16).default('mcpbench-dev-handle-secret-change-me'),
  /**
   * After SIGTERM, how long the server stays unready (/readyz answers 503) while it still accepts and
   * serves, every answer telling its client to close the connection, before it stops listening and
   * drains; 0 stops listening at once.
   */
  shutdownDelayMs: z.coerce.number().int().min(0).max(600_000).default(0),
  /** How long SIGTERM waits for in-flight requests before the process exits anyway. */
  shutdownGraceMs: z.coerce.number().int().min(0).max(600_000).default(10_000),
  maxBodyBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /** Browser origins allowed to call the server (DNS-rebinding protection); requests without Origin pass. */
  allowedOrigins: z
    .string()
    .default('http://localhost,http://127.0.0.1')
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    ),
});

export type ServerConfig = z.infer<typeof ServerConfigSchema>;
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;

const ENV_KEYS: Record<keyof ServerConfig, string> = {
  host: 'MCPBENCH_HOST',
  port: 'MCPBENCH_PORT',
  replica: 'MCPBENCH_REPLICA',
  store: 'MCPBENCH_STORE',
  redisUrl: 'MCPBENCH_REDIS_URL',
  toolLatencyMs: 'MCPBENCH_TOOL_LATENCY_MS',
  toolCpuMs: 'MCPBENCH_TOOL_CPU_MS',
  slowdown: 'MCPBENCH_SLOWDOWN',
  payloadBytes: 'MCPBENCH_PAYLOAD_BYTES',
  catalogueSize: 'MCPBENCH_CATALOGUE_SIZE',
  ttlMs: 'MCPBENCH_TTL_MS',
  cacheScope: 'MCPBENCH_CACHE_SCOPE',
  taskDurationMs: 'MCPBENCH_TASK_DURATION_MS',
  taskPollIntervalMs: 'MCPBENCH_TASK_POLL_INTERVAL_MS',
  taskTtlMs: 'MCPBENCH_TASK_TTL_MS',
  handleSecret: 'MCPBENCH_HANDLE_SECRET',
  shutdownDelayMs: 'MCPBENCH_SHUTDOWN_DELAY_MS',
  shutdownGraceMs: 'MCPBENCH_SHUTDOWN_GRACE_MS',
  maxBodyBytes: 'MCPBENCH_MAX_BODY_BYTES',
  allowedOrigins: 'MCPBENCH_ALLOWED_ORIGINS',
};

/** The environment variable that sets each field (documented in README and used by the manifests). */
export const serverConfigEnvKeys = ENV_KEYS;

/** One bad setting: where it came from (an MCPBENCH_* variable or `option <field>`) and what is wrong. */
export interface ServerConfigProblem {
  source: string;
  message: string;
}

function parseServerConfig(env: NodeJS.ProcessEnv, overrides: Partial<ServerConfigInput>) {
  const raw: Record<string, unknown> = {};
  for (const [field, key] of Object.entries(ENV_KEYS)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[field] = value;
  }
  // Kubernetes convention: PORT is honoured when MCPBENCH_PORT is not set.
  if (raw.port === undefined && env.PORT) raw.port = env.PORT;
  for (const [field, value] of Object.entries(overrides)) {
    if (value !== undefined) raw[field] = value;
  }
  const parsed = ServerConfigSchema.safeParse(raw);
  if (parsed.success) return { config: parsed.data, problems: [] as ServerConfigProblem[] };
  const problems = parsed.error.issues.map((issue) => {
    const field = String(issue.path[0] ?? '');
    const source =
      field in overrides ? `option ${field}` : `${ENV_KEYS[field as keyof ServerConfig] ?? field}`;
    return { source, message: issue.message };
  });
  return { config: null, problems };
}

/**
 * Every problem a server would find in `env` at start-up, without starting one (for a harness that
 * checks its servers' settings before it launches any).
 */
export function serverConfigProblems(env: NodeJS.ProcessEnv): ServerConfigProblem[] {
  return parseServerConfig(env, {}).problems;
}

/**
 * Builds a config from the environment, then `overrides` (flags), validating both.
 * Throws an Error whose message names the bad field and the variable or flag it came from.
 */
export function loadServerConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<ServerConfigInput> = {},
): ServerConfig {
  const { config, problems } = parseServerConfig(env, overrides);
  if (!config)
    throw new Error(
      `invalid server configuration: ${problems.map((p) => `${p.source}: ${p.message}`).join('; ')}`,
    );
  return config;
}
