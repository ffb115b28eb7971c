import type { AnalysedExperiment } from '../../experiment.js';
import { disruptionAnalysis } from '../disruption.js';

/** pod-kill: the same as a rollout, plus the time to recover after a pod and Redis are killed. */
export const podKill: AnalysedExperiment = disruptionAnalysis;
