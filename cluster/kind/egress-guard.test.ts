import { describe, expect, it } from 'vitest';
import { CLUSTER_INTERNAL_CIDRS, egressGuardRules } from './egress-guard.js';

describe('egress guard rules', () => {
  it('one REJECT per cluster-internal range, tagged with the cluster so another cluster keeps its own', () => {
    const a = egressGuardRules('one');
    const b = egressGuardRules('two');
    expect(a.map((r) => r[r.indexOf('-d') + 1])).toEqual([...CLUSTER_INTERNAL_CIDRS]);
    for (const r of a) expect(r.slice(-2)).toEqual(['-j', 'REJECT']);
    expect(a[0]?.join(' ')).toContain('mcpbench kind one:');
    expect(a[0]).not.toEqual(b[0]);
  });

  it('covers the ranges the kind config sets', async () => {
    const { readFileSync } = await import('node:fs');
    const config = readFileSync(new URL('./kind-config.yaml', import.meta.url), 'utf8');
    for (const cidr of CLUSTER_INTERNAL_CIDRS) expect(config).toContain(cidr);
  });
});
