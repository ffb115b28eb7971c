import type { AnalysedExperiment } from '../../experiment.js';
import { disruptionAnalysis } from '../disruption.js';

/** rolling-update: failed requests, sessions and tasks lost while a rollout replaces every pod. */
export const rollingUpdate: AnalysedExperiment = disruptionAnalysis;
