import { describe, expect, it } from 'vitest';
import { countProblem, parseCount, parseDateTime, parseNumber } from '../../../src/sim/traces/fields.js';

function seconds(text: string): number | undefined {
  const out = { days: 0, seconds: 0 };
  return parseDateTime(text, out) ? out.days * 86400 + out.seconds : undefined;
}

describe('parseDateTime', () => {
  it('reads the 2023 and 2024 Azure forms and ISO variants to the same UTC instant', () => {
    const base = Date.UTC(2024, 4, 10, 12, 0, 0) / 1000;
    expect(seconds('2024-05-10 12:00:00.5000000')).toBeCloseTo(base + 0.5, 6);
    expect(seconds('2024-05-10 12:00:00.500000+00:00')).toBeCloseTo(base + 0.5, 6);
    expect(seconds('2024-05-10T12:00:00.5Z')).toBeCloseTo(base + 0.5, 6);
    expect(seconds('2024-05-10 14:00:00.5+02:00')).toBeCloseTo(base + 0.5, 6);
    expect(seconds('2024-05-10 05:00:00.5-0700')).toBeCloseTo(base + 0.5, 6);
    expect(seconds('2024-05-10 12:00:00')).toBe(base);
  });

  it('rejects what is not a date-time', () => {
    for (const bad of ['', 'yesterday', '2024-05-10', '2024-13-01 00:00:00', '2023-02-29 00:00:00', '2024-05-10 24:00:00', '2024-05-10 12:00:00.', '2024-05-10 12:00:00+2', '2024/05/10 12:00:00']) {
      expect(seconds(bad), bad).toBeUndefined();
    }
    expect(seconds('2024-02-29 00:00:00')).toBe(Date.UTC(2024, 1, 29) / 1000); // a leap day exists
  });
});

describe('parseCount and parseNumber', () => {
  it('accepts non-negative integers (and a zero fraction), nothing else', () => {
    expect([parseCount('4808'), parseCount(' 12 '), parseCount('12.0'), parseCount('0')]).toEqual([4808, 12, 12, 0]);
    for (const bad of ['', '-3', '1.5', 'abc', '1e3', '4294967296']) expect(parseCount(bad), bad).toBeNaN();
    // The message says which: too many tokens, or not a count at all.
    expect(countProblem('4294967296')).toBe('is more than 4294967295 tokens, the most one request may have');
    expect(countProblem(' 99999999999999999999.0 ')).toBe('is more than 4294967295 tokens, the most one request may have');
    for (const bad of ['', '-3', '1.5', 'abc', '1e3']) expect(countProblem(bad), bad).toBe('is not a non-negative integer');
    expect(parseCount('x,123,y', 2, 5)).toBe(123);
  });

  it('reads decimal seconds in place, with Number() for the rest', () => {
    expect([parseNumber('12'), parseNumber('0.25'), parseNumber('1.7e3'), parseNumber(' 5 ')]).toEqual([12, 0.25, 1700, 5]);
    for (const bad of ['', ' ', 'abc', 'Infinity', '1.2.3']) expect(parseNumber(bad), bad).toBeNaN();
    // A trace field is decimal: Number() alone read a BurstGPT Timestamp of 0x10 as 16 s.
    for (const bad of ['0x10', '0b11', '0o7', '1_000']) expect(parseNumber(bad), bad).toBeNaN();
    expect([parseNumber('-3.5'), parseNumber('+2'), parseNumber('.5'), parseNumber('5.'), parseNumber('1E2')]).toEqual([-3.5, 2, 0.5, 5, 100]);
  });
});
