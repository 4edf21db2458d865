/**
 * The improvements that learn from the SLO and guard against overload: sloFeedback (slo-feedback.ts),
 * correctionGuard (correction.ts), budgetHold (burst.ts) and crowdHold (crowd-hold.ts), each on its own and through the policy.
 */
import { describe, expect, it } from 'vitest';
import type { Observation } from '../../../src/planner/types.js';
import { slaContext } from '../../../src/policies/sla/context.js';
import { correctionStep, dCfCeiling, DCF_MIN, DCF_SMOOTHING, PCF_MAX } from '../../../src/policies/sla/correction.js';
import { slaPolicy } from '../../../src/policies/sla/index.js';
import { BUDGET_HOLD_STARTUPS, burstStep, floorMemory } from '../../../src/policies/sla/burst.js';
import { CROWD_HOLD_SPENT, crowdHoldStep } from '../../../src/policies/sla/crowd-hold.js';
import { bareNeed, sizeFor } from '../../../src/policies/sla/sizing.js';
import { budgetSpent, estimateMissFraction, GAIN_DOWN, GAIN_UP, HEADROOM_MIN, noLoadLatencyMs, sloFeedbackStep, TRIM_BELOW, trimShare } from '../../../src/policies/sla/slo-feedback.js';
import type { PolicyInput } from '../../../src/policies/types.js';
import { forecast, llama, makeInput, makeSpec } from './helpers.js';

const OFF = { percentile: false, ttftOvershoot: false, leadTime: false, queueAware: false, budgetSplit: false, burst: false, correctionGuard: false, sloFeedback: false, fastPath: false, budgetHold: false, serviceTimeCorrection: false, crowdHold: false, pauseHold: false };
function ctxFor(partial: Partial<PolicyInput>, improvements: Partial<typeof OFF>, slo = { ttft: { ms: 2000, percentile: 90 }, itl: { ms: 45, percentile: 90 } }) {
  const spec = makeSpec({ interval: '60s', slo, sla: { improvements: { ...OFF, ...improvements } } });
  return slaContext(makeInput({ ...partial, spec }), { prefill: 1, decode: 1 }, [], {});
}

describe('estimateMissFraction', () => {
  it('interpolates between observed percentiles: p90 1500, p95 2500 at target 2000 -> 7.5% above', () => {
    expect(estimateMissFraction({ p50: 400, p90: 1500, p95: 2500 }, 2000)).toBeCloseTo(0.075, 6);
    expect(estimateMissFraction({ p50: 400, p95: 1800, p99: 2600 }, 2000)).toBeCloseTo(0.04, 6);
  });
  it('below the lowest percentile: 1 - q x target / v; above the highest: (1 - q) x closeness', () => {
    // p50 4000 at target 2000: at least half miss; 1 - 0.5 x 2000 / 4000 = 75%
    expect(estimateMissFraction({ p50: 4000, p99: 9000 }, 2000)).toBeCloseTo(0.75, 6);
    // only the SLO's percentile, at the target: 1 - 0.9 = 10%; at half the target: 0
    expect(estimateMissFraction({ p90: 2000 }, 2000)).toBeCloseTo(0.1, 6);
    expect(estimateMissFraction({ p90: 1000 }, 2000)).toBe(0);
    expect(estimateMissFraction({ mean: 3000 }, 2000)).toBeUndefined();
  });
});

describe('sloFeedback step', () => {
  const window = (ttft: Observation['ttftMs'], itl: Observation['itlMs'], pools?: Observation['pools']): Observation => ({
    time: 't',
    windowSeconds: 60,
    requests: 600,
    ttftMs: ttft,
    itlMs: itl,
    ...(pools ? { pools } : {}),
  });
  const learned = { headroom: 1, missed: 0, served: 6000, seconds: 900 };
  it('no misses, after 15 minutes of evidence: headroom falls by GAIN_DOWN a tick (1 -> 0.9608) on both roles', () => {
    const fresh = sloFeedbackStep(ctxFor({ observation: window({ p90: 500 }, { p90: 20 }) }, { sloFeedback: true }));
    expect(fresh.prefill.state.headroom).toBe(1);
    expect(fresh.prefill.detail.headroomRule).toBe('kept: 60 s of 900 s of evidence before trimming');
    const ctx = ctxFor({ observation: window({ p90: 500 }, { p90: 20 }), correction: { pCf: 1, dCf: 1, slo: { prefill: learned, decode: learned } } }, { sloFeedback: true });
    const f = sloFeedbackStep(ctx);
    expect(GAIN_DOWN).toBe(0.04);
    expect(f.prefill.state.headroom).toBeCloseTo(Math.exp(-0.04), 6);
    expect(f.decode.state.headroom).toBeCloseTo(0.9608, 4);
    expect(f.prefill.detail.headroomRule).toBe('lowered: misses below the allowance');
  });
  it('a window with 37% of TTFTs missing raises prefill headroom by e^(0.1 x 2.67) from 0.6, not decode', () => {
    // p50 1000, p90 4000 at target 2000: 1 - (0.5 + 0.4 x 1000 / 3000) = 36.7% above
    const ctx = ctxFor(
      { observation: window({ p50: 1000, p90: 4000 }, { p90: 20 }), correction: { pCf: 1, dCf: 1, slo: { prefill: { headroom: 0.6, missed: 0, served: 6000, seconds: 900 }, decode: { headroom: 0.6, missed: 0, served: 6000, seconds: 900 } } } },
      { sloFeedback: true },
    );
    const f = sloFeedbackStep(ctx);
    expect(f.prefill.detail.windowMissShare).toBeCloseTo(0.3667, 4);
    // allowed: the whole 10% (decode has no remembered misses); (0.3667 - 0.1) / 0.1 = 2.667 allowances over
    expect(f.prefill.detail.allowedMissRate).toBe(0.1);
    expect(f.prefill.state.headroom).toBeCloseTo(0.6 * Math.exp(GAIN_UP * 2.6667), 4);
    expect(f.prefill.state.headroom).toBeCloseTo(0.7834, 4);
    expect(f.decode.state.headroom).toBeLessThan(0.6);
    // the misses are remembered: 220 of 600 + 6000 x e^(-60/1800)
    expect(f.prefill.state.missed).toBeCloseTo(0.36667 * 600, 1);
  });
  it('holds while the role is still starting, and never goes below HEADROOM_MIN', () => {
    const starting = ctxFor({ observation: window({ p90: 500 }, { p90: 20 }, { prefill: { desired: 4, ready: 2 } }) }, { sloFeedback: true });
    expect(sloFeedbackStep(starting).prefill.state.headroom).toBe(1);
    expect(sloFeedbackStep(starting).prefill.detail.headroomRule).toBe('kept (2 prefill replica(s) still starting)');
    const nearFloor = { ...learned, headroom: 0.51 };
    const low = ctxFor({ observation: window({ p90: 500 }, { p90: 20 }), correction: { pCf: 1, dCf: 1, slo: { prefill: nearFloor, decode: nearFloor } } }, { sloFeedback: true });
    expect(sloFeedbackStep(low).prefill.state.headroom).toBe(HEADROOM_MIN);
    // near the knee (TTFT p90 at 0.9 of the target) it is not trimmed
    const knee = ctxFor({ observation: window({ p90: 1800 }, { p90: 20 }), correction: { pCf: 1, dCf: 1, slo: { prefill: learned, decode: learned } } }, { sloFeedback: true });
    expect(sloFeedbackStep(knee).prefill.state.headroom).toBe(1);
  });
  it('measures the knee from the no-load latency: ITL p90 38 ms of 45 ms is 0.57 of the room above 28.9 ms (trimmed), 43 ms is 0.88 (kept)', () => {
    const state = { pCf: 1, dCf: 1, slo: { prefill: learned, decode: learned } };
    const seen = (itlP90: number, ttftP90 = 500, lengths = true): Observation => ({ ...window({ p90: ttftP90 }, { p90: itlP90 }), ...(lengths ? { isl: 3000, osl: 150 } : {}) });
    const ctx = (obs: Observation) => ctxFor({ profile: llama, observation: obs, correction: state }, { sloFeedback: true });
    // llama2-70b-h100-tp4 at context 3000 + 150 / 2 = 3075 and KV use 0: 28.9 ms
    expect(noLoadLatencyMs(ctx(seen(38)), 'decode')).toBeCloseTo(28.9, 1);
    expect(trimShare(ctx(seen(38)), 'decode', { p90: 38 }, 90, 45)).toBeCloseTo(0.5655, 3);
    expect(TRIM_BELOW).toBe(0.6);
    const at38 = sloFeedbackStep(ctx(seen(38)));
    expect(at38.decode.detail.headroomRule).toBe('lowered: misses below the allowance');
    // the window is estimated to miss 6.9% (p90 at 0.84 of the target), so less than the full GAIN_DOWN step
    expect(at38.decode.state.headroom).toBeCloseTo(0.9633, 4);
    const at43 = sloFeedbackStep(ctx(seen(43)));
    expect(trimShare(ctx(seen(43)), 'decode', { p90: 43 }, 90, 45)).toBeCloseTo(0.8761, 3);
    expect(at43.decode.state.headroom).toBe(1);
    expect(at43.decode.detail.headroomRule).toBe('kept: latency at the SLO percentile has used 0.6 or more of the room between no load and the target');
    // without the lengths the no-load latency is unknown: 38 / 45 = 0.84 of the target keeps it
    expect(sloFeedbackStep(ctx(seen(38, 500, false))).decode.state.headroom).toBe(1);
    // prefill: a 3000-token prompt takes 322.8 ms, so TTFT p90 1300 ms of 2000 has used (1300 - 322.8) / 1677.2 = 0.58
    // of the room (trimmed) and 1400 ms 0.64 (kept, where 1400 / 2000 = 0.7 of the target would not have been)
    expect(noLoadLatencyMs(ctx(seen(20, 1300)), 'prefill')).toBeCloseTo(322.83, 2);
    expect(trimShare(ctx(seen(20, 1300)), 'prefill', { p90: 1300 }, 90, 2000)).toBeCloseTo(0.5826, 3);
    expect(sloFeedbackStep(ctx(seen(20, 1300))).prefill.detail.headroomRule).toBe('lowered: misses below the allowance');
    expect(sloFeedbackStep(ctx(seen(20, 1400))).prefill.state.headroom).toBe(1);
    // without the lengths the room starts at 0 ms: 1300 / 2000 = 0.65 of it is used, so nothing is trimmed
    expect(sloFeedbackStep(ctx(seen(20, 1300, false))).prefill.state.headroom).toBe(1);
    // the prompt at the TTFT percentile is what the slowest requests wait for: ISL p90 4000 -> 451.1 ms
    expect(noLoadLatencyMs(ctx({ ...seen(20, 1300), islPercentiles: { p90: 4000 } }), 'prefill')).toBeCloseTo(451.14, 2);
  });
  it('through the policy: headroom 0.5 halves the sized demand but never below the bare need', () => {
    const spec = makeSpec({ sla: { improvements: { ...OFF, sloFeedback: true } } });
    const low = { pCf: 1, dCf: 1, slo: { prefill: { headroom: 0.5, missed: 0, served: 0 }, decode: { headroom: 0.5, missed: 0, served: 0 } } };
    const out = slaPolicy(makeInput({ spec, forecast: forecast(18000, 3000, 150), correction: low }));
    // 18000 x 0.5 = 9000 -> prefill 150000 / (22163 x 0.85) = 7.96 -> 8 sized, but the bare need is 14 (13.54)
    expect(out.need.prefill.detail.trimmedReplicas).toBe(8);
    expect(out.need.prefill.replicas).toBe(14);
    expect(out.correction.slo?.prefill.headroom).toBeLessThanOrEqual(0.5);
  });
});

describe('correctionGuard', () => {
  const overloaded: Observation = {
    time: 't',
    windowSeconds: 60,
    requests: 540,
    isl: 3000,
    osl: 150,
    ttftMs: { mean: 300, p90: 610 },
    itlMs: { mean: 90, p90: 102 },
    requestDurationSeconds: 20,
  };
  it('keeps dCf while decode replicas are still starting (a dCf of 2.44 learned in overload would size at kv 0)', () => {
    const obs = { ...overloaded, pools: { decode: { desired: 20, ready: 3 } } };
    const on = correctionStep(ctxFor({ observation: obs, current: { prefill: 5, decode: 3 }, correction: { pCf: 1, dCf: 1.05 } }, { correctionGuard: true }), 1);
    const off = correctionStep(ctxFor({ observation: obs, current: { prefill: 5, decode: 3 }, correction: { pCf: 1, dCf: 1.05 } }, {}), 1);
    expect(on.dCf).toBe(1.05);
    expect(on.decode).toMatchObject({ dCfGuard: 'kept from the last tick: 17 decode replica(s) still starting' });
    expect(off.dCf).toBeGreaterThan(2);
  });
  it('moves dCf DCF_SMOOTHING (0.3) of the way to a window\'s value: one window after new replicas arrive is not the engine', () => {
    const obs: Observation = { time: 't', windowSeconds: 60, requests: 540, isl: 1500, osl: 350, ttftMs: { p90: 500 }, itlMs: { mean: 38, p90: 40 }, requestDurationSeconds: 15 };
    const input = { profile: llama, observation: obs, current: { prefill: 5, decode: 10 }, correction: { pCf: 1, dCf: 1 }, forecast: forecast(540, 1500, 350) };
    const raw = correctionStep(ctxFor(input, { percentile: true }), 1).dCf;
    const guarded = correctionStep(ctxFor(input, { percentile: true, correctionGuard: true }), 1);
    expect(DCF_SMOOTHING).toBe(0.3);
    expect(raw).toBeGreaterThan(1.05);
    expect(guarded.dCf).toBeCloseTo(1 + (raw - 1) * 0.3, 9);
    expect(guarded.decode).toMatchObject({ dCfSmoothing: 'last + (window - last) x 0.3' });
  });
  it('bounds the factors: pCf at PCF_MAX 2, dCf where the ITL target still allows a quarter of the SLO KV use', () => {
    // llama2-70b-h100-tp4 at ITL 45 ms, context 1700: kv 0.134 at the SLO, a quarter runs at 32.6 ms -> 1.38
    expect(dCfCeiling(llama, 45, 1700)).toBeCloseTo(45 / llama.decodeItlMs(0.25 * llama.bestDecode(45, 1700).kv, 1700).value, 6);
    expect(dCfCeiling(llama, 45, 1700)).toBeGreaterThan(1.3);
    expect(dCfCeiling(llama, 45, 1700)).toBeLessThan(1.45);
    const ctx = ctxFor(
      { profile: llama, observation: { ...overloaded, ttftMs: { mean: 5000, p90: 9000 } }, current: { prefill: 40, decode: 40 }, correction: { pCf: 1, dCf: 1 }, forecast: forecast(540, 1500, 350) },
      { correctionGuard: true },
    );
    const c = correctionStep(ctx, 1);
    expect(c.pCf).toBe(PCF_MAX);
    expect(c.dCf).toBeGreaterThanOrEqual(DCF_MIN);
    expect(c.dCf).toBeLessThanOrEqual(dCfCeiling(llama, 45, 1500 + 175));
  });
});

describe('fastPath', () => {
  const spec = (on: boolean) => makeSpec({ interval: '60s', sla: { improvements: { ...OFF, fastPath: on } } });
  const observation = (requests: number): Observation => ({ time: 't', windowSeconds: 60, requests });
  it('a window of 800 against a forecast of 300 sizes both roles for 800, at least twice the prefill', () => {
    // ISL 8000: 800 x 8000 / 60 = 106667 tok/s over thptP(8000); forecast 300 would size 40000 tok/s
    const f = forecast(300, 8000, 150);
    const on = slaPolicy(makeInput({ spec: spec(true), forecast: f, leadForecast: f, observation: observation(800) }));
    const off = slaPolicy(makeInput({ spec: spec(false), forecast: f, leadForecast: f, observation: observation(800) }));
    expect(on.need.prefill.detail.requests).toBe(800);
    expect(off.need.prefill.detail.requests).toBe(300);
    expect(on.need.prefill.replicas).toBeGreaterThanOrEqual(2 * off.need.prefill.replicas);
    expect(String(on.need.decode.detail.fastPath)).toBe('observed 800 requests against 300 forecast: sized for the observed count');
  });
  it('noise is not a step: 380 against 300 changes nothing', () => {
    const f = forecast(300, 8000, 150);
    const on = slaPolicy(makeInput({ spec: spec(true), forecast: f, observation: observation(380) }));
    expect(on.need.prefill.detail.requests).toBe(300);
    expect(on.need.prefill.detail.fastPath).toBeUndefined();
  });
});

describe('budgetHold', () => {
  // p90: a miss budget of 10%. Interval 60 s, startup 180 s (the helpers' default).
  const record = (prefillMiss: number, decodeMiss: number) => ({
    pCf: 1,
    dCf: 1,
    burstFloor: 1000,
    slo: { prefill: { headroom: 1, missed: prefillMiss * 1000, served: 1000 }, decode: { headroom: 1, missed: decodeMiss * 1000, served: 1000 } },
  });
  const quiet: Observation = { time: 't', windowSeconds: 60, requests: 0 };
  it('budgetSpent sums the roles remembered miss rates over 1 - p: 6% + 2% at p90 -> 0.8; nothing remembered -> 0', () => {
    const ctx = ctxFor({ observation: quiet, correction: record(0.06, 0.02) }, { burst: true, budgetHold: true });
    expect(budgetSpent(ctx.spec, ctx.input.correction.slo)).toBeCloseTo(0.8, 9);
    expect(budgetSpent(ctx.spec, undefined)).toBe(0);
  });
  it('the burst floor keeps 3 startups of memory with the budget unspent, 6 at half, BUDGET_HOLD_STARTUPS once it is spent', () => {
    const floorAfterTick = (prefillMiss: number, hold: boolean) => burstStep(ctxFor({ observation: quiet, correction: record(prefillMiss, 0) }, { burst: true, budgetHold: hold })).floor;
    // 1000 x e^(-60 / (180 x memory))
    expect(floorAfterTick(0, true)).toBeCloseTo(1000 * Math.exp(-60 / 540), 6);
    expect(floorAfterTick(0.05, true)).toBeCloseTo(1000 * Math.exp(-60 / 1080), 6);
    expect(BUDGET_HOLD_STARTUPS).toBe(10);
    expect(floorAfterTick(0.2, true)).toBeCloseTo(1000 * Math.exp(-60 / 1800), 6);
    // off: the budget does not matter
    expect(floorAfterTick(0.2, false)).toBeCloseTo(1000 * Math.exp(-60 / 540), 6);
    const memory = floorMemory(ctxFor({ observation: quiet, correction: record(0.2, 0) }, { burst: true, budgetHold: true }));
    expect(memory.startups).toBe(10);
    expect(memory.spent).toBeCloseTo(2, 9);
  });
  it('is visible in the explanation: the memory and the budget share it was read from', () => {
    const spec = makeSpec({ interval: '60s', slo: { ttft: { ms: 2000, percentile: 90 }, itl: { ms: 45, percentile: 90 } }, sla: { improvements: { ...OFF, burst: true, budgetHold: true } } });
    const out = slaPolicy(makeInput({ spec, forecast: forecast(0, 3000, 150), observation: quiet, correction: record(0.05, 0) }));
    expect(out.need.prefill.detail.budgetSpent).toBe(0.5);
    expect(out.need.prefill.detail.burstFloorMemoryStartups).toBe(6);
    expect(out.correction.burstFloor).toBeCloseTo(1000 * Math.exp(-60 / 1080), 6);
  });
});

describe('crowdHold', () => {
  // p90 (a miss budget of 10%), interval 60 s, startup 180 s. A window of 600 requests whose busiest 10 s ran at
  // 25 req/s: burst ratio (250 - 1.3 x sqrt(100)) / 100 = 2.37, peak demand 2.37 x 600 = 1422 requests per interval.
  const crowd: Observation = { time: 't', windowSeconds: 60, requests: 600, peakRequestsPerSecond: 25 };
  const calm: Observation = { time: 't', windowSeconds: 60, requests: 300, peakRequestsPerSecond: 6 };
  const spent = (prefillMiss: number) => ({
    pCf: 1,
    dCf: 1,
    slo: { prefill: { headroom: 0.5, missed: prefillMiss * 1000, served: 1000, seconds: 900 }, decode: { headroom: 0.5, missed: 0, served: 1000, seconds: 900 } },
  });
  const on = { burst: true, budgetHold: true, sloFeedback: true, percentile: true, crowdHold: true };
  const step = (observation: Observation, correction: PolicyInput['correction'], improvements: Partial<typeof OFF> = on) => {
    const ctx = ctxFor({ observation, correction }, improvements);
    return crowdHoldStep(ctx, burstStep(ctx));
  };

  it('once half the budget is spent, holds the peak demand undecayed for the floor memory (10 startups: 1800 s)', () => {
    expect(CROWD_HOLD_SPENT).toBe(0.5);
    const first = step(crowd, spent(0.2));
    expect(first.state?.requests).toBeCloseTo(1422, 6);
    expect(first.state?.seconds).toBe(0);
    expect(first.detail.crowdHoldSeconds).toBe(1800);
    // a calm minute later: the peak is kept, one interval older
    const later = step(calm, { ...spent(0.2), crowdHold: { requests: 1422, seconds: 60 } });
    expect(later.state).toEqual({ requests: 1422, seconds: 120 });
    // older than the memory: the hold gives way to this window's peak (6 req/s x 60 = 360 less the Poisson allowance)
    // the last tick of the memory still holds it (1740 + 60 = 1800 s)
    expect(step(calm, { ...spent(0.2), crowdHold: { requests: 1422, seconds: 1740 } }).state).toEqual({ requests: 1422, seconds: 1800 });
    // a higher peak replaces the held one, seen now
    expect(step(crowd, { ...spent(0.2), crowdHold: { requests: 1000, seconds: 600 } }).state?.seconds).toBe(0);
    const expired = step(calm, { ...spent(0.2), crowdHold: { requests: 1422, seconds: 1800 } });
    expect(expired.state?.seconds).toBe(0);
    expect(expired.state?.requests).toBeLessThan(400);
  });

  it("the module's example: 10 minutes on, the floor 910 x e^(-600/1800) = 652 at headroom 0.7 sizes 2 prefill; 910 bare 3", () => {
    const ctx = ctxFor({ forecast: forecast(230, 3000, 150) }, on);
    const floor = 910 * Math.exp(-600 / 1800);
    expect(floor).toBeCloseTo(652, 0);
    const burst = { ...burstStep(ctx), ratio: 1, floor };
    const sized = sizeFor(ctx, forecast(230, 3000, 150), { burst, pCf: 1, dCf: 1, factor: 1, factorRule: 'test', itlTargetMs: 45, islTail: undefined, headroom: { prefill: 0.7, decode: 0.7 } });
    expect(sized.prefill.replicas).toBe(2);
    expect(bareNeed(ctx, forecast(910, 3000, 150), undefined).prefill).toBe(3);
  });

  it('holds nothing while less than half the budget is spent, or when switched off', () => {
    // 4% of prefill requests missing at p90: 0.4 of the budget
    expect(step(crowd, spent(0.04)).state).toBeUndefined();
    expect(step(crowd, { ...spent(0.04), crowdHold: { requests: 1422, seconds: 60 } }).state).toBeUndefined();
    expect(step(crowd, spent(0.2), { ...on, crowdHold: false }).state).toBeUndefined();
    // sloFeedback off: a record of misses in the state (an older run's, kept as is without correction) is not read
    expect(step(crowd, spent(0.2), { ...on, sloFeedback: false }).state).toBeUndefined();
  });

  it('through the policy: the bare need of the held peak is a floor the SLO loop cannot trim (prefill 4, not 2)', () => {
    const run = (hold: boolean, observation: Observation, correction: PolicyInput['correction']) =>
      slaPolicy(
        makeInput({
          spec: makeSpec({ interval: '60s', slo: { ttft: { ms: 2000, percentile: 90 }, itl: { ms: 45, percentile: 90 } }, sla: { improvements: { ...OFF, ...on, crowdHold: hold } } }),
          forecast: forecast(300, 3000, 150),
          observation,
          correction,
        }),
      );
    const held = run(true, crowd, spent(0.2));
    const free = run(false, crowd, spent(0.2));
    // headroom 0.5 trims the burst-sized 1422 to 711 requests: 2 prefill replicas; 1422 sized bare needs 4
    expect(free.need.prefill.replicas).toBe(2);
    expect(held.need.prefill.replicas).toBe(4);
    expect(held.need.prefill.detail.crowdHeldFrom).toBe(2);
    expect(held.need.prefill.detail.crowdHoldRule).toContain('held peak');
    expect(held.correction.crowdHold?.requests).toBeCloseTo(1422, 6);
    // the next calm minute keeps it
    const next = run(true, calm, held.correction);
    expect(next.need.prefill.replicas).toBe(4);
    expect(next.correction.crowdHold?.seconds).toBe(60);
    expect(free.correction.crowdHold).toBeUndefined();
  });

  it('a hold let go is not carried, also with sla.correction off (whose carry is the input state)', () => {
    const policy = (correction: PolicyInput['correction'], improvements: Partial<typeof OFF> = on) =>
      slaPolicy(
        makeInput({
          spec: makeSpec({ interval: '60s', slo: { ttft: { ms: 2000, percentile: 90 }, itl: { ms: 45, percentile: 90 } }, sla: { correction: false, improvements: { ...OFF, ...improvements } } }),
          forecast: forecast(300, 3000, 150),
          observation: calm,
          correction,
        }),
      );
    // the budget recovered (0.4 spent): the hold lets go, and a later spending starts from the next peak, not 1422
    const healthy = policy({ ...spent(0.04), crowdHold: { requests: 1422, seconds: 60 } });
    expect(healthy.need.prefill.detail.crowdHoldRequests).toBeUndefined();
    expect(healthy.correction.crowdHold).toBeUndefined();
    // switched off, or without burst: nothing held is carried either
    expect(policy({ ...spent(0.2), crowdHold: { requests: 1422, seconds: 60 } }, { ...on, crowdHold: false }).correction.crowdHold).toBeUndefined();
    expect(policy({ ...spent(0.2), crowdHold: { requests: 1422, seconds: 60 } }, { ...on, burst: false }).correction.crowdHold).toBeUndefined();
    // still spent: kept and aged as with the correction on
    expect(policy({ ...spent(0.2), crowdHold: { requests: 1422, seconds: 60 } }).correction.crowdHold).toEqual({ requests: 1422, seconds: 120 });
  });
});
