import type { ExperimentDefinition } from './definitions.js';
import { capacity } from './plugins/capacity/definition.js';
import { hpa } from './plugins/hpa/definition.js';
import { podKill } from './plugins/pod-kill/definition.js';
import { rollingUpdate } from './plugins/rolling-update/definition.js';
import { ttlCache } from './plugins/ttl-cache/definition.js';

/**
 * Every experiment the runner knows, in suite order: one line per experiments/plugins/<name>/ folder.
 * The experiment name type is derived from it, so a name that is not here is a compile error; the
 * analysis side keeps the same names in analysis/plugins/registry.ts (test/experiment-registry.test.ts
 * checks that the two agree).
 */
const REGISTRY = {
  'ttl-cache': ttlCache,
  'rolling-update': rollingUpdate,
  'pod-kill': podKill,
  hpa,
  capacity,
} as const;

export type ExperimentName = keyof typeof REGISTRY;

/** The definitions as shipped (defaults), by name; the run config overrides their fields. */
export const DEFAULT_EXPERIMENTS: { readonly [N in ExperimentName]: ExperimentDefinition<N> } = REGISTRY;

export const EXPERIMENT_NAMES = Object.keys(REGISTRY) as [ExperimentName, ...ExperimentName[]];
