import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import * as hdr from 'hdr-histogram-js';
import { benchToolCall } from './tool-call.js';

/**
 * The floor of the measurement-overhead figure, not a load generator: one socket, the request
 * serialised once (the bytes the engine sends, plus host and content-length), written with a single
 * write, and the clock stopped as soon as the whole response is in (content-length or the last
 * chunk). Whatever a client measures above the server's handler time, this shows how much of it is
 * loopback TCP and the server's HTTP layer outside its own timer rather than the client.
 */

export interface FloorResult {
  requests: number;
  p50Us: number;
}

function requestBytes(url: URL): Buffer {
  const req = benchToolCall(1, 'floor');
  const body = req.body ?? '';
  const head = Object.entries(req.headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return Buffer.from(
    `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\n${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** True once `buf` holds a whole HTTP/1.1 response (content-length or chunked). */
function complete(buf: string): boolean {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(buf.slice(0, end));
  if (length) return buf.length >= end + 4 + Number(length[1]);
  return buf.endsWith('\r\n0\r\n\r\n');
}

/** Holds the thread for `us` microseconds (timers cannot wait less than a millisecond). */
function spin(us: number): void {
  const until = process.hrtime.bigint() + BigInt(Math.round(us * 1_000));
  while (process.hrtime.bigint() < until);
}

/**
 * `rate` requests/s paced by timers (open), or back to back when rate is 0 (closed, one client),
 * optionally pausing `pauseUs` before each request: as long as a real client's own work between two
 * requests, which lets the server go idle in between.
 */
export async function measureFloor(
  target: string,
  rate: number,
  seconds: number,
  pauseUs = 0,
): Promise<FloorResult> {
  const url = new URL(target);
  const bytes = requestBytes(url);
  const socket = connect(Number(url.port), url.hostname);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve).once('error', reject);
  });
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000 });
  let buf = '';
  let startNs = 0n;
  let done: (() => void) | undefined;
  let failure: Error | undefined;
  socket.on('data', (chunk: Buffer) => {
    buf += chunk.toString('latin1');
    if (!complete(buf)) return;
    histogram.recordValue(Math.max(1, Math.round(Number(process.hrtime.bigint() - startNs) / 1000)));
    if (!buf.startsWith('HTTP/1.1 200')) failure = new Error(`floor: server answered ${buf.slice(0, 15)}`);
    buf = '';
    done?.();
  });
  socket.setTimeout(10_000, () => socket.destroy(new Error('floor: no answer within 10 s')));
  socket.on('error', (err) => {
    failure = err;
    done?.();
  });
  try {
    const startMs = performance.now();
    let next = startMs;
    while (performance.now() - startMs < seconds * 1_000 && !failure) {
      if (rate > 0) {
        next += 1_000 / rate;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
      }
      if (pauseUs > 0) spin(pauseUs);
      const answered = new Promise<void>((resolve) => {
        done = resolve;
      });
      startNs = process.hrtime.bigint();
      socket.write(bytes);
      await answered;
    }
    if (failure) throw failure;
    return { requests: histogram.totalCount, p50Us: histogram.getValueAtPercentile(50) };
  } finally {
    socket.destroy();
  }
}
