/**
 * Wire messages of both protocol eras, as plain data (no I/O), shared by the built-in engine and the
 * k6 scripts so both speak exactly the same protocol.
 */

export type ProtocolVersion = '2025-11-25' | '2026-07-28';
export const LEGACY: ProtocolVersion = '2025-11-25';
export const MODERN: ProtocolVersion = '2026-07-28';

const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
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

/**
 * What a 2xx answer to a JSON-RPC request carried, judged by the Streamable HTTP transport's rules:
 * a JSON body (`application/json`) or an event stream (`text/event-stream`) holding exactly the
 * JSON-RPC 2.0 response to the request's id, with either a `result` or an `error` whose `code` is
 * a number. Anything else is an unreadable answer (`invalid`, with the reason) whatever its status.
 */
export type RpcAnswer =
  | { kind: 'result'; result: Record<string, unknown> }
  | { kind: 'error'; error: { code: number; message: string; data?: unknown } }
  | { kind: 'invalid'; reason: string };

/** A short, id-free excerpt of a body for a reason (reasons are counted by text, so no ids in them). */
function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `${flat.slice(0, 60)}…` : flat;
}

/** Why `msg` is not the JSON-RPC response to `id`, or null when it is. */
function responseProblem(msg: unknown, id: number): string | null {
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return 'not a JSON-RPC object';
  const m = msg as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return 'not a JSON-RPC 2.0 response (no "jsonrpc": "2.0")';
  if (m.id !== id)
    return m.id === undefined ? 'a JSON-RPC message without an id' : 'the id of another request';
  if (m.error !== undefined) {
    const e = m.error as { code?: unknown } | null;
    if (e === null || typeof e !== 'object' || typeof e.code !== 'number')
      return 'a JSON-RPC error without a numeric code';
    return null;
  }
  if (m.result === null || typeof m.result !== 'object' || Array.isArray(m.result))
    return 'a JSON-RPC response with neither a result object nor an error';
  return null;
}

/** Reads the JSON-RPC response to request `id` from a 2xx answer (JSON or SSE framing). */
export function readRpcAnswer(contentType: string | undefined, text: string, id: number): RpcAnswer {
  let msg: unknown;
  let type = contentType ?? '';
  if (!type.includes('application/json') && !type.includes('text/event-stream')) type = type.toLowerCase();
  if (type.includes('text/event-stream')) {
    const found = parseRpcBody(type, text, id);
    if (!found) return { kind: 'invalid', reason: 'an event stream without the response to the request' };
    msg = found;
  } else if (type.includes('application/json')) {
    if (!text) return { kind: 'invalid', reason: 'an empty body' };
    try {
      msg = JSON.parse(text);
    } catch {
      return { kind: 'invalid', reason: `a body that is not JSON: ${excerpt(text)}` };
    }
  } else {
    return {
      kind: 'invalid',
      reason: `content-type "${contentType ?? ''}" (neither application/json nor text/event-stream)`,
    };
  }
  const problem = responseProblem(msg, id);
  if (problem)
    return {
      kind: 'invalid',
      reason:
        problem === 'the id of another request' ? problem : `${problem}: ${excerpt(JSON.stringify(msg))}`,
    };
  const m = msg as {
    result?: Record<string, unknown>;
    error?: { code: number; message: string; data?: unknown };
  };
  return m.error !== undefined
    ? { kind: 'error', error: m.error }
    : { kind: 'result', result: m.result as Record<string, unknown> };
}

/** A notification (or response) sent by the client is answered 202 Accepted with no body; null when it was. */
export function notificationProblem(status: number, text: string): string | null {
  if (status === 202 && text.length === 0) return null;
  return status === 202
    ? 'a 202 with a body to a notification'
    : `HTTP ${status} to a notification (202 with no body expected)`;
}

// ---------------------------------------------------------------------------------------------
// Protocol detection (`--protocol auto`): one decision, shared by the built-in engine and k6
// ---------------------------------------------------------------------------------------------

/** What a probe got back: an HTTP answer, or no answer at all (`error` says why). */
export type ProbeAnswer =
  | { status: number; contentType: string | undefined; text: string }
  | { error: string };

export type Detection =
  | { protocol: ProtocolVersion; reason: string }
  /** ask the server `initialize` (legacyInitialize) and decide again with its answer */
  | { next: 'initialize'; discover: string }
  | { protocol: null; reason: string };

/** The probes' requests: a 2026-07-28 server/discover, then (if needed) a 2025-11-25 initialize. */
const PROBE_CLIENT: ClientIdentity = { name: 'mcpbench', version: '0.1.0', agentId: 'probe' };
export const probeDiscover = (): WireRequest => modernRequest(1, PROBE_CLIENT, 'server/discover', {});
export const probeInitialize = (): WireRequest => legacyInitialize(1, PROBE_CLIENT);

function describeAnswer(method: string, a: ProbeAnswer, answer: RpcAnswer | null): string {
  if ('error' in a) return `${method} got no answer (${a.error})`;
  if (a.status < 200 || a.status >= 300) {
    const body = parseRpcBody(a.contentType, a.text, undefined);
    const message = (body?.error as { message?: unknown } | undefined)?.message;
    return `${method} answered HTTP ${a.status}${typeof message === 'string' ? ` (${excerpt(message)})` : ''}`;
  }
  if (!answer || answer.kind === 'invalid')
    return `${method} answered HTTP ${a.status} with ${answer?.kind === 'invalid' ? answer.reason : 'nothing readable'}`;
  if (answer.kind === 'error')
    return `${method} answered JSON-RPC error ${answer.error.code} (${excerpt(String(answer.error.message))})`;
  return `${method} answered ${excerpt(JSON.stringify(answer.result))}`;
}

/**
 * `--protocol auto`: a `server/discover` whose result lists 2026-07-28 in `supportedVersions` means
 * 2026-07-28; otherwise an `initialize` answered with `protocolVersion` 2025-11-25 means 2025-11-25;
 * otherwise the server speaks neither (the caller stops before any load, naming both answers).
 */
export function decideProtocol(discover: ProbeAnswer, initialize?: ProbeAnswer): Detection {
  const d =
    'error' in discover || discover.status < 200 || discover.status >= 300
      ? null
      : readRpcAnswer(discover.contentType, discover.text, 1);
  if (d?.kind === 'result') {
    const versions = d.result.supportedVersions;
    if (Array.isArray(versions) && versions.includes(MODERN))
      return {
        protocol: MODERN,
        reason: `server/discover answered with supportedVersions ${JSON.stringify(versions)}`,
      };
  }
  const discoverText =
    d?.kind === 'result'
      ? `server/discover answered supportedVersions ${JSON.stringify(d.result.supportedVersions ?? null)}, without ${MODERN}`
      : describeAnswer('server/discover', discover, d);
  if (!initialize) {
    // Nothing reached the server at all: asking it initialize would only fail the same way.
    if ('error' in discover) return { protocol: null, reason: `cannot reach the server: ${discover.error}` };
    return { next: 'initialize', discover: discoverText };
  }
  const i =
    'error' in initialize || initialize.status < 200 || initialize.status >= 300
      ? null
      : readRpcAnswer(initialize.contentType, initialize.text, 1);
  if (i?.kind === 'result') {
    const version = i.result.protocolVersion;
    if (version === LEGACY)
      return { protocol: LEGACY, reason: `initialize answered protocolVersion ${LEGACY} (${discoverText})` };
    return {
      protocol: null,
      reason: `it speaks neither ${MODERN} nor ${LEGACY}: ${discoverText}; initialize answered protocolVersion ${JSON.stringify(version ?? null)}`,
    };
  }
  return {
    protocol: null,
    reason: `it speaks neither ${MODERN} nor ${LEGACY}: ${discoverText}; ${describeAnswer('initialize', initialize, i)}`,
  };
}
