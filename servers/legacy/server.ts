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
 *   `initialize` would have left (the rebuild throws, answered as 503, if those fields move in a
 *   future SDK, and the cross-replica tests fail). The session is saved to the store before the
 *   transport answers `initialize`, because the client's next message may reach another replica.
 *
 *   A locally cached session is checked against Redis on every request (one EXPIRE, which also
 *   extends its TTL), so a session ended on one replica is gone on all of them.
 *
 * Memory is bounded: sessions idle for MCPBENCH_LEGACY_SESSION_IDLE_MS (default 10 min) are closed,
 * and beyond MCPBENCH_LEGACY_MAX_SESSIONS (default 10000) the least recently used one is. With the
 * memory store that ends the session (the client gets 404 and re-initialises); with Redis only the
 * local copy goes. Responses are JSON by default; MCPBENCH_LEGACY_JSON_RESPONSE=false serves SSE
 * streams instead. Readiness follows the Redis connection when the store is Redis.
 *
 * A request reusing a JSON-RPC id still in flight in its session is refused (400, -32600): the SDK
 * transport routes answers by id, so it would take the other request's answer.
 *
 * Tools: the shared catalogue; `open_workspace` returns a workspace id bound to the session,
 * `workspace_exec` / `close_workspace` refuse an id the session did not open. `long_operation` has no
 * Tasks on this protocol revision: it runs synchronously for MCPBENCH_TASK_DURATION_MS.
 */

const PROTOCOL_VERSION = '2025-11-25';
const SESSION_TTL_SECONDS = 30 * 60;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Legacy-only settings, from MCPBENCH_LEGACY_* variables (errors name the variable). */
export const LegacyEnvSchema = z.object({
  MCPBENCH_LEGACY_JSON_RESPONSE: z.enum(['true', 'false']).default('true'),
  MCPBENCH_LEGACY_SESSION_IDLE_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(10 * 60_000),
  MCPBENCH_LEGACY_MAX_SESSIONS: z.coerce.number().int().min(1).default(10_000),
});

export interface LegacyOptions {
  jsonResponse: boolean;
  sessionIdleMs: number;
  maxSessions: number;
}

/** Every problem loadLegacyOptions would throw for `env`, as variable → message. */
export function legacyEnvProblems(env: NodeJS.ProcessEnv): Array<{ source: string; message: string }> {
  const parsed = LegacyEnvSchema.safeParse(legacyRaw(env));
  return parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ source: String(i.path[0]), message: i.message }));
}

function legacyRaw(env: NodeJS.ProcessEnv) {
  return Object.fromEntries(
    Object.keys(LegacyEnvSchema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
}

export function loadLegacyOptions(env: NodeJS.ProcessEnv = process.env): LegacyOptions {
  const parsed = LegacyEnvSchema.safeParse(legacyRaw(env));
  if (!parsed.success) {
    const problems = legacyEnvProblems(env).map((p) => `${p.source}: ${p.message}`);
    throw new Error(`invalid server configuration: ${problems.join('; ')}`);
  }
  return {
    jsonResponse: parsed.data.MCPBENCH_LEGACY_JSON_RESPONSE === 'true',
    sessionIdleMs: parsed.data.MCPBENCH_LEGACY_SESSION_IDLE_MS,
    maxSessions: parsed.data.MCPBENCH_LEGACY_MAX_SESSIONS,
  };
}

interface LiveSession {
  transport: StreamableHTTPServerTransport;
  server: Server;
  lastUsed: number;
  /** JSON-RPC ids of this session's requests still being answered (see `claimIds`). */
  inflight: Set<string>;
  /** Evicted while requests were in flight: the transport closes once they are answered. */
  closing?: boolean;
}

interface TransportInternals {
  _webStandardTransport: { sessionId?: string; _initialized: boolean };
}
interface ServerInternals {
  _clientCapabilities?: Record<string, unknown>;
  _clientVersion?: { name: string; version: string };
}

/** Ids of the JSON-RPC requests (not notifications or responses) in a body, typed so 1 ≠ "1". */
function requestIds(body: unknown): string[] {
  const messages = Array.isArray(body) ? body : [body];
  const ids: string[] = [];
  for (const m of messages) {
    if (m && typeof m === 'object' && 'method' in m && 'id' in m) {
      const id = (m as { id: unknown }).id;
      if (typeof id === 'string' || typeof id === 'number') ids.push(`${typeof id}:${id}`);
    }
  }
  return ids;
}

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } }));
}

export async function createLegacyEndpoint(
  config: ServerConfig,
  options: LegacyOptions = loadLegacyOptions(),
): Promise<McpEndpoint> {
  const catalogue = buildCatalogue(config.catalogueSize);
  const byName = new Map(catalogue.map((t) => [t.name, t]));
  const toolList = toolListing(catalogue);
  const store: SessionStore =
    config.store === 'redis'
      ? new RedisSessionStore(config.redisUrl, SESSION_TTL_SECONDS)
      : new MemorySessionStore();
  /** Live sessions in least-recently-used order (a request moves its session to the end). */
  const sessions = new Map<string, LiveSession>();
  /** Sessions being rebuilt from the store, so concurrent first requests share one rebuild. */
  const resuming = new Map<string, Promise<LiveSession | null>>();
  const { jsonResponse } = options;

  /** Closes a session's local transport; with the memory store that ends the session itself. */
  function evict(id: string, live: LiveSession): void {
    if (sessions.get(id) === live) sessions.delete(id);
    // Closing the transport would leave its in-flight requests unanswered: let them finish first.
    if (live.inflight.size === 0) live.transport.close().catch(() => {});
    else live.closing = true;
    if (store.kind === 'memory') store.delete(id).catch(() => {});
  }

  function remember(id: string, live: LiveSession): void {
    sessions.delete(id);
    sessions.set(id, live);
    while (sessions.size > options.maxSessions) {
      const [oldestId, oldest] = sessions.entries().next().value as [string, LiveSession];
      evict(oldestId, oldest);
    }
  }

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

  /**
   * A new session (`fresh`: its id is already saved in the store) or one rebuilt from the store
   * (`existing`). Saving before the transport sees `initialize` matters with Redis: the client's
   * next request (notifications/initialized) may reach another replica at once.
   */
  async function openSession(
    session: { fresh: string } | { existing: { id: string; meta: SessionMeta } },
  ): Promise<LiveSession> {
    const existing = 'existing' in session ? session.existing : undefined;
    const id = 'fresh' in session ? session.fresh : session.existing.id;
    let live: LiveSession | undefined;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      enableJsonResponse: jsonResponse,
      onsessioninitialized: (sid) => {
        if (live) remember(sid, live);
      },
      onsessionclosed: async (sid) => {
        sessions.delete(sid);
        await store.delete(sid).catch(() => {});
      },
    });
    const server = newServer();
    live = { transport, server, lastUsed: Date.now(), inflight: new Set() };
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
      remember(existing.id, live);
    }
    return live;
  }

  /** Loads a session this replica has not seen from the store and rebuilds it; null if unknown. */
  function resume(id: string): Promise<LiveSession | null> {
    let pending = resuming.get(id);
    if (!pending) {
      pending = (async () => {
        const meta = await store.load(id);
        if (!meta) return null;
        return sessions.get(id) ?? (await openSession({ existing: { id, meta } }));
      })().finally(() => resuming.delete(id));
      resuming.set(id, pending);
    }
    return pending;
  }

  const sweeper = setInterval(
    () => {
      const cutoff = Date.now() - options.sessionIdleMs;
      for (const [id, s] of sessions) if (s.lastUsed < cutoff && s.inflight.size === 0) evict(id, s);
    },
    Math.min(30_000, options.sessionIdleMs),
  );
  sweeper.unref();

  return {
    async handle(req: IncomingMessage, res: ServerResponse, body: unknown) {
      const header = req.headers['mcp-session-id'];
      const sessionId = Array.isArray(header) ? header[0] : header;
      if (sessionId) {
        let live = sessions.get(sessionId);
        if (store.kind === 'redis' && UUID.test(sessionId)) {
          try {
            if (!live) live = (await resume(sessionId)) ?? undefined;
            else if (!(await store.touch(sessionId))) {
              // Ended (DELETE on another replica) or expired: drop the stale local copy.
              evict(sessionId, live);
              live = undefined;
            }
          } catch {
            return jsonRpcError(res, 503, -32000, 'Session store unavailable');
          }
        }
        if (!live) return jsonRpcError(res, 404, -32001, 'Session not found');
        live.lastUsed = Date.now();
        remember(sessionId, live);
        // The SDK transport routes a response by its JSON-RPC id: a second request reusing an id that is
        // still in flight would take the first one's answer and leave the other hanging. Refuse it.
        const ids = requestIds(body);
        const inflight = live.inflight;
        if (ids.some((id) => inflight.has(id)) || new Set(ids).size !== ids.length) {
          return jsonRpcError(res, 400, -32600, 'Invalid Request: request id already in use in this session');
        }
        for (const id of ids) inflight.add(id);
        const owner = live;
        let released = ids.length === 0;
        const release = () => {
          if (released) return;
          released = true;
          for (const id of ids) inflight.delete(id);
          if (owner.closing && inflight.size === 0) owner.transport.close().catch(() => {});
        };
        // The ids are released when the answer is sent or the client goes away, whichever comes first;
        // the client may have gone before this point (its 'close' then fired already).
        res.once('close', release);
        if (req.socket.destroyed) release();
        try {
          await live.transport.handleRequest(req, res, body);
        } finally {
          if (res.writableEnded) release();
        }
        return;
      }
      if (req.method === 'POST' && isInitializeRequest(body)) {
        const id = randomUUID();
        const meta: SessionMeta = {
          protocolVersion: PROTOCOL_VERSION,
          clientInfo: { name: body.params.clientInfo.name, version: body.params.clientInfo.version },
          capabilities: body.params.capabilities as Record<string, unknown>,
          createdAt: Date.now(),
          workspaces: [],
        };
        try {
          await store.save(id, meta);
        } catch {
          return jsonRpcError(res, 503, -32000, 'Session store unavailable');
        }
        const live = await openSession({ fresh: id });
        await live.transport.handleRequest(req, res, body);
        // The transport refused the initialize (e.g. a bad Accept header): no session after all.
        if (!sessions.has(id)) await store.delete(id).catch(() => {});
        return;
      }
      if (req.method === 'POST' || req.method === 'GET' || req.method === 'DELETE') {
        return jsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      }
      res.setHeader('allow', 'GET, POST, DELETE');
      return jsonRpcError(res, 405, -32000, 'Method not allowed');
    },
    // With the Redis store every request consults Redis, so a replica without it cannot serve: not ready.
    ready: () => store.ready(),
    sessions: () => sessions.size,
    async close() {
      clearInterval(sweeper);
      await Promise.allSettled([...sessions.values()].map((s) => s.transport.close()));
      sessions.clear();
      await store.close();
    },
  };
}
