import { describe, expect, it } from 'vitest';
import { stabilize, type RecommendationEntry } from '../../../src/constraints/stabilization.js';
import { stepLimit } from '../../../src/constraints/step.js';

describe('stabilize (HPA)', () => {
  const windows = { scaleDown: 300, scaleUp: 0 };
  it('scale-down goes only to the highest recommendation of the last 300 s', () => {
    // Ticks every 60 s with recommendations 6, 4, 5, 3, 3; previous desired 6.
    const recs = [6, 4, 5, 3, 3];
    const entries: RecommendationEntry[] = [];
    const results: number[] = [];
    let previous = 6;
    recs.forEach((r, t) => {
      const now = t * 60_000;
      const s = stabilize('p', previous, r, entries, now, windows);
      results.push(s.value);
      previous = s.value;
      entries.push({ time: now, desired: { p: r } });
    });
    expect(results).toEqual([6, 6, 6, 6, 6]);
    // At t = 300 s the first 6 (t = 0) has left the window: max(4, 5, 3, 3, 3) = 5; at 360 s the 4, at 420 s the 5.
    expect(stabilize('p', 6, 3, entries, 300_000, windows)).toEqual({ value: 5, heldBy: { direction: 'down', level: 5 } });
    expect(stabilize('p', 5, 3, entries, 420_000, windows).value).toBe(3);
  });
  it('scale-up is immediate with no scale-up window, and waits for the lowest with one', () => {
    const entries: RecommendationEntry[] = [{ time: 0, desired: { p: 4 } }];
    expect(stabilize('p', 2, 8, entries, 60_000, windows)).toEqual({ value: 8 });
    expect(stabilize('p', 2, 8, entries, 60_000, { scaleDown: 300, scaleUp: 120 })).toEqual({ value: 4, heldBy: { direction: 'up', level: 4 } });
  });
});

describe('stepLimit', () => {
  it('limits the change per tick', () => {
    expect(stepLimit(4, 15, 8, 2)).toEqual({ value: 12, bound: 'step-up' });
    expect(stepLimit(12, 3, 8, 2)).toEqual({ value: 10, bound: 'step-down' });
    expect(stepLimit(4, 9, 8, 2)).toEqual({ value: 9 });
    expect(stepLimit(4, 15, 8, 2, 3)).toEqual({ value: 15 });
  });
});
