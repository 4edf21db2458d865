/**
 * "Never below what runs on uncertainty" for a fleet, as properties over arbitrate() and decideFleet() with graphs
 * whose request counts, pool counts or states are missing, junk or extreme (Prometheus down, a cold start, an exporter
 * that answers "NaN"), some of them able to scale to zero, under budgets that do and do not hold their floors:
 *  1. arbitrate(): every grant is at least its floor, all floors together are granted even past the budget, and the
 *     grants stay within the budget whenever the floors fit it;
 *  2. decideFleet(): a graph whose request count or a pool's current count is unknown marks every pool `hold`, and no
 *     pool of it ends below the highest count known for it (last decision, observed desired, ready + pending; capped
 *     at maxReplicas), whatever the others ask; a pool of which nothing is known while the request count is unknown
 *     is `writable: false`;
 *  3. scale to zero only on a known zero-demand window: a graph whose demand is unknown is never scaled to zero;
 *  4. the fleet's decisions stay within the budget whenever the floors fit it (the floors the arbitration reports);
 *  5. making a graph's request count unknown never lowers any of its counts below what it runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbitrate, type GpuAsk } from '../../../src/fleet/arbitrate.js';
import { decideFleet, type FleetGraphInput } from '../../../src/fleet/decide.js';
import { knownCounts } from '../../../src/planner/decide.js';
import { initialState } from '../../../src/planner/state.js';
import type { Observation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { makeSpec, stateWith, T0 } from '../constraints/helpers.js';

const profile = loadProfile('builtin:llama2-70b-h100-tp4', process.cwd());

describe('arbitrate: floors and the budget', () => {
  it('property: every grant at least its floor; within the budget whenever the floors fit; all floors kept when they do not', () => {
    const ask = fc.record({
      priority: fc.integer({ min: 1, max: 1000 }),
      pressure: fc.double({ min: 0.25, max: 4, noNaN: true }),
      step: fc.constantFrom(1, 2, 4, 8),
      floor: fc.integer({ min: 0, max: 40 }),
      hard: fc.integer({ min: 0, max: 200 }),
      want: fc.integer({ min: 0, max: 200 }),
    });
    fc.assert(
      fc.property(fc.array(ask, { minLength: 1, maxLength: 64 }), fc.integer({ min: 0, max: 4000 }), (raw, budget) => {
        // Floors and layers in whole replicas of the graph's step, as decideFleet builds them.
        const asks: GpuAsk[] = raw.map((a, i) => ({ name: `g${i}`, priority: a.priority, pressure: a.pressure, step: a.step, floor: a.floor * a.step, hard: a.hard * a.step, want: a.want * a.step }));
        const r = arbitrate(asks, budget);
        const floors = asks.reduce((s, a) => s + a.floor, 0);
        r.grants.forEach((g, i) => {
          const a = asks[i]!;
          expect(g.granted).toBeGreaterThanOrEqual(a.floor);
          expect(g.granted).toBeLessThanOrEqual(Math.max(a.floor, a.hard, a.want));
          expect(Number.isInteger(g.granted)).toBe(true);
        });
        if (floors <= budget) expect(r.granted).toBeLessThanOrEqual(budget);
        else expect(r.granted).toBe(floors);
      }),
      { numRuns: 300 },
    );
  });
});

/** What a source may hand over instead of a request count (the core reads each as unknown). */
const unknownRequests = fc.constantFrom<unknown>(undefined, Number.NaN, -1, Number.POSITIVE_INFINITY, '', '   ', '0x10', null);
const countValue = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 12 }) as fc.Arbitrary<unknown> },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(1e6, -3, Number.NaN, '', undefined) },
);

const graphArb = fc.record({
  priority: fc.integer({ min: 1, max: 3 }),
  /** Pools may all reach zero (scale to zero after 120 s). */
  zero: fc.boolean(),
  requestsKnown: fc.boolean(),
  requests: fc.integer({ min: 0, max: 4000 }),
  junk: unknownRequests,
  /** Which pools are observed: all, some, none (the pools field missing). */
  observed: fc.constantFrom('all', 'prefill', 'none'),
  prefill: fc.record({ desired: countValue, ready: countValue, pending: countValue }),
  decode: fc.record({ desired: countValue, ready: countValue, pending: countValue }),
  /** The last decision in the state (a cold start has none), and whether the previous tick was idle. */
  last: fc.option(fc.record({ prefill: fc.integer({ min: 0, max: 12 }), decode: fc.integer({ min: 0, max: 12 }) }), { nil: undefined }),
  idleFor: fc.option(fc.integer({ min: 0, max: 3600 }), { nil: undefined }),
  ticked: fc.integer({ min: 0, max: 9 }),
});
type GraphArb = typeof graphArb extends fc.Arbitrary<infer T> ? T : never;

function specOf(zero: boolean) {
  const min = zero ? 0 : 1;
  return makeSpec({
    interval: '60s',
    slo: { ttft: { ms: 2000 }, itl: { ms: 60 } },
    limits: { maxStepUp: 8, maxStepDown: 8 },
    scaleToZero: { idleSeconds: 120 },
    pools: [
      { name: 'prefill', role: 'prefill', gpusPerReplica: 4, minReplicas: min, maxReplicas: 10 },
      { name: 'decode', role: 'decode', gpusPerReplica: 4, minReplicas: min, maxReplicas: 10 },
    ],
  });
}

function graphOf(g: GraphArb, i: number, requestsKnown = g.requestsKnown): FleetGraphInput {
  const spec = specOf(g.zero);
  const pools: Observation['pools'] = {};
  if (g.observed !== 'none') pools.prefill = g.prefill as never;
  if (g.observed === 'all') pools.decode = g.decode as never;
  const observation = {
    time: new Date(T0).toISOString(),
    windowSeconds: 60,
    isl: 2000,
    osl: 300,
    queueDepth: 0,
    ...(requestsKnown ? { requests: g.requests } : g.junk === undefined ? { errors: { requests: 'prometheus: connection refused' } } : { requests: g.junk }),
    ...(g.observed === 'none' ? {} : { pools }),
  } as Observation;
  const state = stateWith({
    ...(g.last ? { last: g.last, recommendations: [{ time: T0 - 60_000, desired: g.last }] } : {}),
    ...(g.idleFor !== undefined && g.last ? { idleSince: T0 - g.idleFor * 1000 } : {}),
  });
  // One graph in ten is not ticked this round: it keeps its last counts.
  return { name: `g${i}`, priority: g.priority, spec, profile, state: g.last || g.ticked > 0 ? state : initialState(), ...(g.ticked > 0 ? { observation } : {}) };
}

const gpusOf = (pools: Record<string, { gpus: number }>) => Object.values(pools).reduce((s, d) => s + d.gpus, 0);

describe('decideFleet: never below what runs on uncertainty', () => {
  it('property: a graph with something unknown holds every pool at the highest count known; no scale to zero on unknown demand; within the budget when the floors fit', () => {
    fc.assert(
      fc.property(fc.array(graphArb, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 120 }), fc.boolean(), (raw, budget, spotLimit) => {
        const graphs = raw.map((g, i) => graphOf(g, i));
        const r = decideFleet({ name: 'p', budget: { maxGpus: budget, ...(spotLimit ? { maxSpotGpus: Math.floor(budget / 2) } : {}) }, now: T0, graphs });
        let floors = 0;
        let used = 0;
        graphs.forEach((g) => {
          const share = r.arbitration.shares[g.name]!;
          floors += share.floorGpus;
          if (!g.observation) {
            used += share.grantedGpus;
            return;
          }
          const decision = r.results[g.name]!.decision;
          used += gpusOf(decision.pools);
          const requestsUnknown = typeof g.observation.requests !== 'number' || !Number.isFinite(g.observation.requests) || g.observation.requests < 0;
          const unknown = decision.explanation.unknown ?? [];
          if (requestsUnknown) {
            expect(unknown.length, `${g.name}: requests ${String(g.observation.requests)} not reported unknown`).toBeGreaterThan(0);
            // Scale to zero only on a known zero-demand window.
            expect(decision.explanation.scaleToZero?.action).not.toBe('zero');
          }
          if (unknown.length === 0) return;
          for (const pool of g.spec.pools) {
            const d = decision.pools[pool.name]!;
            expect(d.hold, `${g.name} ${pool.name} not held while ${unknown.join('; ')} unknown`).toBe(true);
            const known = knownCounts(g.observation, g.state, pool.name).highest;
            if (known !== undefined) expect(d.desired, `${g.name} ${pool.name}: below ${known} while ${unknown.join('; ')} unknown`).toBeGreaterThanOrEqual(Math.min(known, pool.maxReplicas));
            else if (requestsUnknown) expect(d.writable, `${g.name} ${pool.name}: nothing known, yet writable`).toBe(false);
          }
        });
        if (floors <= budget) expect(used, `floors ${floors} fit the budget ${budget}`).toBeLessThanOrEqual(budget);
      }),
      { numRuns: 250 },
    );
  });

  it('property: making a graph\'s request count unknown never takes any of its pools below what it runs', () => {
    fc.assert(
      fc.property(fc.array(graphArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 120 }), (raw, pick, budget) => {
        const k = pick % raw.length;
        const graphs = raw.map((g, i) => ({ ...graphOf(g, i, i === k ? false : g.requestsKnown), ...(i === k ? { observation: graphOf(g, i, false).observation ?? graphOf({ ...g, ticked: 1 }, i, false).observation } : {}) }));
        const r = decideFleet({ name: 'p', budget: { maxGpus: budget }, now: T0, graphs });
        const g = graphs[k]!;
        const decision = r.results[g.name]!.decision;
        for (const pool of g.spec.pools) {
          const runs = knownCounts(g.observation!, g.state, pool.name).highest;
          if (runs !== undefined) expect(decision.pools[pool.name]!.desired).toBeGreaterThanOrEqual(Math.min(runs, pool.maxReplicas));
        }
      }),
      { numRuns: 150 },
    );
  });
});
