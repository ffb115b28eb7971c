import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

/**
 * The cheapest possible MCP `tools/call` endpoint: node:http answering every POST with a canned
 * 2026-07-28 tool result (the request's JSON-RPC id echoed), so a load generator bench measures the
 * generator, not the server. Prints `listening <port>` on stdout once it accepts connections.
 *
 *   node dist/bench/trivial-server.js [--port 0]
 */

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } }, strict: true });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  throw new Error(`--port must be a port number, got "${values.port}"`);
}

const RESULT = JSON.stringify({
  content: [{ type: 'text', text: 'ok' }],
  structuredContent: { kind: 'Deployment', name: 'app', ready: true },
  isError: false,
});
const ID = /"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)/;

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(req.url === '/healthz' ? 200 : 405).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const id = ID.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? 'null';
    const body = `{"jsonrpc":"2.0","id":${id},"result":${RESULT}}`;
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-mcpbench-replica': 'trivial',
    });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
