import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { poolLayout } from '../../../src/constraints/layout.js';
import { evictionHeadroom, placeSides, splitRole, spotAvailability, type SidesInput, type SplitInput } from '../../../src/constraints/spot.js';
import type { ConstraintEffect } from '../../../src/planner/types.js';
import { FOUR_POOLS, T0, makeSpec, stateWith } from './helpers.js';
import type { PolicySpec } from '../../../src/config/schema.js';

function splitFor(spec: PolicySpec, role: 'prefill' | 'decode', caps?: number[], unavailable?: (string | undefined)[]): SplitInput {
  return {
    role,
    layout: poolLayout(spec).roles[role],
    pools: spec.pools,
    spot: spec.spot,
    mins: spec.pools.map((p) => p.minReplicas),
    caps: caps ?? spec.pools.map((p) => p.maxReplicas),
    unavailable: unavailable ?? spec.pools.map(() => undefined),
  };
}

describe('evictionHeadroom', () => {
  const spot = makeSpec({ pools: FOUR_POOLS }).spot;
  it('is ceil(spot replicas x rate x startup / 3600)', () => {
    expect(evictionHeadroom(7, { ...spot, evictionRatePerHour: 0.05 }, 240)).toBe(1); // 0.023 -> 1
    expect(evictionHeadroom(40, { ...spot, evictionRatePerHour: 0.5 }, 600)).toBe(4); // 3.33 -> 4
    expect(evictionHeadroom(7, { ...spot, evictionRatePerHour: 0 }, 240)).toBe(0);
    expect(evictionHeadroom(0, spot, 240)).toBe(0);
  });
});

describe('placeSides (rule 5: one pool per scale-up)', () => {
  const base: SidesInput = {
    total: 10, spotAllowed: 6, prevSpot: 2, prevOnDemand: 2, spotHeld: false, onDemandHeld: false,
    spotLo: 0, onDemandLo: 1, onDemandHi: 16, maxStepUp: 8, maxStepDown: 2,
  };
  it('gives a scale-up to one side: 2 + 2 -> 6 with room for 4 on Spot is 4 Spot + 2 on-demand', () => {
    expect(placeSides({ ...base, total: 6, spotAllowed: 4 })).toEqual({ spot: 4, why: 'the 2 more go to Spot alone, on-demand stays free for the next order' });
  });
  it('2 + 2 -> 10 with room for 6 on Spot: Spot alone would need 8, so on-demand alone takes the 6', () => {
    expect(placeSides(base)).toEqual({ spot: 2, why: 'the 6 more go to on-demand alone, Spot stays free for the next order' });
  });
  it('1 on-demand -> 4: on-demand alone takes the 3 and Spot stays free', () => {
    expect(placeSides({ ...base, total: 4, spotAllowed: 2, prevSpot: 0, prevOnDemand: 1 })).toEqual({ spot: 0, why: 'the 3 more go to on-demand alone, Spot stays free for the next order' });
  });
  it('sends the increase to on-demand while Spot is becoming ready, and to Spot while on-demand is', () => {
    expect(placeSides({ ...base, total: 14, spotAllowed: 8, spotHeld: true, maxStepUp: 20 })).toEqual({ spot: 2, why: 'Spot is still becoming ready: the 10 more go to on-demand' });
    expect(placeSides({ ...base, total: 5, spotAllowed: 3, onDemandHeld: true })).toEqual({ spot: 3, why: 'on-demand is still becoming ready: the 1 more go to Spot' });
    // Too much for on-demand's step limit, Spot held: Spot keeps its 2, on-demand is asked for the rest.
    expect(placeSides({ ...base, total: 14, spotAllowed: 8, spotHeld: true })).toEqual({ spot: 2, why: 'Spot is still becoming ready: the 10 more go to on-demand' });
    // Both held: to both sides, Spot first up to its share, neither giving up replicas.
    expect(placeSides({ ...base, total: 14, spotAllowed: 8, spotHeld: true, onDemandHeld: true })).toEqual({ spot: 8, why: 'the 10 more go to both sides, Spot first up to its share; neither gives up replicas' });
    // More than one side's step limit (maxStepUp 1), from 0 Spot + 2 on-demand to 4: the 2 more go to Spot (within its
    // share of 3) and on-demand keeps its 2; the share split would have moved one over (3 + 1).
    expect(placeSides({ ...base, total: 4, spotAllowed: 3, prevSpot: 0, prevOnDemand: 2, maxStepUp: 1 }).spot).toBe(2);
  });
  it('takes a scale-down from on-demand first, at most maxStepDown of it, and keeps the placement while the total stays', () => {
    expect(placeSides({ ...base, total: 7, spotAllowed: 4, prevSpot: 4, prevOnDemand: 4 })).toEqual({ spot: 4, why: 'the scale-down comes off on-demand first' });
    // 4 + 4 -> 3: on-demand may give up 2 (to 2), Spot the rest: 1 + 2.
    expect(placeSides({ ...base, total: 3, spotAllowed: 1, prevSpot: 4, prevOnDemand: 4 }).spot).toBe(1);
    // 0 Spot + 4 on-demand at a total of 4: no move to Spot although it may hold 2.
    expect(placeSides({ ...base, total: 4, spotAllowed: 2, prevSpot: 0, prevOnDemand: 4 })).toEqual({ spot: 0, why: 'the total stays: each side keeps its replicas' });
  });
});

describe('splitRole', () => {
  const spec = makeSpec({ pools: FOUR_POOLS });
  it('caps Spot at maxShare: 10 -> 7 Spot + 3 on-demand', () => {
    const out = [0, 0, 0, 0];
    const effects: ConstraintEffect[] = [];
    const r = splitRole(splitFor(spec, 'prefill'), 10, out, effects, []);
    expect(out.slice(0, 2)).toEqual([7, 3]);
    expect(r).toEqual({ placed: 10, moved: 0, overMinimums: 0 });
    expect(effects).toEqual([expect.objectContaining({ constraint: 'spot-cap', role: 'prefill', from: 10, to: 7 })]);
  });
  it('keeps the on-demand floor: 2 -> 1 Spot + 1 on-demand', () => {
    const out = [0, 0, 0, 0];
    const effects: ConstraintEffect[] = [];
    splitRole(splitFor(spec, 'decode'), 2, out, effects, []);
    expect(out.slice(2)).toEqual([1, 1]);
    // floor(0.7 x 2) = 1 = 2 - 1: the share is the binding rule (it is reported once).
    expect(effects.map((e) => e.constraint)).toEqual(['spot-cap']);
  });
  it('reports the on-demand floor when it binds harder than the share', () => {
    const floorSpec = makeSpec({ pools: FOUR_POOLS, spot: { maxShare: 0.9, onDemandFloor: 3 } });
    const out = [0, 0, 0, 0];
    const effects: ConstraintEffect[] = [];
    splitRole(splitFor(floorSpec, 'prefill'), 10, out, effects, []);
    expect(out.slice(0, 2)).toEqual([7, 3]);
    expect(effects[0]).toMatchObject({ constraint: 'on-demand-floor', from: 10, to: 7 });
  });
  it('moves the share of an unavailable Spot pool to on-demand at once', () => {
    const out = [0, 0, 0, 0];
    const effects: ConstraintEffect[] = [];
    const r = splitRole(splitFor(spec, 'prefill', [2, 8, 12, 8], ['evicted 60s ago', undefined, undefined, undefined]), 10, out, effects, []);
    expect(out.slice(0, 2)).toEqual([2, 8]);
    expect(r.moved).toBe(5);
    expect(effects[1]).toMatchObject({ constraint: 'spot-unavailable', pool: 'prefill-spot', from: 7, to: 2 });
    expect(effects[1]?.detail).toMatch(/5 prefill replica\(s\) moved from Spot to on-demand \(prefill-spot: evicted 60s ago\)/);
  });
  it('puts the excess back on Spot when on-demand is full, with a warning', () => {
    const out = [0, 0, 0, 0];
    const warnings: string[] = [];
    splitRole(splitFor(spec, 'prefill'), 20, out, [], warnings);
    // Spot 14 wanted, capped 12 by maxReplicas; on-demand 8 (max) -> 12 + 8 = 20.
    expect(out.slice(0, 2)).toEqual([12, 8]);
    expect(warnings).toEqual([]);
    const out2 = [0, 0, 0, 0];
    const capped = makeSpec({ pools: FOUR_POOLS, spot: { maxShare: 0.5 } });
    splitRole(splitFor(capped, 'prefill'), 18, out2, [], warnings);
    expect(out2.slice(0, 2)).toEqual([10, 8]);
    expect(warnings).toEqual(['prefill: on-demand pools are full (8); 1 replica(s) over the Spot cap placed on Spot']);
  });
  it('spreads Spot evenly over several Spot pools and fills on-demand pools in order', () => {
    const many = makeSpec({
      pools: [
        { name: 'spot-a', role: 'prefill', capacity: 'spot', minReplicas: 0 },
        { name: 'spot-b', role: 'prefill', capacity: 'spot', minReplicas: 0 },
        { name: 'od-a', role: 'prefill', minReplicas: 0, maxReplicas: 2 },
        { name: 'od-b', role: 'prefill', minReplicas: 0 },
        { name: 'decode', role: 'decode' },
      ],
    });
    const out = [0, 0, 0, 0, 0];
    splitRole(splitFor(many, 'prefill'), 10, out, [], []);
    expect(out.slice(0, 4)).toEqual([4, 3, 2, 1]);
  });
  it('places what the GPUs ask for on a pool of smaller replicas than the role unit (not every replica up to its cap)', () => {
    // The role's unit is the first pool's 8 GPUs; Spot has 4-GPU replicas. 2 units (16 GPUs), maxShare 0.7, floor 1:
    // 1 unit on Spot = 2 replicas of 4 GPUs, 1 on on-demand = 1 replica of 8.
    const sized = makeSpec({
      spot: { maxShare: 0.7, onDemandFloor: 1 },
      pools: [
        { name: 'od', role: 'prefill', gpusPerReplica: 8, minReplicas: 0, maxReplicas: 10 },
        { name: 'spot-small', role: 'prefill', capacity: 'spot', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 10 },
        { name: 'decode', role: 'decode', gpusPerReplica: 4 },
      ],
    });
    const out = [0, 0, 0];
    const result = splitRole(splitFor(sized, 'prefill'), 2, out, [], []);
    expect(out.slice(0, 2)).toEqual([1, 2]);
    expect(result.placed).toBe(2);
  });
  it('gives Spot what is left after the on-demand minimums: 12 with minimums of 10 at maxShare 1 -> 2 Spot + 10 on-demand, not 11 + 10', () => {
    const held = makeSpec({
      spot: { maxShare: 1, onDemandFloor: 1 },
      pools: [
        { name: 'decode-spot', role: 'decode', capacity: 'spot', minReplicas: 0, maxReplicas: 20 },
        { name: 'decode-od-a', role: 'decode', minReplicas: 6, maxReplicas: 8 },
        { name: 'decode-od-b', role: 'decode', minReplicas: 4, maxReplicas: 8 },
        { name: 'prefill', role: 'prefill' },
      ],
    });
    const out = [0, 0, 0, 0];
    const effects: ConstraintEffect[] = [];
    const r = splitRole(splitFor(held, 'decode'), 12, out, effects, []);
    expect(out.slice(0, 3)).toEqual([2, 6, 4]);
    expect(r).toEqual({ placed: 12, moved: 0, overMinimums: 0 });
    expect(effects).toEqual([
      {
        constraint: 'on-demand-floor', role: 'decode', from: 12, to: 2,
        detail: "10 of 12 decode replica(s) run on on-demand at its pools' minimums (decode-od-a 6, decode-od-b 4), so Spot has the rest: 2 on Spot, not 12",
      },
    ]);
    // Minimums of 1 (as much as the floor): the floor is named, Spot 11 + on-demand 1.
    const low = splitFor(held, 'decode');
    const out2 = [0, 0, 0, 0];
    const effects2: ConstraintEffect[] = [];
    splitRole({ ...low, mins: [0, 1, 0, 1] }, 12, out2, effects2, []);
    expect(out2.slice(0, 3)).toEqual([11, 1, 0]);
    expect(effects2.map((e) => `${e.constraint}:${e.from}->${e.to}`)).toEqual(['on-demand-floor:12->11']);
    // The share binds harder than the minimums: maxShare 0.1 of 12 -> 1 on Spot, 11 on on-demand (above their 10).
    const out3 = [0, 0, 0, 0];
    const effects3: ConstraintEffect[] = [];
    splitRole({ ...low, spot: { ...held.spot, maxShare: 0.1 } }, 12, out3, effects3, []);
    expect(out3.slice(0, 3)).toEqual([1, 7, 4]);
    expect(effects3.map((e) => `${e.constraint}:${e.from}->${e.to}`)).toEqual(['spot-cap:12->1']);
    // A total below the minimums (the role bounds keep applyConstraints' totals above them): each pool at its minimum.
    const out4 = [0, 0, 0, 0];
    expect(splitRole(low, 8, out4, [], [])).toEqual({ placed: 8, moved: 0, overMinimums: 2 });
    expect(out4.slice(0, 3)).toEqual([0, 6, 4]);
  });
  it('names a schedule or hold that raised an on-demand minimum', () => {
    const held = makeSpec({
      spot: { maxShare: 1, onDemandFloor: 1 },
      pools: [
        { name: 'decode-od', role: 'decode', minReplicas: 1, maxReplicas: 12 },
        { name: 'decode-spot', role: 'decode', capacity: 'spot', minReplicas: 0, maxReplicas: 20 },
        { name: 'prefill', role: 'prefill' },
      ],
    });
    const out = [0, 0, 0];
    const effects: ConstraintEffect[] = [];
    const input = { ...splitFor(held, 'decode'), mins: [8, 0, 1], raised: [{ kind: 'schedule' as const, label: '"0 8 * * 1-5" (10h, UTC)' }, undefined, undefined] };
    splitRole(input, 10, out, effects, []);
    expect(out.slice(0, 2)).toEqual([8, 2]);
    expect(effects[0]?.detail).toBe(`8 of 10 decode replica(s) run on on-demand at its pools' minimums (decode-od 8 (schedule "0 8 * * 1-5" (10h, UTC))), so Spot has the rest: 2 on Spot, not 10`);
    const effects2: ConstraintEffect[] = [];
    splitRole({ ...input, raised: [{ kind: 'hold', label: 'the request rate unknown' }, undefined, undefined] }, 10, [0, 0, 0], effects2, []);
    expect(effects2[0]?.detail).toContain('(decode-od 8 (held: the request rate unknown))');
  });
  it('counts the on-demand minimums in GPUs where replica sizes differ: 8-GPU on-demand minimum 1 beside 4-GPU Spot', () => {
    // maxShare 1, floor 0. The unit is the first pool's 8 GPUs: 3 units = 24 GPUs; the on-demand minimum holds 1 unit,
    // so Spot has 2 units = 4 replicas of 4 GPUs: 8 + 16 = 24 GPUs (not 3 units on Spot beside it: 32).
    const pools = [
      { name: 'od-big', role: 'prefill', gpusPerReplica: 8, minReplicas: 1, maxReplicas: 10 },
      { name: 'spot-small', role: 'prefill', capacity: 'spot', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 20 },
      { name: 'decode', role: 'decode', gpusPerReplica: 4 },
    ];
    const odFirst = makeSpec({ spot: { maxShare: 1, onDemandFloor: 0 }, pools });
    const out = [0, 0, 0];
    const r = splitRole(splitFor(odFirst, 'prefill'), 3, out, [], []);
    expect(out.slice(0, 2)).toEqual([1, 4]);
    expect(r).toEqual({ placed: 3, moved: 0, overMinimums: 0 });
    // Spot first: the unit is 4 GPUs, 6 units = 24 GPUs; the 8-GPU minimum is 2 units: Spot 4 replicas (16 GPUs), not 5.
    const spotFirst = makeSpec({ spot: { maxShare: 1, onDemandFloor: 1 }, pools: [pools[1], pools[0], pools[2]] });
    const out2 = [0, 0, 0];
    const effects: ConstraintEffect[] = [];
    splitRole(splitFor(spotFirst, 'prefill'), 6, out2, effects, []);
    expect(out2.slice(0, 2)).toEqual([4, 1]);
    expect(effects).toEqual([expect.objectContaining({ constraint: 'on-demand-floor', from: 6, to: 4 })]);
    expect(effects[0]?.detail).toContain("2 of 6 prefill replica(s) run on on-demand at its pools' minimums (od-big 1)");
  });
  it('property: a split of mixed replica sizes runs at most the GPUs asked for, the minimums and one replica per side more', () => {
    const poolArb = fc.record({ capacity: fc.constantFrom('spot', 'on-demand'), gpus: fc.constantFrom(1, 2, 4, 6, 8), min: fc.integer({ min: 0, max: 3 }), extra: fc.integer({ min: 0, max: 20 }) });
    fc.assert(
      fc.property(fc.array(poolArb, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 30 }), fc.double({ min: 0, max: 1, noNaN: true }), (list, total, maxShare) => {
        const pools = list.map((p, i) => ({ name: `p${i}`, role: 'prefill', capacity: p.capacity, gpusPerReplica: p.gpus, minReplicas: p.min, maxReplicas: p.min + p.extra }));
        const spec = makeSpec({ spot: { maxShare, onDemandFloor: 1 }, pools: [...pools, { name: 'decode', role: 'decode' }] });
        const out = new Array<number>(spec.pools.length).fill(0);
        splitRole(splitFor(spec, 'prefill'), total, out, [], []);
        const unit = pools[0]!.gpusPerReplica;
        let gpus = 0;
        let minGpus = 0;
        pools.forEach((p, i) => {
          gpus += out[i]! * p.gpusPerReplica;
          minGpus += p.minReplicas * p.gpusPerReplica;
        });
        const largest = Math.max(...pools.map((p) => p.gpusPerReplica));
        expect(gpus).toBeLessThanOrEqual(total * unit + minGpus + 2 * largest);
      }),
      { numRuns: 300 },
    );
  });
});

describe('spotAvailability', () => {
  const spec = makeSpec({ pools: FOUR_POOLS });
  const mins = spec.pools.map((p) => p.minReplicas);
  it('an eviction this tick makes the pool unavailable, capped at its ready replicas, and is remembered', () => {
    const a = spotAvailability(spec, { time: '', pools: { 'prefill-spot': { desired: 6, ready: 4, evicted: 2 } } }, stateWith({}), T0, mins);
    expect(a.unavailable[0]).toBe('2 eviction(s) or notice(s) this tick');
    expect(a.caps).toEqual([4, 8, 12, 8]);
    expect(a.lastEviction).toEqual({ 'prefill-spot': T0 });
  });
  it('stays unavailable through the cool-down (600 s), then recovers', () => {
    const state = stateWith({ lastEviction: { 'decode-spot': T0 - 300_000 } });
    const during = spotAvailability(spec, { time: '', pools: { 'decode-spot': { desired: 5, ready: 5 } } }, state, T0, mins);
    expect(during.unavailable[2]).toBe('evicted 300s ago (cool-down 600s)');
    expect(during.caps[2]).toBe(5);
    const after = spotAvailability(spec, { time: '', pools: {} }, state, T0 + 300_000, mins);
    expect(after.unavailable[2]).toBeUndefined();
    expect(after.lastEviction).toEqual({});
  });
  it('pods pending longer than the grace (120 s) make the pool unavailable', () => {
    const seen = { time: '', pools: { 'prefill-spot': { desired: 5, ready: 3, pending: 2, pendingSeconds: 150 } } };
    expect(spotAvailability(spec, seen, stateWith({}), T0, mins).unavailable[0]).toBe('2 replica(s) pending for 150s (grace 120s)');
    const young = { time: '', pools: { 'prefill-spot': { desired: 5, ready: 3, pending: 2, pendingSeconds: 100 } } };
    expect(spotAvailability(spec, young, stateWith({}), T0, mins).unavailable[0]).toBeUndefined();
  });
  it('without a ready count, uses desired - pending - evicted', () => {
    const a = spotAvailability(spec, { time: '', pools: { 'prefill-spot': { desired: 6, evicted: 2 } } }, stateWith({}), T0, mins);
    expect(a.caps[0]).toBe(4);
  });
});
