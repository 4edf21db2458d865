import { describe, expect, it } from 'vitest';
import { createRng, exponential, lognormal } from '../../../src/sim/random.js';

describe('createRng', () => {
  it('is deterministic per seed, in [0, 1), and uniform (mean 0.5 ± 4 x 0.289/sqrt(n))', () => {
    const a = createRng(123);
    const b = createRng(123);
    const c = createRng(124);
    const first = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(first);
    expect([c(), c(), c()]).not.toEqual(first);
    const rng = createRng(7);
    const n = 100_000;
    let sum = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const u = rng();
      sum += u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan((4 * 0.2887) / Math.sqrt(n));
  });

  it('exponential(rate 5) has mean 0.2 s; lognormal(mean 3000) has mean 3000', () => {
    const rng = createRng(1);
    const n = 100_000;
    let e = 0;
    let l = 0;
    for (let i = 0; i < n; i++) {
      e += exponential(rng, 5);
      l += lognormal(rng, 3000, 0.5);
    }
    expect(Math.abs(e / n - 0.2)).toBeLessThan((4 * 0.2) / Math.sqrt(n));
    expect(Math.abs(l / n - 3000)).toBeLessThan((4 * 3000 * Math.sqrt(Math.exp(0.25) - 1)) / Math.sqrt(n));
    expect(() => exponential(rng, 0)).toThrow(RangeError);
  });
});
