import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The tool catalogue both servers expose: a handful of platform-style tools with real behaviour plus
 * generated fillers up to the configured catalogue size, in a stable, deterministic order.
 * Protocol-neutral: each server maps these onto its own SDK.
 */
export interface ToolSpec {
  name: string;
  title: string;
  description: string;
  inputSchema: {
    type: 'object';
    properties: Record<string, { type: string; description: string; enum?: string[] }>;
    required: string[];
    additionalProperties: false;
  };
  kind: PlatformToolKind | 'filler';
}

type PlatformToolKind =
  | 'sync_app'
  | 'scan_policy'
  | 'get_resource'
  | 'open_workspace'
  | 'workspace_exec'
  | 'close_workspace'
  | 'long_operation';

const str = (description: string) => ({ type: 'string', description });

const PLATFORM_TOOLS: ToolSpec[] = [
  {
    name: 'sync_app',
    title: 'Sync application',
    description: 'Trigger a GitOps sync of an application to a revision and report the resulting state.',
    inputSchema: {
      type: 'object',
      properties: { app: str('Application name'), revision: str('Git revision (default HEAD)') },
      required: ['app'],
      additionalProperties: false,
    },
    kind: 'sync_app',
  },
  {
    name: 'scan_policy',
    title: 'Scan policy',
    description: 'Evaluate admission policies against a target and list the violations found.',
    inputSchema: {
      type: 'object',
      properties: { target: str('Namespace or resource to scan'), policy: str('Policy set (default all)') },
      required: ['target'],
      additionalProperties: false,
    },
    kind: 'scan_policy',
  },
  {
    name: 'get_resource',
    title: 'Get resource',
    description: 'Read one platform resource by kind and name.',
    inputSchema: {
      type: 'object',
      properties: {
        kind: str('Resource kind, e.g. Deployment'),
        name: str('Resource name'),
        namespace: str('Namespace (default default)'),
      },
      required: ['kind', 'name'],
      additionalProperties: false,
    },
    kind: 'get_resource',
  },
  {
    name: 'open_workspace',
    title: 'Open workspace',
    description: 'Open a workspace on a project; returns a workspace reference to pass to later calls.',
    inputSchema: {
      type: 'object',
      properties: { project: str('Project name') },
      required: ['project'],
      additionalProperties: false,
    },
    kind: 'open_workspace',
  },
  {
    name: 'workspace_exec',
    title: 'Run in workspace',
    description: 'Run a command in an open workspace; the workspace counts the steps it has run.',
    inputSchema: {
      type: 'object',
      properties: {
        workspace: str('Workspace reference returned by open_workspace'),
        command: str('Command to run'),
      },
      required: ['workspace', 'command'],
      additionalProperties: false,
    },
    kind: 'workspace_exec',
  },
  {
    name: 'close_workspace',
    title: 'Close workspace',
    description: 'Close a workspace.',
    inputSchema: {
      type: 'object',
      properties: { workspace: str('Workspace reference returned by open_workspace') },
      required: ['workspace'],
      additionalProperties: false,
    },
    kind: 'close_workspace',
  },
  {
    name: 'long_operation',
    title: 'Long operation',
    description:
      'A long-running platform operation (e.g. waiting for a managed resource to become ready). ' +
      'Runs as a task where the protocol supports it.',
    inputSchema: {
      type: 'object',
      properties: {
        operation: str('What to wait for'),
        durationMs: { type: 'number', description: 'Override of the configured duration in ms' },
      },
      required: ['operation'],
      additionalProperties: false,
    },
    kind: 'long_operation',
  },
];

/** The catalogue for a given size (10..500): platform tools first, then fillers `platform_tool_NNN`. */
export function buildCatalogue(size: number): ToolSpec[] {
  if (!Number.isInteger(size) || size < PLATFORM_TOOLS.length || size > 500) {
    throw new RangeError(`catalogue size must be an integer in ${PLATFORM_TOOLS.length}..500, got ${size}`);
  }
  const tools = [...PLATFORM_TOOLS];
  for (let i = tools.length + 1; tools.length < size; i++) {
    const id = String(i).padStart(3, '0');
    tools.push({
      name: `platform_tool_${id}`,
      title: `Platform tool ${id}`,
      description: `Generated platform tool ${id}: answers a query about one platform component with a report.`,
      inputSchema: {
        type: 'object',
        properties: {
          query: str('What to ask the component'),
          verbose: { type: 'boolean', description: 'Include details' },
        },
        required: ['query'],
        additionalProperties: false,
      },
      kind: 'filler',
    });
  }
  return tools;
}

/** The catalogue as `tools/list` returns it (the same on both protocol revisions), in catalogue order. */
export function toolListing(
  tools: ToolSpec[],
): Array<Pick<ToolSpec, 'name' | 'title' | 'description' | 'inputSchema'>> {
  return tools.map(({ name, title, description, inputSchema }) => ({
    name,
    title,
    description,
    inputSchema,
  }));
}

/** A deterministic payload of `bytes` ASCII characters, so response sizes are exactly configurable. */
export function makePayload(bytes: number): string {
  if (bytes <= 0) return '';
  const unit = 'mcpbench-payload-';
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

/**
 * Burn `ms` of CPU time on this thread (models a handler that computes, not waits). Counted in CPU
 * time (getrusage), not wall time: a replica throttled by its CPU quota takes longer in wall time but
 * still spends the same CPU per call, so capacity is limit ÷ CPU per call, as on a real pod. While the
 * loop runs, the event loop thread is the only busy one (it allocates nothing), so the process's CPU
 * time is this thread's.
 */
function burnCpu(ms: number): void {
  if (ms <= 0) return;
  const budgetUs = ms * 1000;
  const start = process.cpuUsage();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 2000; i++) x = (x * 1103515245 + 12345) | 0;
    const used = process.cpuUsage(start);
    if (used.user + used.system >= budgetUs) break;
  }
  if (x === 0.5) console.log(x); // keep the loop observable to the optimiser
}

/** The configured cost of one tool call: CPU first (as a handler would parse/compute), then waiting. */
export async function performToolWork(cost: { toolCpuMs: number; toolLatencyMs: number }): Promise<void> {
  burnCpu(cost.toolCpuMs);
  if (cost.toolLatencyMs > 0) await sleep(cost.toolLatencyMs);
}

/** The text answer of a stateless platform tool (everything but workspaces and long operations). */
export function describeToolResult(
  tool: ToolSpec,
  args: Record<string, unknown>,
  replica: string,
  payloadBytes: number,
): string {
  const a = (k: string, d = '') => (typeof args[k] === 'string' ? (args[k] as string) : d);
  let head: string;
  switch (tool.kind) {
    case 'sync_app':
      head = `synced ${a('app')} to ${a('revision', 'HEAD')}: Healthy`;
      break;
    case 'scan_policy':
      head = `scanned ${a('target')} against ${a('policy', 'all')}: 0 violations`;
      break;
    case 'get_resource':
      head = `${a('kind')}/${a('name')} in ${a('namespace', 'default')}: Ready`;
      break;
    default:
      head = `${tool.name}(${a('query')}): ok`;
  }
  return `${head} [replica ${replica}] ${makePayload(payloadBytes)}`;
}
