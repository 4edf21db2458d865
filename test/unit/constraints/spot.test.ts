import { describe, expect, it } from 'vitest';
import { poolLayout } from '../../../src/constraints/layout.js';
import { evictionHeadroom, splitRole, spotAvailability, type SplitInput } from '../../../src/constraints/spot.js';
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

describe('splitRole', () => {
  const spec = makeSpec({ pools: FOUR_POOLS });
  it('caps Spot at maxShare: 10 -> 7 Spot + 3 on-demand', () => {
    const out = [0, 0, 0, 0];
    const effects: ConstraintEffect[] = [];
    const r = splitRole(splitFor(spec, 'prefill'), 10, out, effects, []);
    expect(out.slice(0, 2)).toEqual([7, 3]);
    expect(r).toEqual({ placed: 10, moved: 0 });
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
