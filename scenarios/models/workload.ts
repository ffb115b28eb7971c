import { z } from 'zod';
import type { ForeignWorkload } from './workload-args.ts';

/**
 * The workload of a server that is not ours. Its tools come from the server itself (tools/list); the
 * run config's `workload` maps tool names to argument generators and weights, says which tool mints a
 * handle (where the handle is in its result, and which tools take it back) and which calls are
 * long-running (tasks on 2026-07-28, blocking calls on 2025-11-25). Whatever is not given is inferred
 * from the tool's input schema where that is unambiguous; any other tool is left out, with the reason.
 *
 * Arguments are JSON; a string may hold generators: `{{int:1:100}}` (a whole number in the range),
 * `{{choice:a|b|c}}`, `{{seq}}` (a number that changes on every call). A string that is one `{{int}}`
 * alone becomes a number.
 */

const ArgumentsSchema = z.record(z.string(), z.unknown());

const ToolEntrySchema = z.union([
  z.literal(false),
  z.strictObject({
    weight: z.number().positive().default(1),
    arguments: ArgumentsSchema.optional(),
  }),
]);

export const WorkloadSchema = z.strictObject({
  /** per tool: its weight and arguments, or `false` to leave it out */
  tools: z.record(z.string().min(1), ToolEntrySchema).default({}),
  /** use only the tools named under `tools` (default: every tool the server lists, where arguments can be found) */
  onlyListed: z.boolean().default(false),
  handle: z
    .strictObject({
      /** the tool that mints the handle */
      tool: z.string().min(1),
      arguments: ArgumentsSchema.default({}),
      /** where the handle is in the tool's result, a dotted path (e.g. structuredContent.handle) */
      path: z.string().min(1),
      /** the tools that take it back, and the argument that carries it */
      use: z
        .array(
          z.strictObject({
            tool: z.string().min(1),
            argument: z.string().min(1),
            arguments: ArgumentsSchema.default({}),
          }),
        )
        .min(1),
    })
    .optional(),
  longRunning: z
    .strictObject({
      tool: z.string().min(1),
      arguments: ArgumentsSchema.default({}),
    })
    .optional(),
});
export type Workload = z.output<typeof WorkloadSchema>;

export interface ListedTool {
  name: string;
  inputSchema?: unknown;
}

export interface WorkloadPlan {
  workload: ForeignWorkload;
  /** tools left out, with why */
  skipped: Array<{ tool: string; reason: string }>;
  /** tools whose arguments were inferred from their input schema */
  inferred: string[];
}

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  examples?: unknown[];
  minimum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
};

/**
 * A value for one property when the schema leaves no doubt: a `const`, a `default`, the first `enum`
 * value, an example, a boolean, a number (its minimum, else 1) or a string (a generated word). Anything
 * else (objects, arrays, unions) is ambiguous: null.
 */
function inferValue(name: string, schema: JsonSchema): { value: unknown } | null {
  if ('const' in schema) return { value: schema.const };
  if (schema.default !== undefined) return { value: schema.default };
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return { value: schema.enum[0] };
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return { value: schema.examples[0] };
  const type = Array.isArray(schema.type)
    ? schema.type.length === 1
      ? schema.type[0]
      : undefined
    : schema.type;
  if (type === 'boolean') return { value: false };
  if (type === 'integer' || type === 'number') return { value: schema.minimum ?? 1 };
  if (type === 'string') return { value: `${name}-{{seq}}` };
  return null;
}

/** Arguments from a tool's input schema: its required properties, each inferred; or why not. */
export function inferArguments(schema: unknown): { arguments: Record<string, unknown> } | { reason: string } {
  const s = (schema ?? {}) as JsonSchema;
  if (s.type !== undefined && s.type !== 'object') return { reason: `its input schema is not an object` };
  const out: Record<string, unknown> = {};
  for (const name of s.required ?? []) {
    const prop = s.properties?.[name];
    if (!prop) return { reason: `required argument "${name}" has no schema` };
    const v = inferValue(name, prop);
    if (!v)
      return {
        reason: `required argument "${name}" (${JSON.stringify(prop.type ?? 'untyped')}) cannot be inferred`,
      };
    out[name] = v.value;
  }
  return { arguments: out };
}

/** The plan for one server: the config's workload over the tools it lists. */
export function planWorkload(tools: ListedTool[], config: Workload | undefined): WorkloadPlan {
  const w = config ?? WorkloadSchema.parse({});
  const skipped: WorkloadPlan['skipped'] = [];
  const inferred: string[] = [];
  const planned: ForeignWorkload['tools'] = [];
  const listed = new Set(tools.map((t) => t.name));
  const special = new Set([
    ...(w.handle ? [w.handle.tool, ...w.handle.use.map((u) => u.tool)] : []),
    ...(w.longRunning ? [w.longRunning.tool] : []),
  ]);
  for (const name of [...Object.keys(w.tools), ...special])
    if (!listed.has(name))
      skipped.push({ tool: name, reason: 'named in the workload, but the server does not list it' });
  for (const tool of tools) {
    const entry = w.tools[tool.name];
    if (entry === false) {
      skipped.push({ tool: tool.name, reason: 'left out by the workload (false)' });
      continue;
    }
    if (special.has(tool.name) && entry === undefined) continue; // called by its handle / long-running flow
    if (entry === undefined && w.onlyListed) {
      skipped.push({ tool: tool.name, reason: 'not listed under workload.tools (onlyListed)' });
      continue;
    }
    if (entry?.arguments) {
      planned.push({ name: tool.name, weight: entry.weight, arguments: entry.arguments });
      continue;
    }
    const guess = inferArguments(tool.inputSchema);
    if ('reason' in guess) {
      skipped.push({
        tool: tool.name,
        reason: `${guess.reason}; give workload.tools.${tool.name}.arguments`,
      });
      continue;
    }
    inferred.push(tool.name);
    planned.push({ name: tool.name, weight: entry?.weight ?? 1, arguments: guess.arguments });
  }
  return {
    workload: {
      tools: planned,
      ...(w.handle && listed.has(w.handle.tool) ? { handle: w.handle } : {}),
      ...(w.longRunning && listed.has(w.longRunning.tool) ? { longRunning: w.longRunning } : {}),
    },
    skipped,
    inferred,
  };
}
