import { resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import * as hdr from 'hdr-histogram-js';
import type { EngineResult } from '../rundir/raw-result.js';
import { ProtocolDetectionError, startEngine } from '../scenarios/engine/engine.js';
import { SCENARIOS } from '../scenarios/models/scenarios.ts';
import { FileError, fileWriteProblem, writeOutputFile } from '../util/file-errors.js';
import { duration, text } from './flags.js';

function positive(flag: string, integer = true) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(
        `${flag} must be a positive ${integer ? 'integer' : 'number'}, got "${value}"`,
      );
    }
    return n;
  };
}

function jsonObject(value: string): Record<string, unknown> {
  try {
    const v = JSON.parse(value);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new InvalidArgumentError(`--arguments must be a JSON object, got ${value}`);
}

const fmtMs = (us: number) => (us / 1000).toFixed(2).padStart(9);

/** Per-method latency and the errors by class, as a plain-text table. */
function describeResult(r: EngineResult): string {
  const lines: string[] = [];
  lines.push(
    `${r.target.url} (${r.target.protocol}), scenario ${r.scenario}, ${(r.durationMs / 1000).toFixed(1)} s`,
  );
  if (r.target.detectedBy) lines.push(`protocol ${r.target.protocol} detected: ${r.target.detectedBy}`);
  lines.push(
    `${'method'.padEnd(28)} ${'count'.padStart(8)} ${'p50 ms'.padStart(9)} ${'p90 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'max ms'.padStart(9)}`,
  );
  for (const [key, encoded] of Object.entries(r.histograms).sort()) {
    if (!key.startsWith('method:') && key !== 'request' && key !== 'request:corrected' && key !== 'turn')
      continue;
    const h = hdr.decodeFromCompressedBase64(encoded);
    lines.push(
      `${key.replace(/^method:/, '').padEnd(28)} ${String(h.totalCount).padStart(8)} ${fmtMs(h.getValueAtPercentile(50))} ${fmtMs(h.getValueAtPercentile(90))} ${fmtMs(h.getValueAtPercentile(99))} ${fmtMs(h.maxValue)}`,
    );
    h.destroy();
  }
  const errors = Object.entries(r.errors).filter(([, n]) => (n ?? 0) > 0);
  lines.push(
    `requests ${r.counts.requests}, ${(r.counts.requests / (r.durationMs / 1000)).toFixed(0)}/s, errors ${r.counts.errors}` +
      (errors.length ? ` (${errors.map(([k, n]) => `${k} ${n}`).join(', ')})` : ''),
  );
  for (const [kind, causes] of Object.entries(r.errorCauses ?? {})) {
    const top = Object.entries(causes)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3);
    if (top.length) lines.push(`  ${kind}: ${top.map(([c, n]) => `${n}× ${c}`).join('; ')}`);
  }
  if (r.backoff?.count)
    lines.push(
      `clients backed off ${r.backoff.count} times, ${(r.backoff.totalMs / 1000).toFixed(1)} s in all (not in any latency)`,
    );
  const replicas = Object.entries(r.perReplica);
  if (replicas.length) lines.push(`replicas: ${replicas.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (r.engineFaults.notes.length) lines.push(`load generator: ${r.engineFaults.notes.join('; ')}`);
  return lines.join('\n');
}

/** The error classes with their most frequent cause, for a one-line reason. */
function failureSummary(r: EngineResult): string {
  const parts: string[] = [];
  for (const [kind, n] of Object.entries(r.errors)) {
    if (!n) continue;
    const causes = Object.entries(r.errorCauses?.[kind] ?? {}).sort((a, b) => b[1] - a[1]);
    parts.push(`${kind} ${n}${causes[0] ? `: ${causes[0][0]}` : ''}`);
  }
  return parts.join('; ') || 'no answer was counted as a success';
}

/** `mcpbench load`: drive any MCP server (ours or not) and print per-method latency and errors. */
export function registerLoadCommand(program: Command): void {
  program
    .command('load')
    .description('drive agent-like traffic at any MCP server (Streamable HTTP) and report latency and errors')
    .requiredOption('--url <url>', 'the MCP endpoint, e.g. http://127.0.0.1:8080/mcp', text('--url'))
    .addOption(
      new Option(
        '--protocol <version>',
        'protocol era; auto probes server/discover, then initialize, prints what it found, and exits 2 before any load when the server speaks neither',
      )
        .choices(['auto', '2025-11-25', '2026-07-28'])
        .default('auto'),
    )
    .addOption(
      new Option('--scenario <name>', 'workload model').choices(Object.keys(SCENARIOS)).default('calls'),
    )
    .option(
      '--rate <n>',
      'open model: arrivals per second (sessions, or requests with --scenario calls)',
      positive('--rate', false),
    )
    .option('--agents <n>', 'closed model: concurrent agents (default 10)', positive('--agents'))
    .addOption(
      new Option('--duration <d>', 'how long to drive load (30s, 2m, ...)')
        .argParser(duration('--duration'))
        .default(10_000, '10s'),
    )
    .option('--seed <n>', 'seed of the simulated agents', positive('--seed'), 1)
    .option(
      '--tool <name>',
      'tool the plain calls use (for servers whose tools are not ours)',
      text('--tool'),
    )
    .option('--arguments <json>', 'arguments of every plain call, as a JSON object', jsonObject)
    .option(
      '--source-addresses <n>',
      'spread clients over this many loopback source addresses (127.0.0.10...)',
      positive('--source-addresses'),
    )
    .option('--json', 'print the raw engine result (JSON) on stdout; no progress line')
    .option('--out <file>', 'also write the raw engine result to this file', text('--out'))
    .addHelpText(
      'after',
      `
An answer counts as a success only when it is the JSON-RPC response to its request (JSON or an event
stream; a notification: 202 with no body); a 2xx that is not is an invalid_response error.

Exit codes:
  0    the load ran (whatever its error rate)
  1    no request succeeded (the summary says why)
  2    usage or input error, or --protocol auto found that the server speaks neither protocol (before any load)
  130  interrupted (Ctrl-C)`,
    )
    .action(async (opts: Record<string, unknown>) => {
      if (opts.rate !== undefined && opts.agents !== undefined)
        program.error('mcpbench load: give --rate or --agents, not both', { exitCode: 2 });
      try {
        new URL(String(opts.url));
      } catch {
        program.error(`mcpbench load: --url "${opts.url}" is not a URL`, { exitCode: 2 });
      }
      // Checked before any load is driven, not after it.
      const outProblem = typeof opts.out === 'string' ? await fileWriteProblem(resolve(opts.out)) : null;
      if (outProblem) program.error(`mcpbench load: --out ${opts.out}: ${outProblem}`, { exitCode: 2 });
      const controller = new AbortController();
      const onSignal = () => controller.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const tty = process.stderr.isTTY && !opts.json;
      const scenarioParams: Record<string, unknown> = {};
      if (opts.tool) scenarioParams.tools = [opts.tool];
      if (opts.arguments) scenarioParams.fixedArguments = opts.arguments;
      try {
        const handle = await startEngine({
          url: String(opts.url),
          protocol: opts.protocol as 'auto',
          scenario: String(opts.scenario),
          scenarioParams,
          load:
            opts.rate !== undefined
              ? {
                  model: 'open',
                  rate: Number(opts.rate),
                  unit: opts.scenario === 'calls' ? 'requests' : 'sessions',
                }
              : { model: 'closed', agents: Number(opts.agents ?? 10) },
          durationMs: Number(opts.duration),
          seed: Number(opts.seed),
          sourceAddresses: opts.sourceAddresses as number | undefined,
          signal: controller.signal,
          onProgress: tty
            ? (p) =>
                process.stderr.write(
                  `\r\x1b[2K${(p.elapsedMs / 1000).toFixed(0)}s  ${p.requests} requests  ${p.errors} errors  ${p.ratePerSecond}/s  p50 ${(p.p50Us / 1000).toFixed(2)} ms  p99 ${(p.p99Us / 1000).toFixed(2)} ms`,
                )
            : undefined,
        });
        const result = await handle.result;
        if (tty) process.stderr.write('\r\x1b[2K');
        if (typeof opts.out === 'string')
          await writeOutputFile('--out', resolve(opts.out), JSON.stringify(result));
        if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else process.stdout.write(`${describeResult(result)}\n`);
        if (controller.signal.aborted) process.exitCode = 130;
        else if (result.counts.requests > 0 && result.counts.ok === 0) {
          // Nothing the server answered was a success: not a load figure, a server that is down or
          // does not speak MCP at --url.
          process.stderr.write(`mcpbench load: no request succeeded (${failureSummary(result)})\n`);
          process.exitCode = 1;
        }
      } catch (err) {
        // Found before any load ran: the server at --url speaks neither protocol (or is unreachable).
        if (err instanceof ProtocolDetectionError || err instanceof FileError)
          program.error(`mcpbench load: ${err.message}`, { exitCode: 2 });
        program.error(`mcpbench load: ${(err as Error).message}`, { exitCode: 1 });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
