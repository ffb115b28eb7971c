/**
 * The data report.html embeds for its charts (analysis/report/charts.ts draws them), and the axis
 * the percentile charts share. charts.ts imports the types only: the compiled chart script needs
 * nothing but Chart.js and this data.
 */
export interface ChartMarker {
  /** the marker's number on the charts and in the event table under them (1, 2, … in time order) */
  n: number;
  variant: string;
  tS: number;
  /** what happened, e.g. "rollout-start", "replicas 1→2" */
  label: string;
}

export interface ExperimentCharts {
  id: string;
  index: number;
  percentiles: Array<{ variant: string; values: number[] }>;
  series: Array<{ variant: string; t: number[]; rps: number[]; p99: number[]; errors: number[] }>;
  events: ChartMarker[];
  replicas: Array<{ variant: string; t: number[]; desired: number[]; ready: number[] }>;
}

export interface ChartsData {
  /** the percentiles of each `percentiles[].values`, e.g. 50, 90, 99.9 */
  percentiles: number[];
  /** where each of `percentiles` sits on the percentile charts' x axis (−log10(1 − p), so 99.9 is as far from 99 as 99 from 90) */
  percentileX: number[];
  /** the x axis's ticks: at 50, 90, 99, 99.9 … labelled as percentiles ("99.9%"), never the coordinate */
  percentileTicks: Array<{ x: number; label: string }>;
  /** each variant's colour on the charts and in the event tables ('' for a variant not listed) */
  colours: Record<string, string>;
  experiments: ExperimentCharts[];
}

const percentileCoordinate = (p: number) => -Math.log10(1 - p / 100);

/** The percentile axis for these percentiles: each one's x, and ticks at 50% and each further nine. */
export function percentileAxis(percentiles: number[]): Pick<ChartsData, 'percentileX' | 'percentileTicks'> {
  const max = Math.max(...percentiles);
  const ticks = [50, 90, 99, 99.9, 99.99, 99.999].filter((p) => p <= max);
  return {
    percentileX: percentiles.map(percentileCoordinate),
    percentileTicks: ticks.map((p) => ({ x: percentileCoordinate(p), label: `${p}%` })),
  };
}
