/**
 * What the readiness gate guarantees, as properties over random pools, observations, clocks and decided counts.
 * With T = spec.readinessTimeout, for every pool and tick:
 *
 *  1. The count that comes out is either the count the other steps decided or the pool's current (spec) count
 *     clamped to [minimum, maxReplicas]. So it lies between the decided and the current count, inclusive, and within
 *     [minimum, maxReplicas] whenever the decided count is: the gate never lowers a scale-down below what the other
 *     steps decided, and never raises a scale-up above it.
 *  2. A pool that is becoming ready (fewer ready or updated replicas than its current count) gets no scale-up beyond
 *     max(current, minimum) until T has passed since its clock started: the first tick it was seen becoming ready, or
 *     the planner's last scale-up of it.
 *  3. A pool's own readiness never holds a scale-down: with its graph Ready (or no graph condition) a scale-down
 *     comes out as decided. Only a graph that is not Ready holds one, and only for T; an unavailable Spot pool's
 *     scale-down is held only during a rolling update.
 *  4. With its graph Ready (or none) and the pool settled, or its ready count unknown, the decided count comes out.
 *  5. No hold lasts longer than T: once its clock is T old a pool's own readiness lets the decided count through,
 *     and so does a graph not Ready for T (for a settled pool).
 *
 * And over tick sequences against a modelled pool whose new replicas become ready `startup` seconds after they are
 * asked for: while any replica is still starting, no further scale-up is applied unless T has passed since the
 * pool started becoming ready (the scale-up that started it, or the last one let through after a timeout).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyReadinessGate } from '../../../src/constraints/readiness.js';
import type { PoolReadinessState } from '../../../src/planner/state.js';
import type { GraphReadiness, PoolObservation } from '../../../src/planner/types.js';
import { makeSpec, T0 } from './helpers.js';

const TIMEOUTS = [0, 60, 300, 1800] as const;

const graphArb: fc.Arbitrary<GraphReadiness | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant({ ready: true }),
  fc.record({ ready: fc.constant(false), rollingUpdate: fc.boolean(), condition: fc.constant('Ready=False') }),
);

const poolArb = fc.record({
  min: fc.integer({ min: 0, max: 4 }),
  extra: fc.integer({ min: 0, max: 12 }),
  current: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined, freq: 6 }),
  readyGap: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined, freq: 5 }),
  updatedGap: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined, freq: 3 }),
  graph: graphArb,
  decided: fc.integer({ min: 0, max: 20 }),
  becomingFor: fc.option(fc.integer({ min: 0, max: 4000 }), { nil: undefined }),
  notReadyFor: fc.option(fc.integer({ min: 0, max: 4000 }), { nil: undefined }),
  spotGone: fc.boolean(),
});

const caseArb = fc.record({ timeout: fc.constantFrom(...TIMEOUTS), pools: fc.array(poolArb, { minLength: 1, maxLength: 4 }) });

describe('readiness gate: properties', () => {
  it('1-5 hold for any pool, observation, clock and decided count', () => {
    fc.assert(
      fc.property(caseArb, ({ timeout, pools: raw }) => {
        const spec = makeSpec({
          readinessTimeout: `${timeout}s`,
          pools: raw.map((p, i) => ({ name: `pool-${i}`, role: i % 2 === 0 ? 'prefill' : 'decode', minReplicas: p.min, maxReplicas: p.min + p.extra })),
        });
        const pools: Record<string, PoolObservation> = {};
        const state: Record<string, PoolReadinessState> = {};
        raw.forEach((p, i) => {
          const name = `pool-${i}`;
          const obs: PoolObservation = {};
          if (p.current !== undefined) obs.desired = p.current;
          if (p.current !== undefined && p.readyGap !== undefined) obs.ready = Math.max(0, p.current - p.readyGap);
          if (p.current !== undefined && p.updatedGap !== undefined) obs.updated = Math.max(0, p.current - p.updatedGap);
          if (p.graph !== undefined) obs.graph = p.graph;
          pools[name] = obs;
          const clocks: PoolReadinessState = {};
          if (p.becomingFor !== undefined) clocks.becomingReadySince = T0 - p.becomingFor * 1000;
          if (p.notReadyFor !== undefined) clocks.graphNotReadySince = T0 - p.notReadyFor * 1000;
          state[name] = clocks;
        });
        // The other steps keep a pool within its bounds; the gate is given such counts.
        const mins = spec.pools.map((p) => p.minReplicas);
        const decided = raw.map((p, i) => Math.min(spec.pools[i]!.maxReplicas, Math.max(mins[i]!, p.decided)));
        const unavailable = raw.map((p) => (p.spotGone ? 'evicted' : undefined));
        const out = applyReadinessGate({ spec, observation: { time: '', pools }, state, now: T0, desired: decided, mins, unavailable });

        spec.pools.forEach((pool, i) => {
          const p = raw[i]!;
          const d = decided[i]!;
          const g = out.desired[i]!;
          const where = JSON.stringify({ pool: pools[pool.name], clocks: state[pool.name], decided: d, gated: g, timeout });
          if (p.current === undefined) {
            expect(g, where).toBe(d);
            return;
          }
          const current = p.current;
          const kept = Math.min(pool.maxReplicas, Math.max(pool.minReplicas, current));
          // 1.
          expect([d, kept], where).toContain(g);
          expect(g, where).toBeGreaterThanOrEqual(Math.min(d, current));
          expect(g, where).toBeLessThanOrEqual(Math.max(d, current));
          expect(g, where).toBeGreaterThanOrEqual(pool.minReplicas);
          expect(g, where).toBeLessThanOrEqual(pool.maxReplicas);
          const obs = pools[pool.name]!;
          const becoming = obs.ready !== undefined && (obs.ready < current || (obs.updated !== undefined && obs.updated < current));
          // 2. Its clock: what the state carried, else this tick.
          const since = p.becomingFor !== undefined ? p.becomingFor : 0;
          if (becoming && since < timeout) expect(g, where).toBeLessThanOrEqual(Math.max(current, pool.minReplicas));
          const graphHolds = obs.graph !== undefined && !obs.graph.ready;
          // 3.
          if (!graphHolds && d < current) expect(g, where).toBe(d);
          if (graphHolds && obs.graph?.rollingUpdate !== true && p.spotGone && d < current) expect(g, where).toBe(d);
          // 4.
          if (!graphHolds && !becoming) expect(g, where).toBe(d);
          // 5.
          const graphTimedOut = graphHolds && p.notReadyFor !== undefined && p.notReadyFor >= timeout;
          if ((!graphHolds || graphTimedOut) && becoming && since >= timeout) expect(g, where).toBe(d);
          if (graphTimedOut && !becoming && obs.ready !== undefined) expect(g, where).toBe(d);
        });
      }),
      { numRuns: 500 },
    );
  });

  it('against a modelled pool: no scale-up on replicas still starting before readinessTimeout has passed', () => {
    const scenario = fc.record({
      timeout: fc.constantFrom(60, 300, 1800),
      startup: fc.integer({ min: 0, max: 900 }),
      min: fc.integer({ min: 0, max: 3 }),
      asks: fc.array(fc.integer({ min: 0, max: 16 }), { minLength: 1, maxLength: 40 }),
      rolling: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
    });
    fc.assert(
      fc.property(scenario, ({ timeout, startup, min, asks, rolling }) => {
        const spec = makeSpec({ readinessTimeout: `${timeout}s`, pools: [{ name: 'd', role: 'decode', minReplicas: min, maxReplicas: 16 }] });
        /** When each replica of the pool is (or becomes) ready, epoch ms. */
        let replicas: number[] = Array.from({ length: Math.max(min, 2) }, () => T0);
        let clocks: Record<string, PoolReadinessState> | undefined;
        /** Start of the current stretch in which the pool is becoming ready, as the model knows it. */
        let becomingSince: number | undefined;
        asks.forEach((ask, k) => {
          const now = T0 + (k + 1) * 60_000;
          const current = replicas.length;
          const ready = replicas.filter((t) => t <= now).length;
          const starting = ready < current;
          if (!starting) becomingSince = undefined;
          else becomingSince ??= now;
          const graph = rolling[k] && k % 3 === 0 ? { ready: false, rollingUpdate: true } : { ready: true };
          const decided = Math.min(16, Math.max(min, ask));
          const out = applyReadinessGate({ spec, observation: { time: '', pools: { d: { desired: current, ready, updated: current, graph } } }, state: clocks, now, desired: [decided], mins: [min] });
          const gated = out.desired[0]!;
          if (gated > Math.max(current, min) && starting) {
            expect(now - (becomingSince as number), JSON.stringify({ k, current, ready, decided, gated, becomingSince, now })).toBeGreaterThanOrEqual(timeout * 1000);
          }
          // Apply: new replicas start now; a scale-down removes the newest (still starting ones first).
          if (gated > current) {
            replicas = [...replicas, ...Array.from({ length: gated - current }, () => now + startup * 1000)];
            becomingSince = startup > 0 ? now : undefined;
          } else if (gated < current) {
            replicas = replicas.sort((a, b) => a - b).slice(0, gated);
          }
          clocks = out.state;
        });
      }),
      { numRuns: 500 },
    );
  });
});
