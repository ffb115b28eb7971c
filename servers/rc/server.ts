import type { IncomingMessage, ServerResponse } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  Server,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import {
  buildCatalogue,
  describeToolResult,
  performToolWork,
  type ToolSpec,
  toolListing,
} from '../common/catalogue.js';
import type { ServerConfig } from '../common/config.js';
import type { McpEndpoint } from '../common/http-shell.js';
import { callerIdentity, mintHandle, verifyHandle } from './handles.js';
import { TaskStore, wireTask } from './tasks.js';

/**
 * The stateless server under test: MCP 2026-07-28 with the 2.x SDK (`createMcpHandler`, a fresh
 * server instance per request, 2025-era requests rejected with the unsupported-version error).
 *
 * Wire contract (what a client, and the mcpbench engine, rely on):
 * - Every request carries `_meta` (`io.modelcontextprotocol/protocolVersion`, `.../clientInfo`,
 *   `.../clientCapabilities`) and the `MCP-Protocol-Version` / `Mcp-Method` headers (+ `Mcp-Name` for
 *   tools/call and tasks/*). No handshake, no session.
 * - `tools/list` carries `ttlMs` / `cacheScope` from MCPBENCH_TTL_MS / MCPBENCH_CACHE_SCOPE; the tool
 *   order is the catalogue's, stable across replicas and restarts.
 * - Handles: `open_workspace` returns `structuredContent.handle` (see handles.ts), bound to the caller
 *   (bearer token, else `x-mcpbench-client`, else clientInfo). A refused handle answers a tools/call
 *   result with `isError: true` and `structuredContent: { code: "HANDLE_REJECTED", reason }`, reason
 *   one of malformed | bad-signature | expired | foreign.
 * - Tasks: when the client declares `clientCapabilities.extensions["io.modelcontextprotocol/tasks"]`,
 *   `long_operation` answers `{ resultType: "task", taskId, status: "working", ttlMs, pollIntervalMs, ... }`;
 *   `tasks/get` answers the task with `resultType: "complete"`; `tasks/cancel` / `tasks/update` ack
 *   with `resultType: "complete"`. An unknown or other caller's task id: JSON-RPC -32602 "Task not
 *   found"; a request that does not declare the extension: -32021 MissingRequiredClientCapability
 *   (HTTP 400). Pod-death rule: see tasks.ts (`failed` with `error.data.reason = "owner_lost"`).
 * - An unknown tool name: JSON-RPC -32602 "Unknown tool: NAME" (a protocol error, not a tool result).
 *   Without the capability, `long_operation` runs synchronously. Without Redis, tasks answer -32603;
 *   `/readyz` says ready once the first Redis connection attempt has ended (connected or failed).
 */

const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
const META_CLIENT_CAPS = 'io.modelcontextprotocol/clientCapabilities';
const HANDLE_TTL_MS = 60 * 60_000;

interface RequestContext {
  /** `envelope` holds the validated reserved `_meta` keys (the SDK moves them out of `_meta`). */
  mcpReq: { _meta?: Record<string, unknown>; envelope?: Record<string, unknown> };
  http?: { req?: Request };
}

const RpcError = ProtocolError;

const TaskIdParams = z
  .object({ taskId: z.string(), _meta: z.record(z.string(), z.unknown()).optional() })
  .passthrough();
const AnyResult = z.object({}).passthrough();

export async function createRcEndpoint(config: ServerConfig): Promise<McpEndpoint> {
  const catalogue = buildCatalogue(config.catalogueSize);
  const byName = new Map(catalogue.map((t) => [t.name, t]));
  const toolList = toolListing(catalogue);
  const listResult = { tools: toolList, ttlMs: config.ttlMs, cacheScope: config.cacheScope };
  const tasks = new TaskStore(config.redisUrl, config.replica, {
    ttlMs: config.taskTtlMs,
    pollIntervalMs: config.taskPollIntervalMs,
    heartbeatMs: 500,
    leaseMs: 2_000,
  });

  const envelopeOf = (ctx: RequestContext) => ctx.mcpReq.envelope ?? ctx.mcpReq._meta ?? {};
  const callerOf = (ctx: RequestContext) =>
    callerIdentity(ctx.http?.req?.headers, envelopeOf(ctx)[META_CLIENT_INFO]);
  const wantsTasks = (ctx: RequestContext) => {
    const caps = envelopeOf(ctx)[META_CLIENT_CAPS] as { extensions?: Record<string, unknown> } | undefined;
    return Boolean(caps?.extensions?.[TASKS_EXTENSION]);
  };
  const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
  const rejected = (reason: string) => ({
    content: [{ type: 'text' as const, text: `workspace handle rejected: ${reason}` }],
    structuredContent: { code: 'HANDLE_REJECTED', reason },
    isError: true,
  });

  async function callTool(tool: ToolSpec, args: Record<string, unknown>, ctx: RequestContext) {
    const caller = callerOf(ctx);
    switch (tool.kind) {
      case 'open_workspace': {
        await performToolWork(config);
        const ws = `ws-${crypto.randomUUID()}`;
        const handle = mintHandle(config.handleSecret, { ws, sub: caller, exp: Date.now() + HANDLE_TTL_MS });
        return {
          ...text(`opened workspace ${ws} [replica ${config.replica}]`),
          structuredContent: { handle, workspace: ws },
        };
      }
      case 'workspace_exec':
      case 'close_workspace': {
        const verdict = verifyHandle(config.handleSecret, args.handle, caller);
        if (!verdict.ok) return rejected(verdict.reason);
        await performToolWork(config);
        return tool.kind === 'close_workspace'
          ? text(`closed workspace ${verdict.claims.ws}`)
          : text(`ran ${String(args.command ?? '')} in ${verdict.claims.ws} [replica ${config.replica}]`);
      }
      case 'long_operation': {
        const work = async (signal?: AbortSignal) => {
          await performToolWork({ toolCpuMs: config.toolCpuMs, toolLatencyMs: 0 });
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(resolve, config.taskDurationMs);
            signal?.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(new Error('cancelled'));
            });
          });
          return text(`operation ${String(args.operation ?? 'work')} completed [replica ${config.replica}]`);
        };
        if (!wantsTasks(ctx)) return work();
        if (!tasks.ready())
          throw new RpcError(-32603, 'tasks are unavailable: the task store (Redis) is unreachable');
        const task = await tasks.start(caller, work);
        return { resultType: 'task', ...wireTask(task) };
      }
      default:
        await performToolWork(config);
        return text(describeToolResult(tool, args, config.replica, config.payloadBytes));
    }
  }

  function factory() {
    const server = new Server(
      { name: 'mcpbench-rc', version: '0.1.0' },
      {
        capabilities: { tools: { listChanged: false }, extensions: { [TASKS_EXTENSION]: {} } },
        cacheHints: { 'tools/list': { ttlMs: config.ttlMs, cacheScope: config.cacheScope } },
      },
    );
    server.setRequestHandler('tools/list', async () => listResult);
    server.setRequestHandler('tools/call', async (request, ctx) => {
      const tool = byName.get(request.params.name);
      // An unknown tool is a protocol error (2026-07-28 tools: "Error Handling"), not a tool result.
      if (!tool) throw new RpcError(-32602, `Unknown tool: ${request.params.name}`);
      // biome-ignore lint/suspicious/noExplicitAny: a task result is a different result type on the same method
      return (await callTool(tool, (request.params.arguments ?? {}) as Record<string, unknown>, ctx)) as any;
    });
    const taskMethod = (method: 'tasks/get' | 'tasks/cancel' | 'tasks/update') =>
      server.setRequestHandler(method, { params: TaskIdParams, result: AnyResult }, async (params, ctx) => {
        // The task methods exist only for a client that declares the extension on this request.
        if (!wantsTasks(ctx as unknown as RequestContext))
          throw new MissingRequiredClientCapabilityError(
            { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
            `${method} needs the ${TASKS_EXTENSION} extension in the request's clientCapabilities`,
          );
        if (!tasks.ready())
          throw new RpcError(-32603, 'tasks are unavailable: the task store (Redis) is unreachable');
        const caller = callerOf(ctx as unknown as RequestContext);
        const task =
          method === 'tasks/cancel'
            ? await tasks.cancel(params.taskId, caller)
            : await tasks.get(params.taskId, caller);
        if (!task) throw new RpcError(-32602, 'Task not found');
        if (method === 'tasks/get') return { resultType: 'complete', ...wireTask(task) };
        return { resultType: 'complete' };
      });
    taskMethod('tasks/get');
    taskMethod('tasks/cancel');
    taskMethod('tasks/update');
    return server;
  }

  const handler = createMcpHandler(factory as never, {
    legacy: 'reject',
    responseMode: 'auto',
    maxRequestBodySize: config.maxBodyBytes,
  });
  const node = toNodeHandler(handler, { maxRequestBodySize: config.maxBodyBytes });

  return {
    async handle(req: IncomingMessage, res: ServerResponse, body: unknown) {
      await node(req, res, body);
    },
    // Only tasks need Redis: a Redis outage must not take the stateless tools out of the Service.
    // But ready only once the first connection attempt has ended, so that a replica whose Redis is
    // reachable does not refuse tasks because it was sent requests before its client connected.
    ready: () => tasks.started(),
    async close() {
      await tasks.close(Math.max(0, config.shutdownGraceMs - 500));
      await handler.close();
    },
  };
}
