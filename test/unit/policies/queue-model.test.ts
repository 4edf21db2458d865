/**
 * The M/M/c prefill model under numbers of any size: the replica search and Erlang C stop within the staffing bound
 * (a + 12 sqrt(a) + 50 servers), and above EXACT_LOAD_MAX the Halfin-Whitt approximation stands in for the recursion.
 * The inputs here hang an unbounded search: 1e13 requests a minute is a search to ceil(a) + 100,000 per call, a service
 * rate of 0 one that never ends; a test that hangs times out and fails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { erlangC, EXACT_LOAD_MAX, replicasForTtftQuantile, staffingBound, waitQuantile } from '../../../src/policies/queue-model.js';

/** Erlang C by the plain recursion, without any bound: the yardstick. */
function exactErlangC(c: number, a: number): number {
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  const rho = a / c;
  return b / (1 - rho * (1 - b));
}

/** mu for ISL 3000 at 22163 tok/s on one GPU (the worked example in queue-model.ts). */
const MU = 22163 / 3000;

describe('the staffing bound', () => {
  it.each([1e-3, 0.5, 4.061, 50, 1000, 1e5])('leaves a wait probability below 1e-30 at a = %s', (a) => {
    expect(exactErlangC(staffingBound(a), a)).toBeLessThan(1e-30);
  });

  it('is where Erlang C is taken as 0, and the recursion is exact below it', () => {
    expect(erlangC(staffingBound(4.061), 4.061)).toBe(0);
    expect(erlangC(5, 4.061)).toBeCloseTo(0.5779, 3);
    expect(erlangC(6, 4.061)).toBe(exactErlangC(6, 4.061));
  });
});

describe('Halfin-Whitt above EXACT_LOAD_MAX', () => {
  it.each([0.5, 1, 2, 3])('is within 2 percent of the exact Erlang C at beta = %s just above the limit', (beta) => {
    const a = EXACT_LOAD_MAX + 1;
    const c = Math.round(a + beta * Math.sqrt(a));
    expect(erlangC(c, a) / exactErlangC(c, a)).toBeGreaterThan(0.98);
    expect(erlangC(c, a) / exactErlangC(c, a)).toBeLessThan(1.02);
  });

  it('gives counts that continue those of the exact search across the limit', () => {
    const below = replicasForTtftQuantile(EXACT_LOAD_MAX * MU, MU, 0.135, 0.5, 0.95) as number;
    const above = replicasForTtftQuantile((EXACT_LOAD_MAX + 30) * MU, MU, 0.135, 0.5, 0.95) as number;
    expect(below).toBeGreaterThan(EXACT_LOAD_MAX);
    expect(above - below).toBeGreaterThanOrEqual(0);
    expect(above - below).toBeLessThanOrEqual(40);
  });
});

describe('replicasForTtftQuantile with hostile numbers', () => {
  it('keeps the worked example: 500 ms p95 needs 5 replicas, 300 ms needs 6', () => {
    expect(replicasForTtftQuantile(30, MU, 0.135065, 0.5, 0.95)).toBe(5);
    expect(replicasForTtftQuantile(30, MU, 0.135065, 0.3, 0.95)).toBe(6);
  });

  it('answers 1e13 requests a minute with a count just above the offered load', () => {
    const lambda = 1e13 / 60;
    const a = lambda / MU;
    const c = replicasForTtftQuantile(lambda, MU, 0.135, 0.5, 0.95) as number;
    expect(c).toBeGreaterThan(a);
    expect(c).toBeLessThanOrEqual(staffingBound(a));
  });

  it('answers 1e300 requests/s with the staffing bound, and a zero or 1e-300 service rate without looping', () => {
    expect(replicasForTtftQuantile(1e300, MU, 0.135, 0.5, 0.95)).toBe(staffingBound(1e300 / MU));
    expect(replicasForTtftQuantile(30, 0, 0.1, 0.5, 0.95)).toBeUndefined();
    expect(replicasForTtftQuantile(30, 1e-300, 0.1, 0.5, 0.95)).toBe(staffingBound(3e301));
    expect(replicasForTtftQuantile(NaN, MU, 0.1, 0.5, 0.95)).toBeUndefined();
    expect(replicasForTtftQuantile(30, MU, NaN, 0.5, 0.95)).toBeUndefined();
  });

  it('property: for any load the answer meets the target and one fewer does not (exact range)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 5000, noNaN: true }),
        fc.double({ min: 0.001, max: 0.4, noNaN: true }),
        fc.constantFrom(0.5, 0.9, 0.95, 0.99, 0.9999),
        (lambda, slack, q) => {
          const service = 0.1;
          const c = replicasForTtftQuantile(lambda, MU, service, service + slack, q) as number;
          expect(c).toBeGreaterThanOrEqual(1);
          expect(c).toBeLessThanOrEqual(staffingBound(lambda / MU));
          expect(waitQuantile(c, lambda, MU, q)).toBeLessThanOrEqual(slack);
          if (c > 1) expect(waitQuantile(c - 1, lambda, MU, q)).toBeGreaterThan(slack);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: every answer is a finite count at or above the offered load, whatever the magnitudes', () => {
    const magnitude = fc.oneof(fc.constantFrom(0, 1e-300, 1e-9, 1, 1e9, 1e13, 1e300), fc.double({ min: 1e-6, max: 1e12, noNaN: true }));
    fc.assert(
      fc.property(magnitude, magnitude, (lambda, mu) => {
        const c = replicasForTtftQuantile(lambda, mu, 0.1, 0.5, 0.95);
        if (c === undefined) return;
        expect(Number.isFinite(c)).toBe(true);
        // At 1e300 the count and the load round to the same double.
        if (lambda > 0) expect(c).toBeGreaterThanOrEqual(lambda / mu);
      }),
      { numRuns: 300 },
    );
  });
});
