import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyConstraints, evictionHeadroom, type ConstraintInput } from '../../../src/constraints/index.js';
import type { PolicySpec } from '../../../src/config/schema.js';
import { FOUR_POOLS, T0, TWO_POOLS, makeSpec, stateWith } from './helpers.js';

function run(spec: PolicySpec, fields: Partial<ConstraintInput>) {
  return applyConstraints({
    spec,
    observation: { time: '' },
    state: stateWith({}),
    now: T0,
    need: { prefill: 0, decode: 0 },
    baseline: spec.pools.map((p) => p.minReplicas),
    previous: spec.pools.map(() => undefined),
    ...fields,
  });
}

describe('applyConstraints', () => {
  const spec = makeSpec({ pools: FOUR_POOLS });

  it('first tick: headroom, then the Spot split (prefill 10 -> 7 Spot + 4 OD, decode 4 -> 3 + 2)', () => {
    const r = run(spec, { need: { prefill: 10, decode: 4 } });
    // prefill: Spot share floor(0.7 x 10) = 7 -> headroom ceil(7 x 0.05 x 180 / 3600) = 1 -> 11 -> Spot floor(7.7) = 7, OD 4.
    // decode: Spot min(floor(2.8), 4 - 1) = 2 -> headroom 1 -> 5 -> Spot min(floor(3.5), 4) = 3, OD 2.
    expect(r.desired).toEqual([7, 4, 3, 2]);
    expect(r.effects.map((e) => `${e.constraint}:${e.role}:${e.from}->${e.to}`)).toEqual([
      'eviction-headroom:prefill:10->11',
      'eviction-headroom:decode:4->5',
      'spot-cap:prefill:11->7',
      'spot-cap:decode:5->3',
    ]);
    expect(r.budget).toEqual({ maxGpus: undefined, usedGpus: 16, shortfallGpus: 0 });
    expect(r.recommendations).toEqual([{ time: T0, desired: { 'prefill-spot': 7, 'prefill-od': 4, 'decode-spot': 3, 'decode-od': 2 } }]);
  });

  it('placement one-pool: from the second tick, a scale-up goes to one side, and to on-demand while Spot is becoming ready', () => {
    const spec = makeSpec({ pools: FOUR_POOLS, spot: { placement: 'one-pool' } });
    // prefill 2 Spot + 2 on-demand (settled), need 5 -> 6 with the spare: Spot may hold floor(0.7 x 6) = 4, so the 2 more go to Spot.
    const previous = [2, 2, 1, 1];
    const settledPools = { 'prefill-spot': { desired: 2, ready: 2 }, 'prefill-od': { desired: 2, ready: 2 }, 'decode-spot': { desired: 1, ready: 1 }, 'decode-od': { desired: 1, ready: 1 } };
    const up = run(spec, { need: { prefill: 5, decode: 1 }, previous, observation: { time: '', pools: settledPools } });
    expect(up.desired.slice(0, 2)).toEqual([4, 2]);
    // Spot still becoming ready (2 wanted, 1 ready): the 2 more go to on-demand, where the gate lets them through.
    const starting = { ...settledPools, 'prefill-spot': { desired: 2, ready: 1 } };
    const r = run(spec, { need: { prefill: 5, decode: 1 }, previous, observation: { time: '', pools: starting } });
    expect(r.desired.slice(0, 2)).toEqual([2, 4]);
    expect(r.effects).toContainEqual(expect.objectContaining({ constraint: 'placement', role: 'prefill', from: 4, to: 2, detail: 'prefill: Spot is still becoming ready: the 2 more go to on-demand: 2 on Spot, 4 on on-demand' }));
    // With placement 'share' (the default), the share split: Spot 4, held at 2 by the gate, on-demand 2: 2 fewer ready a startup later.
    const share = makeSpec({ pools: FOUR_POOLS });
    expect(run(share, { need: { prefill: 5, decode: 1 }, previous, observation: { time: '', pools: starting } }).desired.slice(0, 2)).toEqual([2, 2]);
  });

  it('zero need goes to the minimums (0 Spot, 1 on-demand per role), without headroom', () => {
    const r = run(spec, { need: { prefill: 0, decode: 0 } });
    expect(r.desired).toEqual([0, 1, 0, 1]);
    // Raised to the pools' minimums (0 + 1); the Spot cap then keeps that one replica on on-demand.
    expect(r.effects.map((e) => `${e.constraint}:${e.role}:${e.from}->${e.to}`)).toEqual(['min:prefill:0->1', 'min:decode:0->1', 'spot-cap:prefill:1->0', 'spot-cap:decode:1->0']);
  });

  it('limits steps from the previous desired and defers scale-down through the window', () => {
    const plain = makeSpec({ pools: TWO_POOLS, limits: { maxStepUp: 3, maxStepDown: 2 } });
    const state = stateWith({ recommendations: [{ time: T0 - 120_000, desired: { prefill: 9, decode: 2 } }] });
    const r = run(plain, { need: { prefill: 3, decode: 12 }, previous: [9, 2], state });
    // prefill: highest recommendation in 300 s is 9 -> stays 9 (stabilization). decode: 2 + 3 = 5 (step-up).
    expect(r.desired).toEqual([9, 5]);
    expect(r.effects.map((e) => `${e.constraint}:${e.pool}:${e.from}->${e.to}`)).toEqual(['stabilization:prefill:3->9', 'step-up:decode:12->5']);
    // Ten minutes later the 9 has left the window: prefill steps down by 2.
    const later = run(plain, { need: { prefill: 3, decode: 12 }, previous: [9, 5], state, now: T0 + 600_000 });
    expect(later.desired).toEqual([7, 8]);
  });

  it('a crowd hold acts now, but the scale-down window remembers the need without it (unheldShare)', () => {
    const plain = makeSpec({ pools: TWO_POOLS });
    // decode need 6, of which the hold added 4 (2 without it): share 1/3
    const r = run(plain, { need: { prefill: 3, decode: 6 }, unheldShare: { decode: 2 / 6 } });
    expect(r.desired).toEqual([3, 6]);
    expect(r.recommendations.at(-1)?.desired).toEqual({ prefill: 3, decode: 2 });
    // the hold lets go: the window holds what the load needed (2), not the hold's 6
    const after = run(plain, { need: { prefill: 3, decode: 2 }, previous: [3, 6], state: stateWith({ recommendations: r.recommendations }), now: T0 + 60_000 });
    expect(after.desired).toEqual([3, 4]); // 6 - maxStepDown 2
    // without the share the window keeps 6 for its 300 s
    const echo = run(plain, { need: { prefill: 3, decode: 6 } });
    const kept = run(plain, { need: { prefill: 3, decode: 2 }, previous: [3, 6], state: stateWith({ recommendations: echo.recommendations }), now: T0 + 60_000 });
    expect(kept.desired).toEqual([3, 6]);
    // never below the pool's minimum
    const tiny = run(makeSpec({ pools: TWO_POOLS.map((p) => ({ ...p, minReplicas: 2 })) }), { need: { prefill: 3, decode: 6 }, unheldShare: { decode: 0 } });
    expect(tiny.recommendations.at(-1)?.desired.decode).toBe(2);
  });

  it('with a scale-up window, a crowd hold still scales up once the window has seen it (the window reads the held level)', () => {
    const slow = makeSpec({ pools: TWO_POOLS, stabilization: { scaleUp: '120s' }, limits: { maxStepUp: 10 } });
    // decode ran 2; the hold raises the need to 6 (2 without it) at every tick from T0
    let state = stateWith({ recommendations: [{ time: T0 - 60_000, desired: { prefill: 3, decode: 2 } }] });
    const desired: number[] = [];
    for (let k = 0; k < 4; k++) {
      const r = run(slow, { need: { prefill: 3, decode: 6 }, unheldShare: { decode: 2 / 6 }, previous: [3, 2], state, now: T0 + k * 60_000 });
      desired.push(r.desired[1] as number);
      state = stateWith({ recommendations: r.recommendations });
    }
    // T0: the 2 of T0 - 60 s is in the 120 s window; from T0 + 60 s the window has asked 6 throughout (it stayed at 2)
    expect(desired).toEqual([2, 6, 6, 6]);
    // the scale-down window still remembers the need without the hold
    expect(state.recommendations.at(-1)?.desired.decode).toBe(2);
  });

  it('a schedule raises a minimum beyond the step limit (min wins over step)', () => {
    const scheduled = makeSpec({
      pools: TWO_POOLS,
      limits: { maxStepUp: 2 },
      schedules: [{ cron: '0 8 * * *', duration: '10h', minReplicas: { prefill: 10 } }],
    });
    const r = run(scheduled, { need: { prefill: 2, decode: 2 }, previous: [2, 2], now: Date.UTC(2026, 0, 14, 9) });
    expect(r.desired).toEqual([10, 2]);
    expect(r.effects.map((e) => e.constraint)).toEqual(['schedule', 'step-up', 'schedule']);
    expect(r.activeSchedules).toEqual(['"0 8 * * *" (10h, UTC) since 2026-01-14T08:00:00.000Z']);
  });

  it('the budget binds last: step-down-held prefill, decode growth held back', () => {
    const budgeted = makeSpec({ pools: TWO_POOLS, policy: 'static', budget: { maxGpus: 8 }, stabilization: { scaleDown: '0s' } });
    const r = run(budgeted, { need: { prefill: 2, decode: 6 }, previous: [6, 2] });
    expect(r.desired).toEqual([4, 4]);
    expect(r.budget).toEqual({ maxGpus: 8, usedGpus: 8, shortfallGpus: 0 });
    expect(r.effects.map((e) => `${e.constraint}:${e.pool}:${e.from}->${e.to}`)).toEqual(['step-down:prefill:2->4', 'budget:decode:6->4']);
  });

  it('an evicted Spot pool hands its replicas to on-demand in the same tick, past the step limit', () => {
    const limited = makeSpec({ pools: FOUR_POOLS, limits: { maxStepUp: 1 }, spot: { evictionRatePerHour: 0 } });
    const observation = { time: '', pools: { 'prefill-spot': { desired: 7, ready: 2, evicted: 5 } } };
    const r = run(limited, { need: { prefill: 10, decode: 2 }, previous: [7, 3, 1, 1], observation });
    // Spot wanted 7, only 2 ready -> 5 move to OD: 3 + 5 = 8 in one tick (step 1 + 5 moved); Spot drops 7 -> 2 at once.
    expect(r.desired.slice(0, 2)).toEqual([2, 8]);
    expect(r.lastEviction).toEqual({ 'prefill-spot': T0 });
    expect(r.effects.find((e) => e.constraint === 'spot-unavailable')).toMatchObject({ pool: 'prefill-spot', from: 7, to: 2 });
  });

  it('a held role keeps its counts, moves evicted Spot to on-demand, and can be raised by a minimum', () => {
    const observation = { time: '', pools: { 'decode-spot': { desired: 6, ready: 4, evictionNotices: 2 } } };
    const r = run(spec, { need: { prefill: undefined, decode: undefined }, baseline: [5, 0, 6, 2], previous: [5, 0, 6, 2], observation });
    // prefill-od 0 is below its min 1 -> 1; decode-spot 6 -> 4 ready, 2 to decode-od (2 -> 4).
    expect(r.desired).toEqual([5, 1, 4, 4]);
    expect(r.effects.map((e) => `${e.constraint}:${e.pool}:${e.from}->${e.to}`)).toEqual(['spot-unavailable:decode-spot:6->4', 'min:prefill-od:0->1']);
  });

  it('warns about a cost ceiling it does not enforce', () => {
    const costly = makeSpec({ pools: [{ name: 'p', role: 'prefill', costPerGpuHour: 3 }, { name: 'd', role: 'decode', costPerGpuHour: 2 }], budget: { maxCostPerHour: 10 } });
    const r = run(costly, { need: { prefill: 3, decode: 1 } });
    expect(r.warnings).toContain('cost 11.00/h is over spec.budget.maxCostPerHour 10 (the cost ceiling is reported, not enforced)');
  });
});

describe('applyConstraints: Spot has what the on-demand minimums leave', () => {
  /** decode-od (minimum `odMin`) and decode-spot of 1 GPU, maxShare 1, floor 1, 2 evictions/h, 180 s startup. */
  const held = (odMin: number, extra: Record<string, unknown> = {}) =>
    makeSpec({
      spot: { maxShare: 1, onDemandFloor: 1, evictionRatePerHour: 2 },
      pools: [
        { name: 'prefill', role: 'prefill', minReplicas: 0, maxReplicas: 8, startupSeconds: 180 },
        { name: 'decode-od', role: 'decode', minReplicas: odMin, maxReplicas: 16, startupSeconds: 180 },
        { name: 'decode-spot', role: 'decode', capacity: 'spot', minReplicas: 0, maxReplicas: 16, startupSeconds: 180 },
      ],
      ...extra,
    });

  it('decode 12 with on-demand minimums of 10: the spare is for the 2 on Spot, and 13 run, not 10 + 13', () => {
    const r = run(held(10), { need: { prefill: 0, decode: 12 } });
    // Spot min(12, 12 - 1, 12 - 10) = 2 -> headroom ceil(2 x 2 x 180 / 3600 = 0.2) = 1 -> 13 -> Spot min(13, 12, 3) = 3.
    expect(r.desired).toEqual([0, 10, 3]);
    expect(r.effects).toEqual([
      {
        constraint: 'eviction-headroom', role: 'decode', from: 12, to: 13,
        detail: '+1 decode: 2 Spot replica(s) x 2 evictions/h x 180s startup / 3600 = 0.200 expected missing, rounded up',
      },
      {
        constraint: 'on-demand-floor', role: 'decode', from: 13, to: 3,
        detail: "10 of 13 decode replica(s) run on on-demand at its pools' minimums (decode-od 10), so Spot has the rest: 3 on Spot, not 13",
      },
    ]);
    // Minimum 1 (the floor): Spot 11 -> headroom ceil(11 x 0.1 = 1.1) = 2 -> 14 -> 13 on Spot + 1.
    expect(run(held(1), { need: { prefill: 0, decode: 12 } }).desired).toEqual([0, 1, 13]);
  });

  it('a schedule that raises the on-demand minimum takes its part of the total, and the explanation names it', () => {
    const scheduled = held(1, { schedules: [{ cron: '0 8 * * *', duration: '10h', minReplicas: { 'decode-od': 10 } }] });
    const r = run(scheduled, { need: { prefill: 0, decode: 12 }, now: Date.UTC(2026, 0, 14, 9) });
    expect(r.desired).toEqual([0, 10, 3]);
    expect(r.effects.find((e) => e.constraint === 'on-demand-floor')?.detail).toBe(
      `10 of 13 decode replica(s) run on on-demand at its pools' minimums (decode-od 10 (schedule "0 8 * * *" (10h, UTC))), so Spot has the rest: 3 on Spot, not 13`,
    );
    // Need below the minimums: 10 on on-demand, none on Spot, and no spare (no Spot replica to lose).
    const low = run(scheduled, { need: { prefill: 0, decode: 6 }, now: Date.UTC(2026, 0, 14, 9) });
    expect(low.desired).toEqual([0, 10, 0]);
    expect(low.effects.map((e) => `${e.constraint}:${e.from}->${e.to}`)).toEqual(['schedule:6->10', 'on-demand-floor:10->0']);
  });

  it('property: a role runs at most max(need, its minimums) plus the eviction spare of the Spot part it places', () => {
    const poolArb = fc.record({ capacity: fc.constantFrom('spot', 'on-demand'), gpus: fc.constantFrom(4, 8), min: fc.integer({ min: 0, max: 8 }) });
    fc.assert(
      fc.property(
        fc.array(poolArb, { minLength: 1, maxLength: 4 }),
        fc.constantFrom(0, 1, 4, 8),
        fc.integer({ min: 0, max: 30 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 3 }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        (list, oneSize, need, maxShare, floor, rate) => {
          // oneSize 0: sizes of 4 and 8 GPUs, the first pool's 4 the role's unit; else every pool of that size.
          const gpus = (i: number, g: number) => (oneSize === 0 ? (i === 0 ? 4 : g) : oneSize);
          const decode = list.map((p, i) => ({
            name: `d${i}`, role: 'decode', capacity: p.capacity, gpusPerReplica: gpus(i, p.gpus), minReplicas: p.min, maxReplicas: p.min + 40, startupSeconds: 180,
          }));
          const spec = makeSpec({
            spot: { maxShare: Math.max(0.01, maxShare), onDemandFloor: floor, evictionRatePerHour: rate },
            pools: [{ name: 'p', role: 'prefill', minReplicas: 0, maxReplicas: 4 }, ...decode],
          });
          const r = run(spec, { need: { prefill: 0, decode: need } });
          const unit = decode[0]!.gpusPerReplica;
          let placed = 0;
          let onSpot = 0;
          let minimums = 0;
          decode.forEach((p, i) => {
            placed += r.desired[i + 1]! * p.gpusPerReplica;
            if (p.capacity === 'spot') onSpot += r.desired[i + 1]! * p.gpusPerReplica;
            minimums += p.minReplicas * p.gpusPerReplica;
          });
          const spare = evictionHeadroom(Math.floor(onSpot / unit), spec.spot, 180) * unit;
          // Replicas of 8 GPUs over a unit of 4 may round each side up by half a replica.
          const rounding = oneSize === 0 ? 2 * 4 : 0;
          expect(placed, JSON.stringify({ decode, need, desired: r.desired, effects: r.effects })).toBeLessThanOrEqual(Math.max(need * unit, minimums) + spare + rounding);
        },
      ),
      { numRuns: 400 },
    );
  });
});
