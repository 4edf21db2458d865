/**
 * Properties of decide() over random valid policies and random (often broken) observations, run as
 * tick sequences that carry the state. At every tick:
 *  1. each pool is within [minReplicas raised by active schedules, maxReplicas], an integer;
 *  2. total GPUs <= spec.budget.maxGpus whenever the (schedule-raised) minimums fit in it, counting a pool whose
 *     scale-down the readiness gate holds (its graph is not Ready) at the count decided for it;
 *  3. relative to the previous desired count, a pool moves at most maxStepUp up and maxStepDown down,
 *     except (documented in src/constraints/index.ts): up to a minimum that forces it; an on-demand pool
 *     taking replicas from an unavailable Spot pool of its role; a Spot pool dropping because it is
 *     unavailable; the budget cutting a pool when raised minimums leave no other way to fit; the readiness gate
 *     keeping a pool at its current (observed) count within its bounds, which may be any distance from the previous
 *     decision when the cluster runs another count (a write that did not land, a change by someone else), or at
 *     one replica when the role is woken or kept from zero (its wake minimum, planner/idle.ts);
 *  4. no role is at zero while its pools' minimums are above zero;
 *  5. a held role never shrinks a pool, except an unavailable Spot pool and budget cuts as in 3;
 *  6. the decision's GPUs by layer (planner/gpu-layers.ts) add up to its GPUs, with nothing left unexplained (`other`)
 *     where each role's pools share one replica size, and `other` within one replica's rounding per pool where they
 *     differ; also over poll and panic-poll decisions, one-pool placement, scale to zero, a reload that changes the
 *     replica sizes, and the graphs of a fleet (the last test below).
 *  (A role scaled to zero after its idle time goes to its minimum at once: not a step, see planner/idle.ts.)
 * While something was unknown, the minimums in 1-3 include the highest count known for each pool (see effectiveMins).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PolicySpec } from '../../../src/config/schema.js';
import { scheduledMins } from '../../../src/constraints/schedules.js';
import { spotAvailability } from '../../../src/constraints/spot.js';
import { decideFleet } from '../../../src/fleet/decide.js';
import { decide, knownCounts } from '../../../src/planner/decide.js';
import { decisionGpuLayers, GPU_LAYERS } from '../../../src/planner/gpu-layers.js';
import { inPolicySizes } from '../../../src/planner/replica-sizes.js';
import { initialState, type PlannerState } from '../../../src/planner/state.js';
import type { Decision, Observation, PoolObservation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { makeSpec, T0 } from '../constraints/helpers.js';

const profile = loadProfile('builtin:dynamo-format-synthetic', process.cwd());

const poolArb = (role: 'prefill' | 'decode', index: number) =>
  fc
    .record({
      capacity: fc.constantFrom('spot', 'on-demand'),
      gpusPerReplica: fc.constantFrom(1, 1, 2, 4),
      minReplicas: fc.integer({ min: 0, max: 4 }),
      extra: fc.integer({ min: 0, max: 12 }),
      startupSeconds: fc.integer({ min: 10, max: 900 }),
    })
    .map((p) => ({
      name: `${role}-${index}`,
      role,
      capacity: p.capacity,
      gpusPerReplica: p.gpusPerReplica,
      minReplicas: p.minReplicas,
      maxReplicas: p.minReplicas + p.extra,
      startupSeconds: `${p.startupSeconds}s`,
    }));

const rolePools = (role: 'prefill' | 'decode') =>
  fc.integer({ min: 1, max: 3 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => poolArb(role, i))));

const specArb = fc
  .record({
    prefill: rolePools('prefill'),
    decode: rolePools('decode'),
    policy: fc.constantFrom('sla', 'dynamo', 'load', 'hpa', 'static'),
    forecaster: fc.constantFrom('constant', 'moving-average', 'holt', 'kalman', 'seasonal'),
    budgetExtra: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    maxStepUp: fc.integer({ min: 1, max: 8 }),
    maxStepDown: fc.integer({ min: 1, max: 4 }),
    scaleDown: fc.constantFrom(0, 60, 300),
    maxShare: fc.double({ min: 0, max: 1, noNaN: true }),
    onDemandFloor: fc.integer({ min: 0, max: 3 }),
    evictionRatePerHour: fc.constantFrom(0, 0.05, 2),
    schedule: fc.option(
      fc.record({ cron: fc.constantFrom('* * * * *', '0 0 1 1 *', '*/2 * * * *'), raise: fc.integer({ min: 0, max: 10 }), which: fc.nat() }),
      { nil: undefined },
    ),
    staticReplicas: fc.integer({ min: 0, max: 20 }),
    budgetSplit: fc.boolean(),
  })
  .map((a): PolicySpec => {
    const pools = [...a.prefill, ...a.decode];
    const minGpus = pools.reduce((s, p) => s + p.minReplicas * p.gpusPerReplica, 0);
    const target = pools[a.schedule ? a.schedule.which % pools.length : 0]!;
    return makeSpec({
      pools,
      policy: a.policy,
      interval: '60s',
      forecaster: { kind: a.forecaster, season: '10m' },
      budget: a.budgetExtra === undefined ? {} : { maxGpus: Math.max(1, minGpus + a.budgetExtra) },
      limits: { maxStepUp: a.maxStepUp, maxStepDown: a.maxStepDown },
      stabilization: { scaleDown: `${a.scaleDown}s` },
      spot: { maxShare: a.maxShare, onDemandFloor: a.onDemandFloor, evictionRatePerHour: a.evictionRatePerHour },
      schedules: a.schedule ? [{ cron: a.schedule.cron, duration: '1m', minReplicas: { [target.name]: Math.min(target.maxReplicas, target.minReplicas + a.schedule.raise) } }] : [],
      static: { replicas: { [pools[0]!.name]: a.staticReplicas } },
      sla: { improvements: { budgetSplit: a.budgetSplit } },
    });
  });

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });
const countArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 50_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, -1, Number.POSITIVE_INFINITY) },
);

const poolObsArb: fc.Arbitrary<PoolObservation> = fc.record(
  {
    desired: maybe(fc.integer({ min: 0, max: 20 })),
    ready: maybe(fc.integer({ min: 0, max: 20 })),
    updated: maybe(fc.integer({ min: 0, max: 20 })),
    graph: maybe(fc.oneof(fc.constant({ ready: true }), fc.record({ ready: fc.constant(false), rollingUpdate: fc.boolean() }))),
    pending: maybe(fc.integer({ min: 0, max: 5 })),
    pendingSeconds: maybe(fc.integer({ min: 0, max: 600 })),
    evicted: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined, freq: 1 }),
    evictionNotices: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined, freq: 1 }),
  },
  { requiredKeys: [] },
);

const observationArb = (names: string[]): fc.Arbitrary<Observation> =>
  fc.record(
    {
      requests: maybe(countArb),
      isl: maybe(fc.oneof(fc.integer({ min: 0, max: 16_000 }), fc.constant(Number.NaN))),
      osl: maybe(fc.oneof(fc.integer({ min: 0, max: 4000 }), fc.constant(Number.NaN))),
      ttftMs: maybe(fc.record({ mean: fc.double({ min: 1, max: 5000, noNaN: true }), p95: fc.double({ min: 1, max: 9000, noNaN: true }) })),
      itlMs: maybe(fc.record({ mean: fc.double({ min: 1, max: 200, noNaN: true }), p95: fc.double({ min: 1, max: 400, noNaN: true }) })),
      requestDurationSeconds: maybe(fc.double({ min: 0, max: 60, noNaN: true })),
      queueDepth: maybe(fc.integer({ min: 0, max: 500 })),
      kvUsage: maybe(fc.double({ min: 0, max: 1, noNaN: true })),
      pools: maybe(fc.tuple(...names.map(() => poolObsArb)).map((list) => Object.fromEntries(list.map((o, i) => [names[i], o])))),
    },
    { requiredKeys: [] },
  ).map((o) => ({ time: '', windowSeconds: 60, ...o }));

const scenarioArb = specArb.chain((spec) =>
  fc.record({
    spec: fc.constant(spec),
    start: fc.integer({ min: 0, max: 7 * 24 * 60 }).map((m) => T0 + m * 60_000),
    ticks: fc.array(observationArb(spec.pools.map((p) => p.name)), { minLength: 1, maxLength: 8 }),
  }),
);

/**
 * The minimums the decision had to respect: the schedule-raised ones and, while something was unknown, the highest
 * count known for each pool (capped at maxReplicas; an unavailable Spot pool at what it still has, its cap).
 */
function effectiveMins(spec: PolicySpec, decision: Decision, observation: Observation, state: PlannerState, now: number): number[] {
  const { mins } = scheduledMins(spec, now);
  if (decision.explanation.unknown === undefined) return mins;
  const availability = spotAvailability(spec, observation, state, now, mins);
  return spec.pools.map((pool, i) => {
    const known = knownCounts(observation, state, pool.name).highest;
    if (known === undefined) return mins[i]!;
    const have = availability.unavailable[i] !== undefined ? Math.min(known, availability.caps[i]!) : known;
    return Math.max(mins[i]!, Math.min(have, pool.maxReplicas));
  });
}

function violations(spec: PolicySpec, decision: Decision, previous: Record<string, number> | undefined, now: number, mins: number[]): string[] {
  const out: string[] = [];
  const effects = decision.explanation.constraints;
  const heldRoles = new Set((['prefill', 'decode'] as const).filter((r) => decision.explanation.need[r]?.detail.held === true));
  let gpus = 0;
  let minGpus = 0;
  const roleTotal = { prefill: 0, decode: 0 };
  const roleMin = { prefill: 0, decode: 0 };
  spec.pools.forEach((pool, i) => {
    const d = decision.pools[pool.name]?.desired;
    const min = mins[i]!;
    if (d === undefined || !Number.isInteger(d)) {
      out.push(`${pool.name}: desired ${d} is not an integer`);
      return;
    }
    // The budget is checked on the counts set, but for a pool the readiness gate keeps up while its graph rolls out
    // (nothing moves then, the budget included: constraints/gate-budget.ts), counted at what the steps before decided.
    const rolled = effects.find((e) => e.constraint === 'readiness' && e.pool === pool.name && e.to > e.from && e.detail.includes('rolling out'));
    gpus += (rolled ? Math.min(rolled.from, d) : d) * pool.gpusPerReplica;
    minGpus += min * pool.gpusPerReplica;
    roleTotal[pool.role] += d;
    roleMin[pool.role] += min;
    if (d < min || d > pool.maxReplicas) out.push(`${pool.name}: ${d} outside [${min}, ${pool.maxReplicas}]`);
    const prev = previous?.[pool.name];
    if (prev === undefined) return;
    if (effects.some((e) => e.constraint === 'readiness' && e.pool === pool.name)) {
      const current = decision.pools[pool.name]?.current;
      const kept = current === undefined ? undefined : Math.min(pool.maxReplicas, Math.max(min, current));
      // A role woken or kept from zero has one replica as its minimum (planner/idle.ts withWakeMinimums), which the
      // gate respects like any minimum: a pool at 0 may be kept at 1.
      const idle = decision.explanation.scaleToZero;
      const wakeMin = idle !== undefined && idle.action !== 'zero' && idle.roles.includes(pool.role) && min === 0 && current === 0 && d === 1;
      // Over the budget, the budget wins over the gate (constraints/gate-budget.ts): the deferred scale-down goes ahead,
      // but not past what the steps before the gate decided.
      const gateFrom = effects.find((e) => e.constraint === 'readiness' && e.pool === pool.name)?.from;
      const overBudget = effects.some((e) => e.constraint === 'budget' && e.pool === pool.name && e.detail.includes('wins over the readiness gate'));
      if (overBudget && gateFrom !== undefined && kept !== undefined && d >= Math.max(gateFrom, min) && d < kept) return;
      if (d !== kept && !wakeMin) out.push(`${pool.name}: held by the readiness gate at ${d}, not at its current count ${current} within [${min}, ${pool.maxReplicas}]`);
      return;
    }
    const budgetCut = effects.some((e) => e.constraint === 'budget' && e.pool === pool.name);
    const spotGone = effects.some((e) => e.constraint === 'spot-unavailable' && e.role === pool.role);
    const unavailableSpot = pool.capacity === 'spot' && spotGone;
    // Scale to zero after the idle time goes to the minimum at once (planner/idle.ts): not a step.
    const toZero = effects.some((e) => e.constraint === 'scale-to-zero' && e.pool === pool.name) && d === min;
    if (d > prev + spec.limits.maxStepUp && d !== min && !(pool.capacity === 'on-demand' && spotGone)) {
      out.push(`${pool.name}: stepped up ${prev} -> ${d} (max ${spec.limits.maxStepUp})`);
    }
    if (d < prev - spec.limits.maxStepDown && !budgetCut && !unavailableSpot && !toZero) {
      out.push(`${pool.name}: stepped down ${prev} -> ${d} (max ${spec.limits.maxStepDown})`);
    }
    if (heldRoles.has(pool.role) && d < prev && !budgetCut && !unavailableSpot && d !== pool.maxReplicas) {
      out.push(`${pool.name}: held role shrank ${prev} -> ${d}`);
    }
  });
  const maxGpus = spec.budget.maxGpus;
  if (maxGpus !== undefined && minGpus <= maxGpus && gpus > maxGpus) out.push(`total ${gpus} GPUs over budget ${maxGpus} (mins ${minGpus})`);
  for (const role of ['prefill', 'decode'] as const) {
    if (roleMin[role] > 0 && roleTotal[role] === 0) out.push(`${role} at zero with minimums ${roleMin[role]}`);
  }
  return out;
}

describe('decide: properties over random policies and observations', () => {
  it('never breaks a bound, a budget that fits, a step limit, or a hold', () => {
    fc.assert(
      fc.property(scenarioArb, ({ spec, start, ticks }) => {
        let state = initialState();
        ticks.forEach((observation, t) => {
          const now = start + t * 60_000;
          const previous = state.last;
          const result = decide({ spec, profile, observation, state, now });
          const problems = violations(spec, result.decision, previous, now, effectiveMins(spec, result.decision, observation, state, now));
          expect(problems, JSON.stringify({ t, observation, pools: result.decision.pools, previous, explanation: result.decision.explanation.constraints })).toEqual([]);
          // 6. The decision's GPUs by layer add up to its GPUs, and explain all of them where a role's pools share one size.
          const layers = decisionGpuLayers(spec, result.decision);
          const gpus = Object.values(result.decision.pools).reduce((sum, pool) => sum + pool.gpus, 0);
          expect(GPU_LAYERS.reduce((sum, layer) => sum + layers[layer], 0)).toBeCloseTo(gpus, 9);
          const oneSize = ['prefill', 'decode'].every((role) => new Set(spec.pools.filter((p) => p.role === role).map((p) => p.gpusPerReplica)).size <= 1);
          if (oneSize) expect(layers.other, JSON.stringify({ t, observation, layers, pools: spec.pools, decided: result.decision.pools, need: result.decision.explanation.need, explanation: result.decision.explanation.constraints })).toBe(0);
          state = result.state;
        });
      }),
      { numRuns: 400 },
    );
  });

  it('missing requests never shrink anything (sla, no Spot, no budget pressure)', () => {
    const spec = makeSpec({
      policy: 'sla',
      pools: [
        { name: 'p', role: 'prefill', minReplicas: 1, maxReplicas: 20 },
        { name: 'd', role: 'decode', minReplicas: 1, maxReplicas: 20 },
      ],
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), fc.constantFrom(undefined, Number.NaN, -5), (p, d, requests) => {
        const state = { ...initialState(), last: { p, d } };
        const { decision } = decide({ spec, profile, observation: { time: '', requests, isl: 3000, osl: 150 }, state, now: T0 });
        expect(decision.explanation.held).toBe(true);
        expect(decision.pools.p?.desired).toBe(p);
        expect(decision.pools.d?.desired).toBe(d);
      }),
      { numRuns: 100 },
    );
  });

  it('6. the GPUs by layer add up, and explain everything but the rounding between replica sizes: polls, placement, scale to zero, reloads, fleets', () => {
    // Per role one size (often) or one per pool; a reload may double or halve a role's sizes.
    const layered = (role: 'prefill' | 'decode', sizes: number[], mixed: boolean, index: number, size: number) =>
      fc
        .record({ capacity: fc.constantFrom('spot', 'on-demand'), own: fc.constantFrom(...sizes), minReplicas: fc.integer({ min: 0, max: 3 }), extra: fc.integer({ min: 0, max: 12 }) })
        .map((p) => ({ name: `${role}-${index}`, role, capacity: p.capacity, gpusPerReplica: mixed ? p.own : size, minReplicas: p.minReplicas, maxReplicas: p.minReplicas + p.extra, startupSeconds: '120s' }));
    const roleArb = (role: 'prefill' | 'decode') =>
      fc.record({ n: fc.integer({ min: 1, max: 3 }), mixed: fc.boolean(), size: fc.constantFrom(1, 2, 4, 8) }).chain(({ n, mixed, size }) => fc.tuple(...Array.from({ length: n }, (_, i) => layered(role, [1, 2, 4, 6, 8], mixed, i, size))));
    const layeredSpec = fc
      .record({
        prefill: roleArb('prefill'),
        decode: roleArb('decode'),
        policy: fc.constantFrom('sla', 'dynamo', 'load', 'hpa', 'static'),
        budgetExtra: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
        maxStepUp: fc.integer({ min: 1, max: 8 }),
        scaleDown: fc.constantFrom(0, 120),
        scaleUp: fc.constantFrom(0, 120),
        maxShare: fc.double({ min: 0, max: 1, noNaN: true }),
        evictionRatePerHour: fc.constantFrom(0, 2),
        placement: fc.constantFrom('share', 'one-pool'),
        staticReplicas: fc.integer({ min: 0, max: 20 }),
      })
      .map((a) => {
        const pools = [...a.prefill, ...a.decode];
        const minGpus = pools.reduce((sum, p) => sum + p.minReplicas * p.gpusPerReplica, 0);
        return makeSpec({
          pools, policy: a.policy, interval: '60s',
          budget: a.budgetExtra === undefined ? {} : { maxGpus: Math.max(1, minGpus + a.budgetExtra) },
          limits: { maxStepUp: a.maxStepUp, maxStepDown: 2 },
          stabilization: { scaleDown: `${a.scaleDown}s`, scaleUp: `${a.scaleUp}s` },
          spot: { maxShare: a.maxShare, onDemandFloor: 1, evictionRatePerHour: a.evictionRatePerHour, placement: a.placement },
          scaleToZero: { idleSeconds: '120s', pollInterval: '10s' },
          static: { replicas: { [pools[0]!.name]: a.staticReplicas } },
        });
      });
    /** The spec with each role's replica sizes multiplied (x2, x0.5 where whole) by a reload. */
    const resized = (spec: PolicySpec, by: number): PolicySpec => ({
      ...spec,
      pools: spec.pools.map((p) => ({ ...p, gpusPerReplica: Number.isInteger(p.gpusPerReplica * by) ? p.gpusPerReplica * by : p.gpusPerReplica })),
    });
    const check = (spec: PolicySpec, decision: Decision, context: unknown) => {
      const layers = decisionGpuLayers(spec, decision);
      const gpus = Object.values(decision.pools).reduce((sum, pool) => sum + pool.gpus, 0);
      expect(GPU_LAYERS.reduce((sum, layer) => sum + layers[layer], 0)).toBeCloseTo(gpus, 9);
      const unit = (role: string) => spec.pools.find((p) => p.role === role)?.gpusPerReplica ?? 1;
      const why = JSON.stringify({ context, layers, pools: spec.pools, decided: decision.pools, need: decision.explanation.need, effects: decision.explanation.constraints });
      const oneSize = ['prefill', 'decode'].every((role) => spec.pools.filter((p) => p.role === role).every((p) => p.gpusPerReplica === unit(role)));
      if (oneSize) expect(layers.other, why).toBe(0);
      else expect(Math.abs(layers.other), why).toBeLessThanOrEqual(spec.pools.reduce((sum, p) => sum + unit(p.role) + p.gpusPerReplica, 0));
    };
    const step = fc.record({ kind: fc.constantFrom('tick', 'tick', 'tick', 'poll', 'panic'), seconds: fc.constantFrom(60, 60, 10, 0) });
    fc.assert(
      fc.property(
        fc.tuple(layeredSpec, layeredSpec).chain(([a, b]) =>
          fc.record({
            a: fc.constant(a),
            b: fc.constant(b),
            reloadAt: fc.integer({ min: 0, max: 8 }),
            by: fc.constantFrom(2, 0.5),
            fleetBudget: fc.integer({ min: 1, max: 160 }),
            ticks: fc.array(fc.tuple(observationArb(a.pools.map((p) => p.name)), observationArb(b.pools.map((p) => p.name)), step), { minLength: 1, maxLength: 8 }),
          }),
        ),
        ({ a, b, reloadAt, by, fleetBudget, ticks }) => {
          // One graph alone, with polls and panic polls between ticks and a reload that changes its replica sizes.
          let state = initialState();
          let now = T0;
          ticks.forEach(([observation, , s], t) => {
            const spec = t >= reloadAt ? resized(a, by) : a;
            now += s.seconds * 1000;
            const poll = s.kind !== 'tick';
            const result = decide({ spec, profile, observation, state, now, poll, ...(s.kind === 'panic' ? { panic: { queueDepth: 80, secondsIntoInterval: 10 } } : {}) });
            check(spec, result.decision, { t, kind: s.kind });
            // What the minimums add is at most twice the GPUs they hold (raising a role to them, and the Spot split
            // keeping a side at its pools' minimums above its share of the total), and a woken role's one replica.
            const mins = effectiveMins(spec, result.decision, observation, inPolicySizes(state, spec), now);
            const largest = Math.max(...spec.pools.map((p) => p.gpusPerReplica));
            const minGpus = spec.pools.reduce((sum, p, i) => sum + mins[i]! * p.gpusPerReplica, 0);
            expect(decisionGpuLayers(spec, result.decision).minimums, JSON.stringify({ t, mins, decided: result.decision.pools, effects: result.decision.explanation.constraints })).toBeLessThanOrEqual(2 * minGpus + 2 * largest);
            state = result.state;
          });
          // The same two policies as a fleet on one budget: each graph decided again under its share.
          let states = [initialState(), initialState()];
          ticks.forEach(([oa, ob], t) => {
            const result = decideFleet({
              name: 'fleet', budget: { maxGpus: fleetBudget }, now: T0 + t * 60_000,
              graphs: [
                { name: 'a', priority: 1, spec: a, profile, state: states[0]!, observation: oa },
                { name: 'b', priority: 2, spec: b, profile, state: states[1]!, observation: ob },
              ],
            });
            check(a, result.results.a!.decision, { t, graph: 'a' });
            check(b, result.results.b!.decision, { t, graph: 'b' });
            states = [result.results.a!.state, result.results.b!.state];
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
