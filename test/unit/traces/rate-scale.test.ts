import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { BUNDLED_TRACES, readTrace, scaleRate, speedUp } from '../../../src/sim/traces/index.js';
import type { Trace } from '../../../src/sim/types.js';
import { isSorted, mean, windowCounts } from './helpers.js';

let code: Trace; // Azure 2023 code: 8,819 requests over 3,435.948 s
beforeAll(async () => {
  code = await readTrace(BUNDLED_TRACES.azureCode2023);
});

const N = 8819;

describe('scaleRate on the Azure 2023 code trace', () => {
  it('x2: exactly 2 copies of each request, same duration, sorted, same ISL/OSL mix', () => {
    const scaled = scaleRate(code, 2, 7);
    expect(scaled.arrival.length).toBe(2 * N);
    expect(scaled.durationSeconds).toBe(code.durationSeconds);
    expect(scaled.arrival[0]).toBe(0);
    expect(scaled.arrival.at(-1)).toBe(code.arrival.at(-1));
    expect(isSorted(scaled.arrival)).toBe(true);
    expect(mean(scaled.isl)).toBeCloseTo(mean(code.isl), 9);
    expect(mean(scaled.osl)).toBeCloseTo(mean(code.osl), 9);
  });

  it('x3.7: 3 or 4 copies each; count within 4 sigma of 3.7 x 8,819 = 32,630 (sigma = sqrt(8819 x 0.21) = 43)', () => {
    const scaled = scaleRate(code, 3.7, 7);
    expect(Math.abs(scaled.arrival.length - 3.7 * N)).toBeLessThan(4 * 43);
    expect(scaled.durationSeconds).toBe(code.durationSeconds);
    expect(isSorted(scaled.arrival)).toBe(true);
    // The original ISL sum scaled by 3.7, within 1% (heavier requests may draw the extra copy).
    const sum = (a: Uint32Array) => a.reduce((s, x) => s + x, 0);
    expect(sum(scaled.isl) / (3.7 * sum(code.isl))).toBeCloseTo(1, 1);
  });

  it('x0.5: thinning keeps about half (within 4 sigma = 4 x 47), times untouched, duration kept', () => {
    const scaled = scaleRate(code, 0.5, 7);
    expect(Math.abs(scaled.arrival.length - N / 2)).toBeLessThan(4 * 47);
    expect(scaled.durationSeconds).toBe(code.durationSeconds);
    const original = new Set(code.arrival);
    expect(Array.from(scaled.arrival).every((t) => original.has(t))).toBe(true);
  });

  it('keeps the shape: every 60 s window gets 3.7x its original count (within 4 sigma + 6 for window edges)', () => {
    const scaled = scaleRate(code, 3.7, 11);
    const before = windowCounts(code.arrival, 60, code.durationSeconds);
    const after = windowCounts(scaled.arrival, 60, code.durationSeconds);
    for (let w = 0; w < before.length; w++) {
      const expected = 3.7 * before[w]!;
      expect(Math.abs(after[w]! - expected)).toBeLessThanOrEqual(4 * Math.sqrt(0.21 * before[w]!) + 6);
    }
  });

  it('keeps bursts: the busiest 10 s window of the original is still the busiest, at ~2x its count', () => {
    const scaled = scaleRate(code, 2, 3);
    const before = windowCounts(code.arrival, 10, code.durationSeconds);
    const after = windowCounts(scaled.arrival, 10, code.durationSeconds);
    const peak = before.indexOf(Math.max(...before));
    expect(after.indexOf(Math.max(...after))).toBe(peak);
    expect(after[peak]! / before[peak]!).toBeGreaterThan(1.8);
    expect(after[peak]! / before[peak]!).toBeLessThan(2.2);
  });

  it('copies never move more than 5 s (the default cap) from an original', () => {
    const sparse: Trace = { ...code, arrival: new Float64Array([0, 100, 200]), isl: new Uint32Array([1, 2, 3]), osl: new Uint32Array([1, 1, 1]), durationSeconds: 200 };
    const scaled = scaleRate(sparse, 4, 1);
    expect(scaled.arrival.length).toBe(12);
    for (let i = 0; i < 12; i++) {
      const original = [0, 100, 200][Math.floor(i / 4)]!;
      expect(Math.abs(scaled.arrival[i]! - original)).toBeLessThanOrEqual(5);
      expect(scaled.isl[i]).toBe(Math.floor(i / 4) + 1);
    }
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = scaleRate(code, 3.7, 42);
    const b = scaleRate(code, 3.7, 42);
    const c = scaleRate(code, 3.7, 43);
    expect(a.arrival).toEqual(b.arrival);
    expect(a.isl).toEqual(b.isl);
    expect(a.arrival.length === c.arrival.length && a.arrival.every((t, i) => t === c.arrival[i])).toBe(false);
  });

  it('scales to over 1,000,000 requests (x113.5 → 1,000,957 expected) with the same duration', () => {
    const scaled = scaleRate(code, 113.5, 5);
    expect(Math.abs(scaled.arrival.length - 113.5 * N)).toBeLessThan(4 * Math.sqrt(N * 0.25));
    expect(scaled.arrival.length).toBeGreaterThan(1_000_000);
    expect(scaled.durationSeconds).toBe(code.durationSeconds);
    expect(isSorted(scaled.arrival)).toBe(true);
  });

  it('factor 1 returns the trace as is; a non-positive factor is an InputError', () => {
    expect(scaleRate(code, 1, 1)).toBe(code);
    expect(() => scaleRate(code, 0, 1)).toThrow(InputError);
    expect(() => scaleRate(code, Number.NaN, 1)).toThrow(/rateScale: NaN is not a positive number/);
  });

  it('readTrace applies rateScale with its seed', async () => {
    const a = await readTrace(BUNDLED_TRACES.azureCode2023, { rateScale: 2.5, seed: 9 });
    const b = await readTrace(BUNDLED_TRACES.azureCode2023, { rateScale: 2.5, seed: 9 });
    expect(a.arrival).toEqual(b.arrival);
    expect(Math.abs(a.arrival.length - 2.5 * N)).toBeLessThan(4 * 47);
  });
});

describe('speedUp', () => {
  it('x2 replays the same requests in half the time', () => {
    const fast = speedUp(code, 2);
    expect(fast.arrival.length).toBe(N);
    expect(fast.durationSeconds).toBeCloseTo(1717.974028, 6);
    expect(fast.arrival[1]).toBeCloseTo(0.026, 9);
  });
});
