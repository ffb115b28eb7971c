import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { HISTOGRAM_KEYS } from '../rundir/raw-result.js';
import type { LoadedRun } from './load-run.js';
import { deploymentLabel, renderMarkdown } from './report-md.js';
import { mergeHistograms } from './stats.js';
import type { RunSummary } from './summarise.js';
import { formatObserved } from './thresholds.js';
import { verdictLines } from './verdict.js';

/**
 * report.html: one self-contained file (Chart.js inlined, data embedded, no network request), verdict
 * first, then per experiment the latency percentile curves, the time series with the experiment's
 * actions marked, the replica timeline and the tables. Variants differ by dash pattern and point
 * style as well as colour.
 */

const require = createRequire(import.meta.url);
const PERCENTILES = [50, 75, 90, 95, 99, 99.5, 99.9, 99.99];
const MARKED = new Set(['rollout-start', 'rollout-end', 'pod-killed', 'redis-killed', 'replicas-changed']);

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function inlineMarkdown(s: string): string {
  return escapeHtml(s).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>');
}

/** Markdown tables → HTML tables; other lines as paragraphs (the report.md body, reused). */
function tablesFromMarkdown(md: string): string {
  const html: string[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && (lines[i] as string).startsWith('|')) {
        const cells = (lines[i] as string)
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim());
        if (!cells.every((c) => /^-+:?$/.test(c) || /^:?-+$/.test(c))) rows.push(cells);
        i++;
      }
      i--;
      const [head, ...body] = rows;
      html.push(
        `<table><thead><tr>${(head ?? []).map((c) => `<th>${inlineMarkdown(c)}</th>`).join('')}</tr></thead><tbody>` +
          body.map((r) => `<tr>${r.map((c) => `<td>${inlineMarkdown(c)}</td>`).join('')}</tr>`).join('') +
          '</tbody></table>',
      );
    } else if (line.startsWith('## ')) html.push(`<h2>${escapeHtml(line.slice(3))}</h2>`);
    else if (line.startsWith('> ')) html.push(`<p class="note">${inlineMarkdown(line.slice(2))}</p>`);
  }
  return html.join('\n');
}

interface ExperimentCharts {
  id: string;
  percentiles: Array<{ variant: string; values: number[] }>;
  series: Array<{ variant: string; t: number[]; rps: number[]; p99: number[]; errors: number[] }>;
  events: Array<{ variant: string; tS: number; label: string }>;
  replicas: Array<{ variant: string; t: number[]; desired: number[]; ready: number[] }>;
}

function chartData(run: LoadedRun): ExperimentCharts[] {
  const ids = [...new Set(run.trials.map((t) => t.experimentId))];
  return ids.map((id) => {
    const trials = run.trials.filter((t) => t.experimentId === id);
    const variants = [...new Set(trials.map((t) => t.variant))];
    const charts: ExperimentCharts = { id, percentiles: [], series: [], events: [], replicas: [] };
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

const CLIENT_SCRIPT = `
const DATA = JSON.parse(document.getElementById('mcpbench-data').textContent);
const STYLE = {
  'legacy-sticky': { color: '#b2182b', dash: [8, 4], point: 'triangle' },
  'legacy-redis': { color: '#2166ac', dash: [2, 3], point: 'rect' },
  rc: { color: '#1b7837', dash: [], point: 'circle' },
};
const style = (v) => STYLE[v] || { color: '#555', dash: [4, 2, 1, 2], point: 'star' };
const markers = {
  id: 'mcpbenchMarkers',
  afterDatasetsDraw(chart, _args, opts) {
    const x = chart.scales.x; const area = chart.chartArea; const ctx = chart.ctx;
    for (const m of opts.events || []) {
      const px = x.getPixelForValue(m.tS); if (px < area.left || px > area.right) continue;
      ctx.save(); ctx.strokeStyle = style(m.variant).color; ctx.setLineDash([3, 3]);
      ctx.beginPath(); ctx.moveTo(px, area.top); ctx.lineTo(px, area.bottom); ctx.stroke();
      ctx.fillStyle = '#222'; ctx.font = '10px sans-serif'; ctx.save(); ctx.translate(px + 2, area.top + 4); ctx.rotate(Math.PI / 2);
      ctx.fillText(m.label, 0, 0); ctx.restore(); ctx.restore();
    }
  },
};
Chart.register(markers);
window.mcpbenchCharts = [];
const line = (canvas, datasets, xTitle, yTitle, extra = {}) => {
  const chart = new Chart(canvas, {
    type: 'line', data: { datasets },
    options: { animation: false, responsive: false, parsing: false,
      scales: { x: { type: 'linear', title: { display: true, text: xTitle } }, y: { beginAtZero: true, title: { display: true, text: yTitle } } },
      plugins: { legend: { labels: { usePointStyle: true } }, mcpbenchMarkers: { events: extra.events || [] } } },
  });
  window.mcpbenchCharts.push(chart);
};
const ds = (variant, xs, ys, label) => ({
  label: label || variant, data: xs.map((x, i) => ({ x, y: ys[i] })), borderColor: style(variant).color,
  backgroundColor: style(variant).color, borderDash: style(variant).dash, pointStyle: style(variant).point, pointRadius: 3, borderWidth: 2,
});
for (const exp of DATA.experiments) {
  const el = (kind) => document.getElementById('chart-' + kind + '-' + exp.index);
  const pct = ${JSON.stringify(PERCENTILES)};
  const pctX = pct.map((p) => -Math.log10(1 - p / 100));
  line(el('pct'), exp.percentiles.map((p) => ds(p.variant, pctX, p.values)), 'percentile (50, 90, 99, 99.9, 99.99 at 0.3, 1, 2, 3, 4)', 'latency (ms)');
  line(el('rps'), exp.series.map((s) => ds(s.variant, s.t, s.rps)), 'seconds since load start', 'requests per second', { events: exp.events });
  line(el('p99'), exp.series.map((s) => ds(s.variant, s.t, s.p99)), 'seconds since load start', 'p99 latency (ms)', { events: exp.events });
  if (exp.replicas.length) line(el('replicas'), exp.replicas.map((r) => ds(r.variant, r.t, r.desired, r.variant + ' desired')), 'seconds since load start', 'replicas', { events: exp.events });
}
document.body.dataset.rendered = String(window.mcpbenchCharts.length);
`;

export function renderHtml(summary: RunSummary, run: LoadedRun): string {
  const chartJs = readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.js'), 'utf8').replace(
    /<\/script/gi,
    '<\\/script',
  );
  const experiments = chartData(run).map((c, index) => ({ ...c, index }));
  const data = JSON.stringify({ experiments }).replace(/</g, '\\u003c');
  const md = renderMarkdown(summary);
  const sections = md.split(/\n(?=## )/).slice(1);
  const body: string[] = [];
  body.push(`<h1>mcpbench: ${escapeHtml(summary.run)}</h1>`);
  body.push(
    `<p class="meta">cluster ${escapeHtml(summary.cluster.provider)} (${escapeHtml(summary.cluster.kubernetesVersion ?? 'n/a')}) · status ${escapeHtml(summary.status)} · generated ${escapeHtml(summary.generatedAt)}</p>`,
  );
  body.push(`<p class="meta">deployment ${escapeHtml(deploymentLabel(summary.deployment))}</p>`);
  body.push('<section id="verdict"><h2>Verdict</h2><ul>');
  for (const l of verdictLines(summary)) body.push(`<li>${inlineMarkdown(l)}</li>`);
  body.push('</ul></section>');
  if (summary.interruptedTrials?.length) {
    body.push('<section id="interrupted"><h2>Trials left out (interrupted)</h2><ul>');
    for (const t of summary.interruptedTrials) body.push(`<li class="note">${escapeHtml(t)}</li>`);
    body.push('</ul></section>');
  }
  if (summary.thresholds.length) {
    const failed = summary.thresholds.filter((r) => !r.ok).length;
    body.push(
      `<section id="thresholds"><h2>Thresholds: ${failed ? `${failed} of ${summary.thresholds.length} failed` : 'all passed'}</h2>`,
      '<table><thead><tr><th>result</th><th>threshold</th><th>experiment / variant</th><th>observed</th></tr></thead><tbody>',
      ...summary.thresholds.map((r) => {
        return `<tr><td>${r.ok ? 'pass' : '<strong>FAIL</strong>'}</td><td>${escapeHtml(r.threshold)}</td><td>${escapeHtml(`${r.experimentId} / ${r.variant}`)}</td><td>${escapeHtml(formatObserved(r))}</td></tr>`;
      }),
      '</tbody></table></section>',
    );
  }
  for (const exp of experiments) {
    const section = sections.find((s) => s.startsWith(`## ${exp.id}\n`)) ?? '';
    body.push(`<section class="experiment"><h2>${escapeHtml(exp.id)}</h2>`);
    body.push('<div class="charts">');
    for (const kind of ['pct', 'rps', 'p99', ...(exp.replicas.length ? ['replicas'] : [])]) {
      body.push(
        `<canvas id="chart-${kind}-${exp.index}" width="560" height="300" role="img" aria-label="${kind} chart for ${escapeHtml(exp.id)}"></canvas>`,
      );
    }
    body.push('</div>');
    body.push(tablesFromMarkdown(section.split('\n').slice(1).join('\n')));
    body.push('</section>');
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mcpbench: ${escapeHtml(summary.run)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:1rem}.note{color:#8a4b00}
#verdict{background:#f4f7f4;padding:.5rem 1rem;border-left:4px solid #1b7837}.meta{color:#666}
</style></head><body>
${body.join('\n')}
<script type="application/json" id="mcpbench-data">${data}</script>
<script>${chartJs}</script>
<script>${CLIENT_SCRIPT}</script>
</body></html>
`;
}
