/**
 * A variant is data: which protocol era it speaks, how to run it (our own server programs, or any MCP
 * server over Streamable HTTP: a command on local, an image on kind/kube), how many replicas, whether
 * it needs the harness's Redis, and how its Service routes. The three built-in variants are three such
 * records; a run config's `variants:` adds others or replaces them (experiments/config.ts).
 */

/** The protocol era a variant speaks; `auto` is detected before the first trial (server/discover, then initialize). */
export type ProtocolChoice = '2025-11-25' | '2026-07-28' | 'auto';

/** How the local provider starts one replica of a server that is not ours. */
interface LocalCommand {
  command: string;
  /** `{port}` in an argument is replaced with the replica's port */
  args: string[];
  env: Record<string, string>;
  /** working directory (default: the directory mcpbench runs in) */
  cwd?: string;
  /** the environment variable that receives the replica's port (besides any `{port}` in args) */
  portEnv?: string;
}

/** How kind/kube run a server that is not ours: the user builds or loads the image. */
interface ImageSpec {
  image: string;
  env: Record<string, string>;
  containerPort: number;
}

/** A server that is not ours (the `foreign` part of a variant). */
export interface ForeignServer {
  local?: LocalCommand;
  kube?: ImageSpec;
  /** the MCP endpoint's path on the server */
  path: string;
  /** readiness: an HTTP path answering 200, or `mcp` (the MCP endpoint answers an HTTP request below 500) */
  readiness: { httpPath: string } | 'mcp';
  /** liveness: an HTTP path answering 200, or none */
  livenessPath: string | null;
  /** the environment variable that receives the Redis URL, when the variant uses the harness's Redis */
  redisEnv?: string;
  /** which tools the load calls, with what arguments (scenarios/models/workload.ts) */
  workload?: unknown;
}

export interface VariantDefinition {
  name: string;
  protocol: ProtocolChoice;
  /** our servers/legacy or servers/rc, or a server described by `foreign` */
  server: 'legacy' | 'rc' | 'foreign';
  /** our servers' session / task store */
  store: 'memory' | 'redis';
  /** Service routing: ClientIP affinity, none (round robin per connection), or the L7 rules (--l7) */
  routing: 'client-ip' | 'none' | 'l7';
  /** replicas, when the variant fixes them (else the experiment's) */
  replicas?: number;
  /** whether the variant needs the Redis the harness runs */
  redis: boolean;
  foreign?: ForeignServer;
}

const LEGACY_STICKY = 'legacy-sticky';
const LEGACY_REDIS = 'legacy-redis';
const RC = 'rc';

/** The three built-in variants (design notes, "The deployments under test"). */
export const BUILTIN_VARIANTS: readonly VariantDefinition[] = [
  {
    name: LEGACY_STICKY,
    protocol: '2025-11-25',
    server: 'legacy',
    store: 'memory',
    routing: 'client-ip',
    redis: false,
  },
  {
    name: LEGACY_REDIS,
    protocol: '2025-11-25',
    server: 'legacy',
    store: 'redis',
    routing: 'none',
    redis: true,
  },
  { name: RC, protocol: '2026-07-28', server: 'rc', store: 'redis', routing: 'none', redis: true },
];

export const BUILTIN_VARIANT_NAMES: readonly string[] = BUILTIN_VARIANTS.map((v) => v.name);

export function builtinVariant(name: string): VariantDefinition | undefined {
  return BUILTIN_VARIANTS.find((v) => v.name === name);
}
