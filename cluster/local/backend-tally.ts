/**
 * What a local Service saw go to each of its endpoints: connections, HTTP requests, and the MCP
 * sessions (Mcp-Session-Id) in use there. It is the load spread of a server that names no replica in
 * its answers (only our servers send x-mcpbench-replica), and the live sessions of a session-based
 * server that keeps no count of its own: a kube-proxy does not count, but the local substitute can, and
 * it is the one place every request passes.
 */

export interface BackendCount {
  /** TCP connections the Service opened to this endpoint */
  connections: number;
  /** HTTP requests that went to this endpoint (counted as each request's head arrives) */
  requests: number;
  /**
   * sessions in use on this endpoint: Mcp-Session-Id values its requests carried and no DELETE has
   * ended; null until any request through this Service carried one (a stateless server has none)
   */
  sessions: number | null;
}

export class BackendTally {
  private readonly counts = new Map<
    string,
    { connections: number; requests: number; sessions: Set<string> }
  >();
  private sawSession = false;

  private of(endpoint: string) {
    let c = this.counts.get(endpoint);
    if (!c) {
      c = { connections: 0, requests: 0, sessions: new Set() };
      this.counts.set(endpoint, c);
    }
    return c;
  }

  connection(endpoint: string): void {
    this.of(endpoint).connections++;
  }

  request(endpoint: string, head: RequestHead): void {
    const c = this.of(endpoint);
    c.requests++;
    if (!head.sessionId) return;
    this.sawSession = true;
    if (head.method === 'DELETE') c.sessions.delete(head.sessionId);
    else c.sessions.add(head.sessionId);
  }

  /** One endpoint's figures so far (zeros for one that got nothing). */
  get(endpoint: string): BackendCount {
    const c = this.counts.get(endpoint);
    return {
      connections: c?.connections ?? 0,
      requests: c?.requests ?? 0,
      sessions: this.sawSession ? (c?.sessions.size ?? 0) : null,
    };
  }
}

export interface RequestHead {
  method: string;
  sessionId: string | null;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * Finds the HTTP/1.1 requests in one connection's client-to-server byte stream, however it is cut into
 * chunks: each request's head (request line and headers), then its body by Content-Length or chunked
 * transfer coding, skipped. Calls `onRequest` once per request head. A stream that stops being HTTP/1.1
 * (an upgrade, or bytes it cannot frame) is no longer counted.
 */
export class RequestFramer {
  private buf: Buffer = Buffer.alloc(0);
  /** body bytes still to skip (Content-Length, or the current chunk's data and its CRLF) */
  private skip = 0;
  private state: 'head' | 'body' | 'chunk-size' | 'trailer' | 'off' = 'head';

  constructor(private readonly onRequest: (head: RequestHead) => void) {}

  push(chunk: Buffer): void {
    if (this.state === 'off') return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.state === 'body') {
        const n = Math.min(this.skip, this.buf.length);
        this.buf = this.buf.subarray(n);
        this.skip -= n;
        if (this.skip > 0) return;
        this.state = this.afterBody;
        continue;
      }
      if (this.state === 'head') {
        const end = this.buf.indexOf(CRLF2);
        if (end < 0) {
          this.guard();
          return;
        }
        const head = this.buf.subarray(0, end).toString('latin1');
        this.buf = this.buf.subarray(end + 4);
        // blank lines between requests are allowed (RFC 9112 §2.2)
        const lines = head.replace(/^(\r\n)+/, '').split('\r\n');
        const method = /^([A-Z]+) \S+ HTTP\/1\.[01]$/.exec(lines[0] ?? '')?.[1];
        if (!method) {
          this.stop();
          return;
        }
        const headers = new Map<string, string>();
        for (const line of lines.slice(1)) {
          const i = line.indexOf(':');
          if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
        }
        this.onRequest({ method, sessionId: headers.get('mcp-session-id') || null });
        if (
          headers.get('upgrade') !== undefined &&
          headers.get('connection')?.toLowerCase().includes('upgrade')
        ) {
          this.stop();
          return;
        }
        if (/\bchunked\b/i.test(headers.get('transfer-encoding') ?? '')) this.state = 'chunk-size';
        else {
          const length = Number(headers.get('content-length') ?? 0);
          if (!Number.isSafeInteger(length) || length < 0) {
            this.stop();
            return;
          }
          this.skip = length;
          this.afterBody = 'head';
          this.state = length > 0 ? 'body' : 'head';
        }
        continue;
      }
      if (this.state === 'chunk-size') {
        const end = this.buf.indexOf(CRLF);
        if (end < 0) {
          this.guard();
          return;
        }
        const size = Number.parseInt(this.buf.subarray(0, end).toString('latin1').split(';')[0] ?? '', 16);
        this.buf = this.buf.subarray(end + 2);
        if (!Number.isSafeInteger(size) || size < 0) {
          this.stop();
          return;
        }
        if (size === 0) this.state = 'trailer';
        else {
          this.skip = size + 2; // the data and its CRLF
          this.afterBody = 'chunk-size';
          this.state = 'body';
        }
        continue;
      }
      // trailer: header lines until an empty one
      const end = this.buf.indexOf(CRLF);
      if (end < 0) {
        this.guard();
        return;
      }
      const empty = end === 0;
      this.buf = this.buf.subarray(end + 2);
      if (empty) this.state = 'head';
    }
  }

  private afterBody: 'head' | 'chunk-size' = 'head';

  /** A head that never ends (64 KiB without one) is not HTTP this framer can count. */
  private guard(): void {
    if (this.buf.length > 65_536) this.stop();
  }

  private stop(): void {
    this.state = 'off';
    this.buf = Buffer.alloc(0);
  }
}
