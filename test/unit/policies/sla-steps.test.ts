/**
 * Each step of the sla pipeline (src/policies/sla/) on its own, with the numbers of its module comment.
 */
import { describe, expect, it } from 'vitest';
import type { Observation, RoleNeed } from '../../../src/planner/types.js';
import { prefillReplicas } from '../../../src/policies/dynamo.js';
import { burstDemand, burstDetail, burstStep, BURST_OFF } from '../../../src/policies/sla/burst.js';
import { slaContext } from '../../../src/policies/sla/context.js';
import { correctionStep } from '../../../src/policies/sla/correction.js';
import { leadTimeStep } from '../../../src/policies/sla/lead-time.js';
import { OVERSHOOT_CAP, PCF_FLOOR, prefillFactor } from '../../../src/policies/sla/overshoot.js';
import { observedItl, observedIslTail, queueSizedPrefill, SATURATED_RHO, SERVICE_FACTOR_MIN, serviceTimeFactor } from '../../../src/policies/sla/percentile.js';
import { waitQuantile } from '../../../src/policies/queue-model.js';
import { queueAwareStep } from '../../../src/policies/sla/queue-aware.js';
import { sizeFor, type SizingInputs } from '../../../src/policies/sla/sizing.js';
import type { PolicyInput } from '../../../src/policies/types.js';
import { forecast, makeInput, makeSpec } from './helpers.js';

const OFF = { percentile: false, ttftOvershoot: false, leadTime: false, queueAware: false, budgetSplit: false, burst: false, correctionGuard: false, sloFeedback: false, fastPath: false, budgetHold: false, serviceTimeCorrection: false, crowdHold: false, pauseHold: false };
function ctxFor(partial: Partial<PolicyInput>, improvements: Partial<typeof OFF> = {}, targetUtilization = 1) {
  const spec = makeSpec({ sla: { improvements: { ...OFF, ...improvements }, targetUtilization } });
  const input = makeInput({ ...partial, spec });
  return slaContext(input, { prefill: 1, decode: 1 }, [], {});
}
const observed: Observation = {
  time: 't',
  windowSeconds: 180,
  requests: 5400,
  isl: 3000,
  osl: 150,
  ttftMs: { mean: 300, p95: 610 },
  itlMs: { mean: 12.4273, p95: 15 },
  requestDurationSeconds: 20,
};
const plain = (over: Partial<SizingInputs> = {}): SizingInputs => ({
  burst: BURST_OFF,
  pCf: 1,
  dCf: 1,
  factor: 1,
  factorRule: 'min(1, pCf)',
  itlTargetMs: 50,
  islTail: undefined,
  headroom: { prefill: 1, decode: 1 },
  ...over,
});

describe('burst step', () => {
  it('is off without the flag: ratio 1, no floor, the forecast mean is sized for', () => {
    const ctx = ctxFor({ observation: { time: 't', windowSeconds: 60, requests: 600, peakRequestsPerSecond: 25 } });
    expect(burstStep(ctx)).toBe(BURST_OFF);
    expect(burstDemand(forecast(600, 3000, 150), BURST_OFF)).toEqual({ mean: 600, n: 600 });
  });
  it('600 in 60 s with a 25 req/s peak: ratio 2.37, floor 1422 at I = 180 s; 600 forecast -> 1422', () => {
    const ctx = ctxFor({ observation: { time: 't', windowSeconds: 60, requests: 600, peakRequestsPerSecond: 25 } }, { burst: true });
    const b = burstStep(ctx);
    expect(b.ratio).toBeCloseTo(2.37, 4);
    // peak demand over the 180 s interval: 2.37 x 600 x 180 / 60 = 4266
    expect(b.floor).toBeCloseTo(4266, 1);
    expect(b.now).toBeCloseTo(2.37, 4);
    const d = burstDemand(forecast(600, 3000, 150), b);
    expect(d.n).toBeCloseTo(4266, 1); // the floor beats 600 x 2.37 = 1422
    expect(burstDetail(b, d)).toMatchObject({ burstSizedFor: 'forecast x burst ratio 2.37', meanRequests: 600 });
  });
  it('the floor decays with time constant 3 startups: 12798 -> 9170 after a silent 180 s window', () => {
    const ctx = ctxFor({ observation: { time: 't', windowSeconds: 180, requests: 0 }, correction: { pCf: 1, dCf: 1, burst: 2.37, burstFloor: 12798 } }, { burst: true });
    expect(burstStep(ctx).floor).toBeCloseTo(9170.2, 0);
  });
});

describe('correction step', () => {
  it('off: factors 1, both details say so, the input factors are carried unchanged', () => {
    const spec = makeSpec({ sla: { correction: false } });
    const input = makeInput({ spec, observation: observed, correction: { pCf: 1.3, dCf: 0.9, burst: 2 } });
    const c = correctionStep(slaContext(input, { prefill: 1, decode: 1 }, [], {}), 1);
    expect([c.pCf, c.dCf]).toEqual([1, 1]);
    expect(c.prefill).toEqual({ correction: 'off (spec.sla.correction false)' });
    expect(c.carry).toEqual({ pCf: 1.3, dCf: 0.9, burst: 2 });
  });
  it("without percentile: Dynamo's mean ratios (300 / 135.07 = 2.2212)", () => {
    const c = correctionStep(ctxFor({ observation: observed, current: { prefill: 5, decode: 4 } }), 1);
    expect(c.pCf).toBeCloseTo(2.2212, 4);
    expect(c.dCf).toBeCloseTo(1, 4);
    expect(c.prefill).toMatchObject({ observedTtftStat: 'mean' });
    expect('dCf' in c.decode && c.decode.observedItlStat).toBe('mean');
  });
  it('with percentile: p95 against the queue model (1.2506), smoothed 0.3 of the way (1.0752); ITL p95 -> dCf 1.207', () => {
    const c = correctionStep(ctxFor({ observation: observed, current: { prefill: 5, decode: 4 } }, { percentile: true }), 1);
    expect(c.pCf).toBeCloseTo(1.0752, 4);
    expect(c.prefill).toMatchObject({ pCfWindow: 1.2506, observedTtftStat: 'p95' });
    expect(c.dCf).toBeCloseTo(1.207, 3);
    expect(c.carry).toEqual({ pCf: c.pCf, dCf: c.dCf });
  });
  it('with serviceTimeCorrection: the window reads the service-time factor that explains p95 610 ms (1.0419), not the ratio 1.2506', () => {
    const c = correctionStep(ctxFor({ observation: observed, current: { prefill: 5, decode: 4 } }, { percentile: true, serviceTimeCorrection: true }), 1);
    expect(c.prefill).toMatchObject({ pCfWindow: 1.0419, ttftRatio: 1.2506, observedTtftStat: 'p95' });
    expect(c.pCf).toBeCloseTo(1 + 0.0419 * 0.3, 3);
  });
  it('keeps both factors through a window with evictions', () => {
    const obs: Observation = { ...observed, pools: { prefill: { evicted: 1 }, decode: { evictionNotices: 2 } } };
    const c = correctionStep(ctxFor({ observation: obs, current: { prefill: 5, decode: 4 }, correction: { pCf: 1.4, dCf: 1.1 } }, { percentile: true }), 1);
    expect([c.pCf, c.dCf]).toEqual([1.4, 1.1]);
    expect(c.prefill).toMatchObject({ pCfSource: 'last tick (prefill replicas evicted in this window)' });
  });
});

describe('overshoot step', () => {
  it("Dynamo's min(1, pCf) without the flag; min(max(pCf, 0.75), 2) with it", () => {
    expect(prefillFactor(1.5, false).factor).toBe(1);
    expect(prefillFactor(0.5, false).factor).toBe(0.5);
    expect(prefillFactor(1.5, true).factor).toBe(1.5);
    expect(prefillFactor(3, true).factor).toBe(OVERSHOOT_CAP);
    expect(prefillFactor(0.5, true).factor).toBe(PCF_FLOOR);
  });
});

describe('serviceTimeFactor', () => {
  // 30 req/s on 5 replicas at ISL 3000: mu 7.388/s, prefill 135 ms; the model's p95 TTFT is 488 ms
  const modelled = (f: number) => 135 * f + waitQuantile(5, 30, 7.388 / f, 0.95) * 1000;
  it('finds the factor under which the queue model gives the observed p95: 610 ms -> 1.042, 400 ms -> 0.957', () => {
    const f = serviceTimeFactor(610, 135, 5, 30, 7.388, 0.95);
    expect(f).toBeCloseTo(1.042, 3);
    expect(modelled(f)).toBeCloseTo(610, 3);
    // the latency ratio would say 1.25: six times the correction
    expect(610 / modelled(1)).toBeCloseTo(1.251, 3);
    expect(serviceTimeFactor(400, 135, 5, 30, 7.388, 0.95)).toBeCloseTo(0.957, 3);
    expect(serviceTimeFactor(488, 135, 5, 30, 7.388, 0.95)).toBeCloseTo(1, 2);
  });
  it('stops where the model reaches rho 0.9 (1.108 here) and at SERVICE_FACTOR_MIN', () => {
    expect(serviceTimeFactor(5000, 135, 5, 30, 7.388, 0.95)).toBeCloseTo((SATURATED_RHO * 5 * 7.388) / 30, 6);
    expect(serviceTimeFactor(10, 135, 5, 30, 7.388, 0.95)).toBe(SERVICE_FACTOR_MIN);
  });
  it('with the mean (no percentile observed): the mean wait', () => {
    const f = serviceTimeFactor(300, 135, 5, 30, 7.388, undefined);
    expect(f).toBeGreaterThan(1);
    expect(f).toBeLessThan(300 / 200);
  });
});

describe('percentile step', () => {
  it('queue-sized prefill: p95 300 ms at 30 req/s, ISL 3000 needs 6 where throughput gives 5', () => {
    const ctx = ctxFor({}, { percentile: true });
    const need = prefillReplicas(ctx.profile, 5400, 3000, 180, 1, 1);
    const spec = makeSpec({ slo: { ttft: { ms: 300 }, itl: { ms: 50 } } });
    const infeasible = queueSizedPrefill({ ...ctx, spec, ttftTargetS: 0.3 }, need, 5400, 3000, 1, undefined);
    expect(infeasible).toBe(false);
    expect([need.detail.throughputReplicas, need.replicas]).toEqual([5, 6]);
  });
  it('a prefill time alone above the target is infeasible and leaves the throughput count', () => {
    const ctx = ctxFor({}, { percentile: true });
    const need = prefillReplicas(ctx.profile, 5400, 3000, 180, 1, 1);
    expect(queueSizedPrefill({ ...ctx, ttftTargetS: 0.1 }, need, 5400, 3000, 1, undefined)).toBe(true);
    expect(need.replicas).toBe(5);
    expect(need.detail.queueReplicas).toBe('infeasible');
  });
  it('reads the ITL and ISL tails, falling back to the mean with a note', () => {
    const ctx = ctxFor({ observation: { ...observed, itlMs: { mean: 14 } } }, { percentile: true });
    expect(observedItl(ctx)).toEqual({ itl: 14, stat: 'mean' });
    expect(observedIslTail(ctx)).toBeUndefined();
    expect(Object.keys(ctx.missing).sort()).toEqual(['islPercentiles.p95', 'itlMs.p95']);
  });
});

describe('sizing', () => {
  it("Dynamo's core for 18000 requests at ISL 3000 / OSL 150, I 180 s: (14, 3)", () => {
    const s = sizeFor(ctxFor({}), forecast(18000, 3000, 150), plain());
    expect([s.prefill.replicas, s.decode.replicas]).toEqual([14, 3]);
  });
  it('a burst-sized count multiplies both roles: 5400 x 2.37 = 12798 -> prefill 10', () => {
    const burst = { on: true, ratio: 2.37, floor: 0, peakDemand: 0, memoryStartups: 3, now: 2.37, detail: {} };
    const s = sizeFor(ctxFor({}, { burst: true }), forecast(5400, 3000, 150), plain({ burst }));
    expect(s.prefill.replicas).toBe(10);
    expect(s.prefill.detail.burstSizedRequests).toBeCloseTo(12798, 0);
  });
});

describe('lead-time step', () => {
  const ctx = (on: boolean, lead?: number) => ctxFor(lead === undefined ? {} : { leadForecast: forecast(lead, 3000, 150) }, { leadTime: on });
  const size = (c: ReturnType<typeof ctx>) => (f: Parameters<typeof sizeFor>[1]) => sizeFor(c, f, plain());
  it('takes the larger need per role: 5400 now, 9000 ahead -> (7, 2)', () => {
    const c = ctx(true, 9000);
    const out = leadTimeStep(c, size(c)(forecast(5400, 3000, 150)), size(c));
    expect([out.prefill.replicas, out.decode.replicas]).toEqual([7, 2]);
    expect(out.prefill.detail.sizedFor).toBe('lead-time forecast');
  });
  it('off, or with no lead forecast, keeps the next-interval need (and says which)', () => {
    const off = ctx(false, 9000);
    expect(leadTimeStep(off, size(off)(forecast(5400, 3000, 150)), size(off)).prefill.replicas).toBe(5);
    const none = ctx(true);
    expect(leadTimeStep(none, size(none)(forecast(5400, 3000, 150)), size(none)).prefill.replicas).toBe(5);
    expect(none.missing.leadForecast).toBe('no usable lead-time forecast; sized for the next interval only');
  });
});

describe('queue-aware step', () => {
  const need = (): RoleNeed => ({ replicas: 5, detail: { replicas: 5 } });
  const ctx = (queueDepth: number | undefined, on = true, startupSeconds = 0) => {
    const c = ctxFor({ forecast: forecast(5400, 3000, 150), observation: { time: 't', windowSeconds: 180, requests: 5400, ...(queueDepth === undefined ? {} : { queueDepth }) }, current: { prefill: 5, decode: 1 } }, { queueAware: on });
    return { ...c, spec: { ...c.spec, pools: c.spec.pools.map((p) => ({ ...p, startupSeconds })) } };
  };
  it('12 queued where 2.5 are expected, instant startup: drained within the TTFT target, 3 extra', () => {
    const out = queueAwareStep(ctx(12), need(), 1);
    expect(out.replicas).toBe(8);
    expect(out.detail.backlogExtraReplicas).toBe(3);
  });
  it('with a 180 s startup the same backlog is drained over the startup: 1 extra', () => {
    const out = queueAwareStep(ctx(12, true, 180), need(), 1);
    expect(out.detail.backlogDrainSeconds).toBe(180);
    expect(out.replicas).toBe(6);
  });
  it('at most the base need; nothing when off or unknown', () => {
    expect(queueAwareStep(ctx(500), need(), 1).replicas).toBe(10);
    expect(queueAwareStep(ctx(12, false), need(), 1).replicas).toBe(5);
    const unknown = ctx(undefined);
    expect(queueAwareStep(unknown, need(), 1).replicas).toBe(5);
    expect(unknown.missing.queueDepth).toBe('no queue depth; queue-aware prefill skipped');
  });
});
