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
 * and every chart drawn. A screenshot is kept in the run directory. Chromium comes from CHROME_PATH,
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
      await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
      expect(problems).toEqual([]);
      expect(canvases.length).toBeGreaterThanOrEqual(3);
      expect(charts).toBe(canvases.length);
      for (const painted of canvases) expect(painted).toBeGreaterThan(1_000);
      expect(existsSync(join(dir, 'report.png'))).toBe(true);
    } finally {
      await context.close();
    }
  });
});
