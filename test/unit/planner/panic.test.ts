import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/planner/decide.js';
import { PANIC_QUEUE, PANIC_TTFT_MULTIPLE, panicDetail, panicDue, panicPollSeconds, panicQueueThreshold, panicView } from '../../../src/planner/panic.js';
import type { CorrectionState } from '../../../src/planner/state.js';
import type { Observation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { makeSpec, stateWith, T0 } from '../constraints/helpers.js';

const profile = loadProfile('builtin:llama2-70b-h100-tp4', process.cwd());
const pools = [
  { name: 'prefill', role: 'prefill', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16 },
  { name: 'decode', role: 'decode', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16 },
];
const base = { interval: '60s', slo: { ttft: { percentile: 95, ms: 2000 }, itl: { percentile: 95, ms: 60 } }, pools, limits: { maxStepUp: 8, maxStepDown: 2 } };
const spec = makeSpec(base);

describe('panic poll: the queue threshold', () => {
  const after = (requests: number) => stateWith({ history: [{ time: T0 - 60_000, requests }] });
  it('is PANIC_QUEUE, or PANIC_TTFT_MULTIPLE TTFT targets of arrivals at the last interval rate when that is more', () => {
    expect([PANIC_QUEUE, PANIC_TTFT_MULTIPLE]).toEqual([10, 2]);
    // 1500 requests in 60 s = 25 req/s, TTFT 2 s: 2 x 25 x 2 = 100
    expect(panicQueueThreshold(spec, after(1500))).toBeCloseTo(100, 9);
    // 180 in 60 s = 3 req/s: 2 x 3 x 2 = 12
    expect(panicQueueThreshold(spec, after(180))).toBeCloseTo(12, 9);
    // 60 in 60 s: 4, so the floor of 10
    expect(panicQueueThreshold(spec, after(60))).toBe(10);
    expect(panicQueueThreshold(spec)).toBe(10);
    expect(panicQueueThreshold(spec, stateWith({ history: [{ time: T0 }] }))).toBe(10);
  });
  it('60 queued is ordinary on a graph serving 25 req/s; 14 queued is a panic at 3 req/s', () => {
    expect(panicDue(spec, 60, after(1500))).toBe(false);
    expect(panicDue(spec, 100, after(1500))).toBe(true);
    expect(panicDue(spec, 14, after(180))).toBe(true);
    expect(panicDue(spec, 11, after(180))).toBe(false);
  });
});

describe('panic poll: when', () => {
  it('panicPoll defaults to 10 s; polls every 10 s under sla with fastPath, never otherwise', () => {
    expect(spec.sla.panicPoll).toBe(10);
    expect(panicPollSeconds(spec)).toBe(10);
    expect(panicPollSeconds(makeSpec({ ...base, sla: { panicPoll: '15s' } }))).toBe(15);
    expect(panicPollSeconds(makeSpec({ ...base, sla: { panicPoll: '0s' } }))).toBeUndefined();
    expect(panicPollSeconds(makeSpec({ ...base, sla: { panicPoll: '60s' } }))).toBeUndefined();
    expect(panicPollSeconds(makeSpec({ ...base, interval: '10s' }))).toBeUndefined();
    expect(panicPollSeconds(makeSpec({ ...base, sla: { improvements: { fastPath: false } } }))).toBeUndefined();
    expect(panicPollSeconds(makeSpec({ ...base, policy: 'dynamo' }))).toBeUndefined();
    expect(panicPollSeconds(makeSpec({ ...base, policy: 'hpa' }))).toBeUndefined();
  });

  it('a graph at zero is left to the scale-to-zero poll', () => {
    const zero = makeSpec({ ...base, pools: pools.map((p) => ({ ...p, minReplicas: 0 })) });
    expect(panicPollSeconds(zero, stateWith({ last: { prefill: 0, decode: 0 } }))).toBeUndefined();
    expect(panicPollSeconds(zero, stateWith({ last: { prefill: 1, decode: 0 } }))).toBe(10);
    expect(panicPollSeconds(zero, stateWith({}))).toBe(10);
  });

  it('the panic poll period is a duration with a unit, as every other', () => {
    expect(() => makeSpec({ ...base, sla: { panicPoll: 10 } })).toThrow(/bare number 10/);
    expect(makeSpec({ ...base, sla: { panicPoll: '1m' } }).sla.panicPoll).toBe(60);
  });

  it(`due from ${PANIC_QUEUE} queued requests; a missing, negative or not-a-number depth never is`, () => {
    expect(PANIC_QUEUE).toBe(10);
    expect(panicDue(spec, 10)).toBe(true);
    expect(panicDue(spec, 14)).toBe(true);
    expect(panicDue(spec, 9)).toBe(false);
    expect(panicDue(spec, 0)).toBe(false);
    for (const bad of [undefined, Number.NaN, -1, -50, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) expect(panicDue(spec, bad)).toBe(false);
    // Nothing is due where there are no panic polls.
    expect(panicDue(makeSpec({ ...base, sla: { improvements: { fastPath: false } } }), 500)).toBe(false);
  });

  it('property: due exactly for finite depths of at least PANIC_QUEUE, whatever the value', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer({ min: -1000, max: 1000 }), fc.constant(undefined)), (depth) => {
        const due = panicDue(spec, depth as number | undefined);
        expect(due).toBe(typeof depth === 'number' && Number.isFinite(depth) && depth >= PANIC_QUEUE);
      }),
    );
  });
});

describe('panic poll: the decision', () => {
  // A correction state with something in every part a window could move.
  const correction: CorrectionState = {
    pCf: 1.3,
    dCf: 1.1,
    burst: 1.6,
    burstFloor: 500,
    crowdHold: { requests: 700, seconds: 120 },
    slo: { prefill: { headroom: 0.8, missed: 40, served: 400, seconds: 1200 }, decode: { headroom: 0.9, missed: 10, served: 400, seconds: 1200 } },
  };
  const state = stateWith({
    correction,
    last: { prefill: 2, decode: 3 },
    history: [0, 1, 2].map((j) => ({ time: T0 - (3 - j) * 60_000, requests: 120, isl: 2000, osl: 300 })),
    recommendations: [{ time: T0 - 60_000, desired: { prefill: 2, decode: 3 } }],
  });
  const now = T0 + 20_000;
  // What the service's poll reads over the 20 s since the last tick: a crowd, with latencies far over the SLO.
  const serviceObs: Observation = {
    time: new Date(now).toISOString(),
    windowSeconds: 20,
    requests: 150,
    peakRequestsPerSecond: 12,
    isl: 2100,
    osl: 280,
    islPercentiles: { p95: 3000 },
    ttftMs: { p95: 9000, mean: 4000 },
    itlMs: { p95: 140, mean: 90 },
    queueDepth: 14,
    pools: { prefill: { desired: 2, ready: 2 }, decode: { desired: 3, ready: 3 } },
    errors: { kvUsage: 'prometheus: no series' },
  };
  const panic = { queueDepth: 14, secondsIntoInterval: 20 };

  it('a full tick learns from the same window (so the tests below can fail); a poll at zero learns nothing either', () => {
    const { state: full } = decide({ spec, profile, observation: serviceObs, state, now });
    expect(full.correction).not.toEqual(correction);
    const { state: polled } = decide({ spec, profile, observation: serviceObs, state, now, poll: true });
    expect(polled.correction).toEqual(correction);
  });

  it('learns nothing: the correction state, burst floor, crowd hold and SLO loop are kept; nor is the window in the history', () => {
    const { state: after, decision } = decide({ spec, profile, observation: serviceObs, state, now, poll: true, panic });
    expect(after.correction).toEqual(correction);
    expect(decision.explanation.correction).toEqual(correction);
    expect(after.history).toEqual(state.history);
    expect(decision.explanation.panicPoll).toBe(panicDetail(panic));
    expect(decision.explanation.panicPoll).toMatch(/^panic poll: 14 queued at 20 s into the interval/);
    // It answers the crowd: 150 in 20 s is 450 a minute against 120 forecast.
    expect(decision.pools.prefill!.desired + decision.pools.decode!.desired).toBeGreaterThan(5);
    expect(String(decision.explanation.need.prefill?.detail.fastPath)).toMatch(/observed 450 requests/);
  });

  it('decides as the simulator does: the service poll (with latencies) and the simulated one (without) give the same decision', () => {
    const simObs: Observation = { time: serviceObs.time, windowSeconds: 20, requests: 150, queueDepth: 14, pools: serviceObs.pools };
    const service = decide({ spec, profile, observation: serviceObs, state, now, poll: true, panic });
    const sim = decide({ spec, profile, observation: simObs, state, now, poll: true, panic });
    expect(service.decision).toEqual(sim.decision);
    expect(service.state).toEqual(sim.state);
  });

  it('panicView keeps the requests, the queue, the pools and their errors only', () => {
    const view = panicView({ ...serviceObs, errors: { kvUsage: 'x', queueDepth: 'nats down', ttftMs: 'y' } });
    expect(Object.keys(view).sort()).toEqual(['errors', 'pools', 'queueDepth', 'requests', 'time', 'windowSeconds']);
    expect(view.errors).toEqual({ queueDepth: 'nats down' });
    expect(panicView(serviceObs).errors).toBeUndefined();
  });
});
