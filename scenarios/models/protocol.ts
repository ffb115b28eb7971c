/**
 * Wire messages of both protocol eras, as plain data (no I/O), shared by the built-in engine and the
 * k6 scripts so both speak exactly the same protocol.
 */

export type ProtocolVersion = '2025-11-25' | '2026-07-28';
export const LEGACY: ProtocolVersion = '2025-11-25';
export const MODERN: ProtocolVersion = '2026-07-28';

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
export const REPLICA_HEADER = 'x-mcpbench-replica';

export interface WireRequest {
  method: 'POST' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
  /** JSON-RPC method (or 'DELETE' for the session end), for per-method histograms */
  rpcMethod: string;
  id?: number;
}

export interface ClientIdentity {
  name: string;
  version: string;
  /** a per-agent id, sent as x-mcpbench-client so handles and tasks are bound to the agent */
  agentId: string;
}

const BASE_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

export function legacyInitialize(id: number, client: ClientIdentity): WireRequest {
  return {
    method: 'POST',
    rpcMethod: 'initialize',
    id,
    headers: { ...BASE_HEADERS },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'initialize',
      params: {
        protocolVersion: LEGACY,
        capabilities: {},
        clientInfo: { name: client.name, version: client.version },
      },
    }),
  };
}

/** Headers of a request inside a 2025 session (no session id header when the server is stateless). */
function sessionHeaders(sessionId: string): Record<string, string> {
  return sessionId
    ? { ...BASE_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': LEGACY }
    : { ...BASE_HEADERS, 'mcp-protocol-version': LEGACY };
}

export function legacyInitialized(sessionId: string): WireRequest {
  return {
    method: 'POST',
    rpcMethod: 'notifications/initialized',
    headers: sessionHeaders(sessionId),
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  };
}

export function legacyRequest(
  id: number,
  sessionId: string,
  method: string,
  params: Record<string, unknown>,
): WireRequest {
  return {
    method: 'POST',
    rpcMethod: method,
    id,
    headers: sessionHeaders(sessionId),
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
  };
}

export function legacyDelete(sessionId: string): WireRequest {
  return {
    method: 'DELETE',
    rpcMethod: 'DELETE',
    headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': LEGACY },
  };
}

export function modernMeta(client: ClientIdentity, tasks: boolean): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientInfo': { name: client.name, version: client.version },
    'io.modelcontextprotocol/clientCapabilities': tasks ? { extensions: { [TASKS_EXTENSION]: {} } } : {},
  };
}

/**
 * The `_meta` envelope as JSON, serialised once per client identity and capability set: it is the
 * same on every request of an agent, and stringifying it each time was the engine's largest cost.
 */
const metaJsonCache = new WeakMap<ClientIdentity, { plain?: string; tasks?: string }>();
function modernMetaJson(client: ClientIdentity, tasks: boolean): string {
  let entry = metaJsonCache.get(client);
  if (!entry) {
    entry = {};
    metaJsonCache.set(client, entry);
  }
  const key = tasks ? 'tasks' : 'plain';
  let json = entry[key];
  if (json === undefined) {
    json = JSON.stringify(modernMeta(client, tasks));
    entry[key] = json;
  }
  return json;
}

/**
 * `JSON.stringify({ jsonrpc, id, method, params: { ...params, _meta } })`, byte for byte, with the
 * `_meta` part taken from the cache.
 */
function modernBody(
  id: number,
  method: string,
  params: Record<string, unknown>,
  client: ClientIdentity,
  tasks: boolean,
): string {
  if (Object.hasOwn(params, '_meta')) {
    return JSON.stringify({
      jsonrpc: '2.0',
      id,
      method,
      params: { ...params, _meta: modernMeta(client, tasks) },
    });
  }
  const own = JSON.stringify(params);
  const meta = modernMetaJson(client, tasks);
  const withMeta = own === '{}' ? `{"_meta":${meta}}` : `${own.slice(0, -1)},"_meta":${meta}}`;
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":${JSON.stringify(method)},"params":${withMeta}}`;
}

/** A 2026-07-28 request: `_meta` envelope in the body, the method (and name) mirrored in headers. */
export function modernRequest(
  id: number,
  client: ClientIdentity,
  method: string,
  params: Record<string, unknown>,
  options: { tasks?: boolean } = {},
): WireRequest {
  const headers: Record<string, string> = {
    'content-type': BASE_HEADERS['content-type'],
    accept: BASE_HEADERS.accept,
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
    'x-mcpbench-client': client.agentId,
  };
  const name =
    method === 'tools/call' ? params.name : method.startsWith('tasks/') ? params.taskId : undefined;
  if (typeof name === 'string') headers['mcp-name'] = name;
  return {
    method: 'POST',
    rpcMethod: method,
    id,
    headers,
    body: modernBody(id, method, params, client, options.tasks ?? false),
  };
}

/** Extracts the JSON-RPC response with `id` from a JSON or SSE body. */
export function parseRpcBody(
  contentType: string | undefined,
  text: string,
  id: number | undefined,
): Record<string, unknown> | null {
  if (!text) return null;
  if (contentType?.includes('text/event-stream')) {
    let found: Record<string, unknown> | null = null;
    for (const block of text.split(/\r?\n\r?\n/)) {
      const data = block
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (!data) continue;
      try {
        const msg = JSON.parse(data) as Record<string, unknown>;
        if (id === undefined || msg.id === id) found = msg;
      } catch {
        // a keep-alive or partial frame
      }
    }
    return found;
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
}
