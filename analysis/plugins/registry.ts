import type { AnalysedExperiment } from '../experiment.js';
import { capacity } from './capacity/analysis.js';
import { hpa } from './hpa/analysis.js';
import { podKill } from './pod-kill/analysis.js';
import { rollingUpdate } from './rolling-update/analysis.js';
import { ttlCache } from './ttl-cache/analysis.js';

/**
 * Every experiment analysis knows: one line per analysis/plugins/<name>/ folder, under the name the
 * runner's registry (experiments/registry.ts) gives it. A run directory may hold an experiment this
 * version does not know (an older or newer run): it gets the common figures only.
 */
const ANALYSED = {
  'ttl-cache': ttlCache,
  'rolling-update': rollingUpdate,
  'pod-kill': podKill,
  hpa,
  capacity,
} as const satisfies Record<string, AnalysedExperiment>;

export type AnalysedExperimentName = keyof typeof ANALYSED;

export const ANALYSED_EXPERIMENT_NAMES = Object.keys(ANALYSED) as AnalysedExperimentName[];

/** The plugin for an experiment named in a run directory, or null when this version does not know it. */
export function analysisOf(experiment: string): AnalysedExperiment | null {
  return Object.hasOwn(ANALYSED, experiment) ? ANALYSED[experiment as AnalysedExperimentName] : null;
}
