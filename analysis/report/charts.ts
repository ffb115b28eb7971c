/// <reference lib="dom" />
import type { Chart as ChartClass, ChartConfiguration, Plugin } from 'chart.js';
import type { ChartsData } from './chart-data.js';

/**
 * The chart script of report.html: runs in the browser, after Chart.js (inlined before it as a
 * classic script, hence the global). tsc compiles it to dist/analysis/report/charts.js, which
 * report-html.ts inlines; it imports types only, so the compiled file needs nothing else.
 */

declare const Chart: typeof ChartClass;
declare global {
  interface Window {
    mcpbenchCharts: ChartClass[];
  }
}

type Style = { color: string; dash: number[]; point: 'triangle' | 'rect' | 'circle' | 'star' };
type Dataset = ReturnType<typeof ds>;
type Marker = ChartsData['experiments'][number]['events'][number];

const STYLE: Record<string, Style> = {
  'legacy-sticky': { color: '#b2182b', dash: [8, 4], point: 'triangle' },
  'legacy-redis': { color: '#2166ac', dash: [2, 3], point: 'rect' },
  rc: { color: '#1b7837', dash: [], point: 'circle' },
};
const style = (v: string): Style => STYLE[v] ?? { color: '#555', dash: [4, 2, 1, 2], point: 'star' };

/** Dashed vertical lines at the experiment's actions (rollouts, kills, replica changes), labelled. */
const markers: Plugin<'line', { events?: Marker[] }> = {
  id: 'mcpbenchMarkers',
  afterDatasetsDraw(chart, _args, opts) {
    const x = chart.scales.x;
    const area = chart.chartArea;
    const ctx = chart.ctx;
    if (!x) return;
    for (const m of opts.events ?? []) {
      const px = x.getPixelForValue(m.tS);
      if (px < area.left || px > area.right) continue;
      ctx.save();
      ctx.strokeStyle = style(m.variant).color;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(px, area.top);
      ctx.lineTo(px, area.bottom);
      ctx.stroke();
      ctx.fillStyle = '#222';
      ctx.font = '10px sans-serif';
      ctx.save();
      ctx.translate(px + 2, area.top + 4);
      ctx.rotate(Math.PI / 2);
      ctx.fillText(m.label, 0, 0);
      ctx.restore();
      ctx.restore();
    }
  },
};

function line(
  canvas: HTMLElement | null,
  datasets: Dataset[],
  xTitle: string,
  yTitle: string,
  events: Marker[] = [],
): void {
  if (!(canvas instanceof HTMLCanvasElement)) throw new Error('report.html: a chart canvas is missing');
  const config: ChartConfiguration<'line', Array<{ x: number; y: number }>> = {
    type: 'line',
    data: { datasets },
    plugins: [markers],
    options: {
      animation: false,
      responsive: false,
      parsing: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: xTitle } },
        y: { beginAtZero: true, title: { display: true, text: yTitle } },
      },
      plugins: {
        legend: { labels: { usePointStyle: true } },
        // the markers plugin's options; Chart.js's option types do not know it
        ...({ mcpbenchMarkers: { events } } as object),
      },
    },
  };
  window.mcpbenchCharts.push(new Chart(canvas, config) as unknown as ChartClass);
}

const ds = (variant: string, xs: number[], ys: number[], label?: string) => ({
  label: label ?? variant,
  data: xs.map((x, i) => ({ x, y: ys[i] ?? 0 })),
  borderColor: style(variant).color,
  backgroundColor: style(variant).color,
  borderDash: style(variant).dash,
  pointStyle: style(variant).point,
  pointRadius: 3,
  borderWidth: 2,
});

const DATA = JSON.parse(document.getElementById('mcpbench-data')?.textContent ?? '{}') as ChartsData;
window.mcpbenchCharts = [];
const pctX = DATA.percentiles.map((p) => -Math.log10(1 - p / 100));
for (const exp of DATA.experiments) {
  const el = (kind: string) => document.getElementById(`chart-${kind}-${exp.index}`);
  line(
    el('pct'),
    exp.percentiles.map((p) => ds(p.variant, pctX, p.values)),
    'percentile (50, 90, 99, 99.9, 99.99 at 0.3, 1, 2, 3, 4)',
    'latency (ms)',
  );
  const x = 'seconds since load start';
  line(
    el('rps'),
    exp.series.map((s) => ds(s.variant, s.t, s.rps)),
    x,
    'requests per second',
    exp.events,
  );
  line(
    el('p99'),
    exp.series.map((s) => ds(s.variant, s.t, s.p99)),
    x,
    'p99 latency (ms)',
    exp.events,
  );
  if (exp.replicas.length)
    line(
      el('replicas'),
      exp.replicas.map((r) => ds(r.variant, r.t, r.desired, `${r.variant} desired`)),
      x,
      'replicas',
      exp.events,
    );
}
document.body.dataset.rendered = String(window.mcpbenchCharts.length);
