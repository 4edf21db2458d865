/**
 * "Never below what runs on uncertainty", as properties over decide() and runTick() with observations whose fields
 * are missing or extreme (0, 1e-300, 1e300, negative, NaN, Infinity, and the strings a metric source can produce:
 * "", "   ", "NaN", "0x10"), for every policy kind, with policies whose numbers go up to the schema's ceilings.
 *
 * At every tick:
 *  1. each pool's desired count is a whole number within [minReplicas raised by active schedules, maxReplicas];
 *  2. when the request count or a pool's current count is unknown, the decision says so (`explanation.unknown`),
 *     marks every pool `hold: true`, and no pool is below the highest count known for it (last decision, observed
 *     desired, observed ready + pending; capped at maxReplicas; an unavailable Spot pool at what it still has);
 *  3. a pool of which nothing is known while the request count is unknown is `writable: false`;
 *  4. a measured zero-traffic window with every pool observed is not uncertain: nothing is held up;
 *  5. every call returns: the numbers above hang an unbounded queue-model search, cron walk or Spot fill, so the test
 *     times out rather than passes if any of them is unbounded.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PolicySpec } from '../../../src/config/schema.js';
import { scheduledMins } from '../../../src/constraints/schedules.js';
import { spotAvailability } from '../../../src/constraints/spot.js';
import { decide, knownCounts } from '../../../src/planner/decide.js';
import type { Connector, MetricSource } from '../../../src/planner/ports.js';
import { initialState, type PlannerState } from '../../../src/planner/state.js';
import { runTick } from '../../../src/planner/tick.js';
import type { Decision, Observation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { makeSpec, T0 } from '../constraints/helpers.js';

const profile = loadProfile('builtin:llama2-70b-h100-tp4', process.cwd());

/** Numbers at the edges: what a broken exporter, a hand-edited file or a bad division gives. */
const extreme = fc.constantFrom(0, 1e-300, 1e-9, 1, 1e6, 1e13, 1e300, -1, -1e300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
/** What a metric source may hand over instead of a number (the core must read these as missing). */
const junk = fc.constantFrom('', '   ', 'NaN', '0x10', '1e400', null);
const anyValue = fc.oneof(
  { weight: 4, arbitrary: fc.double({ min: 0, max: 50_000, noNaN: true }) },
  { weight: 3, arbitrary: extreme },
  { weight: 1, arbitrary: junk as fc.Arbitrary<unknown> },
);
const countValue = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 2, arbitrary: extreme },
  { weight: 1, arbitrary: junk as fc.Arbitrary<unknown> },
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });

const POLICIES = ['sla', 'dynamo', 'hpa', 'load', 'static'] as const;

const poolArb = (role: 'prefill' | 'decode', i: number) =>
  fc
    .record({
      capacity: fc.constantFrom('spot', 'on-demand', 'on-demand'),
      gpus: fc.constantFrom(1, 2, 4, 8, 1024),
      min: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(0)),
      extra: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 20 }) }, { weight: 1, arbitrary: fc.constant(9_990) }),
      startup: fc.constantFrom(0, 60, 240, 86_400),
    })
    .map((p) => ({
      name: i === 0 && role === 'prefill' ? 'constructor' : `${role}-${i}`,
      role,
      capacity: p.capacity,
      gpusPerReplica: p.gpus,
      minReplicas: p.min,
      maxReplicas: p.min + p.extra,
      startupSeconds: p.startup,
    }));

const specArb = fc
  .record({
    prefill: fc.integer({ min: 1, max: 2 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => poolArb('prefill', i)))),
    decode: fc.integer({ min: 1, max: 2 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => poolArb('decode', i)))),
    policy: fc.constantFrom(...POLICIES),
    forecaster: fc.constantFrom('constant', 'holt', 'kalman', 'seasonal', 'moving-average'),
    budget: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
    schedule: fc.option(fc.constantFrom('* * * * *', '0 0 29 2 1'), { nil: undefined }),
    ttftMs: fc.constantFrom(1e-3, 50, 800, 3_600_000),
    utilization: fc.constantFrom(1e-9, 0.5, 1),
  })
  .map(
    (a): PolicySpec => {
      const pools = [...a.prefill, ...a.decode];
      const minGpus = pools.reduce((s, p) => s + p.minReplicas * p.gpusPerReplica, 0);
      return makeSpec({
        pools,
        policy: a.policy,
        interval: '60s',
        slo: { ttft: { ms: a.ttftMs }, itl: { ms: 50 } },
        sla: { targetUtilization: a.utilization },
        forecaster: { kind: a.forecaster, season: '10m' },
        budget: a.budget === undefined ? {} : { maxGpus: Math.max(1, minGpus + a.budget) },
        schedules: a.schedule ? [{ cron: a.schedule, duration: '366d', minReplicas: { [pools[0]!.name]: pools[0]!.maxReplicas } }] : [],
        static: { replicas: { [pools[0]!.name]: pools[0]!.minReplicas } },
        spot: { onDemandFloor: 0 },
      });
    },
  );

const poolObsArb = fc.record(
  {
    desired: maybe(countValue),
    ready: maybe(countValue),
    updated: maybe(countValue),
    graph: maybe(fc.constantFrom({ ready: true }, { ready: false }, { ready: false, rollingUpdate: true }, null)),
    pending: maybe(countValue),
    evicted: maybe(fc.constantFrom(0, 1, 3)),
  },
  { requiredKeys: [] },
);

/** An observation as a source might hand it over: any field missing, extreme or junk (hence `unknown`). */
const observationArb = (names: string[]) =>
  fc
    .record(
      {
        requests: maybe(anyValue),
        peakRequestsPerSecond: maybe(anyValue),
        isl: maybe(anyValue),
        osl: maybe(anyValue),
        ttftMs: maybe(fc.record({ mean: anyValue, p95: anyValue }, { requiredKeys: [] })),
        itlMs: maybe(fc.record({ mean: anyValue, p95: anyValue }, { requiredKeys: [] })),
        queueDepth: maybe(anyValue),
        kvUsage: maybe(fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), extreme)),
        windowSeconds: maybe(fc.constantFrom(60, 0, 1e-300, 1e300, Number.NaN)),
        pools: maybe(fc.subarray(names).chain((present) => fc.tuple(...present.map(() => poolObsArb)).map((list) => Object.fromEntries(list.map((o, i) => [present[i], o]))))),
      },
      { requiredKeys: [] },
    )
    .map((o) => ({ time: '', ...o }) as unknown as Observation);

const stateArb = (names: string[]) =>
  fc.option(
    fc.tuple(...names.map(() => fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }))).map((counts) => {
      const last: Record<string, number> = {};
      counts.forEach((c, i) => {
        if (c !== undefined) last[names[i]!] = c;
      });
      return { ...initialState(), last } as PlannerState;
    }),
    { nil: undefined },
  );

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Problems with one decision, given what went in (empty when every property holds). */
function check(spec: PolicySpec, observation: Observation, state: PlannerState, decision: Decision, now: number): string[] {
  const out: string[] = [];
  const { mins } = scheduledMins(spec, now);
  const availability = spotAvailability(spec, observation, state, now, mins);
  const requestsKnown = isCount(observation.requests);
  const unknown = decision.explanation.unknown;
  spec.pools.forEach((pool, i) => {
    const d = decision.pools[pool.name];
    if (d === undefined || !Number.isInteger(d.desired)) {
      out.push(`${pool.name}: desired ${d?.desired} is not a whole number`);
      return;
    }
    if (d.desired < mins[i]! || d.desired > pool.maxReplicas) out.push(`${pool.name}: ${d.desired} outside [${mins[i]}, ${pool.maxReplicas}]`);
    const counts = knownCounts(observation, state, pool.name);
    const poolUnknown = counts.desired === undefined && counts.ready === undefined;
    if ((!requestsKnown || poolUnknown) && unknown === undefined) out.push(`${pool.name}: something was unknown but the decision does not say so`);
    if (unknown === undefined) return;
    if (d.hold !== true) out.push(`${pool.name}: not marked hold while ${unknown.join('; ')} unknown`);
    if (counts.highest !== undefined) {
      const have = availability.unavailable[i] !== undefined ? Math.min(counts.highest, availability.caps[i]!) : counts.highest;
      const floor = Math.min(have, pool.maxReplicas);
      if (d.desired < floor) out.push(`${pool.name}: ${d.desired} below ${floor}, the highest count known, while ${unknown.join('; ')} unknown`);
    } else if (!requestsKnown && d.writable !== false) {
      out.push(`${pool.name}: nothing known of it and no request count, but writable`);
    }
  });
  return out;
}

describe('decide under missing and extreme inputs', () => {
  it('never below the highest known count while something is unknown; always within bounds; always returns', () => {
    const scenario = specArb.chain((spec) => {
      const names = spec.pools.map((p) => p.name);
      return fc.record({ spec: fc.constant(spec), state: stateArb(names), ticks: fc.array(observationArb(names), { minLength: 1, maxLength: 4 }) });
    });
    fc.assert(
      fc.property(scenario, ({ spec, state: first, ticks }) => {
        let state = first ?? initialState();
        ticks.forEach((observation, t) => {
          const now = T0 + t * 60_000;
          const result = decide({ spec, profile, observation, state, now });
          expect(check(spec, observation, state, result.decision, now), JSON.stringify({ t, observation, pools: result.decision.pools })).toEqual([]);
          state = result.state;
        });
      }),
      { numRuns: 300 },
    );
  });

  it.each(POLICIES)('cold start, %s: requests missing, minReplicas 0 and 5 ready -> 5 per pool, held', (policy) => {
    const spec = makeSpec({
      policy,
      pools: [
        { name: 'prefill-od', role: 'prefill', minReplicas: 0, maxReplicas: 8 },
        { name: 'decode-od', role: 'decode', minReplicas: 0, maxReplicas: 8 },
      ],
    });
    const observation: Observation = { time: '', pools: { 'prefill-od': { ready: 5 }, 'decode-od': { ready: 5 } } };
    const { decision } = decide({ spec, profile, observation, state: initialState(), now: T0 });
    expect(decision.pools['prefill-od']).toMatchObject({ desired: 5, hold: true });
    expect(decision.pools['decode-od']).toMatchObject({ desired: 5, hold: true });
    expect(decision.pools['prefill-od']?.writable).toBeUndefined();
    expect(decision.explanation.held).toBe(true);
    expect(decision.explanation.unknown).toEqual(['the request count']);
  });

  it.each(POLICIES)('nothing known at all, %s: a hold the connector must not write', (policy) => {
    const spec = makeSpec({ policy, pools: [{ name: 'p', role: 'prefill', minReplicas: 0 }, { name: 'd', role: 'decode', minReplicas: 0 }] });
    const { decision } = decide({ spec, profile, observation: { time: '' }, state: initialState(), now: T0 });
    for (const pool of Object.values(decision.pools)) expect(pool).toMatchObject({ hold: true, writable: false });
  });

  it('a measured zero-traffic window with every pool observed still scales down', () => {
    const spec = makeSpec({ policy: 'sla', stabilization: { scaleDown: '0s' }, pools: [{ name: 'p', role: 'prefill', minReplicas: 0 }, { name: 'd', role: 'decode', minReplicas: 0 }] });
    const state = { ...initialState(), last: { p: 6, d: 6 } };
    const observation: Observation = { time: '', requests: 0, pools: { p: { desired: 6, ready: 6 }, d: { desired: 6, ready: 6 } } };
    const { decision } = decide({ spec, profile, observation, state, now: T0 });
    expect(decision.explanation.unknown).toBeUndefined();
    expect(decision.pools.p).toMatchObject({ desired: 4 }); // 6 - maxStepDown 2
    expect(decision.pools.p?.hold).toBeUndefined();
  });

  it('a pool named "constructor" is a pool: static gives it its count, state and observation find it', () => {
    const spec = makeSpec({ policy: 'static', static: { replicas: { constructor: 3 } }, pools: [{ name: 'constructor', role: 'prefill', minReplicas: 0 }, { name: 'd', role: 'decode' }] });
    const observation: Observation = { time: '', requests: 10, pools: { constructor: { desired: 3, ready: 3 }, d: { desired: 1, ready: 1 } } };
    const first = decide({ spec, profile, observation, state: initialState(), now: T0 });
    const ctor: string = 'constructor';
    expect(first.decision.pools[ctor]).toMatchObject({ desired: 3 });
    expect(first.decision.explanation.held).toBe(false);
    // A pool absent from the observation and the state reads as unknown, not as Object's constructor.
    const cold = decide({ spec, profile, observation: { time: '', requests: 10, pools: { d: { desired: 1, ready: 1 } } }, state: initialState(), now: T0 });
    expect(cold.decision.explanation.unknown).toEqual(['the current count of constructor']);
    expect(cold.decision.pools[ctor]?.desired).toBe(3);
  });
});

describe('runTick with a fake metric source', () => {
  it('whatever the source does (junk, extremes, throwing), the tick applies a decision that keeps the invariants', async () => {
    const scenario = specArb.chain((spec) => {
      const names = spec.pools.map((p) => p.name);
      return fc.record({
        spec: fc.constant(spec),
        ticks: fc.array(fc.oneof({ weight: 4, arbitrary: observationArb(names) }, { weight: 1, arbitrary: fc.constant('throw' as const) }), { minLength: 1, maxLength: 4 }),
      });
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ spec, ticks }) => {
        let state = initialState();
        let now = T0;
        const applied: Decision[] = [];
        const connector: Connector = {
          apply: async (decision) => {
            applied.push(decision);
            return { pools: {}, errors: {} };
          },
        };
        for (const tick of ticks) {
          const source: MetricSource = {
            observe: async () => {
              if (tick === 'throw') throw new Error('prometheus: connection refused');
              return tick;
            },
          };
          const before = state;
          const result = await runTick({ spec, profile, state }, { clock: { now: () => now }, source, connector });
          expect(applied.at(-1)).toBe(result.decision);
          expect(check(spec, result.observation, before, result.decision, now), JSON.stringify({ tick, pools: result.decision.pools })).toEqual([]);
          if (tick === 'throw') expect(result.decision.explanation.unknown).toContain('the request count');
          state = result.state;
          now += 60_000;
        }
      }),
      { numRuns: 150 },
    );
  });
});
