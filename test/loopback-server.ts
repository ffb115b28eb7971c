import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in HTTP server on 127.0.0.1 for tests about a client: each request's whole body is read
 * before `onRequest` sees it. The URL ends in /mcp.
 */
export async function startLoopbackServer(
  onRequest: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => onRequest(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp` };
}

/** Answers a JSON-RPC request (whatever its method) with a one-text-item result under its own id. */
export function answerOk(body: string, res: ServerResponse): void {
  let id: unknown = null;
  try {
    id = JSON.parse(body).id ?? null;
  } catch {}
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'ok' }] } }));
}
