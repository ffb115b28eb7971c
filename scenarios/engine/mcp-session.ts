import type { IncomingHttpHeaders } from 'node:http';
import { Client, type Dispatcher } from 'undici';
import {
  type AgentEvent,
  type AgentSink,
  ClientCore,
  type NoAnswer,
  type RpcOutcome,
  runAsync,
  type Step,
  type WireAnswer,
} from '../models/agent-core.ts';
import type { BackoffState } from '../models/backoff.ts';
import {
  type ClientIdentity,
  LEGACY,
  type ProtocolVersion,
  REPLICA_HEADER,
  type WireRequest,
} from '../models/protocol.ts';
import type { Recorder } from './recorder.js';

/**
 * One simulated MCP client's I/O: its own keep-alive connection (bound to its own loopback source
 * address, so ClientIP affinity and per-connection balancing see it as a distinct client), the clock
 * of every exchange, and its waits. What the client decides (the protocol era's life cycle, how each
 * answer is judged, back-off) is the shared agent core (scenarios/models/agent-core.ts).
 */

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** The agent core's outcomes, into the engine's recorder. */
export function recorderSink(recorder: Recorder): AgentSink {
  const lifecycle = recorder.lifecycle;
  return {
    ok: () => recorder.ok(),
    error: (kind, cause) => recorder.error(kind, process.hrtime.bigint(), cause),
    event: (name: AgentEvent) => {
      if (name === 'sessions') recorder.counts.sessions++;
      else lifecycle[name]++;
    },
    backedOff: (ms) => recorder.backedOff(ms),
    turn: (ms) => recorder.turn(ms * 1000, process.hrtime.bigint()),
    now: () => performance.now(),
  };
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** when undici began writing the request on an already open connection (unset: a new connection) */
  startNs: bigint | undefined;
  /** when the last byte was parsed, before any promise machinery of the engine runs */
  endNs: bigint;
}

/**
 * Collects one response through undici's dispatch handler API: the body arrives as the socket's
 * buffers, with no body stream and no per-chunk promise in between (this is the engine's hot path,
 * measured by `npm run bench:engine`). The clock stops when the last byte is parsed and, on a
 * connection that was already open, starts when undici begins writing the request: the client's own
 * preparation (building and validating the request) is not the server's latency. On a new connection
 * the caller's clock, started before the connect, is kept, so connecting is part of that request.
 */
class ResponseCollector implements Dispatcher.DispatchHandler {
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private chunks: Buffer[] = [];
  private startNs: bigint | undefined;

  constructor(
    private readonly resolve: (r: RawResponse) => void,
    private readonly reject: (err: Error) => void,
    private readonly onOpenConnection: boolean,
  ) {}

  onRequestStart(): void {
    if (this.onOpenConnection) this.startNs = process.hrtime.bigint();
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    const endNs = process.hrtime.bigint();
    const body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.resolve({ status: this.status, headers: this.headers, body, startNs: this.startNs, endNs });
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.reject(err);
  }
}

export class McpSession {
  private client: Client;
  private readonly path: string;
  private readonly origin: string;
  /** the protocol state and decisions of this client */
  readonly core: ClientCore;

  constructor(
    url: string,
    readonly protocol: ProtocolVersion,
    readonly identity: ClientIdentity,
    private readonly recorder: Recorder,
    private readonly options: {
      timeoutMs: number;
      localAddress?: string;
      tasks: boolean;
      /** the agent's back-off, kept across its sessions (a new one when omitted) */
      backoff?: BackoffState;
      /** where outcomes go (recorderSink(recorder) when omitted) */
      sink?: AgentSink;
    },
  ) {
    this.core = new ClientCore(
      protocol,
      identity,
      options.sink ?? recorderSink(recorder),
      options.tasks,
      options.backoff,
    );
    const u = new URL(url);
    this.origin = u.origin;
    this.path = `${u.pathname}${u.search}`;
    this.client = this.newClient();
  }

  /** whether this.client holds an open connection (a request on it need not connect first) */
  private connected = false;

  private newClient(): Client {
    const client = new Client(this.origin, {
      pipelining: 1,
      headersTimeout: this.options.timeoutMs,
      bodyTimeout: this.options.timeoutMs,
      connectTimeout: this.options.timeoutMs,
      keepAliveTimeout: 30_000,
      // undici binds the source address from this option; inside `connect` it is silently ignored
      ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}),
    });
    this.connected = false;
    client.on('connect', () => {
      if (client === this.client) this.connected = true;
    });
    client.on('disconnect', () => {
      if (client === this.client) this.connected = false;
    });
    return client;
  }

  private pendingIntendedNs: bigint | undefined;

  get backoff(): BackoffState {
    return this.core.backoff;
  }

  /** The next exchange is measured from `ns` (an open-model arrival's due time): coordinated-omission correction. */
  dueAt(ns: bigint): void {
    this.pendingIntendedNs = ns;
  }

  get legacy(): boolean {
    return this.protocol === LEGACY;
  }

  get hasSession(): boolean {
    return this.core.hasSession;
  }

  /** Runs a step of the agent core on this client's connection. */
  run<T>(step: Step<T>): Promise<T> {
    return runAsync(step, this);
  }

  /** Sends one wire request; records latency, bytes and replica, or a request that got no answer. */
  async exchange(req: WireRequest): Promise<WireAnswer | NoAnswer> {
    const due = this.pendingIntendedNs;
    this.pendingIntendedNs = undefined;
    const sent = req.body ? Buffer.byteLength(req.body) : 0;
    const dispatchedNs = process.hrtime.bigint();
    try {
      const res = await new Promise<RawResponse>((resolve, reject) => {
        this.client.dispatch(
          { path: this.path, method: req.method, headers: req.headers, body: req.body },
          new ResponseCollector(resolve, reject, this.connected),
        );
      });
      const start = res.startNs ?? dispatchedNs;
      const end = res.endNs;
      const { headers } = res;
      const replica = headers[REPLICA_HEADER];
      this.recorder.request(
        req.rpcMethod,
        Number(end - start) / 1000,
        Number(end - (due ?? start)) / 1000,
        typeof replica === 'string' ? replica : null,
        end,
        sent,
        res.body.length,
      );
      const contentType = headers['content-type'];
      const sid = headers['mcp-session-id'];
      return {
        status: res.status,
        contentType: typeof contentType === 'string' ? contentType : undefined,
        text: res.body.toString('utf8'),
        sessionId: typeof sid === 'string' ? sid : undefined,
      };
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      this.recorder.counts.requests++;
      this.recorder.counts.roundTrips++;
      // A failed connection is replaced, as a real client would reconnect.
      const old = this.client;
      this.client = this.newClient();
      old.destroy().catch(() => {});
      return {
        failure: TIMEOUT_CODES.has(code) ? 'timeout' : 'transport',
        cause: code || (err as Error).name || 'error',
      };
    }
  }

  /** Waits `ms`; resolves with the ms actually waited. */
  async wait(ms: number): Promise<number> {
    const from = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, ms));
    return Number(process.hrtime.bigint() - from) / 1e6;
  }

  /** Legacy: initialize + notifications/initialized. Modern: nothing (optionally server/discover). */
  open(discover = false): Promise<boolean> {
    return this.run(this.core.open(discover));
  }

  /** One JSON-RPC request; the caller classifies the outcome unless `failure` is set. */
  rpc(method: string, params: Record<string, unknown>): Promise<RpcOutcome> {
    return this.run(this.core.rpc(method, params));
  }

  /** Legacy: DELETE the session. Then close the connection. */
  async close(): Promise<void> {
    await this.run(this.core.close());
    await this.client.close().catch(() => {});
  }

  destroy(): void {
    this.client.destroy().catch(() => {});
  }
}
