import type { IncomingHttpHeaders } from 'node:http';
import { Client, type Dispatcher } from 'undici';
import type { ErrorClass } from '../../rundir/raw-result.js';
import { BACKOFF_CLASSES, BackoffState } from '../models/backoff.ts';
import {
  type ClientIdentity,
  LEGACY,
  legacyDelete,
  legacyInitialize,
  legacyInitialized,
  legacyRequest,
  modernRequest,
  notificationProblem,
  type ProtocolVersion,
  parseRpcBody,
  REPLICA_HEADER,
  readRpcAnswer,
  type WireRequest,
} from '../models/protocol.ts';
import type { Recorder } from './recorder.js';

/**
 * One simulated MCP client: its own keep-alive connection (bound to its own loopback source address,
 * so ClientIP affinity and per-connection balancing see it as a distinct client), its protocol era's
 * life cycle, and the classification of everything that goes wrong.
 */

export interface RpcOutcome {
  ok: boolean;
  status: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
  /** set when the exchange failed and has already been counted as an error of this class */
  failure?: ErrorClass;
}

/**
 * Long operations are kept out of the request histograms (a legacy one holds its request for the whole
 * operation, an rc one returns a task at once): they are measured under their own key instead.
 */
const LONG_OPERATION = 'tools/call long_operation';

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

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
  private sessionId: string | undefined;
  private nextId = 1;
  private readonly path: string;
  private readonly origin: string;

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
    },
  ) {
    this.backoff = options.backoff ?? new BackoffState();
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
      connect: this.options.localAddress ? { localAddress: this.options.localAddress } : undefined,
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
  /**
   * Back-off after a failed exchange (100 ms doubling to 1 s; see scenarios/models/backoff.ts), as a
   * real client would, so an outage is not turned into a retry storm that inflates error counts.
   * The wait is recorded on its own (recorder.backoff, and this state's totals, which the agent
   * takes out of its turn time): it is never part of a request's or a turn's latency.
   */
  readonly backoff: BackoffState;

  /** Counts a failed exchange of class `kind` and, for the classes that call for it, backs off. */
  private async failed(
    kind: ErrorClass,
    cause: string,
    nowNs = process.hrtime.bigint(),
    backOff = BACKOFF_CLASSES.has(kind),
  ): Promise<void> {
    this.recorder.error(kind, nowNs, cause);
    if (!backOff) return;
    const delay = this.backoff.failed();
    const from = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, delay));
    const slept = Number(process.hrtime.bigint() - from) / 1e6;
    this.backoff.waited(slept);
    this.recorder.backedOff(slept);
  }

  /** The next exchange is measured from `ns` (an open-model arrival's due time): coordinated-omission correction. */
  dueAt(ns: bigint): void {
    this.pendingIntendedNs = ns;
  }

  get legacy(): boolean {
    return this.protocol === LEGACY;
  }

  get hasSession(): boolean {
    return this.sessionId !== undefined;
  }

  private get statefulSession(): boolean {
    return Boolean(this.sessionId);
  }

  /** Sends one wire request; records latency, replica and transport/HTTP failures. */
  async exchange(
    req: WireRequest,
    intendedNs?: bigint,
  ): Promise<
    | { status: number; headers: Record<string, string | string[] | undefined>; text: string }
    | { failure: ErrorClass }
  > {
    const due = intendedNs ?? this.pendingIntendedNs;
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
      const replica = res.headers[REPLICA_HEADER];
      this.recorder.request(
        req.rpcMethod,
        Number(end - start) / 1000,
        Number(end - (due ?? start)) / 1000,
        typeof replica === 'string' ? replica : null,
        end,
        sent,
        res.body.length,
      );
      return { status: res.status, headers: res.headers, text: res.body.toString('utf8') };
    } catch (err) {
      const end = process.hrtime.bigint();
      const code = (err as { code?: string }).code ?? '';
      const kind: ErrorClass = TIMEOUT_CODES.has(code) ? 'timeout' : 'transport';
      this.recorder.counts.requests++;
      this.recorder.counts.roundTrips++;
      // A failed connection is replaced, as a real client would reconnect.
      const old = this.client;
      this.client = this.newClient();
      old.destroy().catch(() => {});
      await this.failed(kind, code || (err as Error).name || 'error', end);
      return { failure: kind };
    }
  }

  /** Legacy: initialize + notifications/initialized. Modern: nothing (optionally server/discover). */
  async open(discover = false): Promise<boolean> {
    if (!this.legacy) {
      if (!discover) return true;
      return (await this.rpc('server/discover', {})).ok;
    }
    const id = this.nextId++;
    const init = await this.exchange(legacyInitialize(id, this.identity));
    if ('failure' in init) return false;
    const sid = init.headers['mcp-session-id'];
    if (init.status < 200 || init.status >= 300) {
      await this.failed('http_status', `HTTP ${init.status} to initialize`);
      return false;
    }
    const answer = readRpcAnswer(init.headers['content-type'] as string | undefined, init.text, id);
    if (answer.kind === 'invalid') {
      await this.failed('invalid_response', `initialize answered with ${answer.reason}`);
      return false;
    }
    if (answer.kind === 'error') {
      // Refused: the client cannot start, and trying again at once would be a retry storm.
      await this.failed(
        'jsonrpc',
        `initialize refused: JSON-RPC error ${answer.error.code}`,
        undefined,
        true,
      );
      return false;
    }
    if (answer.result.protocolVersion !== LEGACY) {
      await this.failed(
        'invalid_response',
        `initialize answered protocolVersion ${JSON.stringify(answer.result.protocolVersion ?? null)}, not ${LEGACY}`,
      );
      return false;
    }
    this.recorder.ok();
    // A stateless 2025 server answers without a session id: carry on without one.
    this.sessionId = typeof sid === 'string' ? sid : '';
    const done = await this.exchange(legacyInitialized(this.sessionId));
    if ('failure' in done) return false;
    if (done.status < 200 || done.status >= 300) {
      await this.failed('http_status', `HTTP ${done.status} to notifications/initialized`);
      return false;
    }
    const problem = notificationProblem(done.status, done.text);
    if (problem) {
      await this.failed('invalid_response', problem);
      return false;
    }
    this.recorder.ok();
    return true;
  }

  /**
   * One JSON-RPC request. On a legacy 404 for a held session the loss is counted once, the client
   * re-initialises (its cost is part of the result) and the request is reported failed.
   */
  async rpc(method: string, params: Record<string, unknown>, intendedNs?: bigint): Promise<RpcOutcome> {
    if (this.legacy && this.sessionId === undefined) {
      this.recorder.lifecycle.reinitialisations++;
      if (!(await this.open())) return { ok: false, status: 0, failure: 'session_lost' };
    }
    const id = this.nextId++;
    const req = this.legacy
      ? legacyRequest(id, this.sessionId as string, method, params)
      : modernRequest(id, this.identity, method, params, { tasks: this.options.tasks });
    if (method === 'tools/call' && params.name === 'long_operation') req.rpcMethod = LONG_OPERATION;
    const res = await this.exchange(req, intendedNs);
    if ('failure' in res) return { ok: false, status: 0, failure: res.failure };
    const now = process.hrtime.bigint();
    if (this.legacy && res.status === 404 && this.statefulSession) {
      this.recorder.error('session_lost', now, 'HTTP 404 on a held session');
      this.recorder.lifecycle.sessionsLost++;
      this.sessionId = undefined;
      return { ok: false, status: 404, failure: 'session_lost' };
    }
    if (res.status < 200 || res.status >= 300) {
      const body = parseRpcBody(res.headers['content-type'] as string | undefined, res.text, undefined);
      const error = body?.error as RpcOutcome['error'];
      await this.failed('http_status', `HTTP ${res.status}`, now);
      return { ok: false, status: res.status, error, failure: 'http_status' };
    }
    const answer = readRpcAnswer(res.headers['content-type'] as string | undefined, res.text, id);
    if (answer.kind === 'invalid') {
      await this.failed('invalid_response', answer.reason, now);
      return { ok: false, status: res.status, failure: 'invalid_response' };
    }
    this.backoff.succeeded();
    if (answer.kind === 'error') return { ok: false, status: res.status, error: answer.error };
    return { ok: true, status: res.status, result: answer.result };
  }

  /** Legacy: DELETE the session. Then close the connection. */
  async close(): Promise<void> {
    if (this.legacy && this.statefulSession && this.sessionId) {
      const res = await this.exchange(legacyDelete(this.sessionId));
      if (!('failure' in res)) {
        if ((res.status >= 200 && res.status < 300) || res.status === 404 || res.status === 405)
          this.recorder.ok();
        else await this.failed('http_status', `HTTP ${res.status} to DELETE`);
      }
      this.sessionId = undefined;
    }
    await this.client.close().catch(() => {});
  }

  destroy(): void {
    this.client.destroy().catch(() => {});
  }
}
