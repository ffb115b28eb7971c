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
    /** the badges each chart (by Chart.js id) drew last */
    mcpbenchBadges: Record<string, Badge[]>;
  }
}

type Style = { color: string; dash: number[]; point: 'triangle' | 'rect' | 'circle' | 'star' };
type Dataset = ReturnType<typeof ds>;
type Marker = ChartsData['experiments'][number]['events'][number];

const DATA = JSON.parse(document.getElementById('mcpbench-data')?.textContent ?? '{}') as ChartsData;
const STYLE: Record<string, Omit<Style, 'color'>> = {
  'legacy-sticky': { dash: [8, 4], point: 'triangle' },
  'legacy-redis': { dash: [2, 3], point: 'rect' },
  rc: { dash: [], point: 'circle' },
};
const style = (v: string): Style => ({
  color: DATA.colours[v] ?? DATA.colours[''] ?? '#555',
  ...(STYLE[v] ?? { dash: [4, 2, 1, 2], point: 'star' }),
});

/** A drawn marker badge, in canvas pixels: report tests check that none overlaps another. */
interface Badge {
  n: number;
  x: number;
  y: number;
  r: number;
}

const BADGE_R = 7;

/**
 * The experiment's actions (rollouts, kills, replica changes) as dashed vertical lines, each with a
 * numbered badge at its top; the event table under the charts says what each number is. Badges of
 * events close in time stack downwards instead of overlapping.
 */
const markers: Plugin<'line', { events?: Marker[] }> = {
  id: 'mcpbenchMarkers',
  afterDatasetsDraw(chart, _args, opts) {
    const x = chart.scales.x;
    const area = chart.chartArea;
    const ctx = chart.ctx;
    if (!x) return;
    const rows: number[][] = [];
    const drawn: Badge[] = [];
    const visible = (opts.events ?? [])
      .map((m) => ({ m, px: x.getPixelForValue(m.tS) }))
      .filter(({ px }) => px >= area.left && px <= area.right)
      .sort((a, b) => a.px - b.px || a.m.n - b.m.n);
    for (const { m, px } of visible) {
      let row = rows.findIndex((placed) => placed.every((p) => Math.abs(p - px) >= 2 * BADGE_R + 2));
      if (row < 0) row = rows.push([]) - 1;
      rows[row]?.push(px);
      const y = area.top + BADGE_R + 1 + row * (2 * BADGE_R + 2);
      ctx.save();
      ctx.strokeStyle = style(m.variant).color;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(px, y + BADGE_R);
      ctx.lineTo(px, area.bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = style(m.variant).color;
      ctx.beginPath();
      ctx.arc(px, y, BADGE_R, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillStyle = '#fff';
      ctx.font = 'bold 9px sans-serif';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(String(m.n), px, y + 0.5);
      ctx.restore();
      drawn.push({ n: m.n, x: px, y, r: BADGE_R });
    }
    window.mcpbenchBadges[String(chart.id)] = drawn;
  },
};

/** The percentile charts' x axis: ticks at 50%, 90%, 99%, … only, labelled as percentiles. */
function percentileScale(data: ChartsData) {
  const ticks = data.percentileTicks;
  const label = (v: number) => ticks.find((t) => Math.abs(t.x - v) < 1e-9)?.label ?? '';
  return {
    min: Math.min(...data.percentileX),
    max: Math.max(...data.percentileX),
    afterBuildTicks: (axis: { ticks: Array<{ value: number }> }) => {
      axis.ticks = ticks.map((t) => ({ value: t.x }));
    },
    ticks: { callback: (v: number | string) => label(Number(v)) },
  };
}

function line(
  canvas: HTMLElement | null,
  datasets: Dataset[],
  xTitle: string,
  yTitle: string,
  events: Marker[] = [],
  xScale: object = {},
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
        x: { type: 'linear', title: { display: true, text: xTitle }, ...xScale },
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

window.mcpbenchCharts = [];
window.mcpbenchBadges = {};
for (const exp of DATA.experiments) {
  const el = (kind: string) => document.getElementById(`chart-${kind}-${exp.index}`);
  line(
    el('pct'),
    exp.percentiles.map((p) => ds(p.variant, DATA.percentileX, p.values)),
    'percentile (log scale of the tail)',
    'latency (ms)',
    [],
    percentileScale(DATA),
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
