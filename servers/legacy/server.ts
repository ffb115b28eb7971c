import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  isInitializeRequest,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { buildCatalogue, describeToolResult, performToolWork, type ToolSpec } from '../common/catalogue.js';
import type { ServerConfig } from '../common/config.js';
import type { McpEndpoint } from '../common/http-shell.js';
import {
  MemorySessionStore,
  RedisSessionStore,
  type SessionMeta,
  type SessionStore,
} from './session-store.js';

/**
 * The stateful server under test: MCP 2025-11-25 over Streamable HTTP with the 1.x SDK, as teams run
 * it today. One SDK transport + server per session; `Mcp-Session-Id` on every request after
 * `initialize`; DELETE ends a session; an unknown session id gets 404 (JSON-RPC error -32001), so a
 * client observes "session lost" and re-initialises.
 *
 * Session stores (MCPBENCH_STORE):
 * - `memory`: the session exists only in the replica that created it; routing must be sticky.
 * - `redis`: session metadata (protocol version, client info, capabilities, workspace ids) lives in
 *   Redis. A replica that receives a request for a session it has never seen loads the metadata and
 *   rebuilds the SDK transport + server in the initialised state, then serves the request. The 1.x SDK
 *   has no public API for "resume an initialised session", so the rebuild sets the transport's
 *   session id / initialised flag and the server's client info / capabilities — the exact state
 *   `initialize` would have left (guarded by a test that fails if the SDK's internals move).
 *
 * Tools: the shared catalogue; `open_workspace` returns a workspace id bound to the session,
 * `workspace_exec` / `close_workspace` refuse an id the session did not open. `long_operation` has no
 * Tasks on this protocol revision: it runs synchronously for MCPBENCH_TASK_DURATION_MS.
 */

const PROTOCOL_VERSION = '2025-11-25';
const IDLE_SESSION_MS = 10 * 60_000;
const SESSION_TTL_SECONDS = 30 * 60;

interface LiveSession {
  transport: StreamableHTTPServerTransport;
  server: Server;
  lastUsed: number;
}

interface TransportInternals {
  _webStandardTransport: { sessionId?: string; _initialized: boolean };
}
interface ServerInternals {
  _clientCapabilities?: Record<string, unknown>;
  _clientVersion?: { name: string; version: string };
}

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } }));
}

function containsInitialize(body: unknown): boolean {
  return Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body);
}

export async function createLegacyEndpoint(config: ServerConfig): Promise<McpEndpoint> {
  const catalogue = buildCatalogue(config.catalogueSize);
  const byName = new Map(catalogue.map((t) => [t.name, t]));
  const toolList = catalogue.map(({ name, title, description, inputSchema }) => ({
    name,
    title,
    description,
    inputSchema,
  }));
  const store: SessionStore =
    config.store === 'redis'
      ? new RedisSessionStore(config.redisUrl, SESSION_TTL_SECONDS)
      : new MemorySessionStore();
  const sessions = new Map<string, LiveSession>();
  const jsonResponse = process.env.MCPBENCH_LEGACY_JSON_RESPONSE !== 'false';

  const text = (t: string, isError = false): CallToolResult => ({
    content: [{ type: 'text', text: t }],
    isError,
  });

  async function callTool(
    tool: ToolSpec,
    args: Record<string, unknown>,
    sessionId: string,
  ): Promise<CallToolResult> {
    await performToolWork(config);
    switch (tool.kind) {
      case 'open_workspace': {
        const workspace = `ws-${randomUUID()}`;
        await store.addWorkspace(sessionId, workspace);
        return {
          content: [{ type: 'text', text: `opened workspace ${workspace} [replica ${config.replica}]` }],
          structuredContent: { workspace },
        };
      }
      case 'workspace_exec':
      case 'close_workspace': {
        const workspace = typeof args.workspace === 'string' ? args.workspace : '';
        if (!workspace || !(await store.hasWorkspace(sessionId, workspace))) {
          return text(`workspace "${workspace}" is not open in this session`, true);
        }
        if (tool.kind === 'close_workspace') {
          await store.removeWorkspace(sessionId, workspace);
          return text(`closed workspace ${workspace}`);
        }
        return text(`ran ${String(args.command ?? '')} in ${workspace} [replica ${config.replica}]`);
      }
      case 'long_operation': {
        await new Promise((r) => setTimeout(r, config.taskDurationMs));
        return text(`operation ${String(args.operation ?? 'work')} completed [replica ${config.replica}]`);
      }
      default:
        return text(describeToolResult(tool, args, config.replica, config.payloadBytes));
    }
  }

  function newServer(): Server {
    const server = new Server(
      { name: 'mcpbench-legacy', version: '0.1.0' },
      { capabilities: { tools: { listChanged: false } } },
    );
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: toolList }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const tool = byName.get(request.params.name);
      if (!tool) return text(`unknown tool "${request.params.name}"`, true);
      return callTool(
        tool,
        (request.params.arguments ?? {}) as Record<string, unknown>,
        extra.sessionId ?? '',
      );
    });
    return server;
  }

  async function openSession(existing?: { id: string; meta: SessionMeta }): Promise<LiveSession> {
    let live: LiveSession | undefined;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => existing?.id ?? randomUUID(),
      enableJsonResponse: jsonResponse,
      onsessioninitialized: (id) => {
        if (live) sessions.set(id, live);
      },
      onsessionclosed: async (id) => {
        sessions.delete(id);
        await store.delete(id).catch(() => {});
      },
    });
    const server = newServer();
    live = { transport, server, lastUsed: Date.now() };
    server.oninitialized = () => {
      const id = transport.sessionId;
      if (!id) return;
      const meta: SessionMeta = {
        protocolVersion: PROTOCOL_VERSION,
        clientInfo: server.getClientVersion() ?? null,
        capabilities: (server.getClientCapabilities() ?? {}) as Record<string, unknown>,
        createdAt: Date.now(),
        workspaces: [],
      };
      store.save(id, meta).catch(() => {});
    };
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id && sessions.get(id) === live) sessions.delete(id);
    };
    await server.connect(transport);
    if (existing) {
      const inner = (transport as unknown as TransportInternals)._webStandardTransport;
      const srv = server as unknown as ServerInternals;
      if (!inner || typeof inner._initialized !== 'boolean') {
        throw new Error('SDK internals changed: cannot resume a session from the store');
      }
      inner.sessionId = existing.id;
      inner._initialized = true;
      srv._clientCapabilities = existing.meta.capabilities;
      if (existing.meta.clientInfo) srv._clientVersion = existing.meta.clientInfo;
      sessions.set(existing.id, live);
    }
    return live;
  }

  const sweeper = setInterval(() => {
    const cutoff = Date.now() - IDLE_SESSION_MS;
    for (const [id, s] of sessions) {
      if (s.lastUsed < cutoff) {
        sessions.delete(id);
        s.transport.close().catch(() => {});
      }
    }
  }, 30_000);
  sweeper.unref();

  return {
    async handle(req: IncomingMessage, res: ServerResponse, body: unknown) {
      const header = req.headers['mcp-session-id'];
      const sessionId = Array.isArray(header) ? header[0] : header;
      if (sessionId) {
        let live = sessions.get(sessionId);
        if (!live && store.kind === 'redis' && /^[0-9a-f-]{36}$/.test(sessionId)) {
          let meta: SessionMeta | null = null;
          try {
            meta = await store.load(sessionId);
          } catch {
            return jsonRpcError(res, 503, -32000, 'Session store unavailable');
          }
          if (meta) live = sessions.get(sessionId) ?? (await openSession({ id: sessionId, meta }));
        }
        if (!live) return jsonRpcError(res, 404, -32001, 'Session not found');
        live.lastUsed = Date.now();
        if (store.kind === 'redis') store.touch(sessionId).catch(() => {});
        await live.transport.handleRequest(req, res, body);
        return;
      }
      if (req.method === 'POST' && containsInitialize(body)) {
        const live = await openSession();
        await live.transport.handleRequest(req, res, body);
        return;
      }
      if (req.method === 'POST' || req.method === 'GET' || req.method === 'DELETE') {
        return jsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      }
      res.setHeader('allow', 'GET, POST, DELETE');
      return jsonRpcError(res, 405, -32000, 'Method not allowed');
    },
    // Readiness does not follow Redis: a replica keeps serving the sessions it holds through a store
    // outage (and refuses the ones it would have to load), which is what the pod-kill experiment measures.
    ready: () => true,
    async close() {
      clearInterval(sweeper);
      await Promise.allSettled([...sessions.values()].map((s) => s.transport.close()));
      sessions.clear();
      await store.close();
    },
  };
}
