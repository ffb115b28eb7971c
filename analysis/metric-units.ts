/** The unit of each metric as summary.json, compare and the reports state it (analysis/metrics.ts). */
export type MetricUnit =
  | 'µs'
  | 'ms'
  | 'share'
  | 'req/s'
  | 'requests'
  | 'sessions'
  | 'tasks'
  | 'handles'
  | 'round trips'
  | 'bytes'
  | 'CV'
  | 'replicas'
  | 'per s';

export type MetricDirection = 'lower' | 'higher';
