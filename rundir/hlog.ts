import * as hdr from 'hdr-histogram-js';
import type { EngineResult } from './raw-result.js';

/**
 * The trial's histograms in the HdrHistogram log format (one tagged interval line per key, values in
 * microseconds), so HistogramLogAnalyzer and other HdrHistogram tools can read a run without mcpbench.
 */
export function histogramLog(result: EngineResult): string {
  const lines: string[] = [];
  const writer = new hdr.HistogramLogWriter((chunk) => lines.push(chunk));
  writer.outputComment(
    `mcpbench ${result.engine} engine, scenario ${result.scenario}, values in microseconds`,
  );
  writer.outputLogFormatVersion();
  writer.outputStartTime(result.startedAtMs);
  writer.outputLegend();
  const endSec = result.durationMs / 1000;
  for (const [key, encoded] of Object.entries(result.histograms)) {
    const histogram = hdr.decodeFromCompressedBase64(encoded);
    histogram.tag = key.replace(/[\s,]/g, '_');
    writer.outputIntervalHistogram(histogram, 0, endSec, 1);
    histogram.destroy();
  }
  return lines.join('');
}
