/** The data report.html embeds for its charts (analysis/report/charts.ts draws them). Types only. */
export interface ExperimentCharts {
  id: string;
  index: number;
  percentiles: Array<{ variant: string; values: number[] }>;
  series: Array<{ variant: string; t: number[]; rps: number[]; p99: number[]; errors: number[] }>;
  events: Array<{ variant: string; tS: number; label: string }>;
  replicas: Array<{ variant: string; t: number[]; desired: number[]; ready: number[] }>;
}

export interface ChartsData {
  /** the percentiles of each `percentiles[].values`, e.g. 50, 90, 99.9 */
  percentiles: number[];
  experiments: ExperimentCharts[];
}
