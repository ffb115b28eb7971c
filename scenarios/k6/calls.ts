/**
 * k6 script for the `calls` scenario (scenarios/models/scenarios.ts).
 *
 *   MCPBENCH_URL=http://127.0.0.1:3000/mcp MCPBENCH_RATE=200 MCPBENCH_DURATION=10s k6 run scenarios/k6/calls.ts
 *
 * Env: MCPBENCH_URL, MCPBENCH_PROTOCOL (auto | 2025-11-25 | 2026-07-28), MCPBENCH_MODEL (open | closed;
 * open when MCPBENCH_RATE is set), MCPBENCH_RATE + MCPBENCH_UNIT (sessions | requests) or MCPBENCH_AGENTS,
 * MCPBENCH_DURATION, MCPBENCH_STAGES (JSON [{durationMs, target}]), MCPBENCH_SEED, MCPBENCH_TIMEOUT,
 * MCPBENCH_SCENARIO_PARAMS (JSON overrides), MCPBENCH_MAX_VUS, MCPBENCH_PREALLOCATED_VUS.
 */
import { script } from './lib/agent.ts';

const s = script('calls');

export const options = s.options;
export const setup = s.setup;
export default s.iterate;
