import { describe, expect, it } from 'vitest';
import type { Observation } from '../../../src/planner/types.js';
import { dynamoPolicy } from '../../../src/policies/dynamo.js';
import { policies } from '../../../src/policies/index.js';
import { replicasForTtftQuantile, waitQuantile } from '../../../src/policies/queue-model.js';
import { BURST_CAP, burstRatio, PCF_FLOOR, SATURATED_RHO, slaPolicy } from '../../../src/policies/sla/index.js';
import { prefillMs } from '../../../src/policies/common.js';
import { forecast, llama, makeInput, makeSpec } from './helpers.js';

const OFF = { percentile: false, ttftOvershoot: false, leadTime: false, queueAware: false, budgetSplit: false, burst: false, correctionGuard: false, sloFeedback: false, fastPath: false, budgetHold: false, serviceTimeCorrection: false, crowdHold: false, pauseHold: false };
function specWith(improvements: Partial<typeof OFF>, targetUtilization = 1, extra: Record<string, unknown> = {}) {
  return makeSpec({ sla: { improvements: { ...OFF, ...improvements }, targetUtilization }, ...extra });
}
const slo = (ttftMs: number, itlMs: number) => ({ slo: { ttft: { ms: ttftMs }, itl: { ms: itlMs } } });

/** 5400 requests over 180 s at ISL 3000 / OSL 150; mean TTFT 300 ms, p95 610 ms; mean ITL = profile, p95 15 ms. */
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

describe('sla with every improvement off and targetUtilization 1 equals dynamo', () => {
  const cases = [
    { f: forecast(1800, 3000, 150) },
    { f: forecast(18000, 3000, 150) },
    { f: forecast(3600, 8000, 500) },
    { f: forecast(36000, 1024, 1000), itl: 10 },
    { f: forecast(5400, 3000, 150), correction: { pCf: 0.5, dCf: 1.25 } },
    { f: forecast(5400, 3000, 150), correction: { pCf: 3, dCf: 1 } },
    { f: forecast(5400, 3000, 150), observation: observed, current: { prefill: 5, decode: 4 } },
    { f: forecast(0, 3000, 150) },
    { f: forecast(Number.NaN, 3000, 150), current: { prefill: 3, decode: 2 } },
  ];
  cases.forEach((c, i) => {
    it(`case ${i}: ${c.f.requests.value} req, isl ${c.f.isl.value}, osl ${c.f.osl.value}`, () => {
      const base = { forecast: c.f, ...(c.correction ? { correction: c.correction } : {}), ...(c.observation ? { observation: c.observation } : {}), ...(c.current ? { current: c.current } : {}) };
      const a = slaPolicy(makeInput({ ...base, spec: specWith({}, 1, slo(500, c.itl ?? 50)) }));
      const b = dynamoPolicy(makeInput({ ...base, spec: specWith({}, 1, slo(500, c.itl ?? 50)) }));
      expect([a.need.prefill.replicas, a.need.decode.replicas]).toEqual([b.need.prefill.replicas, b.need.decode.replicas]);
      expect(a.correction).toEqual(b.correction);
      expect(a.missing).toEqual(b.missing);
    });
  });
  it('and the table row 36000/1024/1000 at ITL 10 ms is (11, 33) in both', () => {
    const a = slaPolicy(makeInput({ spec: specWith({}, 1, slo(500, 10)), forecast: forecast(36000, 1024, 1000) }));
    expect([a.need.prefill.replicas, a.need.decode.replicas]).toEqual([11, 33]);
  });
});

describe('targetUtilization', () => {
  it('0.85 adds headroom on both roles: 18000 req -> (16, 4) instead of (14, 3)', () => {
    // prefill 300000 / (22163 x 0.85) = 15.92 -> 16; decode 15000 / (5703 x 0.85) = 3.09 -> 4
    const on = slaPolicy(makeInput({ spec: specWith({}, 0.85), forecast: forecast(18000, 3000, 150) }));
    const off = slaPolicy(makeInput({ spec: specWith({}, 1), forecast: forecast(18000, 3000, 150) }));
    expect([on.need.prefill.replicas, on.need.decode.replicas]).toEqual([16, 4]);
    expect([off.need.prefill.replicas, off.need.decode.replicas]).toEqual([14, 3]);
    expect(on.need.prefill.detail.exact).toBeCloseTo(15.9247, 4);
  });
});

describe('percentile improvement', () => {
  it('queue model: M/M/c p95 wait at 5 and 6 replicas (the module comment example)', () => {
    const mu = 22163.1262 / 3000;
    expect(waitQuantile(5, 30, mu, 0.95)).toBeCloseTo(0.3527, 4);
    expect(waitQuantile(6, 30, mu, 0.95)).toBeCloseTo(0.125, 3);
    expect(replicasForTtftQuantile(30, mu, 0.135065, 0.5, 0.95)).toBe(5);
    expect(replicasForTtftQuantile(30, mu, 0.135065, 0.3, 0.95)).toBe(6);
    expect(replicasForTtftQuantile(30, mu, 0.6, 0.5, 0.95)).toBeUndefined();
  });

  it('p95 TTFT 300 ms needs 6 prefill replicas where the mean-based formula gives 5', () => {
    const on = slaPolicy(makeInput({ spec: specWith({ percentile: true }, 1, slo(300, 50)), forecast: forecast(5400, 3000, 150) }));
    const off = slaPolicy(makeInput({ spec: specWith({}, 1, slo(300, 50)), forecast: forecast(5400, 3000, 150) }));
    expect(on.need.prefill.replicas).toBe(6);
    expect(on.need.prefill.detail.queueReplicas).toBe(6);
    expect(on.need.prefill.detail.throughputReplicas).toBe(5);
    expect(off.need.prefill.replicas).toBe(5);
    expect(on.missing['islPercentiles.p95']).toBe('used the forecast mean ISL for the prefill time in the TTFT percentile');
  });

  it('at p95 500 ms the queue needs no more than throughput: 5 either way', () => {
    const on = slaPolicy(makeInput({ spec: specWith({ percentile: true }), forecast: forecast(5400, 3000, 150) }));
    expect(on.need.prefill.replicas).toBe(5);
  });

  it('prefill correction compares the observed p95 with the modelled p95, not the mean with the bare profile', () => {
    const on = slaPolicy(makeInput({ spec: specWith({ percentile: true }), forecast: forecast(5400, 3000, 150), observation: observed, current: { prefill: 5, decode: 4 } }));
    const off = slaPolicy(makeInput({ spec: specWith({}), forecast: forecast(5400, 3000, 150), observation: observed, current: { prefill: 5, decode: 4 } }));
    // modelled p95 at 5 replicas and 30 req/s = 135.07 + 352.7 = 487.8 ms; 610 / 487.8 = 1.2506 in this window,
    // smoothed from the last 1: 1 + 0.2506 x 0.3 = 1.0752
    expect(on.need.prefill.detail.pCfWindow).toBeCloseTo(1.2506, 4);
    expect(on.correction.pCf).toBeCloseTo(1.0752, 4);
    expect(on.need.prefill.detail.pCf).toBeCloseTo(1.0752, 4);
    expect(on.need.prefill.detail.modelledTtftMs).toBeCloseTo(487.76, 1);
    // Dynamo: mean 300 ms / profiled 135.07 ms = 2.2212 (ordinary queueing read as a slow engine)
    expect(off.correction.pCf).toBeCloseTo(2.2212, 4);
  });

  it('uses the observed p95 ISL for the prefill time: ISL p95 6000 -> 6 replicas at p95 500 ms', () => {
    // prefill time at ISL 6000 = 272.8 ms x pCf 0.987 (window 0.956: observed 610 vs modelled 638 ms, smoothed 0.3 of
    // the way from 1); the queue then needs 6
    const out = slaPolicy(
      makeInput({
        spec: specWith({ percentile: true }),
        forecast: forecast(5400, 3000, 150),
        observation: { ...observed, islPercentiles: { p95: 6000 } },
        current: { prefill: 5, decode: 4 },
      }),
    );
    expect(out.need.prefill.detail.pCfWindow).toBeCloseTo(0.9562, 4);
    expect(out.correction.pCf).toBeCloseTo(1 + (0.9562 - 1) * 0.3, 4);
    expect(out.need.prefill.detail.percentileIsl).toBe(6000);
    expect(out.need.prefill.replicas).toBe(6);
    expect(out.missing).toEqual({});
  });

  it('decode: dCf from the observed p95 ITL; at ITL SLO 10 ms 3 replicas instead of 2', () => {
    // mean ITL 12.4273 = profile -> dCf 1 -> target 10 ms -> kv 0.5526, 3906 tok/s -> 4500/3906 -> 2
    // p95 ITL 15 -> dCf 1.2070 -> target 8.2849 ms -> kv 0.2366, 2015 tok/s -> 4500/2015 = 2.23 -> 3
    const input = { forecast: forecast(5400, 3000, 150), observation: observed, current: { prefill: 5, decode: 4 } };
    const on = slaPolicy(makeInput({ ...input, spec: specWith({ percentile: true }, 1, slo(500, 10)) }));
    const off = slaPolicy(makeInput({ ...input, spec: specWith({}, 1, slo(500, 10)) }));
    expect(on.correction.dCf).toBeCloseTo(1.207, 3);
    expect(on.need.decode.detail.itlTargetMs).toBeCloseTo(8.2849, 4);
    expect(on.need.decode.detail.kv).toBeCloseTo(0.2366, 4);
    expect(on.need.decode.replicas).toBe(3);
    expect(off.correction.dCf).toBeCloseTo(1, 4);
    expect(off.need.decode.replicas).toBe(2);
  });

  it('falls back to the means when no percentile was observed, and says so', () => {
    const obs: Observation = { ...observed, ttftMs: { mean: 300 }, itlMs: { mean: 15 } };
    const out = slaPolicy(makeInput({ spec: specWith({ percentile: true }), forecast: forecast(5400, 3000, 150), observation: obs, current: { prefill: 5, decode: 4 } }));
    expect(out.missing['ttftMs.p95']).toBe('used the mean TTFT against the modelled mean for the prefill correction');
    expect(out.missing['itlMs.p95']).toBe('used the mean ITL for the decode correction');
    // mean modelled at 5 replicas: 135.07 + 1000 x C / (c mu - lambda) = 135.07 + 83.27 = 218.3 ms -> 300 / 218.3
    expect(out.need.prefill.detail.pCfWindow).toBeCloseTo(300 / (out.need.prefill.detail.modelledTtftMs as number), 3);
    expect(out.need.prefill.detail.observedTtftStat).toBe('mean');
  });
});

describe('ttftOvershoot improvement', () => {
  it('pCf 1.5 adds prefill: 7 replicas instead of 5', () => {
    // 90000 x 1.5 / 22163 = 6.09 -> 7; Dynamo min(1, 1.5) = 1 -> 4.06 -> 5
    const on = slaPolicy(makeInput({ spec: specWith({ ttftOvershoot: true }), forecast: forecast(5400, 3000, 150), correction: { pCf: 1.5, dCf: 1 } }));
    const off = slaPolicy(makeInput({ spec: specWith({}), forecast: forecast(5400, 3000, 150), correction: { pCf: 1.5, dCf: 1 } }));
    expect(on.need.prefill.replicas).toBe(7);
    expect(off.need.prefill.replicas).toBe(5);
  });
  it('is capped at 2: pCf 3 gives 9 (90000 x 2 / 22163 = 8.12), not 13', () => {
    const on = slaPolicy(makeInput({ spec: specWith({ ttftOvershoot: true }), forecast: forecast(5400, 3000, 150), correction: { pCf: 3, dCf: 1 } }));
    expect(on.need.prefill.detail.factor).toBe(2);
    expect(on.need.prefill.replicas).toBe(9);
  });
  it('discounts below 1 only down to PCF_FLOOR 0.75: pCf 0.5 -> 4 (90000 x 0.75 / 22163 = 3.05); Dynamo 3', () => {
    const input = { forecast: forecast(5400, 3000, 150), correction: { pCf: 0.5, dCf: 1 } };
    const on = slaPolicy(makeInput({ ...input, spec: specWith({ ttftOvershoot: true }) }));
    const off = slaPolicy(makeInput({ ...input, spec: specWith({}) }));
    expect(PCF_FLOOR).toBe(0.75);
    expect(on.need.prefill.detail.factor).toBe(0.75);
    expect(on.need.prefill.replicas).toBe(4);
    expect(off.need.prefill.replicas).toBe(3);
  });
});

describe('leadTime improvement', () => {
  it('sizes for the load expected when new replicas are ready: 9000 ahead -> (7, 2) instead of (5, 1)', () => {
    // prefill 9000 x 3000 / 180 = 150000 / 22163 = 6.77 -> 7; decode 7500 / 5703 = 1.32 -> 2
    const input = { forecast: forecast(5400, 3000, 150), leadForecast: forecast(9000, 3000, 150) };
    const on = slaPolicy(makeInput({ ...input, spec: specWith({ leadTime: true }) }));
    const off = slaPolicy(makeInput({ ...input, spec: specWith({}) }));
    expect([on.need.prefill.replicas, on.need.decode.replicas]).toEqual([7, 2]);
    expect(on.need.prefill.detail).toMatchObject({ sizedFor: 'lead-time forecast', nextReplicas: 5, leadReplicas: 7, leadRequests: 9000 });
    expect([off.need.prefill.replicas, off.need.decode.replicas]).toEqual([5, 1]);
  });
  it('keeps the next-interval need when the load is falling', () => {
    const on = slaPolicy(makeInput({ spec: specWith({ leadTime: true }), forecast: forecast(5400, 3000, 150), leadForecast: forecast(1800, 3000, 150) }));
    expect(on.need.prefill.replicas).toBe(5);
    expect(on.need.prefill.detail.sizedFor).toBe('next-interval forecast');
  });
  it('says when no lead forecast was given', () => {
    const on = slaPolicy(makeInput({ spec: specWith({ leadTime: true }), forecast: forecast(5400, 3000, 150) }));
    expect(on.need.prefill.replicas).toBe(5);
    expect(on.missing.leadForecast).toBe('no usable lead-time forecast; sized for the next interval only');
  });
});

describe('queueAware improvement', () => {
  const run = (queueDepth: number | undefined, on: boolean, startupSeconds = 180) =>
    slaPolicy(
      makeInput({
        spec: specWith({ queueAware: on }, 1, {
          pools: [
            { name: 'prefill', role: 'prefill', maxReplicas: 100, startupSeconds },
            { name: 'decode', role: 'decode', maxReplicas: 100, startupSeconds },
          ],
        }),
        forecast: forecast(5400, 3000, 150),
        observation: { time: 't', windowSeconds: 180, requests: 5400, ...(queueDepth !== undefined ? { queueDepth } : {}) },
        current: { prefill: 5, decode: 1 },
      }),
    );
  it('12 queued at 5 replicas, instant startup: expected 2.50, excess 9.50 x 0.1354 s / 0.5 s = 2.57 -> 3 extra (8, not 5)', () => {
    const out = run(12, true, 0);
    expect(out.need.prefill.detail.expectedQueue).toBeCloseTo(2.4982, 4);
    expect(out.need.prefill.detail.backlogExtraReplicas).toBe(3);
    expect(out.need.prefill.replicas).toBe(8);
    expect(run(12, false, 0).need.prefill.replicas).toBe(5);
  });
  it('with a 180 s startup the backlog is drained over the startup: 9.50 x 0.1354 s / 180 s -> 1 extra (6)', () => {
    const out = run(12, true);
    expect(out.need.prefill.detail.backlogDrainSeconds).toBe(180);
    expect(out.need.prefill.detail.backlogExtraReplicas).toBe(1);
    expect(out.need.prefill.replicas).toBe(6);
  });
  it('a queue no longer than the model expects adds nothing', () => {
    expect(run(2, true).need.prefill.replicas).toBe(5);
  });
  it('a huge backlog adds at most the base need (5 -> 10)', () => {
    // 500 queued, instant startup: 497.5 x 0.1354 / 0.5 = 135 extra, capped at 5; over a 180 s startup 20000 are needed
    expect(run(500, true, 0).need.prefill.replicas).toBe(10);
    expect(run(500, true).need.prefill.replicas).toBe(6);
    expect(run(20000, true).need.prefill.replicas).toBe(10);
  });
  it('a missing queue depth adds nothing and is reported', () => {
    const out = run(undefined, true);
    expect(out.need.prefill.replicas).toBe(5);
    expect(out.missing.queueDepth).toBe('no queue depth; queue-aware prefill skipped');
  });
});

describe('sla warnings and defaults', () => {
  it('warns when the profiled TTFT at the forecast ISL already exceeds the SLO', () => {
    const out = slaPolicy(makeInput({ spec: specWith({}), forecast: forecast(5400, 16000, 150) }));
    expect(out.warnings).toEqual([
      'profiled TTFT at ISL 16000 is 961.1381 ms, above the TTFT SLO 500 ms: no prefill replica count meets it (a faster engine or shorter prompts would)',
    ]);
  });
  it('with the default improvements (all on, utilisation 0.85) sizes 6 prefill where dynamo sizes 5; the TTFT tail read as a service-time factor', () => {
    const input = { forecast: forecast(5400, 3000, 150), observation: observed, current: { prefill: 5, decode: 4 } };
    const on = slaPolicy(makeInput({ ...input, spec: makeSpec() }));
    const dyn = dynamoPolicy(makeInput({ ...input, spec: makeSpec() }));
    // p95 610 ms where the model says 488 at 5 replicas: service-time factor 1.0419 (ratio 1.2506), smoothed 0.3 of
    // the way: pCf 1.0126; throughput 90000 x 1.0126 / (22163 x 0.85) = 4.84 -> 5, and the queue model asks 6 for
    // p95 500 ms
    expect(on.need.prefill.detail).toMatchObject({ pCfWindow: 1.0419, ttftRatio: 1.2506, pCf: 1.0126, throughputReplicas: 5, queueReplicas: 6 });
    expect(on.need.prefill.replicas).toBe(6);
    // the latency ratio as the factor: pCf 1.0752 -> 90000 x 1.0752 / (22163 x 0.85) = 5.14 -> 6 for throughput alone
    const ratio = slaPolicy(makeInput({ ...input, spec: makeSpec({ sla: { improvements: { serviceTimeCorrection: false } } }) }));
    expect(ratio.need.prefill.detail.pCf).toBeCloseTo(1.0752, 4);
    expect(ratio.need.prefill.detail.throughputReplicas).toBe(6);
    expect(dyn.need.prefill.replicas).toBe(5);
    expect(on.missing.queueDepth).toBe('no queue depth; queue-aware prefill skipped');
  });
  it('is registered in the policy index', () => {
    expect(policies.sla).toBe(slaPolicy);
  });
});

describe('burst improvement', () => {
  const window = (requests: number, peak: number): Observation => ({ time: 't', windowSeconds: 60, requests, peakRequestsPerSecond: peak });

  it('burst ratio: the peak 10 s count less the Poisson allowance over the mean 10 s count', () => {
    // 600 in 60 s = 100 per 10 s; peak 25 req/s = 250: (250 - 1.3 x 10) / 100 = 2.37
    const b = burstRatio(window(600, 25), 60, 1);
    expect(b.value).toBeCloseTo(2.37, 4);
    expect(b.peakDemand).toBeCloseTo(2.37 * 600, 2);
    // a lower ratio is approached by a quarter of the gap: 3 + (2.37 - 3) x 0.25 = 2.8425
    expect(burstRatio(window(600, 25), 60, 3).value).toBeCloseTo(2.8425, 4);
  });

  it('steady Poisson arrivals are not a burst: 1300/min with a busiest 10 s of 235 -> 1', () => {
    // mean 216.7 per 10 s, allowance 1.3 x 14.72 = 19.1: (235 - 19.1) / 216.7 = 0.996 -> 1
    expect(burstRatio(window(1300, 23.5), 60, 1).value).toBe(1);
  });

  it('few arrivals keep the last ratio; the ratio is capped', () => {
    expect(burstRatio(window(20, 2), 60, 1.7).value).toBe(1.7);
    // 60 arrivals all in one 10 s: (60 - 1.3 x 3.16) / 10 = 5.59 -> BURST_CAP
    expect(burstRatio(window(60, 6), 60, 1).value).toBe(BURST_CAP);
  });

  it('sizes prefill and decode for the burst: 5400 forecast x 2.37 -> 12 prefill where the mean needs 5', () => {
    const spec = specWith({ burst: true });
    const obs: Observation = { time: 't', windowSeconds: 180, requests: 1800, peakRequestsPerSecond: 25 };
    // 1800 in 180 s = 100 per 10 s, peak 250 -> 2.37; 5400 x 2.37 = 12798 -> 12798 x 3000 / 180 / 22163 = 9.62 -> 10
    const on = slaPolicy(makeInput({ spec, forecast: forecast(5400, 3000, 150), observation: obs }));
    const off = slaPolicy(makeInput({ spec: specWith({}), forecast: forecast(5400, 3000, 150), observation: obs }));
    expect(on.correction.burst).toBeCloseTo(2.37, 4);
    expect(on.need.prefill.detail.burstSizedRequests).toBeCloseTo(12798, 0);
    expect(on.need.prefill.replicas).toBe(10);
    expect(off.need.prefill.replicas).toBe(5);
    expect(on.need.decode.replicas).toBeGreaterThan(off.need.decode.replicas);
  });

  it('the burst floor remembers a burst through a silent window, decaying over 3 startup times', () => {
    const spec = specWith({ burst: true });
    // last floor 12798 requests; silent window; startup 180 s, interval 180 s: 12798 x e^(-180/540) = 9170
    const out = slaPolicy(
      makeInput({ spec, forecast: forecast(0, 3000, 150), observation: { time: 't', windowSeconds: 180, requests: 0 }, correction: { pCf: 1, dCf: 1, burst: 2.37, burstFloor: 12798 } }),
    );
    expect(out.correction.burstFloor).toBeCloseTo(12798 * Math.exp(-1 / 3), 2);
    expect(out.need.prefill.detail.burstSizedRequests).toBeCloseTo(9170.2, 0);
    expect(out.need.prefill.replicas).toBe(7); // 9170 x 3000 / 180 / 22163 = 6.9
  });

  it('a forecast that knows its peak (the oracle) is used as is', () => {
    const f = { ...forecast(5400, 3000, 150), requestsPeak: { value: 9000, method: 'oracle' } };
    const out = slaPolicy(makeInput({ spec: specWith({ burst: true }), forecast: f, correction: { pCf: 1, dCf: 1, burst: 3, burstFloor: 20000 } }));
    expect(out.need.prefill.detail.burstSizedFor).toBe('forecast peak');
    expect(out.need.prefill.replicas).toBe(7); // 9000 x 3000 / 180 / 22163 = 6.77
  });

  it('without a peak rate in the observation it keeps the last ratio and says so', () => {
    const out = slaPolicy(makeInput({ spec: specWith({ burst: true }), forecast: forecast(5400, 3000, 150), observation: { time: 't', windowSeconds: 180, requests: 1800 }, correction: { pCf: 1, dCf: 1, burst: 1.5 } }));
    expect(out.correction.burst).toBe(1.5);
    expect(out.missing.peakRequestsPerSecond).toBe('kept the burst ratio from the last tick');
  });
});

describe('prefill correction guards', () => {
  it('keeps the last correction when the queue model is near saturation (rho > 0.9)', () => {
    // 34 req/s on 5 replicas of mu 7.388/s: rho 0.92
    const obs: Observation = { ...observed, requests: 34 * 180, ttftMs: { mean: 300, p95: 900 } };
    const out = slaPolicy(makeInput({ spec: specWith({ percentile: true }), forecast: forecast(5400, 3000, 150), observation: obs, current: { prefill: 5, decode: 4 }, correction: { pCf: 1.1, dCf: 1 } }));
    expect(SATURATED_RHO).toBe(0.9);
    expect(out.correction.pCf).toBe(1.1);
    expect(String(out.need.prefill.detail.pCfSource)).toContain('prefill utilisation 0.9204 in the model is above 0.9');
  });

  it('prefill time beyond the profiled ISL is extrapolated at the last measured rate, not clamped', () => {
    // llama2-70b-h100-tp4: 8192 tokens in 953.582 ms; 16384 -> 1907.164 ms; 48835 -> 5684.7 ms
    expect(prefillMs(llama, 16384)).toBeCloseTo(1907.164, 2);
    expect(prefillMs(llama, 48835)).toBeCloseTo(953.582 + (48835 - 8192) * (953.582 / 8192), 2);
    expect(prefillMs(llama, 2048)).toBeCloseTo(200.681, 3);
  });
});
