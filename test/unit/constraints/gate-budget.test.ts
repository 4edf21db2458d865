/**
 * The GPU budget after the readiness gate (src/constraints/gate-budget.ts): a scale-down the gate defers does not
 * make room for a scale-up the budget paid for with it.
 */
import { describe, expect, it } from 'vitest';
import { applyConstraints } from '../../../src/constraints/index.js';
import { budgetAfterGate } from '../../../src/constraints/gate-budget.js';
import { initialState } from '../../../src/planner/state.js';
import type { PoolObservation } from '../../../src/planner/types.js';
import { makeSpec, T0 } from './helpers.js';

const pools = [
  { name: 'prefill', role: 'prefill', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 8 },
  { name: 'decode', role: 'decode', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 8 },
];
const notReady = { ready: false, condition: 'Ready=False' };

/** Need 1 prefill and 3 decode (16 GPUs), running 2 + 2: prefill has one replica still starting, its graph not Ready. */
function run(budget: Record<string, number>, running = { prefill: 2, decode: 2 }, graph: { ready: boolean; condition: string; rollingUpdate?: boolean } = notReady) {
  const spec = makeSpec({ interval: '60s', pools, budget, limits: { maxStepUp: 8, maxStepDown: 8 }, stabilization: { scaleDown: '0s' } });
  const observed: Record<string, PoolObservation> = {
    prefill: { desired: running.prefill, ready: running.prefill - 1, updated: running.prefill, graph },
    decode: { desired: running.decode, ready: running.decode, updated: running.decode, graph },
  };
  return applyConstraints({
    spec,
    observation: { time: '', pools: observed },
    state: initialState(),
    now: T0,
    need: { prefill: 1, decode: 3 },
    baseline: [running.prefill, running.decode],
    previous: [running.prefill, running.decode],
  });
}

describe('the budget after the readiness gate', () => {
  it('budget 16: the gate keeps prefill at 2, so decode stays at 2 (16 GPUs), not 3 (20)', () => {
    const out = run({ maxGpus: 16 });
    expect(out.desired).toEqual([2, 2]);
    expect(out.budget.usedGpus).toBe(16);
    const effect = out.effects.find((e) => e.constraint === 'budget' && e.pool === 'decode');
    expect(effect).toMatchObject({ from: 3, to: 2 });
    expect(effect?.detail).toContain('the readiness gate holds other pools above what the budget gave them');
  });

  it('without a budget, or with room for both, the scale-up goes ahead beside the hold', () => {
    expect(run({}).desired).toEqual([2, 3]);
    expect(run({ maxGpus: 20 }).desired).toEqual([2, 3]);
  });

  it('the budget wins over the gate: 3 prefill and 2 decode running (20 GPUs) on a budget of 16 end at 16', () => {
    // The trim gives prefill 1, decode 3; the gate keeps prefill at 3 (24); decode goes back to the 2 running (20),
    // and prefill's deferred scale-down goes ahead as far as the budget needs: 2 (16).
    const out = run({ maxGpus: 16 }, { prefill: 3, decode: 2 });
    expect(out.desired).toEqual([2, 2]);
    expect(out.effects.find((e) => e.constraint === 'budget' && e.pool === 'prefill' && e.from === 3)?.detail).toBe(
      'prefill: GPU budget 16: the budget wins over the readiness gate; scale-down from 3 to 2 goes ahead',
    );
    // With room for what runs, the gate's hold stands; and while the graph rolls out nothing moves, the budget included.
    expect(run({ maxGpus: 20 }, { prefill: 3, decode: 2 }).desired).toEqual([3, 2]);
    expect(run({ maxGpus: 16 }, { prefill: 3, decode: 2 }, { ready: false, condition: 'rolling', rollingUpdate: true }).desired).toEqual([3, 2]);
  });

  it('takes back from the last pool first, one replica at a time, down to its current count or minimum', () => {
    const spec = makeSpec({ pools: [...pools, { name: 'decode-b', role: 'decode', gpusPerReplica: 2, minReplicas: 0, maxReplicas: 8 }] });
    // running 8 + 8 + 2 = 18 GPUs; gated 8 + 16 + 8 = 32 on a budget of 24 -> decode-b 4 -> 1 (26), decode 4 -> 3 (22)
    const out = budgetAfterGate({ pools: spec.pools, gated: [2, 4, 4], decided: [2, 4, 4], current: [2, 2, 1], mins: [1, 1, 0], maxGpus: 24 });
    expect(out.desired).toEqual([2, 3, 1]);
    expect(out.effects.map((e) => [e.pool, e.from, e.to])).toEqual([
      ['decode-b', 4, 1],
      ['decode', 4, 3],
    ]);
    // A pool whose current count is unknown is not lowered.
    expect(budgetAfterGate({ pools: spec.pools, gated: [2, 4, 4], decided: [2, 4, 4], current: [2, undefined, undefined], mins: [1, 1, 0], maxGpus: 24 }).desired).toEqual([2, 4, 4]);
  });
});
