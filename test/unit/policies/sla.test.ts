import { describe, expect, it } from 'vitest';
import type { Observation } from '../../../src/planner/types.js';
import { dynamoPolicy } from '../../../src/policies/dynamo.js';
import { policies } from '../../../src/policies/index.js';
import { replicasForTtftQuantile, waitQuantile } from '../../../src/policies/queue-model.js';
import { slaPolicy } from '../../../src/policies/sla.js';
import { forecast, makeInput, makeSpec } from './helpers.js';

const OFF = { percentile: false, ttftOvershoot: false, leadTime: false, queueAware: false, budgetSplit: false, burst: false };
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
    // modelled p95 at 5 replicas and 30 req/s = 135.07 + 352.7 = 487.8 ms; 610 / 487.8 = 1.2506
    expect(on.correction.pCf).toBeCloseTo(1.2506, 4);
    expect(on.need.prefill.detail.modelledTtftMs).toBeCloseTo(487.76, 1);
    // Dynamo: mean 300 ms / profiled 135.07 ms = 2.2212 (ordinary queueing read as a slow engine)
    expect(off.correction.pCf).toBeCloseTo(2.2212, 4);
  });

  it('uses the observed p95 ISL for the prefill time: ISL p95 6000 -> 6 replicas at p95 500 ms', () => {
    // prefill time at ISL 6000 = 272.8 ms x pCf 0.956 (observed 610 vs modelled 638 ms); the queue then needs 6
    const out = slaPolicy(
      makeInput({
        spec: specWith({ percentile: true }),
        forecast: forecast(5400, 3000, 150),
        observation: { ...observed, islPercentiles: { p95: 6000 } },
        current: { prefill: 5, decode: 4 },
      }),
    );
    expect(out.correction.pCf).toBeCloseTo(0.9562, 4);
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
    expect(out.correction.pCf).toBeCloseTo(300 / (out.need.prefill.detail.modelledTtftMs as number), 3);
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
  it('still discounts below 1 as Dynamo does: pCf 0.5 -> 3', () => {
    const on = slaPolicy(makeInput({ spec: specWith({ ttftOvershoot: true }), forecast: forecast(5400, 3000, 150), correction: { pCf: 0.5, dCf: 1 } }));
    expect(on.need.prefill.replicas).toBe(3);
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
  const run = (queueDepth: number | undefined, on: boolean) =>
    slaPolicy(
      makeInput({
        spec: specWith({ queueAware: on }),
        forecast: forecast(5400, 3000, 150),
        observation: { time: 't', windowSeconds: 180, requests: 5400, ...(queueDepth !== undefined ? { queueDepth } : {}) },
        current: { prefill: 5, decode: 1 },
      }),
    );
  it('12 queued at 5 replicas: expected 2.50, excess 9.50 x 0.1354 s / 0.5 s = 2.57 -> 3 extra (8, not 5)', () => {
    const out = run(12, true);
    expect(out.need.prefill.detail.expectedQueue).toBeCloseTo(2.4982, 4);
    expect(out.need.prefill.detail.backlogExtraReplicas).toBe(3);
    expect(out.need.prefill.replicas).toBe(8);
    expect(run(12, false).need.prefill.replicas).toBe(5);
  });
  it('a queue no longer than the model expects adds nothing', () => {
    expect(run(2, true).need.prefill.replicas).toBe(5);
  });
  it('a huge backlog adds at most the base need (5 -> 10)', () => {
    expect(run(500, true).need.prefill.replicas).toBe(10);
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
  it('with the default improvements (all on, utilisation 0.85) sizes 7 prefill where dynamo sizes 5', () => {
    const input = { forecast: forecast(5400, 3000, 150), observation: observed, current: { prefill: 5, decode: 4 } };
    const on = slaPolicy(makeInput({ ...input, spec: makeSpec() }));
    const dyn = dynamoPolicy(makeInput({ ...input, spec: makeSpec() }));
    // factor min(1.2506, 2): 90000 x 1.2506 / (22163 x 0.85) = 5.97 -> 6; queue model with 168.9 ms prefill -> 7
    expect(on.need.prefill.detail.throughputReplicas).toBe(6);
    expect(on.need.prefill.replicas).toBe(7);
    expect(dyn.need.prefill.replicas).toBe(5);
    expect(on.missing.queueDepth).toBe('no queue depth; queue-aware prefill skipped');
  });
  it('is registered in the policy index', () => {
    expect(policies.sla).toBe(slaPolicy);
  });
});
