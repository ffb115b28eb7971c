import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestFramer, type RequestHead } from './backend-tally.js';
import { ServiceProxy } from './service-proxy.js';

/** The local Service's own counts: HTTP requests framed out of a byte stream, per endpoint. */

function frame(bytes: Buffer, cut: number): RequestHead[] {
  const heads: RequestHead[] = [];
  const framer = new RequestFramer((h) => heads.push(h));
  for (let i = 0; i < bytes.length; i += cut) framer.push(bytes.subarray(i, i + cut));
  return heads;
}

const body = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
// A body that looks like a request line must not count as one.
const lookalike = 'GET /mcp HTTP/1.1\r\nHost: x\r\n\r\n';
const stream = Buffer.from(
  `POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
    `POST /mcp HTTP/1.1\r\nHost: a\r\nmcp-session-id: s-1\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `${lookalike.length.toString(16)};ext=1\r\n${lookalike}\r\n0\r\nX-Trailer: 1\r\n\r\n` +
    `DELETE /mcp HTTP/1.1\r\nHost: a\r\nMcp-Session-Id: s-1\r\n\r\n` +
    `POST /mcp HTTP/1.1\r\nHost: a\r\ncontent-length: ${lookalike.length}\r\n\r\n${lookalike}`,
);

describe('RequestFramer', () => {
  it('finds each request however the stream is cut, skipping bodies by length and by chunks', () => {
    for (const cut of [1, 3, 7, 64, stream.length]) {
      const heads = frame(stream, cut);
      expect(heads, `cut into ${cut}-byte pieces`).toEqual([
        { method: 'POST', sessionId: null },
        { method: 'POST', sessionId: 's-1' },
        { method: 'DELETE', sessionId: 's-1' },
        { method: 'POST', sessionId: null },
      ]);
    }
  });

  it('stops counting a stream that is not HTTP/1.1', () => {
    expect(frame(Buffer.from('\x16\x03\x01 not http\r\n\r\nPOST / HTTP/1.1\r\n\r\n'), 5)).toEqual([]);
  });
});

let servers: Server[] = [];
let proxy: ServiceProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

async function endpoint(): Promise<number> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

describe('ServiceProxy counts', () => {
  it('counts the connections, requests and sessions in use it sends each endpoint', async () => {
    proxy = new ServiceProxy({ affinity: 'none' });
    const port = await proxy.listen();
    proxy.setEndpoints([
      { name: 'a', port: await endpoint() },
      { name: 'b', port: await endpoint() },
    ]);
    expect(proxy.backendCount('a')).toEqual({ connections: 0, requests: 0, sessions: null });
    // one keep-alive connection (lands on a): length-framed, chunked (a stream body) and DELETE requests
    const kept = new Agent({ connections: 1 });
    const send = async (
      method: 'POST' | 'DELETE',
      sid?: string,
      chunked = false,
      dispatcher: Agent = kept,
    ) => {
      const res = await request(`http://127.0.0.1:${port}/mcp`, {
        method,
        dispatcher,
        headers: { 'content-type': 'application/json', ...(sid ? { 'mcp-session-id': sid } : {}) },
        ...(method === 'POST'
          ? { body: chunked ? Readable.from([body.slice(0, 9), body.slice(9)]) : body }
          : {}),
      });
      await res.body.text();
    };
    await send('POST');
    await send('POST', 's-1');
    await send('POST', 's-2', true);
    await send('POST', 's-1', true);
    await send('DELETE', 's-1');
    await kept.close();
    // a second connection goes to b
    const other = new Agent({ connections: 1 });
    await send('POST', 's-3', false, other);
    await send('POST', 's-3', false, other);
    await other.close();
    expect(proxy.backendCount('a')).toEqual({ connections: 1, requests: 5, sessions: 1 });
    expect(proxy.backendCount('b')).toEqual({ connections: 1, requests: 2, sessions: 1 });
  });
});
