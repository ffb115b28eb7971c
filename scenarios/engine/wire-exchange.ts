import { request } from 'undici';
import { REPLICA_HEADER, type WireRequest } from '../models/protocol.ts';

/**
 * One HTTP exchange of a probe or discovery request (not the load's hot path, which keeps its own
 * connection per client): the whole answer read, the session id the server gave (if any), and whether
 * the answer named the replica that served it. Transport errors are thrown.
 */
export async function exchange(url: string, req: WireRequest, timeoutMs: number) {
  const res = await request(url, {
    method: req.method,
    headers: req.headers,
    body: req.body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const text = await res.body.text();
  const sid = res.headers['mcp-session-id'];
  return {
    status: res.statusCode,
    contentType: res.headers['content-type'] as string | undefined,
    text,
    sessionId: typeof sid === 'string' && sid ? sid : undefined,
    replica: typeof res.headers[REPLICA_HEADER] === 'string',
  };
}
