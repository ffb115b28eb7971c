import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * A generator pod hands its raw result back through its log (the Kubernetes API's pod log, which
 * the harness can read after the pod has ended, with no exec and no port opened on the pod). The
 * log may hold other lines (progress, warnings), and the API may cut a line at a size limit, so the
 * result travels framed: a header with its length and digest, the gzip'd JSON in base64 lines of at
 * most 4 KiB, and an end line. A frame that is cut, altered or incomplete is rejected, never half read.
 */
const BEGIN = 'MCPBENCH-RESULT-BEGIN';
const END = 'MCPBENCH-RESULT-END';
const LINE = 4096;

export function frameResult(value: unknown): string {
  const payload = gzipSync(Buffer.from(JSON.stringify(value))).toString('base64');
  const digest = createHash('sha256').update(payload).digest('hex');
  const lines = [`${BEGIN} ${payload.length} ${digest}`];
  for (let i = 0; i < payload.length; i += LINE) lines.push(payload.slice(i, i + LINE));
  lines.push(END);
  return `${lines.join('\n')}\n`;
}

/** The framed value in a log, or why there is none (no frame, cut short, digest mismatch, not JSON). */
export function unframeResult(log: string): { value: unknown } | { problem: string } {
  const lines = log.split('\n');
  const at = lines.findLastIndex((l) => l.startsWith(`${BEGIN} `));
  if (at < 0) return { problem: 'no result in the log (the generator ended before writing it)' };
  const [, lengthText, digest] = (lines[at] as string).trim().split(' ');
  const length = Number(lengthText);
  const body: string[] = [];
  let ended = false;
  for (const l of lines.slice(at + 1)) {
    if (l.trim() === END) {
      ended = true;
      break;
    }
    body.push(l.trim());
  }
  if (!ended) return { problem: 'the result in the log is cut short (no end line)' };
  const payload = body.join('');
  if (payload.length !== length)
    return { problem: `the result in the log has ${payload.length} characters, its header says ${length}` };
  if (createHash('sha256').update(payload).digest('hex') !== digest)
    return { problem: 'the result in the log does not match its digest' };
  try {
    return { value: JSON.parse(gunzipSync(Buffer.from(payload, 'base64')).toString('utf8')) };
  } catch (err) {
    return { problem: `the result in the log is not readable: ${(err as Error).message}` };
  }
}
