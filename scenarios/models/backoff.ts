/**
 * The client's back-off, shared by both engines so they decide alike. A client backs off after
 * every failed exchange — no answer (transport, timeout), an HTTP status that is not success, or an
 * answer it cannot read as the JSON-RPC response — waiting 100 ms, doubling each time up to 1 s, and
 * only a successful request resets it: a JSON-RPC request of the agent's answered with its response.
 * A session's handshake (initialize, notifications/initialized) or its DELETE succeeding does not:
 * a server that opens sessions but fails every request would otherwise keep the client at 100 ms. A JSON-RPC error (or a tool result marked as an error) is a
 * successful exchange: the server understood the request and answered it, so a real client hands
 * the error to its caller instead of waiting. A lost legacy session is not backed off either: the
 * client re-initialises at once (as SDK clients do), and that initialize is itself an exchange that
 * backs off if it fails. The state belongs to the caller (one agent), not to one of its sessions,
 * so a new session does not start the delay from 100 ms again.
 */

const BACKOFF_INITIAL_MS = 100;
export const BACKOFF_MAX_MS = 1_000;

/** The error classes a client backs off after (the others are answers the server meant to give). */
export const BACKOFF_CLASSES: ReadonlySet<string> = new Set([
  'transport',
  'timeout',
  'http_status',
  'invalid_response',
]);

export class BackoffState {
  /** the delay the next failure waits; 0 after a success */
  private currentMs = 0;
  /** how many times and how long (ms) this client waited: reported apart from every latency */
  count = 0;
  totalMs = 0;

  /** A failed exchange: the delay to wait now (100, 200, 400, 800, 1000, 1000, ... ms). */
  failed(): number {
    this.currentMs = this.currentMs === 0 ? BACKOFF_INITIAL_MS : Math.min(BACKOFF_MAX_MS, this.currentMs * 2);
    return this.currentMs;
  }

  /** A successful exchange: the next failure waits 100 ms again. */
  succeeded(): void {
    this.currentMs = 0;
  }

  /** Books a wait that was actually slept (the engines measure it themselves). */
  waited(ms: number): void {
    this.count++;
    this.totalMs += ms;
  }
}
