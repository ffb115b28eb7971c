import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as hdr from 'hdr-histogram-js';
import type { ServerConfig } from './config.js';

/** Header every response carries, naming the replica that answered. */
const REPLICA_HEADER = 'x-mcpbench-replica';
/** The MCP endpoint path. */
const MCP_PATH = '/mcp';

/**
 * What a server plugs into the shell: a handler for the MCP endpoint that receives the already-read,
 * already-parsed JSON body (undefined for GET/DELETE), and an optional cleanup run on shutdown.
 */
export interface McpEndpoint {
  handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>;
  /** Whether the server's dependencies are usable (e.g. Redis connected); false makes /readyz answer 503. */
  ready?(): boolean;
  /** Live sessions this replica holds (a session-based server); absent: the server keeps none. */
  sessions?(): number;
  close?(): Promise<void>;
}

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
  /**
   * Graceful stop: not ready, keep serving for the shutdown delay, stop accepting, finish in-flight
   * (up to the grace period), close.
   */
  shutdown(): Promise<void>;
}

interface Metrics {
  startedAt: number;
  requests: number;
  inflight: number;
  byMethod: Map<string, number>;
  byStatus: Map<number, number>;
  handlerUs: hdr.Histogram;
}

function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } }));
}

/**
 * An allowed origin matches exactly, or, when it names no port (`http://localhost`), matches that
 * scheme and host on any port: browsers send the port (`http://localhost:3000`).
 */
function originAllowed(origin: string, allowed: readonly string[]): boolean {
  if (allowed.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return url.port !== '' && allowed.includes(`${url.protocol}//${url.hostname}`);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function methodsOf(body: unknown): string[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages.map((m) =>
    m && typeof m === 'object' && typeof (m as { method?: unknown }).method === 'string'
      ? (m as { method: string }).method
      : 'response',
  );
}

/**
 * Serves an MCP endpoint with what every deployable server needs: /healthz, /readyz, /metrics,
 * a replica header, body-size and Origin checks, JSON parsing, and graceful shutdown on SIGTERM.
 */
/**
 * MCPBENCH_SLOWDOWN: hold the response body back until the request has taken `factor` × its real
 * handling time. Writes are buffered and replayed after the delay (headers go out with the first
 * write, so the client sees nothing earlier); only POST answers are slowed, never a standing stream.
 */
function holdBackResponse(res: ServerResponse, started: bigint, factor: number): void {
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  const held: unknown[][] = [];
  res.write = ((...args: unknown[]) => {
    held.push(args);
    return true;
  }) as ServerResponse['write'];
  res.end = ((...args: unknown[]) => {
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    setTimeout(
      () => {
        for (const args of held) write(...args);
        end(...args);
      },
      elapsedMs * (factor - 1),
    );
    return res;
  }) as ServerResponse['end'];
}

export async function startHttpShell(
  config: ServerConfig,
  endpoint: McpEndpoint,
  options: { installSignalHandlers?: boolean; log?: (line: string) => void } = {},
): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const metrics: Metrics = {
    startedAt: Date.now(),
    requests: 0,
    inflight: 0,
    byMethod: new Map(),
    byStatus: new Map(),
    handlerUs: newHistogram(),
  };
  let draining = false;

  const server = createServer(async (req, res) => {
    res.setHeader(REPLICA_HEADER, config.replica);
    if (draining) res.setHeader('connection', 'close');
    const url = req.url ?? '/';
    const path = url.split('?')[0];
    if (path === '/healthz') return sendJson(res, 200, { ok: true, replica: config.replica });
    if (path === '/readyz') {
      const ok = !draining && (endpoint.ready?.() ?? true);
      return sendJson(res, ok ? 200 : 503, { ready: ok, draining, replica: config.replica });
    }
    if (path === '/metrics') {
      if (req.method === 'DELETE') {
        metrics.handlerUs.reset();
        return sendJson(res, 200, { reset: true });
      }
      return sendJson(res, 200, snapshot(metrics, config.replica, endpoint.sessions?.() ?? null));
    }
    if (path !== MCP_PATH) return sendJson(res, 404, { error: 'not found' });

    const origin = req.headers.origin;
    if (origin && !originAllowed(origin, config.allowedOrigins)) {
      return jsonRpcError(res, 403, -32000, `Forbidden: origin ${origin} is not allowed`);
    }

    metrics.requests++;
    metrics.inflight++;
    const started = process.hrtime.bigint();
    res.on('close', () => {
      metrics.inflight--;
      metrics.byStatus.set(res.statusCode, (metrics.byStatus.get(res.statusCode) ?? 0) + 1);
      const us = Number((process.hrtime.bigint() - started) / 1000n);
      metrics.handlerUs.recordValue(Math.max(1, Math.min(us, 60_000_000)));
    });

    if (config.slowdown > 1 && req.method === 'POST') holdBackResponse(res, started, config.slowdown);

    try {
      let body: unknown;
      if (req.method === 'POST') {
        let raw: Buffer;
        try {
          raw = await readBody(req, config.maxBodyBytes);
        } catch (err) {
          if (err instanceof BodyTooLarge) {
            res.setHeader('connection', 'close');
            return jsonRpcError(res, 413, -32600, `Request body exceeds ${config.maxBodyBytes} bytes`);
          }
          throw err;
        }
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return jsonRpcError(res, 400, -32700, 'Parse error: body is not valid JSON');
        }
        for (const m of methodsOf(body)) metrics.byMethod.set(m, (metrics.byMethod.get(m) ?? 0) + 1);
      }
      await endpoint.handle(req, res, body);
    } catch (err) {
      log(`[${config.replica}] request failed: ${(err as Error).stack ?? err}`);
      jsonRpcError(res, 500, -32603, 'Internal error');
    }
  });
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}${MCP_PATH}`;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () => {
    shuttingDown ??= (async () => {
      draining = true;
      if (config.shutdownDelayMs > 0) {
        // Unready first, still serving: clients that still reach this replica are answered (and told
        // to reconnect elsewhere) while the readiness probe takes it out of rotation.
        log(`[${config.replica}] unready; serving ${config.shutdownDelayMs} ms more before draining`);
        await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
      }
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), config.shutdownGraceMs).unref(),
      );
      const outcome = await Promise.race([closed.then(() => 'drained' as const), grace]);
      if (outcome === 'timeout') {
        log(
          `[${config.replica}] grace period over with ${metrics.inflight} request(s) in flight; closing them`,
        );
        server.closeAllConnections();
      }
      await endpoint.close?.();
    })();
    return shuttingDown;
  };

  if (options.installSignalHandlers) {
    const onSignal = (signal: string) => {
      log(`[${config.replica}] ${signal}: draining`);
      shutdown().then(
        () => process.exit(0),
        (err) => {
          log(`[${config.replica}] shutdown failed: ${err}`);
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  }

  return { url, port, server, shutdown };
}

/** What /metrics answers: counters, the handler-measured latency distribution, and process CPU / RSS. */
export interface ServerMetricsSnapshot {
  replica: string;
  pid: number;
  uptimeMs: number;
  requests: number;
  inflight: number;
  byMethod: Record<string, number>;
  byStatus: Record<string, number>;
  handlerLatencyUs: { count: number; p50: number; p90: number; p99: number; max: number };
  cpuUserUs: number;
  cpuSystemUs: number;
  rssBytes: number;
  /** live sessions held in this replica's memory; null for a server without sessions */
  sessions: number | null;
}

function snapshot(m: Metrics, replica: string, sessions: number | null): ServerMetricsSnapshot {
  const cpu = process.cpuUsage();
  return {
    replica,
    pid: process.pid,
    uptimeMs: Date.now() - m.startedAt,
    requests: m.requests,
    inflight: m.inflight,
    byMethod: Object.fromEntries(m.byMethod),
    byStatus: Object.fromEntries([...m.byStatus].map(([k, v]) => [String(k), v])),
    handlerLatencyUs: {
      count: m.handlerUs.totalCount,
      p50: m.handlerUs.getValueAtPercentile(50),
      p90: m.handlerUs.getValueAtPercentile(90),
      p99: m.handlerUs.getValueAtPercentile(99),
      max: m.handlerUs.maxValue,
    },
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    rssBytes: process.memoryUsage.rss(),
    sessions,
  };
}
