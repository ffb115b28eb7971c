import { z } from 'zod';
import { EngineResultSchema } from './raw-result.js';

/**
 * What the harness tells each in-cluster generator pod (as JSON in its environment), and what each
 * pod hands back (framed in its log, rundir/result-framing.ts). Every pod of a trial gets the same
 * spec; its share of the load is its index of `count` (the Indexed Job's completion index), and all
 * of them start at `startAtMs` on the cluster's clock, set in the future by the harness.
 */
const StageSchema = z.object({ durationMs: z.number().positive(), target: z.number().min(0) });

export const GeneratorSpecSchema = z.object({
  schema: z.literal('mcpbench/generator-spec@1'),
  url: z.string().url(),
  protocol: z.enum(['2025-11-25', '2026-07-28']),
  scenario: z.string(),
  scenarioParams: z.record(z.string(), z.unknown()),
  load: z.discriminatedUnion('model', [
    z.object({
      model: z.literal('closed'),
      agents: z.number().int().min(0),
      stages: z.array(StageSchema).optional(),
    }),
    z.object({
      model: z.literal('open'),
      rate: z.number().min(0),
      unit: z.enum(['sessions', 'requests', 'turns']),
      stages: z.array(StageSchema).optional(),
      maxInFlight: z.number().int().positive().optional(),
    }),
  ]),
  durationMs: z.number().positive(),
  seed: z.number().int(),
  /** how many pods share the load */
  count: z.number().int().min(1),
  /** epoch ms at which every pod starts its share */
  startAtMs: z.number(),
});
export type GeneratorSpec = z.infer<typeof GeneratorSpecSchema>;

export const GeneratorResultSchema = z.object({
  schema: z.literal('mcpbench/generator-result@1'),
  index: z.number().int().min(0),
  count: z.number().int().min(1),
  /** the pod's clock when it was ready to start, and how late (its clock) it actually started */
  readyAtMs: z.number(),
  startedLateMs: z.number(),
  /** the generator process's CPU time over its run, ms, and the run's wall time, ms */
  cpuMs: z.number().min(0),
  wallMs: z.number().min(0),
  result: EngineResultSchema,
});
export type GeneratorResult = z.infer<typeof GeneratorResultSchema>;
