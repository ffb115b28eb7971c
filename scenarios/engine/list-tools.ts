import {
  type ClientIdentity,
  LEGACY,
  legacyDelete,
  legacyInitialize,
  legacyInitialized,
  legacyRequest,
  modernRequest,
  type ProtocolVersion,
  readRpcAnswer,
  type WireRequest,
} from '../models/protocol.ts';
import { exchange as send } from './wire-exchange.js';

/**
 * What a server offers, asked of the server itself before load: its tools (tools/list, every page),
 * the `ttlMs` / `cacheScope` of the list result (2026-07-28), and, on 2026-07-28, whether
 * server/discover names the Tasks extension. A 2025-11-25 session opened for it is closed again.
 */
export interface ServerOffer {
  tools: Array<{ name: string; inputSchema?: unknown }>;
  /** the first page's ttlMs; null when absent */
  ttlMs: number | null;
  cacheScope: string | null;
  /** whether the answers name the replica that served them (x-mcpbench-replica), for per-replica load spread */
  replicaHeader: boolean;
  /** whether the server says it offers tasks (2026-07-28: the tasks extension; 2025-11-25: a `tasks` capability) */
  tasks: boolean;
}

const CLIENT: ClientIdentity = { name: 'mcpbench-discovery', version: '0.1.0', agentId: 'discovery' };
const MAX_PAGES = 50;

async function call(
  url: string,
  req: WireRequest,
  timeoutMs: number,
  seen?: { replica: boolean },
): Promise<Record<string, unknown>> {
  const res = await send(url, req, timeoutMs);
  if (seen && res.replica) seen.replica = true;
  if (res.status < 200 || res.status >= 300) throw new Error(`${req.rpcMethod}: HTTP ${res.status}`);
  const answer = readRpcAnswer(res.contentType, res.text, req.id ?? 0);
  if (answer.kind === 'invalid') throw new Error(`${req.rpcMethod}: ${answer.reason}`);
  if (answer.kind === 'error')
    throw new Error(`${req.rpcMethod}: JSON-RPC error ${answer.error.code} ${answer.error.message}`);
  return answer.result;
}

export async function discoverServer(
  url: string,
  protocol: ProtocolVersion,
  timeoutMs = 10_000,
): Promise<ServerOffer> {
  let id = 1;
  let sessionId = '';
  let tasks = false;
  if (protocol === LEGACY) {
    const init = legacyInitialize(id++, CLIENT);
    const res = await send(url, init, timeoutMs);
    const answer = readRpcAnswer(res.contentType, res.text, init.id ?? 0);
    if (res.status !== 200 || answer.kind !== 'result')
      throw new Error(
        `initialize: HTTP ${res.status}${answer.kind === 'invalid' ? `, ${answer.reason}` : ''}`,
      );
    tasks = Boolean((answer.result.capabilities as Record<string, unknown> | undefined)?.tasks);
    sessionId = res.sessionId ?? '';
    await send(url, legacyInitialized(sessionId), timeoutMs);
  } else {
    try {
      const d = await call(url, modernRequest(id++, CLIENT, 'server/discover', {}), timeoutMs);
      tasks = JSON.stringify(d).includes('io.modelcontextprotocol/tasks');
    } catch {
      tasks = false;
    }
  }
  const ask = (params: Record<string, unknown>) =>
    protocol === LEGACY
      ? legacyRequest(id++, sessionId, 'tools/list', params)
      : modernRequest(id++, CLIENT, 'tools/list', params);
  try {
    const tools: ServerOffer['tools'] = [];
    let cursor: unknown;
    let ttlMs: number | null = null;
    let cacheScope: string | null = null;
    const seen = { replica: false };
    for (let page = 0; page < MAX_PAGES; page++) {
      const r = await call(url, ask(cursor === undefined ? {} : { cursor }), timeoutMs, seen);
      if (page === 0) {
        ttlMs = typeof r.ttlMs === 'number' ? r.ttlMs : null;
        cacheScope = typeof r.cacheScope === 'string' ? r.cacheScope : null;
      }
      for (const t of (r.tools as Array<{ name?: unknown; inputSchema?: unknown }> | undefined) ?? [])
        if (typeof t.name === 'string') tools.push({ name: t.name, inputSchema: t.inputSchema });
      cursor = r.nextCursor;
      if (cursor === undefined || cursor === null) break;
    }
    return { tools, ttlMs, cacheScope, tasks, replicaHeader: seen.replica };
  } finally {
    if (sessionId) await send(url, legacyDelete(sessionId), timeoutMs).catch(() => undefined);
  }
}
