import { afterEach, describe, expect, it } from 'vitest';
import { variantSpec } from '../manifests.js';
import type { ClusterEvent, ClusterProvider } from '../provider.js';
import { createLocalProvider } from './provider.js';

/**
 * The local HPA reads CPU as metrics-server serves it: averaged over hpa.metricResolutionSeconds and
 * refreshed once per window, so with a 1 s sync and a 3 s window the controller sees each figure for
 * about three syncs in a row (a real server process under real load).
 */

let provider: ClusterProvider | undefined;
afterEach(async () => {
  await provider?.down();
  provider = undefined;
});

describe('local HPA metrics window', () => {
  it('changes the CPU figure the controller sees only once per metric window', async () => {
    provider = createLocalProvider();
    const events: ClusterEvent[] = [];
    provider.onEvent((e) => events.push(e));
    const handles = await provider.up([
      variantSpec('rc', {
        replicas: 1,
        env: { MCPBENCH_TOOL_CPU_MS: '5' },
        cpuRequestMillicores: 100,
        hpa: {
          minReplicas: 1,
          maxReplicas: 1,
          syncPeriodSeconds: 1,
          cpuInitializationSeconds: 0,
          metricResolutionSeconds: 3,
        },
      }),
    ]);
    const { runEngine } = await import('../../scenarios/engine/engine.js');
    await runEngine({
      url: handles.get('rc')!.url,
      protocol: '2026-07-28',
      scenario: 'calls',
      load: { model: 'closed', agents: 2 },
      durationMs: 10_000,
    });
    const seen = events
      .filter((e) => e.kind === 'hpa-decision' && e.detail.utilisation !== null)
      .map((e) => Number(e.detail.utilisation));
    expect(seen.length).toBeGreaterThanOrEqual(6);
    const changes = seen.slice(1).filter((u, i) => u !== seen[i]).length;
    // ~10 syncs over ~3-4 windows: at most one change per window (a 1 s window would change nearly every sync)
    expect(changes).toBeGreaterThanOrEqual(1);
    expect(changes).toBeLessThanOrEqual(Math.ceil(seen.length / 3) + 1);
  });
});
