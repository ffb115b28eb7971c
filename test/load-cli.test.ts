import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
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
beforeAll(async () => {
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
});

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
    expect(result.counts.requests).toBeGreaterThan(0);
    expect(result.errors.transport + result.errors.http_status + result.errors.jsonrpc).toBe(0);
    expect(Object.keys(result.histograms)).toContain('method:tools/call');
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
