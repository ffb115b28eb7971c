import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `mcpbench load` against an MCP server we did not write: the stateless Streamable HTTP example
 * published inside @modelcontextprotocol/sdk (SSE responses, no session id, its own tools).
 */
const cli = fileURLToPath(new URL('../bin/mcpbench.js', import.meta.url));
const require = createRequire(import.meta.url);
const sdkServerDir = dirname(require.resolve('@modelcontextprotocol/sdk/server/index.js'));
const example = join(sdkServerDir, '..', 'examples', 'server', 'simpleStatelessStreamableHttp.js');

let server: ChildProcess;
/** not an MCP server: `200 {"hello":1}` to everything */
let hello: Server;
let helloUrl = '';
let helloRequests = 0;
beforeAll(async () => {
  hello = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      helloRequests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":1}');
    });
  });
  await new Promise<void>((r) => hello.listen(0, '127.0.0.1', () => r()));
  helloUrl = `http://127.0.0.1:${(hello.address() as AddressInfo).port}/mcp`;
  server = spawn(process.execPath, [example], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (let i = 0; i < 50; i++) {
    try {
      await fetch('http://127.0.0.1:3000/mcp', { method: 'GET' });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error('the SDK example server did not start on port 3000');
});
afterAll(() => {
  server.kill('SIGKILL');
  hello.closeAllConnections();
  hello.close();
});

const load = (args: string[]) =>
  promisify(execFile)(process.execPath, [cli, 'load', ...args]).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );

describe('mcpbench load', () => {
  it('drives a foreign server, auto-detects its protocol and reports per-method latency', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      cli,
      'load',
      '--url',
      'http://127.0.0.1:3000/mcp',
      '--tool',
      'start-notification-stream',
      '--arguments',
      '{"interval":1,"count":1}',
      '--agents',
      '2',
      '--duration',
      '2s',
      '--json',
    ]);
    const result = JSON.parse(stdout);
    expect(result.target.protocol).toBe('2025-11-25');
    expect(result.target.detectedBy).toMatch(
      /^initialize answered protocolVersion 2025-11-25 \(server\/discover answered /,
    );
    expect(result.counts.requests).toBeGreaterThan(0);
    expect(result.counts.errors).toBe(0);
    expect(Object.keys(result.histograms)).toContain('method:tools/call');
  }, 30_000);

  it('--protocol auto stops before any load, exit 2, when the server speaks neither protocol', async () => {
    helloRequests = 0;
    const r = await load(['--url', helloUrl, '--duration', '2s']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--protocol auto: .*speaks neither 2026-07-28 nor 2025-11-25: server\/discover answered HTTP 200 with not a JSON-RPC 2\.0 response/,
    );
    expect(r.stdout).toBe('');
    expect(helloRequests).toBe(2); // the two probes, no load
  }, 30_000);

  it('counts every answer of a non-MCP server as invalid_response, says why and exits 1', async () => {
    const r = await load([
      '--url',
      helloUrl,
      '--protocol',
      '2026-07-28',
      '--agents',
      '2',
      '--duration',
      '2s',
      '--json',
    ]);
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout);
    expect(result.counts.requests).toBeGreaterThan(0);
    expect(result.counts.ok).toBe(0);
    expect(result.errors.invalid_response).toBe(result.counts.requests);
    expect(result.counts.errors).toBe(result.counts.requests);
    // Backed off: 2 agents, 2 s, 100 ms doubling: a handful of attempts each, not thousands.
    expect(result.counts.requests).toBeLessThanOrEqual(16);
    expect(r.stderr).toMatch(/no request succeeded \(invalid_response \d+: not a JSON-RPC 2\.0 response/);
  }, 30_000);

  it('names the bad flag', async () => {
    const run = promisify(execFile)(process.execPath, [
      cli,
      'load',
      '--url',
      'http://127.0.0.1:3000/mcp',
      '--rate',
      '0',
    ]);
    await expect(run).rejects.toMatchObject({
      stderr: expect.stringContaining('--rate must be a positive number'),
    });
  });
});
