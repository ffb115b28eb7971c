import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * A real pod-kill run on the local cluster (real server processes, the built-in engine) with two
 * kills: every kill is its own event in the summary and the report, with the killed pod, and every
 * failed request the engine recorded is placed either before the first kill or in one kill's window.
 */
const cli = fileURLToPath(new URL('../bin/mcpbench.js', import.meta.url));

describe('repeated disruption events (local cluster)', () => {
  it('records per-event metrics for each of two pod kills', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mcpbench-events-'));
    const out = join(root, 'run');
    const config = join(root, 'run.yaml');
    await writeFile(
      config,
      'experiments: [pod-kill]\nvariants: [legacy-sticky]\noverrides:\n  pod-kill:\n    events: { count: 2, spacing: 3s }\n',
    );
    const stderr: string[] = [];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [cli, 'run', '--config', config, '--out', out], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
      child.stdout.resume();
      child.on('exit', (c) => resolve(c));
    });
    expect(code, stderr.join('')).toBe(0);
    const events = (await readFile(join(out, 'raw/pod-kill/legacy-sticky/trial-1/events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.filter((e) => e.kind === 'action-start' && e.detail.action === 'kill-pod')).toHaveLength(2);
    const engine = JSON.parse(
      await readFile(join(out, 'raw/pod-kill/legacy-sticky/trial-1/engine.json'), 'utf8'),
    );
    expect(engine.failures.records).toHaveLength(engine.counts.errors);

    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    const v = summary.variants[0];
    const kills = v.disruption.events.filter((e: { kind: string }) => e.kind === 'kill-pod');
    expect(kills.map((e: { label: string }) => e.label)).toEqual(['pod kill 1', 'pod kill 2']);
    for (const k of kills) {
      expect(k.pod).toMatch(/^legacy-sticky-/);
      expect(k.complete).toBe(true);
      expect(k.byClass).not.toBeNull();
    }
    // one trial, two values per per-event metric
    for (const m of ['failedPerEvent', 'sessionsLostPerEvent', 'tasksLostPerEvent', 'eventP99Us']) {
      expect(v.perEvent[m], m).toHaveLength(1);
      expect(v.perEvent[m][0], m).toHaveLength(2);
    }
    // every failure is placed: before the first kill or in exactly one event's window
    const placed =
      v.disruption.beforeFailed +
      v.disruption.events.reduce((s: number, e: { failed: number }) => s + e.failed, 0);
    expect(placed).toBe(engine.counts.errors);
    expect(v.disruption.perEventSummary.failedPerEvent.events).toBe(2);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toContain(`pod kill 2 (${kills[1].pod})`);
  }, 180_000);
});
