import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS, parseDuration, parsePercent } from './values.js';

describe('parseDuration', () => {
  it('reads a number with its unit', () => {
    expect(parseDuration('1500ms')).toBe(1500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration(' 10s ')).toBe(10_000);
  });

  it('refuses a bare number, in a string or as a YAML number, with the unit to write', () => {
    expect(() => parseDuration('5')).toThrow('"5" has no unit: write 5s or 5ms');
    expect(() => parseDuration(30)).toThrow('30 has no unit: write 30s or 30ms');
  });

  it('refuses empty, unknown units and values outside the range', () => {
    expect(() => parseDuration('')).toThrow('a duration is needed');
    expect(() => parseDuration(undefined)).toThrow('a duration is needed');
    expect(() => parseDuration('5 days')).toThrow('is not a duration');
    expect(() => parseDuration('1d')).toThrow('is not a duration');
    expect(() => parseDuration('-5s')).toThrow('is not a duration');
    expect(() => parseDuration('500ms', { minMs: 1000 })).toThrow('too short: at least 1s');
    expect(() => parseDuration('0ms')).toThrow('too short');
    expect(parseDuration(`${MAX_TIMER_MS}ms`)).toBe(MAX_TIMER_MS);
    expect(() => parseDuration(`${MAX_TIMER_MS + 1}ms`)).toThrow(/too long: at most 596h/);
    expect(() => parseDuration('597h')).toThrow(/too long/);
  });
});

describe('parsePercent', () => {
  it('reads a percentage with its %', () => {
    expect(parsePercent('5%')).toBeCloseTo(0.05);
    expect(parsePercent('0.5%')).toBeCloseTo(0.005);
    expect(parsePercent('99 %')).toBeCloseTo(0.99);
    expect(parsePercent('0%')).toBe(0);
  });

  it('refuses a bare number rather than guess which it meant', () => {
    expect(() => parsePercent('1')).toThrow('write 1% (a bare number is ambiguous');
    expect(() => parsePercent('0.99')).toThrow('write 99% or 0.99%');
    expect(() => parsePercent('')).toThrow('a percentage is needed');
    expect(() => parsePercent('-5%')).toThrow('is not a percentage');
    expect(() => parsePercent('1001%')).toThrow('above 1000%');
  });
});
