import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HISTOGRAM_KEYS } from '../rundir/raw-result.js';
import type { LoadedRun } from './load-run.js';
import { buildReport } from './report/build.js';
import type { ChartsData, ExperimentCharts } from './report/chart-data.js';
import type { Block, Cell, RichText, Table } from './report/model.js';
import { mergeHistograms } from './stats.js';
import type { RunSummary } from './summary-types.js';

/**
 * report.html: one self-contained file (Chart.js and the chart script inlined, data embedded, no
 * network request): the report model (analysis/report/model.ts) as HTML, with per experiment the
 * latency percentile curves, the time series with the experiment's actions marked and the replica
 * timeline (analysis/report/charts.ts, compiled to dist/ and inlined). Variants differ by dash
 * pattern and point style as well as colour.
 */

const require = createRequire(import.meta.url);
const PERCENTILES = [50, 75, 90, 95, 99, 99.5, 99.9, 99.99];
const MARKED = new Set(['rollout-start', 'rollout-end', 'pod-killed', 'redis-killed', 'replicas-changed']);

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const inline = (text: RichText) =>
  text
    .map((t) => (typeof t === 'string' ? escapeHtml(t) : `<strong>${escapeHtml(t.strong)}</strong>`))
    .join('');

function cellHtml(tag: 'td', c: Cell, align: 'left' | 'right'): string {
  const classes = [align === 'left' ? 'left' : '', c.mark ? `mark-${c.mark}` : ''].filter(Boolean);
  const attrs = [
    classes.length ? ` class="${classes.join(' ')}"` : '',
    c.value !== undefined && c.value !== null ? ` data-value="${c.value}"` : '',
    c.interval && c.interval.low !== null && c.interval.high !== null
      ? ` data-low="${c.interval.low}" data-high="${c.interval.high}"`
      : '',
  ].join('');
  return `<${tag}${attrs}>${inline(c.text)}</${tag}>`;
}

function tableHtml(t: Table): string {
  const head = t.headings
    .map((h) => `<th${h.align === 'left' ? ' class="left"' : ''}>${escapeHtml(h.text)}</th>`)
    .join('');
  const body = t.rows
    .map((r) => `<tr>${r.map((c, i) => cellHtml('td', c, t.headings[i]?.align ?? 'left')).join('')}</tr>`)
    .join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function blockHtml(b: Block): string {
  if (b.kind === 'table') return tableHtml(b.table);
  if (b.kind === 'list') return `<ul>${b.items.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`;
  return `<p class="note">${inline(b.text)}</p>`;
}

/** The chart script, compiled by tsc from analysis/report/charts.ts: next to this module in dist/, or in dist/ when run from source. */
function chartScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, 'report', 'charts.js'),
    join(here, '..', 'dist', 'analysis', 'report', 'charts.js'),
  ];
  const path = candidates.find((p) => existsSync(p));
  if (!path)
    throw new Error(
      `report.html: the chart script is not built (${candidates.join(' or ')}): run npm run build`,
    );
  return readFileSync(path, 'utf8')
    .replace(/^\/\/# sourceMappingURL=.*$/m, '')
    .replace(/<\/script/gi, '<\\/script');
}

function chartData(run: LoadedRun): Array<Omit<ExperimentCharts, 'index'>> {
  const ids = [...new Set(run.trials.map((t) => t.experimentId))];
  return ids.map((id) => {
    const trials = run.trials.filter((t) => t.experimentId === id);
    const variants = [...new Set(trials.map((t) => t.variant))];
    const charts: Omit<ExperimentCharts, 'index'> = {
      id,
      percentiles: [],
      series: [],
      events: [],
      replicas: [],
    };
    for (const variant of variants) {
      const vt = trials.filter((t) => t.variant === variant);
      const key =
        vt[0]?.engine.load.model === 'open' ? HISTOGRAM_KEYS.requestCorrected : HISTOGRAM_KEYS.request;
      const h = mergeHistograms(vt.map((t) => t.engine.histograms[key]));
      charts.percentiles.push({ variant, values: PERCENTILES.map((p) => h.getValueAtPercentile(p) / 1000) });
      h.destroy();
      const first = vt[0];
      if (!first) continue;
      const ts = first.engine.timeseries;
      charts.series.push({
        variant,
        t: ts.map((p) => p.t),
        rps: ts.map((p) => p.requests),
        p99: ts.map((p) => p.p99Us / 1000),
        errors: ts.map((p) => p.errors),
      });
      for (const e of first.events) {
        if (MARKED.has(e.kind)) {
          const label =
            e.kind === 'replicas-changed'
              ? `${variant}: replicas ${e.detail.from}→${e.detail.to}`
              : `${variant}: ${e.kind}`;
          charts.events.push({ variant, tS: Math.max(0, e.tMs / 1000), label });
        }
      }
      if (first.samples.length) {
        charts.replicas.push({
          variant,
          t: first.samples.map((s) => Math.round(s.tMs / 100) / 10),
          desired: first.samples.map((s) => s.desired),
          ready: first.samples.map((s) => s.ready),
        });
      }
    }
    return charts;
  });
}

export function renderHtml(summary: RunSummary, run: LoadedRun): string {
  const chartJs = readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.js'), 'utf8').replace(
    /<\/script/gi,
    '<\\/script',
  );
  const experiments = chartData(run).map((c, index) => ({ ...c, index }));
  const data: ChartsData = { percentiles: PERCENTILES, experiments };
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const report = buildReport(summary);
  const body: string[] = [];
  body.push(`<h1>${escapeHtml(report.title)}</h1>`);
  body.push(
    `<p class="meta">cluster ${escapeHtml(report.meta.cluster)} (${escapeHtml(report.meta.kubernetesVersion ?? 'n/a')}) · status ${escapeHtml(report.meta.status)} · generated ${escapeHtml(report.meta.generatedAt)}</p>`,
    `<p class="meta">deployment ${escapeHtml(report.meta.deployment)}</p>`,
    `<p class="meta">per-pod CPU limits ${escapeHtml(report.meta.cpuLimits)}</p>`,
  );
  for (const section of report.sections) {
    const exp =
      section.experimentId === undefined ? undefined : experiments.find((e) => e.id === section.experimentId);
    const attrs =
      section.title === 'Verdict'
        ? ' id="verdict"'
        : section.experimentId !== undefined
          ? ' class="experiment"'
          : '';
    body.push(`<section${attrs}><h2>${escapeHtml(section.title)}</h2>`);
    if (exp) {
      body.push('<div class="charts">');
      for (const kind of ['pct', 'rps', 'p99', ...(exp.replicas.length ? ['replicas'] : [])]) {
        body.push(
          `<canvas id="chart-${kind}-${exp.index}" width="560" height="300" role="img" aria-label="${kind} chart for ${escapeHtml(exp.id)}"></canvas>`,
        );
      }
      body.push('</div>');
    }
    for (const b of section.blocks) body.push(blockHtml(b));
    body.push('</section>');
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mcpbench: ${escapeHtml(summary.run)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th.left,td.left{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:1rem}.note{color:#8a4b00}
td.mark-rc-better{background:#e7f3e9}td.mark-legacy-better{background:#fbeaea}td.mark-noise{color:#555}
#verdict{background:#f4f7f4;padding:.5rem 1rem;border-left:4px solid #1b7837}.meta{color:#666}
</style></head><body>
${body.join('\n')}
<script type="application/json" id="mcpbench-data">${json}</script>
<script>${chartJs}</script>
<script type="module">${chartScript()}</script>
</body></html>
`;
}
