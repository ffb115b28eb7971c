/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { provideChromium } from '../test/chromium.ts';
import { createRng } from '../util/prng.ts';
import { writeRun } from './fixtures.js';
import { analyseRun } from './index.js';

/**
 * report.html opened in headless Chromium: no console error, no network request but the file itself,
 * every chart drawn, the scorecard first, percentile axes labelled in percent, and the numbered
 * markers of events close in time drawn apart, each listed in the event table. A screenshot is kept in the run directory. Chromium comes from CHROME_PATH,
 * PATH or /usr/bin/chromium, else it is installed with apt-get where the machine can; elsewhere the
 * test is skipped, with the reason printed.
 */
const lookup = await provideChromium();
const CHROMIUM = lookup.path ?? undefined;
const skipped = lookup.path === null ? ` (skipped: ${lookup.skip})` : '';
if (skipped) console.warn(`report.html test${skipped}`);
const TITLE = `renders offline in headless Chromium with every chart drawn${skipped}`;

describe('report.html', () => {
  it.skipIf(CHROMIUM === undefined)(TITLE, async () => {
    const rng = createRng(5);
    const trials = [];
    for (const variant of ['legacy-sticky', 'legacy-redis', 'rc']) {
      for (let trial = 1; trial <= 2; trial++) {
        trials.push({
          experimentId: 'ttl-cache',
          variant,
          trial,
          samples: Array.from({ length: 500 }, () => 1_000 + Math.round(rng() * 20_000)),
          turnSamples: Array.from({ length: 20 }, () => 10_000 + Math.round(rng() * 20_000)),
        });
      }
    }
    // a rollout per variant, all starting within 50 ms: their markers must not overlap
    const event = (variant: string, tMs: number, kind: string) => ({
      tMs,
      atMs: 1_700_000_000_000 + tMs,
      source: 'cluster' as const,
      kind,
      variant,
      detail: {},
    });
    for (const [i, variant] of ['legacy-sticky', 'legacy-redis', 'rc'].entries()) {
      for (let trial = 1; trial <= 2; trial++) {
        trials.push({
          experimentId: 'rolling-update',
          variant,
          trial,
          samples: Array.from({ length: 500 }, () => 1_000 + Math.round(rng() * 20_000)),
          events: [
            event(variant, 1_000 + 25 * i, 'rollout-start'),
            event(variant, 3_000 + 10 * i, 'rollout-end'),
          ],
        });
      }
    }
    const dir = await writeRun(trials);
    const { reportHtmlPath } = await analyseRun(dir);
    const context = await chromium.launchPersistentContext(
      await mkdtemp(join(tmpdir(), 'mcpbench-chromium-')),
      {
        executablePath: CHROMIUM,
        viewport: { width: 1280, height: 900 },
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      },
    );
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      const url = pathToFileURL(reportHtmlPath).href;
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('request', (r) => {
        if (r.url() !== url) problems.push(`network request: ${r.url()}`);
      });
      await page.goto(url);
      await page.waitForFunction(() => document.body.dataset.rendered !== undefined, undefined, {
        timeout: 10_000,
      });
      const charts = await page.evaluate(() => Number(document.body.dataset.rendered));
      const canvases = await page.$$eval('canvas', (els) =>
        els.map((c) => {
          const canvas = c as HTMLCanvasElement;
          const data =
            canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ??
            new Uint8ClampedArray();
          let painted = 0;
          for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) painted++;
          return painted;
        }),
      );
      const layout = await page.evaluate(() => {
        const charts = window.mcpbenchCharts as unknown as Array<{
          id: number;
          canvas: HTMLCanvasElement;
          scales: { x: { ticks: Array<{ label: string }> } };
        }>;
        const tickLabels = (kind: string) =>
          charts
            .filter((c) => c.canvas.id.startsWith(`chart-${kind}-`))
            .map((c) => c.scales.x.ticks.map((t) => t.label));
        const badges = (
          window as unknown as {
            mcpbenchBadges: Record<string, Array<{ n: number; x: number; y: number; r: number }>>;
          }
        ).mcpbenchBadges;
        return {
          firstSection: document.querySelector('section')?.id,
          firstAfterMeta: document.querySelector('p.meta + p.meta + section')?.id,
          pctTicks: tickLabels('pct'),
          badges: charts.map((c) => ({ canvas: c.canvas.id, drawn: badges[String(c.id)] ?? [] })),
          eventRows: Array.from(document.querySelectorAll('table.events tbody tr')).map((tr) =>
            Array.from(tr.querySelectorAll('td')).map((td) => td.textContent),
          ),
          overflow: document.documentElement.scrollWidth - window.innerWidth,
        };
      });
      await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
      expect(problems).toEqual([]);
      // the decision first; percentiles labelled as percentiles; markers legible
      expect(layout.firstSection).toBe('scorecard');
      expect(layout.firstAfterMeta).toBe('scorecard');
      expect(layout.pctTicks).toEqual([
        ['50%', '90%', '99%', '99.9%', '99.99%'],
        ['50%', '90%', '99%', '99.9%', '99.99%'],
      ]);
      expect(layout.eventRows.map((r) => [r[0], r[3]])).toEqual([
        ['1', 'rollout-start'],
        ['2', 'rollout-start'],
        ['3', 'rollout-start'],
        ['4', 'rollout-end'],
        ['5', 'rollout-end'],
        ['6', 'rollout-end'],
      ]);
      const timeCharts = layout.badges.filter((b) => /^chart-(rps|p99)-1$/.test(b.canvas));
      expect(timeCharts).toHaveLength(2);
      for (const { canvas, drawn } of timeCharts) {
        expect(drawn.map((b) => b.n).sort(), canvas).toEqual([1, 2, 3, 4, 5, 6]);
        for (const [i, a] of drawn.entries())
          for (const b of drawn.slice(i + 1))
            expect(
              Math.hypot(a.x - b.x, a.y - b.y),
              `${canvas}: badges ${a.n} and ${b.n}`,
            ).toBeGreaterThanOrEqual(a.r + b.r);
      }
      expect(layout.overflow).toBeLessThanOrEqual(0);
      expect(canvases.length).toBeGreaterThanOrEqual(3);
      expect(charts).toBe(canvases.length);
      for (const painted of canvases) expect(painted).toBeGreaterThan(1_000);
      expect(existsSync(join(dir, 'report.png'))).toBe(true);
    } finally {
      await context.close();
    }
  });
});
