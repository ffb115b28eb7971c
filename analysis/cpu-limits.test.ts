import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUN_FILES, trialDir } from '../rundir/layout.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { writeRun } from './fixtures.js';
import { analyseRun } from './index.js';

/** The report says whether "one pod" was held to its CPU limit, read from the trials' cpu-limits events. */

const event = (detail: Record<string, unknown>) =>
  `${JSON.stringify({ tMs: -500, atMs: 1, source: 'cluster', kind: 'cpu-limits', variant: 'rc', detail })}\n`;

async function runWith(details: Array<Record<string, unknown> | null>): Promise<string> {
  const trials = details.map((_, i) => ({
    experimentId: 'hpa',
    variant: i === 0 ? 'rc' : 'legacy-sticky',
    trial: 1,
    samples: [1000, 2000, 3000],
  }));
  const dir = await writeRun(trials);
  for (const [i, d] of details.entries()) {
    if (d)
      await writeFileAtomic(join(trialDir(dir, 'hpa', trials[i]!.variant, 1), RUN_FILES.events), event(d));
  }
  return dir;
}

describe('per-pod CPU limits in the report', () => {
  it('says they were enforced, how, and at which limit', async () => {
    const dir = await runWith([
      { enforced: true, cpuLimitMillicores: 1000, mechanism: 'cgroup-v1' },
      { enforced: true, cpuLimitMillicores: 1000, mechanism: 'cgroup-v1' },
    ]);
    const { summary, reportMdPath, reportHtmlPath } = await analyseRun(dir);
    expect(summary.cpuLimits).toMatchObject({
      recorded: true,
      enforced: ['hpa × legacy-sticky', 'hpa × rc'],
      notEnforced: [],
      mechanisms: ['cgroup-v1'],
      limitsMillicores: [1000],
    });
    expect(await readFile(reportMdPath, 'utf8')).toContain(
      'Per-pod CPU limits: enforced (1000m per pod; a CFS quota per replica, cgroup v1)',
    );
    expect(await readFile(reportHtmlPath, 'utf8')).toContain('per-pod CPU limits enforced (1000m per pod');
  });

  it('says so, with the reason, when they were not', async () => {
    const dir = await runWith([
      {
        enforced: false,
        cpuLimitMillicores: 500,
        mechanism: 'none',
        reason: 'cannot create a cgroup under /sys/fs/cgroup/cpu (EACCES)',
      },
      { enforced: true, cpuLimitMillicores: 500, mechanism: 'cgroup-v1' },
    ]);
    const md = await readFile((await analyseRun(dir)).reportMdPath, 'utf8');
    expect(md).toMatch(
      /Per-pod CPU limits: enforced for 1 of 2 deployments .*not for hpa × rc \(cannot create a cgroup/,
    );
    const none = await runWith([
      { enforced: false, cpuLimitMillicores: 500, mechanism: 'none', reason: 'no cgroup cpu controller' },
    ]);
    expect(await readFile((await analyseRun(none)).reportMdPath, 'utf8')).toContain(
      'Per-pod CPU limits: NOT enforced: pods could use the whole host',
    );
    const old = await runWith([null]);
    expect((await analyseRun(old)).summary.cpuLimits?.recorded).toBe(false);
  });
});
