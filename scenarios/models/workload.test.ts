import { describe, expect, it } from 'vitest';
import { inferArguments, planWorkload, WorkloadSchema } from './workload.ts';
import { instantiate, valueAt } from './workload-args.ts';

const obj = (properties: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  properties,
  required,
});

describe('workload inference from input schemas', () => {
  it('infers required properties with simple types, enums, defaults and consts', () => {
    const r = inferArguments(
      obj(
        {
          sku: { type: 'string' },
          n: { type: 'integer', minimum: 3 },
          mode: { type: 'string', enum: ['fast', 'slow'] },
          flag: { type: 'boolean' },
          region: { type: 'string', default: 'eu' },
          kind: { const: 'x' },
          optional: { type: 'object' },
        },
        ['sku', 'n', 'mode', 'flag', 'region', 'kind'],
      ),
    );
    expect(r).toEqual({
      arguments: { sku: 'sku-{{seq}}', n: 3, mode: 'fast', flag: false, region: 'eu', kind: 'x' },
    });
  });

  it('gives up, with the reason, on a required object, array, union or a property with no schema', () => {
    expect(inferArguments(obj({ spec: { type: 'object' } }, ['spec']))).toEqual({
      reason: 'required argument "spec" ("object") cannot be inferred',
    });
    expect(inferArguments(obj({ ids: { type: 'array' } }, ['ids']))).toMatchObject({
      reason: expect.stringContaining('"ids"'),
    });
    expect(inferArguments(obj({ v: { type: ['string', 'number'] } }, ['v']))).toMatchObject({
      reason: expect.stringContaining('"v"'),
    });
    expect(inferArguments(obj({}, ['ghost']))).toEqual({ reason: 'required argument "ghost" has no schema' });
    expect(inferArguments({ type: 'string' })).toEqual({ reason: 'its input schema is not an object' });
  });

  it('plans a server: configured tools as given, others inferred or left out with the reason', () => {
    const tools = [
      { name: 'echo', inputSchema: obj({ message: { type: 'string' } }, ['message']) },
      { name: 'sum', inputSchema: obj({ a: { type: 'number' }, b: { type: 'number' } }, ['a', 'b']) },
      { name: 'deploy', inputSchema: obj({ manifest: { type: 'object' } }, ['manifest']) },
      { name: 'nuke', inputSchema: obj({}, []) },
      { name: 'slow', inputSchema: obj({}, []) },
    ];
    const workload = WorkloadSchema.parse({
      tools: { sum: { weight: 2, arguments: { a: '{{int:1:9}}', b: 1 } }, nuke: false, missing: {} },
      longRunning: { tool: 'slow' },
    });
    const plan = planWorkload(tools, workload);
    expect(plan.workload.tools.map((t) => [t.name, t.weight])).toEqual([
      ['echo', 1],
      ['sum', 2],
    ]);
    expect(plan.inferred).toEqual(['echo']);
    expect(plan.workload.longRunning?.tool).toBe('slow');
    expect(plan.skipped).toEqual([
      { tool: 'missing', reason: 'named in the workload, but the server does not list it' },
      {
        tool: 'deploy',
        reason:
          'required argument "manifest" ("object") cannot be inferred; give workload.tools.deploy.arguments',
      },
      { tool: 'nuke', reason: 'left out by the workload (false)' },
    ]);
    const only = planWorkload(tools, WorkloadSchema.parse({ onlyListed: true, tools: { sum: {} } }));
    expect(only.workload.tools.map((t) => t.name)).toEqual(['sum']);
    expect(only.skipped.map((s) => s.tool)).toEqual(['echo', 'deploy', 'nuke', 'slow']);
  });

  it('fills in argument generators and reads a handle at a dotted path', () => {
    let x = 0;
    const rng = () => {
      x = (x + 0.37) % 1;
      return x;
    };
    const out = instantiate(
      { n: '{{int:5:7}}', s: 'id-{{seq}}-{{choice:a|b}}', nested: ['{{int:1:1}}', { k: true }] },
      rng,
      42,
    ) as { n: number; s: string; nested: unknown[] };
    expect(typeof out.n).toBe('number');
    expect(out.n).toBeGreaterThanOrEqual(5);
    expect(out.n).toBeLessThanOrEqual(7);
    expect(out.s).toMatch(/^id-42-[ab]$/);
    expect(out.nested).toEqual([1, { k: true }]);
    expect(valueAt({ structuredContent: { handle: 'h1' } }, 'structuredContent.handle')).toBe('h1');
    expect(valueAt({ content: [{ text: 't' }] }, 'content.0.text')).toBe('t');
    expect(valueAt({ a: 1 }, 'a.b')).toBeUndefined();
  });

  it('refuses unknown workload fields, naming them', () => {
    const r = WorkloadSchema.safeParse({ tools: { echo: { wieght: 2 } } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('wieght');
  });
});
