import { describe, expect, it } from 'vitest';
import { buildCatalogue, makePayload } from './catalogue.js';

describe('buildCatalogue', () => {
  it('has exactly the asked number of tools, unique, in a stable order', () => {
    for (const size of [10, 57, 500]) {
      const tools = buildCatalogue(size);
      expect(tools).toHaveLength(size);
      expect(new Set(tools.map((t) => t.name)).size).toBe(size);
      expect(buildCatalogue(size).map((t) => t.name)).toEqual(tools.map((t) => t.name));
    }
    expect(buildCatalogue(10)[0]!.name).toBe('sync_app');
  });

  it('rejects sizes outside 10..500', () => {
    expect(() => buildCatalogue(5)).toThrow(RangeError);
    expect(() => buildCatalogue(501)).toThrow(RangeError);
  });
});

describe('makePayload', () => {
  it('is exactly the asked size', () => {
    for (const n of [0, 1, 17, 4096]) expect(makePayload(n)).toHaveLength(n);
  });
});
