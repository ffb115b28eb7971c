import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { frameResult, unframeResult } from './result-framing.js';

describe('a result framed in a pod log', () => {
  const value = { schema: 'x', big: 'y'.repeat(50_000), n: [1, 2, 3] };

  it('comes back whole from among other log lines', () => {
    const log = `starting\nprogress 1\n${frameResult(value)}bye\n`;
    expect(unframeResult(log)).toEqual({ value });
  });

  it('is rejected when absent, cut short or altered, with the reason', () => {
    // random, so it does not compress: several payload lines
    const framed = frameResult({ ...value, big: randomBytes(30_000).toString('hex') });
    expect(framed.split('\n').length).toBeGreaterThan(5);
    expect(unframeResult('only progress\n')).toMatchObject({ problem: expect.stringMatching(/no result/) });
    const lines = framed.split('\n');
    expect(unframeResult(lines.slice(0, -3).join('\n'))).toMatchObject({
      problem: expect.stringMatching(/cut short/),
    });
    const dropped = [...lines.slice(0, 2), ...lines.slice(3)].join('\n');
    expect(unframeResult(dropped)).toMatchObject({ problem: expect.stringMatching(/characters/) });
    const altered = framed.replace(/\n([A-Za-z0-9+/])/, (_m, c: string) => `\n${c === 'A' ? 'B' : 'A'}`);
    expect(unframeResult(altered)).toMatchObject({ problem: expect.stringMatching(/digest/) });
  });
});
