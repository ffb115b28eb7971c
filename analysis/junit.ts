import type { Builder } from 'junit-report-builder';
import junitModule from 'junit-report-builder';
import { type CompareResult, describeChange } from './compare.js';
import type { ThresholdResult } from './summary-types.js';
import { describeThresholdResult } from './thresholds.js';

/** JUnit XML for CI systems: one test case per threshold check or per compared metric. */

// The package is CommonJS (`module.exports = builder`) but its types declare an ES default export.
const junit = junitModule as unknown as Builder;

export function thresholdsJunit(run: string, results: ThresholdResult[]): string {
  const builder = junit.newBuilder();
  const suite = builder.testSuite().name(`mcpbench thresholds: ${run}`);
  for (const r of results) {
    const tc = suite.testCase().className(`${r.experimentId}.${r.variant}`).name(r.threshold);
    if (!r.ok) tc.failure(describeThresholdResult(r), 'threshold');
  }
  return builder.build();
}

export function compareJunit(result: CompareResult): string {
  const builder = junit.newBuilder();
  const suite = builder
    .testSuite()
    .name(`mcpbench compare: ${result.baseline.run} → ${result.candidate.run}`);
  for (const c of result.changes) {
    const tc = suite.testCase().className(`${c.experimentId}.${c.variant}`).name(c.label);
    const text = `${c.label}: ${describeChange(c)}, p(worse, Holm)=${c.pWorseAdjusted?.toPrecision(2) ?? 'n/a'}, ${c.verdict}`;
    if (c.regression) tc.failure(`regression: ${text}`, 'regression');
    else if (c.verdict === 'not tested') tc.skipped().standardOutput(c.note ?? text);
    else tc.standardOutput(text);
  }
  return builder.build();
}
