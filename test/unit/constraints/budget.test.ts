import { describe, expect, it } from 'vitest';
import { allocateBudget, budgetMode, sloPressure, trimToBudget, type BudgetInput, type TrimPool } from '../../../src/constraints/budget.js';
import type { ConstraintEffect } from '../../../src/planner/types.js';
import { TWO_POOLS, makeSpec } from './helpers.js';

function input(prefill: number, decode: number, maxGpus: number, extra: Partial<BudgetInput> = {}): BudgetInput {
  return {
    maxGpus,
    mode: 'proportional',
    gross: { prefill, decode },
    mins: { prefill: 1, decode: 1 },
    gpus: { prefill: 1, decode: 1 },
    fixed: { prefill: false, decode: false },
    ...extra,
  };
}

describe('allocateBudget, proportional (the Dynamo reference rows, budget 8, min 1)', () => {
  it.each([
    [2, 1, 2, 1],
    [5, 1, 5, 1],
    [14, 3, 6, 2],
    [8, 5, 4, 4],
    [11, 20, 2, 6],
  ])('need (%i, %i) -> (%i, %i)', (p, d, p2, d2) => {
    expect(allocateBudget(input(p, d, 8)).allowance).toEqual({ prefill: p2, decode: d2 });
  });
  it('reports the shortfall in GPUs and one effect per role cut', () => {
    const r = allocateBudget(input(14, 3, 8));
    expect(r.shortfallGpus).toBe(9);
    expect(r.effects.map((e) => [e.constraint, e.role, e.from, e.to])).toEqual([
      ['budget', 'prefill', 14, 6],
      ['budget', 'decode', 3, 2],
    ]);
    expect(r.effects[0]?.detail).toBe('GPU budget 8: need 17 GPUs (prefill 14 x 1, decode 3 x 1); prefill 14 -> 6 (prefill:decode proportion of need kept); short 9 GPUs');
  });
  it('works in GPUs when replicas differ in size: 4-GPU prefill, 8-GPU decode, budget 64', () => {
    // need 10 x 4 + 6 x 8 = 88 GPUs; s = 0.727; p = floor(7.27) = 7 (28 GPUs); d = floor(36 / 8) = 4 (32 GPUs); hand back: 4 GPUs -> p 8.
    const r = allocateBudget(input(10, 6, 64, { gpus: { prefill: 4, decode: 8 } }));
    expect(r.allowance).toEqual({ prefill: 8, decode: 4 });
    expect(r.shortfallGpus).toBe(24);
  });
  it('never cuts below the minimums', () => {
    const r = allocateBudget(input(20, 20, 10, { mins: { prefill: 2, decode: 6 } }));
    expect(r.allowance.decode).toBeGreaterThanOrEqual(6);
    expect(r.allowance.prefill).toBeGreaterThanOrEqual(2);
    expect(r.allowance.prefill + r.allowance.decode).toBe(10);
  });
  it('keeps mins that do not fit, with a warning', () => {
    const r = allocateBudget(input(9, 9, 6, { mins: { prefill: 4, decode: 4 } }));
    expect(r.allowance).toEqual({ prefill: 4, decode: 4 });
    expect(r.warnings).toEqual(['budget: minimums and held counts need 8 GPUs, over spec.budget.maxGpus 6; keeping them']);
  });
  it('does not cut a held role: the other gets what is left', () => {
    const r = allocateBudget(input(14, 3, 8, { fixed: { prefill: false, decode: true } }));
    expect(r.allowance).toEqual({ prefill: 5, decode: 3 });
  });
});

describe('allocateBudget by SLO pressure', () => {
  it('the role further over its target keeps more: (14, 3), TTFT 1.5x, ITL 0.8x -> (7, 1) instead of (6, 2)', () => {
    const r = allocateBudget(input(14, 3, 8, { mode: 'pressure', pressure: { prefill: 1.5, decode: 0.8 } }));
    expect(r.allowance).toEqual({ prefill: 7, decode: 1 });
    expect(r.shortfallGpus).toBe(9);
  });
  it('decode under pressure keeps more: (8, 5), TTFT 0.5x, ITL 2x', () => {
    // cut 5 shared 8/0.5 : 5/2 = 16 : 2.5 -> prefill loses 4.32, decode 0.68 -> (3, 4), hand back to decode first -> (3, 5).
    const r = allocateBudget(input(8, 5, 8, { mode: 'pressure', pressure: { prefill: 0.5, decode: 2 } }));
    expect(r.allowance).toEqual({ prefill: 3, decode: 5 });
  });
  it('equal pressure is the proportional split', () => {
    const r = allocateBudget(input(11, 20, 8, { mode: 'pressure', pressure: { prefill: 1, decode: 1 } }));
    expect(r.allowance.prefill + r.allowance.decode).toBe(8);
    expect(r.allowance).toEqual({ prefill: 2, decode: 6 });
  });
  it('pressure is latency at the SLO percentile over target, clamped to 0.25..4, 1 when unknown', () => {
    const spec = makeSpec({ pools: TWO_POOLS, slo: { ttft: { percentile: 95, ms: 600 }, itl: { percentile: 99, ms: 50 } } });
    expect(sloPressure(spec, { time: '', ttftMs: { mean: 400, p95: 900 }, itlMs: { p95: 40 } })).toEqual({ prefill: 1.5, decode: 1 });
    expect(sloPressure(spec, { time: '', ttftMs: { p95: 60_000 }, itlMs: { p99: 1 } })).toEqual({ prefill: 4, decode: 0.25 });
    const means = makeSpec({ pools: TWO_POOLS, sla: { improvements: { percentile: false } } });
    expect(sloPressure(means, { time: '', ttftMs: { mean: 250, p95: 900 } }).prefill).toBe(0.5);
  });
  it('the mode follows the policy', () => {
    expect(budgetMode(makeSpec({ pools: TWO_POOLS }))).toBe('pressure');
    expect(budgetMode(makeSpec({ pools: TWO_POOLS, sla: { improvements: { budgetSplit: false } } }))).toBe('proportional');
    expect(budgetMode(makeSpec({ pools: TWO_POOLS, policy: 'dynamo' }))).toBe('dynamo');
    expect(budgetMode(makeSpec({ pools: TWO_POOLS, policy: 'hpa' }))).toBe('proportional');
  });
  it('dynamo mode gives Dynamo\'s numbers', () => {
    expect(allocateBudget(input(36, 20, 8, { mode: 'dynamo' })).allowance).toEqual({ prefill: 5, decode: 3 });
  });
});

describe('trimToBudget', () => {
  const pool = (name: string, role: 'prefill' | 'decode', previous: number, target: number, stepped: number): TrimPool => ({ name, role, gpus: 1, min: 1, previous, target, stepped });
  it('holds back growth before breaking a step-down limit: (4, 6) -> (4, 4) at budget 8', () => {
    const values = [4, 6];
    const effects: ConstraintEffect[] = [];
    const over = trimToBudget([pool('p', 'prefill', 6, 2, 4), pool('d', 'decode', 2, 6, 6)], values, 8, effects);
    expect(over).toBe(0);
    expect(values).toEqual([4, 4]);
    expect(effects).toEqual([{ constraint: 'budget', pool: 'd', role: 'decode', from: 6, to: 4, detail: 'GPU budget 8: growth held back to fit the budget' }]);
  });
  it('releases stabilization first', () => {
    // prefill kept at 6 by stabilization (steps alone would give 4); decode grows 2 -> 6.
    const values = [6, 6];
    trimToBudget([pool('p', 'prefill', 6, 2, 4), pool('d', 'decode', 2, 6, 6)], values, 8, []);
    expect(values).toEqual([4, 4]);
  });
  it('breaks the step-down limit only when the previous counts were over budget', () => {
    const values = [8, 8];
    const effects: ConstraintEffect[] = [];
    trimToBudget([pool('p', 'prefill', 10, 5, 8), pool('d', 'decode', 10, 3, 8)], values, 8, effects);
    expect(values).toEqual([5, 3]);
    expect(effects.map((e) => e.detail)).toEqual(['GPU budget 8: step-down limit exceeded to fit the budget', 'GPU budget 8: step-down limit exceeded to fit the budget']);
  });
});
