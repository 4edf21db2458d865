import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbitrate, pressureCuts, type GpuAsk } from '../../../src/fleet/arbitrate.js';
import { splitShares } from '../../../src/fleet/decide.js';

const ask = (name: string, priority: number, floor: number, hard: number, want = hard, pressure = 1, step = 4): GpuAsk => ({ name, priority, pressure, floor, hard, want, step });
const granted = (a: ReturnType<typeof arbitrate>) => Object.fromEntries(a.grants.map((g) => [g.name, g.granted]));

describe('fleet arbitration', () => {
  it('shares a cut by demand / pressure: the graph further over its target keeps more', () => {
    expect(pressureCuts([8, 8], [1, 2], 6)).toEqual([4, 2]);
    // The least pressed is cut to nothing first: [8, 2] at pressures [1, 4], 9 missing -> mu = 2 -> [8, 1].
    expect(pressureCuts([8, 2], [1, 4], 9)).toEqual([8, 1]);
    expect(pressureCuts([8, 2], [1, 4], 0)).toEqual([0, 0]);
    expect(pressureCuts([8, 2], [1, 4], 20)).toEqual([8, 2]);
  });

  it('everyone gets what it asks when it fits', () => {
    const a = arbitrate([ask('chat', 2, 8, 24), ask('code', 1, 8, 20)], 48);
    expect(granted(a)).toEqual({ chat: 24, code: 20 });
    expect(a.grants.map((g) => g.outcome)).toEqual(['all', 'all']);
  });

  it('floors first, then the higher priority: the shortfall lands on the lower priority', () => {
    // 48 - floors 16 = 32; chat's 24 above its floor fit and leave 8 of code's 16.
    const a = arbitrate([ask('chat', 2, 8, 32), ask('code', 1, 8, 24)], 48);
    expect(granted(a)).toEqual({ chat: 32, code: 16 });
    expect(a.grants[1]).toMatchObject({ gaveUp: 8, outcome: 'hard-cut' });
    // Pressure does not reach across priorities: a code far over its target still waits for chat.
    expect(granted(arbitrate([ask('chat', 2, 8, 32), ask('code', 1, 8, 24, 24, 4)], 48))).toEqual({ chat: 32, code: 16 });
  });

  it('a higher priority keeps its scale-down window before a lower one grows; within a priority, load before windows', () => {
    // chat: target 16, 24 kept by its window; code needs 24. Budget 40: chat 24, code 16.
    expect(granted(arbitrate([ask('chat', 2, 8, 16, 24), ask('code', 1, 8, 24)], 40))).toEqual({ chat: 24, code: 16 });
    // Same priority: code's load (hard) before chat's window (soft): chat 16, code 24.
    expect(granted(arbitrate([ask('chat', 1, 8, 16, 24), ask('code', 1, 8, 24)], 40))).toEqual({ chat: 16, code: 24 });
  });

  it('grants whole replicas and hands the rounding back', () => {
    // Same priority, pressures 1 and 2, 12 GPUs missing: cuts 8 and 4 -> 22 and 26, rounded to 20 and 24, 4 spare -> 20 and 28.
    const a = arbitrate([ask('a', 1, 8, 30, 30, 1, 4), ask('b', 1, 8, 30, 30, 2, 4)], 48);
    expect(granted(a)).toEqual({ a: 20, b: 28 });
    expect(a.granted).toBe(48);
  });

  it('hands the rounding back until no graph that wants more has a whole step of it left over', () => {
    // 45 GPUs, 40 wanted each: cut to 15 each, rounded to 15, 8, 8 (14 spare); a takes a GPU a pass, b a replica of 8.
    const a = arbitrate([ask('a', 1, 0, 40, 40, 1, 1), ask('b', 1, 0, 40, 40, 1, 8), ask('c', 1, 0, 40, 40, 1, 8)], 45);
    expect(granted(a)).toEqual({ a: 21, b: 16, c: 8 });
    expect(a.granted).toBe(45);
  });

  it('floors that do not fit are all kept, and said', () => {
    const a = arbitrate([ask('a', 1, 24, 24), ask('b', 2, 32, 40)], 48);
    expect(granted(a)).toEqual({ a: 24, b: 32 });
    expect(a.overBudget).toBe(8);
  });

  it('split: shares in proportion to priority, the remainder to the highest', () => {
    expect(splitShares(48, [2, 1])).toEqual([32, 16]);
    expect(splitShares(50, [2, 1])).toEqual([34, 16]);
    expect(splitShares(10, [1, 1, 1])).toEqual([4, 3, 3]);
  });

  it('property: within the budget, each between its floor and what it asked, and no lower priority above its floor while a higher one is short', () => {
    const arbAsk = fc.record({
      priority: fc.integer({ min: 1, max: 3 }),
      pressure: fc.double({ min: 0.25, max: 4, noNaN: true }),
      floor: fc.integer({ min: 0, max: 4 }).map((n) => n * 4),
      hard: fc.integer({ min: 0, max: 12 }).map((n) => n * 4),
      soft: fc.integer({ min: 0, max: 4 }).map((n) => n * 4),
    });
    fc.assert(
      fc.property(fc.array(arbAsk, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 200 }), (raw, extra) => {
        const asks = raw.map((r, i) => ask(`g${i}`, r.priority, r.floor, r.floor + r.hard, r.floor + r.hard + r.soft, r.pressure, 4));
        const budget = asks.reduce((s, a) => s + a.floor, 0) + extra;
        const result = arbitrate(asks, budget);
        expect(result.granted).toBeLessThanOrEqual(budget);
        result.grants.forEach((g, i) => {
          const a = asks[i]!;
          expect(g.granted).toBeGreaterThanOrEqual(a.floor);
          expect(g.granted).toBeLessThanOrEqual(a.want);
          expect((g.granted - a.floor) % 4).toBe(0);
        });
        // A graph short of its hard layer by a whole replica: every lower priority is at its floor.
        result.grants.forEach((g, i) => {
          const a = asks[i]!;
          if (g.granted + 4 > a.hard) return;
          result.grants.forEach((o, j) => {
            if (asks[j]!.priority < a.priority) expect(o.granted).toBe(asks[j]!.floor);
          });
        });
      }),
      { numRuns: 300 },
    );
  });

  it('property: replicas of mixed sizes stay within budget, floors and wants, and leave no whole step idle that a graph still wants', () => {
    const arbAsk = fc.record({
      priority: fc.integer({ min: 1, max: 3 }),
      pressure: fc.double({ min: 0.25, max: 4, noNaN: true }),
      step: fc.constantFrom(1, 2, 4, 8),
      floor: fc.integer({ min: 0, max: 4 }),
      hard: fc.integer({ min: 0, max: 12 }),
      soft: fc.integer({ min: 0, max: 4 }),
    });
    fc.assert(
      fc.property(fc.array(arbAsk, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 200 }), (raw, extra) => {
        const asks = raw.map((r, i) => {
          const floor = r.floor * r.step;
          return ask(`g${i}`, r.priority, floor, floor + r.hard * r.step, floor + (r.hard + r.soft) * r.step, r.pressure, r.step);
        });
        const budget = asks.reduce((s, a) => s + a.floor, 0) + extra;
        const result = arbitrate(asks, budget);
        expect(result.granted).toBeLessThanOrEqual(budget);
        const spare = budget - result.granted;
        result.grants.forEach((g, i) => {
          const a = asks[i]!;
          expect(g.granted).toBeGreaterThanOrEqual(a.floor);
          expect(g.granted).toBeLessThanOrEqual(a.want);
          expect((g.granted - a.floor) % a.step).toBe(0);
          // Still wanting a whole step: the spare cannot hold one.
          if (g.granted + a.step <= a.want) expect(spare).toBeLessThan(a.step);
        });
      }),
      { numRuns: 300 },
    );
  });
});
