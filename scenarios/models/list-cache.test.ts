import { describe, expect, it } from 'vitest';
import { ListCache } from './list-cache.ts';

describe('ListCache (2026-07-28 caching rules)', () => {
  const key = ListCache.key('tools/list', {});

  it('is fresh for ttlMs after receipt, never with an absent or zero ttlMs', () => {
    const c = new ListCache();
    c.store(key, { tools: [], ttlMs: 1_000, cacheScope: 'public' }, 10_000, 'a');
    expect(c.fresh(key, 10_999, 'a')).toBe(true);
    expect(c.fresh(key, 11_000, 'a')).toBe(false);
    c.store(key, { tools: [], ttlMs: 0, cacheScope: 'public' }, 20_000, 'a');
    expect(c.fresh(key, 20_000, 'a')).toBe(false);
    c.store(key, { tools: [], cacheScope: 'public' }, 30_000, 'a');
    expect(c.fresh(key, 30_000, 'a')).toBe(false);
  });

  it('keys on method and params', () => {
    const c = new ListCache();
    c.store(key, { ttlMs: 1_000, cacheScope: 'public' }, 0, 'a');
    expect(c.fresh(ListCache.key('tools/list', { cursor: 'p2' }), 1, 'a')).toBe(false);
    expect(c.fresh(ListCache.key('prompts/list', {}), 1, 'a')).toBe(false);
  });

  it('serves a private (or unscoped) result only to the caller that received it, a public one to all', () => {
    const c = new ListCache();
    for (const scope of ['private', undefined, 'something-new']) {
      c.store(key, { ttlMs: 1_000, cacheScope: scope }, 0, 'a');
      expect(c.fresh(key, 1, 'a')).toBe(true);
      expect(c.fresh(key, 1, 'b')).toBe(false);
    }
    c.store(key, { ttlMs: 1_000, cacheScope: 'public' }, 0, 'a');
    expect(c.fresh(key, 1, 'b')).toBe(true);
  });

  it('keeps one private result per caller: callers whose turns interleave do not evict each other', () => {
    // Two open-model agents sharing the engine's cache: a lists, b lists, then a's next turn.
    const c = new ListCache();
    c.store(key, { ttlMs: 1_000, cacheScope: 'private' }, 0, 'a');
    c.store(key, { ttlMs: 1_000, cacheScope: 'private' }, 1, 'b');
    expect(c.fresh(key, 2, 'a')).toBe(true);
    expect(c.fresh(key, 2, 'b')).toBe(true);
    expect(c.fresh(key, 2, 'c')).toBe(false);
    // A later answer for one caller with no ttl drops only that caller's entry.
    c.store(key, { ttlMs: 0, cacheScope: 'private' }, 3, 'a');
    expect(c.fresh(key, 4, 'a')).toBe(false);
    expect(c.fresh(key, 4, 'b')).toBe(true);
  });

  it('drops expired private entries, so a run of many one-off callers does not grow it without bound', () => {
    const c = new ListCache();
    for (let i = 0; i < 50_000; i++) c.store(key, { ttlMs: 10, cacheScope: 'private' }, i, `agent-${i}`);
    expect(c.size).toBeLessThan(20_000);
    expect(c.fresh(key, 49_999, 'agent-49999')).toBe(true);
  });
});
