/**
 * The part of a foreign server's workload the agent itself needs (no schema library: the k6 scripts
 * bundle it): what to call, and how to fill in argument generators. scenarios/models/workload.ts plans it.
 */

/** What the agents run against a foreign server (ScenarioDefinition's `foreign`). */
export interface ForeignWorkload {
  /** plain tools with their weights and argument templates */
  tools: Array<{ name: string; weight: number; arguments: Record<string, unknown> }>;
  handle?: {
    tool: string;
    arguments: Record<string, unknown>;
    path: string;
    use: Array<{ tool: string; argument: string; arguments: Record<string, unknown> }>;
  };
  longRunning?: { tool: string; arguments: Record<string, unknown> };
}

const GENERATOR = /\{\{(int:(-?\d+):(-?\d+)|choice:([^}]*)|seq)\}\}/g;

/** Arguments with their generators filled in (rng: [0, 1); seq: a number that changes per call). */
export function instantiate(value: unknown, rng: () => number, seq: number): unknown {
  if (typeof value === 'string') {
    const whole = /^\{\{int:(-?\d+):(-?\d+)\}\}$/.exec(value);
    if (whole) return intIn(rng, Number(whole[1]), Number(whole[2]));
    return value.replace(GENERATOR, (_m, _g, lo?: string, hi?: string, choices?: string) => {
      if (lo !== undefined && hi !== undefined) return String(intIn(rng, Number(lo), Number(hi)));
      if (choices !== undefined) {
        const list = choices.split('|');
        return list[Math.floor(rng() * list.length)] ?? '';
      }
      return String(seq);
    });
  }
  if (Array.isArray(value)) return value.map((v) => instantiate(v, rng, seq));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, instantiate(v, rng, seq)]));
  return value;
}

const intIn = (rng: () => number, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

/** The value at a dotted path of a tool result (`structuredContent.handle`, `content.0.text`). */
export function valueAt(result: unknown, path: string): unknown {
  let v: unknown = result;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
