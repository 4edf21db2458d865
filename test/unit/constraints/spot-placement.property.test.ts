/**
 * What Spot rule 5 (placeSides, spot.placement one-pool) guarantees, over random totals, shares, previous placements,
 * gate holds and bounds:
 *
 *  1. Bounds: Spot within [spotLo, max(spotAllowed, total - onDemandHi)] (over its share only when on-demand is full),
 *     on-demand within [onDemandLo, onDemandHi] whenever the total fits both sides' bounds.
 *  2. On a scale-up from a placement within the share, no side loses replicas: the increase is added, nothing moves.
 *  3. A side the gate holds gets no increase on a scale-up while the other side is free and can take it within its
 *     step limit and bounds.
 *  4. On a scale-down each side gives up at most what the role gives up.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placeSides, type SidesInput } from '../../../src/constraints/spot.js';

const input = fc
  .record({
    prevSpot: fc.integer({ min: 0, max: 20 }),
    prevOnDemand: fc.integer({ min: 0, max: 20 }),
    total: fc.integer({ min: 0, max: 40 }),
    share: fc.double({ min: 0.1, max: 1, noNaN: true }),
    floor: fc.integer({ min: 0, max: 3 }),
    spotHeld: fc.boolean(),
    onDemandHeld: fc.boolean(),
    onDemandHi: fc.integer({ min: 4, max: 40 }),
    maxStepUp: fc.integer({ min: 1, max: 16 }),
    maxStepDown: fc.integer({ min: 1, max: 16 }),
  })
  .map((r): SidesInput => {
    const onDemandLo = Math.min(r.floor, r.onDemandHi);
    // Rule 3's Spot share of the total: min(floor(maxShare x total), total - onDemandFloor), at least 0.
    const spotAllowed = Math.max(0, Math.min(Math.floor(r.share * r.total), r.total - onDemandLo));
    return { total: r.total, spotAllowed, prevSpot: r.prevSpot, prevOnDemand: r.prevOnDemand, spotHeld: r.spotHeld, onDemandHeld: r.onDemandHeld, spotLo: 0, onDemandLo, onDemandHi: r.onDemandHi, maxStepUp: r.maxStepUp, maxStepDown: r.maxStepDown };
  });

describe('placeSides (Spot rule 5) properties', () => {
  it('1-4 hold for any total, share, previous placement, holds and bounds', () => {
    fc.assert(
      fc.property(input, (x) => {
        const { spot } = placeSides(x);
        const onDemand = x.total - spot;
        const fits = x.total >= x.spotLo + x.onDemandLo && x.total - x.spotAllowed <= x.onDemandHi;
        // 1.
        expect(spot).toBeGreaterThanOrEqual(x.spotLo);
        expect(spot).toBeLessThanOrEqual(Math.max(x.spotAllowed, x.total - x.onDemandHi));
        if (fits) {
          expect(onDemand).toBeGreaterThanOrEqual(x.onDemandLo);
          expect(onDemand).toBeLessThanOrEqual(x.onDemandHi);
        }
        const d = x.total - x.prevSpot - x.prevOnDemand;
        const inShare = x.prevSpot <= x.spotAllowed && x.prevOnDemand >= x.onDemandLo && x.prevOnDemand <= x.onDemandHi;
        if (d > 0 && inShare && fits) {
          // 2.
          expect(spot).toBeGreaterThanOrEqual(x.prevSpot);
          expect(onDemand).toBeGreaterThanOrEqual(x.prevOnDemand);
          // 3.
          if (x.spotHeld && !x.onDemandHeld && d <= x.maxStepUp && x.prevOnDemand + d <= x.onDemandHi) expect(spot).toBe(x.prevSpot);
          if (x.onDemandHeld && !x.spotHeld && d <= x.maxStepUp && x.prevSpot + d <= x.spotAllowed) expect(onDemand).toBe(x.prevOnDemand);
        }
        if (d <= 0 && inShare && fits) {
          // 4.
          expect(x.prevSpot - spot).toBeLessThanOrEqual(-d);
          expect(x.prevOnDemand - onDemand).toBeLessThanOrEqual(-d);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
