import { describe, expect, it } from 'vitest';
import type { PolicySpec } from '../../../src/config/schema.js';
import { decide, recordHistory, type DecideInput } from '../../../src/planner/decide.js';
import { initialState, type PlannerState } from '../../../src/planner/state.js';
import type { Observation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/index.js';
import type { PerformanceProfile } from '../../../src/profiles/types.js';
import { FOUR_POOLS, T0, TWO_POOLS, makeSpec } from '../constraints/helpers.js';

const profile = loadProfile('builtin:dynamo-format-synthetic', process.cwd());
// Dynamo sizes for the last interval's load: the constant forecaster.
const dynamoSpec = (extra: Record<string, unknown> = {}) =>
  makeSpec({ policy: 'dynamo', interval: '180s', budget: { maxGpus: 8 }, pools: TWO_POOLS, forecaster: { kind: 'constant' }, ...extra });

function run(spec: PolicySpec, observation: Partial<Observation>, state: PlannerState = initialState(), extra: Partial<DecideInput> = {}) {
  return decide({ spec, profile, observation: { time: '', ...observation }, state, now: T0, ...extra });
}

describe('decide: the Dynamo reference rows (budget 8)', () => {
  it.each([
    [1800, 3000, 150, 2, 1],
    [5400, 3000, 150, 5, 1],
    [18000, 3000, 150, 6, 2],
    [3600, 8000, 500, 4, 4],
    [36000, 1024, 1000, 2, 6],
  ])('n %i, isl %i, osl %i -> (%i, %i)', (requests, isl, osl, p, d) => {
    const { decision } = run(dynamoSpec(), { requests, isl, osl });
    expect(decision.pools.prefill?.desired).toBe(p);
    expect(decision.pools.decode?.desired).toBe(d);
    expect(decision.explanation.held).toBe(false);
  });
  it('explains: policy, forecast, raw need, budget effect and use', () => {
    const { decision } = run(dynamoSpec(), { requests: 18000, isl: 3000, osl: 150 });
    const e = decision.explanation;
    expect(e.policy).toBe('dynamo');
    expect(e.forecast?.requests).toEqual({ value: 18000, method: 'constant' });
    expect(e.need.prefill?.replicas).toBe(14);
    expect(e.need.decode?.replicas).toBe(3);
    expect(e.budget).toEqual({ maxGpus: 8, usedGpus: 8, shortfallGpus: 9 });
    expect(decision.pools.prefill).toMatchObject({ desired: 6, gpus: 6, role: 'prefill', capacity: 'on-demand', boundBy: ['budget'] });
    expect(decision.time).toBe(new Date(T0).toISOString());
  });
});

describe('decide: state', () => {
  it('records history (bounded by the forecaster), the last decision and the correction', () => {
    let state = initialState();
    const spec = dynamoSpec({ forecaster: { kind: 'moving-average', window: 3 } });
    for (let t = 0; t < 30; t++) {
      state = decide({ spec, profile, observation: { time: '', requests: 1000 + t, isl: 3000, osl: 150 }, state, now: T0 + t * 180_000 }).state;
    }
    expect(state.history).toHaveLength(13); // window 3 + 10 slack
    expect(state.history.at(-1)).toEqual({ time: T0 + 29 * 180_000, requests: 1029, isl: 3000, osl: 150 });
    expect(state.last).toEqual({ prefill: 1, decode: 1 });
    expect(state.recommendations.length).toBeLessThanOrEqual(2); // 300 s window at 180 s ticks
  });
  it('does not change the input state', () => {
    const state = initialState();
    const frozen = JSON.stringify(state);
    run(dynamoSpec(), { requests: 1800, isl: 3000, osl: 150 }, state);
    expect(JSON.stringify(state)).toBe(frozen);
  });
  it('replaces a history point at the same time instead of duplicating it', () => {
    const h = recordHistory([{ time: 1, requests: 5 }, { time: 2, requests: 6 }], { time: '', requests: 7 }, 2, 10);
    expect(h).toEqual([{ time: 1, requests: 5 }, { time: 2, requests: 7 }]);
    expect(recordHistory(h, { time: '' }, 3, 10)).toEqual(h);
  });
});

describe('decide: safe hold', () => {
  const prev = { ...initialState(), last: { prefill: 5, decode: 3 } };
  it('holds the last counts when requests are missing, and says why', () => {
    const { decision } = run(dynamoSpec(), { isl: 3000, osl: 150, errors: { requests: 'prometheus timeout after 10s' } }, prev);
    expect(decision.explanation.held).toBe(true);
    expect(decision.explanation.holdReason).toBe('requests missing (prometheus timeout after 10s): holding the replica counts (the highest known per pool)');
    expect(decision.pools.prefill?.desired).toBe(5);
    expect(decision.pools.decode?.desired).toBe(3);
    expect(decision.explanation.missing.requests).toBe('held the replica counts (the highest known per pool)');
    expect(decision.explanation.unknown).toEqual(['the request count', 'the current count of prefill, decode']);
    expect(decision.pools.prefill).toMatchObject({ hold: true });
    expect(decision.pools.prefill?.writable).toBeUndefined();
  });
  it('holds on NaN requests too; on the very first tick the observed desired, else minReplicas', () => {
    const { decision } = run(dynamoSpec(), { requests: Number.NaN, pools: { prefill: { desired: 4 } } });
    expect(decision.explanation.holdReason).toMatch(/requests missing \(not a count \(NaN\)\)/);
    expect(decision.pools.prefill?.desired).toBe(4);
    expect(decision.pools.decode?.desired).toBe(1);
  });
  it('zero traffic is not missing: it scales down (to the minimums, by the step limit)', () => {
    const pools = { prefill: { desired: 5, ready: 5 }, decode: { desired: 3, ready: 3 } };
    const { decision } = run(dynamoSpec({ stabilization: { scaleDown: '0s' } }), { requests: 0, pools }, prev);
    expect(decision.explanation.held).toBe(false);
    expect(decision.explanation.unknown).toBeUndefined();
    expect(decision.pools.prefill?.hold).toBeUndefined();
    expect(decision.pools.prefill?.desired).toBe(3); // 5 - maxStepDown 2
    expect(decision.pools.decode?.desired).toBe(1);
    expect(decision.explanation.forecast?.isl).toMatchObject({ value: 0, note: expect.stringMatching(/no requests forecast/) });
  });
  it('a hold still lets a schedule raise a pool', () => {
    const spec = dynamoSpec({ schedules: [{ cron: '0 8 * * *', duration: '10h', minReplicas: { decode: 6 } }] });
    const { decision } = run(spec, {}, prev, { now: Date.UTC(2026, 0, 14, 9) });
    expect(decision.explanation.held).toBe(true);
    expect(decision.pools.decode?.desired).toBe(6);
    expect(decision.explanation.activeSchedules).toHaveLength(1);
  });
  it('a hold still moves an evicted Spot pool to on-demand', () => {
    const spec = makeSpec({ policy: 'sla', pools: FOUR_POOLS });
    const state = { ...initialState(), last: { 'prefill-spot': 6, 'prefill-od': 2, 'decode-spot': 2, 'decode-od': 1 } };
    const { decision } = run(spec, { pools: { 'prefill-spot': { desired: 6, ready: 3, evicted: 3 } } }, state);
    expect(decision.explanation.held).toBe(true);
    expect(decision.pools['prefill-spot']?.desired).toBe(3);
    expect(decision.pools['prefill-od']?.desired).toBe(5);
    expect(decision.pools['prefill-spot']?.boundBy).toEqual(['spot-unavailable']);
  });
  it('a policy that throws holds instead of crashing', () => {
    const broken = { ...profile, prefillThptPerGpu: () => { throw new Error('profile exploded'); } } as PerformanceProfile;
    const { decision } = decide({ spec: dynamoSpec(), profile: broken, observation: { time: '', requests: 10, isl: 10, osl: 10 }, state: prev, now: T0 });
    expect(decision.explanation.held).toBe(true);
    expect(decision.explanation.holdReason).toBe('policy dynamo failed (profile exploded): holding the replica counts (the highest known per pool)');
    expect(decision.pools.prefill?.desired).toBe(5);
  });
  it('a policy that does not use requests (static) sizes without them, but never below what runs', () => {
    const spec = makeSpec({ policy: 'static', pools: TWO_POOLS, static: { replicas: { prefill: 4 } } });
    const pools = { prefill: { desired: 2, ready: 2 }, decode: { desired: 1, ready: 1 } };
    const up = run(spec, { pools }).decision;
    expect(up.explanation.held).toBe(false);
    expect(up.pools.prefill).toMatchObject({ desired: 4, hold: true });
    const down = run(spec, { pools: { prefill: { desired: 6, ready: 6 }, decode: { desired: 1, ready: 1 } } }).decision;
    expect(down.explanation.held).toBe(true);
    expect(down.pools.prefill).toMatchObject({ desired: 6, hold: true, boundBy: ['hold'] });
    const withRequests = run(spec, { requests: 10, pools: { prefill: { desired: 6, ready: 6 }, decode: { desired: 1, ready: 1 } } }).decision;
    expect(withRequests.pools.prefill?.desired).toBe(4);
    expect(withRequests.pools.prefill?.hold).toBeUndefined();
  });
  it('a role with no pool (a spec not validated): its need is a count of 1-GPU replicas, and the warnings say so', () => {
    // 36000 requests of OSL 1000 over 180 s need 20 decode GPUs on this profile: with no decode pool there is no replica
    // size, so the policy sized decode in replicas of 1 GPU; they are 20 GPUs (2.5 replicas of 8), not 20 replicas.
    const spec = dynamoSpec({ budget: {}, pools: [{ name: 'prefill', role: 'prefill', gpusPerReplica: 8, minReplicas: 1, maxReplicas: 20 }] });
    const { decision } = run(spec, { requests: 36000, isl: 1024, osl: 1000, pools: { prefill: { desired: 1, ready: 1 } } });
    expect(decision.explanation.warnings).toEqual([
      'no pool has role decode: decode sized in replicas of 1 GPU (its count is a GPU count), as no pool gives it a gpusPerReplica',
      'the policy asks for 20 decode replica(s) but no pool has role decode, so nothing serves that need; add a decode pool',
    ]);
    expect(Object.keys(decision.pools)).toEqual(['prefill']);
  });
  it('reports observation errors it did not otherwise handle', () => {
    const { decision } = run(dynamoSpec(), { requests: 1800, isl: 3000, osl: 150, errors: { kvUsage: 'no series' } });
    expect(decision.explanation.missing.kvUsage).toBe('no series');
  });
});

describe('decide: forecasts', () => {
  it('forecasts the lead time (floor(max startup / interval) + 1 intervals: the one new replicas start serving in) for sla with leadTime', () => {
    const spec = makeSpec({ policy: 'sla', interval: '60s', forecaster: { kind: 'holt' }, pools: [{ name: 'p', role: 'prefill', startupSeconds: '240s' }, { name: 'd', role: 'decode' }] });
    let state = initialState();
    let last;
    for (let t = 0; t < 10; t++) {
      last = decide({ spec, profile, observation: { time: '', requests: 100 + 10 * t, isl: 3000, osl: 150 }, state, now: T0 + t * 60_000 });
      state = last.state;
    }
    expect(last?.decision.explanation.forecast?.requests.value).toBeCloseTo(200, 6);
    expect(last?.decision.explanation.leadForecast).toMatchObject({ horizonIntervals: 5, requests: { value: expect.closeTo(240, 6) } });
  });
  it('uses a forecast override (oracle) as given', () => {
    const next = { requests: { value: 18000, method: 'oracle' }, isl: { value: 3000, method: 'oracle' }, osl: { value: 150, method: 'oracle' } };
    const { decision } = run(dynamoSpec(), { requests: 5 }, initialState(), { forecastOverride: { next } });
    expect(decision.explanation.forecast).toEqual(next);
    expect(decision.pools.prefill?.desired).toBe(6);
  });
});

describe('decide: crowd hold and the scale-down window', () => {
  it('the hold raises this tick, and the window remembers the need without it', () => {
    const spec = makeSpec({
      interval: '60s',
      pools: TWO_POOLS,
      slo: { ttft: { ms: 2000, percentile: 90 }, itl: { ms: 45, percentile: 90 } },
      forecaster: { kind: 'constant' },
    });
    // Half the budget spent (20% of prefill requests remembered as missed at p90), and a window of 600 requests whose
    // busiest 10 s ran at 25 req/s: the hold keeps 1422 requests per interval sized bare.
    const state: PlannerState = {
      ...initialState(),
      correction: { pCf: 1, dCf: 1, slo: { prefill: { headroom: 0.5, missed: 200, served: 1000, seconds: 900 }, decode: { headroom: 0.5, missed: 0, served: 1000, seconds: 900 } } },
    };
    const pools = { prefill: { desired: 2, ready: 2 }, decode: { desired: 1, ready: 1 } };
    const { decision, state: next } = run(spec, { windowSeconds: 60, requests: 600, peakRequestsPerSecond: 25, isl: 3000, osl: 150, pools }, state);
    const prefill = decision.explanation.need.prefill!;
    // the headroom-trimmed need is 2; the bare need of the held peak is 4
    expect([prefill.detail.crowdHeldFrom, prefill.replicas]).toEqual([2, 4]);
    expect(decision.pools.prefill?.desired).toBe(4);
    expect(decision.explanation.held).toBe(false);
    // the scale-down window remembers 4 x 2 / 4 = 2, so once the hold lets go it does not keep 4 for five minutes
    expect(next.recommendations.at(-1)?.desired.prefill).toBe(2);
    expect(next.correction.crowdHold?.requests).toBeCloseTo(1422, 6);
  });
});
