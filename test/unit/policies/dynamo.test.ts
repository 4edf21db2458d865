/**
 * Reference numbers of Dynamo's formulas: every row, on dynamo-format-synthetic, I = 180 s, ITL SLO 50 ms,
 * 1 GPU per replica, budget 8, min 1.
 */
import { describe, expect, it } from 'vitest';
import { dynamoGpuBudget, dynamoPolicy } from '../../../src/policies/dynamo.js';
import { policies } from '../../../src/policies/index.js';
import { forecast, llama, makeInput, makeSpec } from './helpers.js';

interface Row {
  label: string;
  n: number;
  isl: number;
  osl: number;
  pCf?: number;
  dCf?: number;
  itlMs?: number;
  budget?: number;
  prefillCap: number;
  decodeCap: number;
  kv?: number;
  /** Set where the table's rounded figure differs from the exact interpolation (see the row). */
  decodeCapExact?: number;
  raw: [number, number];
  afterBudget: [number, number];
}

// Worked numbers (rounded):
//  prefill cap thptP(isl): isl 3000 -> 22028.27 + 952/2048 x 290.12 = 22163; 8000 -> 22318.39 - 3904/4096 x 1959.69 = 20451;
//                          1024 is a measured point: 19537.
//  decode cap at kv 1 (ITL 50 ms met everywhere), ctx = isl + osl/2:
//    3075 between rows 2298 (6829.68) and 4346 (3859.60), t 0.3794 -> 5703;
//    8250 between 4346 (3859.60) and 8442 (2027.63), t 0.9531 -> 2114;  1524 between 1274 and 2298 -> 10033.
//  1800/3000/150:  prefill 1800 x 3000/180 = 30000 tok/s / 22163 = 1.35 -> 2;  decode 1500 / 5703 = 0.26 -> 1.
//  5400:           90000 / 22163 = 4.06 -> 5;  4500 / 5703 = 0.79 -> 1.
//  18000:          300000 / 22163 = 13.54 -> 14; 15000 / 5703 = 2.63 -> 3; budget: s = 8/17, p = min(7, floor(6.59)) = 6, d = 2.
//  3600/8000/500:  160000 / 20451 = 7.82 -> 8;  10000 / 2114 = 4.73 -> 5; budget: s = 8/13, p = floor(4.92) = 4, d = 4.
//  36000/1024/1000: 204800 / 19537 = 10.48 -> 11; 200000 / 10033 = 19.93 -> 20; s = 8/31, p = floor(2.84) = 2, d = 6.
//  pCf 0.5, dCf 1.25: prefill 90000 x 0.5 / 22163 = 2.03 -> 3; ITL target 50/1.25 = 40 ms, still kv 1: 1.
//  ITL 10 ms: exact inversion gives kv 0.5526 at ctx 3075, 3906 tok/s/GPU: 4500 / 3906 = 1.15 -> 2.
//  36000/1024/1000, ITL 10 ms: kv 0.4413 at ctx 1524, 6104: 200000 / 6104 = 32.77 -> 33; budget 100 not binding.
const rows: Row[] = [
  { label: '1800, 3000, 150', n: 1800, isl: 3000, osl: 150, prefillCap: 22163, decodeCap: 5703, raw: [2, 1], afterBudget: [2, 1] },
  { label: '5400, 3000, 150', n: 5400, isl: 3000, osl: 150, prefillCap: 22163, decodeCap: 5703, raw: [5, 1], afterBudget: [5, 1] },
  { label: '18000, 3000, 150', n: 18000, isl: 3000, osl: 150, prefillCap: 22163, decodeCap: 5703, raw: [14, 3], afterBudget: [6, 2] },
  // The table prints 2114: that is 3859.6044 - 0.9531 x 1831.9793 = 2113.53 with t rounded to 4 places. Exactly,
  // t = 3904/4096 = 0.953125 and the capacity is 2113.499 (rounds to 2113). The replica counts are the same either way.
  { label: '3600, 8000, 500', n: 3600, isl: 8000, osl: 500, prefillCap: 20451, decodeCap: 2114, decodeCapExact: 2113.4991, raw: [8, 5], afterBudget: [4, 4] },
  { label: '36000, 1024, 1000', n: 36000, isl: 1024, osl: 1000, prefillCap: 19537, decodeCap: 10033, raw: [11, 20], afterBudget: [2, 6] },
  { label: '5400, 3000, 150, pCf 0.5, dCf 1.25', n: 5400, isl: 3000, osl: 150, pCf: 0.5, dCf: 1.25, prefillCap: 22163, decodeCap: 5703, raw: [3, 1], afterBudget: [3, 1] },
  { label: '5400, 3000, 150, ITL SLO 10 ms', n: 5400, isl: 3000, osl: 150, itlMs: 10, prefillCap: 22163, decodeCap: 3906, kv: 0.553, raw: [5, 2], afterBudget: [5, 2] },
  {
    label: '36000, 1024, 1000, ITL 10 ms, budget 100',
    n: 36000,
    isl: 1024,
    osl: 1000,
    itlMs: 10,
    budget: 100,
    prefillCap: 19537,
    decodeCap: 6104,
    kv: 0.441,
    raw: [11, 33],
    afterBudget: [11, 33],
  },
];

describe('dynamo policy reproduces the reference table', () => {
  for (const row of rows) {
    it(row.label, () => {
      const spec = makeSpec({ slo: { ttft: { ms: 500 }, itl: { ms: row.itlMs ?? 50 } } });
      // Correction factors carried from the last tick; no latency observed this tick, so they are kept.
      const out = dynamoPolicy(makeInput({ spec, forecast: forecast(row.n, row.isl, row.osl), correction: { pCf: row.pCf ?? 1, dCf: row.dCf ?? 1 } }));
      expect(Math.round(out.need.prefill.detail.thptPerGpu as number)).toBe(row.prefillCap);
      if (row.decodeCapExact !== undefined) {
        expect(out.need.decode.detail.thptPerGpu as number).toBeCloseTo(row.decodeCapExact, 3);
        expect(Math.abs((out.need.decode.detail.thptPerGpu as number) - row.decodeCap)).toBeLessThan(0.51);
      } else expect(Math.round(out.need.decode.detail.thptPerGpu as number)).toBe(row.decodeCap);
      if (row.kv !== undefined) expect((out.need.decode.detail.kv as number).toFixed(3)).toBe(row.kv.toFixed(3));
      else expect(out.need.decode.detail.kv).toBe(1);
      expect([out.need.prefill.replicas, out.need.decode.replicas]).toEqual(row.raw);
      const after = dynamoGpuBudget(row.raw[0], row.raw[1], 1, 1, row.budget ?? 8, 1);
      expect([after.p, after.d]).toEqual(row.afterBudget);
      expect(out.warnings).toEqual([]);
    });
  }
});

describe('dynamo correction factors (Little\'s law)', () => {
  it('computes pCf and dCf from observed means and uses them in the same tick', () => {
    // Observed: 3600 requests over 180 s at ISL 3000 / OSL 150, mean TTFT 67.53 ms (profile: 135.065 ms at 3000 -> pCf 0.5),
    // 4 decode replicas, 20 s per request: concurrency = 3600/4 x 20/180 = 100, ctx 3075, kv = 100 x 3075 / 200000 = 1.54
    // (beyond the rows: ITL 12.4273 ms); mean ITL 15.534 ms -> dCf 1.25.
    const out = dynamoPolicy(
      makeInput({
        forecast: forecast(5400, 3000, 150),
        observation: {
          time: 't',
          windowSeconds: 180,
          requests: 3600,
          isl: 3000,
          osl: 150,
          ttftMs: { mean: 135.065 * 0.5 },
          itlMs: { mean: 12.4273 * 1.25 },
          requestDurationSeconds: 20,
        },
        current: { prefill: 3, decode: 4 },
      }),
    );
    expect(out.correction.pCf).toBeCloseTo(0.5, 4);
    expect(out.correction.dCf).toBeCloseTo(1.25, 4);
    expect(out.need.decode.detail.concurrencyPerDecodeReplica).toBe(100);
    expect(out.need.decode.detail.observedKv).toBe(1.5375);
    // same as the table's "pCf 0.5, dCf 1.25" row
    expect([out.need.prefill.replicas, out.need.decode.replicas]).toEqual([3, 1]);
    expect(out.missing).toEqual({});
  });

  it('never adds prefill when TTFT is worse than profiled: min(1, pCf)', () => {
    const out = dynamoPolicy(makeInput({ forecast: forecast(5400, 3000, 150), correction: { pCf: 3, dCf: 1 } }));
    expect(out.need.prefill.replicas).toBe(5); // as with pCf 1
    expect(out.need.prefill.detail.factor).toBe(1);
  });

  it('keeps the last factors and says which field was missing', () => {
    const out = dynamoPolicy(
      makeInput({
        observation: { time: 't', requests: 100, isl: 3000, osl: 150, requestDurationSeconds: 10 },
        correction: { pCf: 0.8, dCf: 1.1 },
      }),
    );
    expect(out.correction).toEqual({ pCf: 0.8, dCf: 1.1 });
    expect(out.missing).toEqual({
      'ttftMs.mean': 'kept prefill correction 0.8 from the last tick',
      'itlMs.mean': 'kept decode correction 1.1 from the last tick',
    });
  });

  it('keeps the decode factor when no decode replica is running (Little\'s law would divide by 0)', () => {
    const out = dynamoPolicy(
      makeInput({
        observation: { time: 't', requests: 100, isl: 3000, osl: 150, itlMs: { mean: 20 }, ttftMs: { mean: 100 }, requestDurationSeconds: 10 },
        current: { prefill: 1, decode: 0 },
        correction: { pCf: 1, dCf: 1.1 },
      }),
    );
    expect(out.correction.dCf).toBe(1.1);
    expect(out.missing['pools (no decode replicas running)']).toBe('kept decode correction 1.1 from the last tick');
  });

  it('turns correction off with spec.sla.correction false (Dynamo --no-correction)', () => {
    const spec = makeSpec({ sla: { correction: false } });
    const out = dynamoPolicy(makeInput({ spec, forecast: forecast(5400, 3000, 150), correction: { pCf: 0.5, dCf: 1.25 } }));
    expect(out.need.prefill.replicas).toBe(5);
  });
});

describe('dynamo policy edge cases', () => {
  it('floors each role at 1 at zero traffic', () => {
    const out = dynamoPolicy(makeInput({ forecast: forecast(0, 3000, 150) }));
    expect([out.need.prefill.replicas, out.need.decode.replicas]).toEqual([1, 1]);
  });

  it('holds the current counts when the forecast is unusable, never 0', () => {
    const out = dynamoPolicy(makeInput({ forecast: forecast(Number.NaN, 3000, 150), current: { prefill: 4, decode: 0 } }));
    expect([out.need.prefill.replicas, out.need.decode.replicas]).toEqual([4, 1]);
    expect(out.missing['forecast.requests']).toBe('held the current replicas');
  });

  it('divides by gpusPerReplica: the llama TP4 profile on 4-GPU replicas', () => {
    const spec = makeSpec({
      pools: [
        { name: 'p', role: 'prefill', gpusPerReplica: 4 },
        { name: 'd', role: 'decode', gpusPerReplica: 4 },
      ],
    });
    // 1800 x 2048 / 180 = 20480 tok/s; 2551.313 tok/s/GPU x 4 = 10205 per replica -> 2.007 -> 3
    const out = dynamoPolicy(makeInput({ spec, profile: llama, forecast: forecast(1800, 2048, 128) }));
    expect(out.need.prefill.detail.gpusPerReplica).toBe(4);
    expect(out.need.prefill.detail.exact).toBeCloseTo(2.0068, 4);
    expect(out.need.prefill.replicas).toBe(3);
    // decode: ctx 2112, ITL 50 ms; 1800 x 128 / 180 = 1280 tok/s over 4 x thptD(kv*, 2112)
    const d = out.need.decode.detail;
    expect(out.need.decode.replicas).toBe(Math.ceil(1280 / ((d.thptPerGpu as number) * 4)));
    expect(d.itlAtKvMs as number).toBeLessThanOrEqual(50);
  });

  it('warns when pools of one role differ in size and uses the first', () => {
    const spec = makeSpec({
      pools: [
        { name: 'p-spot', role: 'prefill', gpusPerReplica: 2 },
        { name: 'p-od', role: 'prefill', gpusPerReplica: 4 },
        { name: 'd', role: 'decode' },
      ],
    });
    const out = dynamoPolicy(makeInput({ spec, forecast: forecast(18000, 3000, 150) }));
    // 300000 / 22163 / 2 = 6.77 -> 7
    expect(out.need.prefill.replicas).toBe(7);
    expect(out.warnings).toEqual(['prefill pools differ in gpusPerReplica (p-spot: 2, p-od: 4); sized in replicas of 2 GPUs (pool p-spot)']);
  });

  it('warns when the ITL target is below the profile at kv 0 and sizes at kv 0', () => {
    const spec = makeSpec({ slo: { ttft: { ms: 500 }, itl: { ms: 5 } } });
    const out = dynamoPolicy(makeInput({ spec, forecast: forecast(5400, 3000, 150) }));
    expect(out.need.decode.detail.feasible).toBe(false);
    expect(out.need.decode.detail.kv).toBe(0);
    // 4500 tok/s over ~141 tok/s/GPU at kv 0 -> 32 replicas
    expect(out.need.decode.replicas).toBe(Math.ceil(4500 / (out.need.decode.detail.thptPerGpu as number)));
    expect(out.warnings[0]).toMatch(/^ITL target 5 ms \(SLO 5 ms \/ dCf 1\) is below the profiled ITL at kv 0 \(7\.0815 ms at context 3075\)/);
  });

  it('is registered in the policy index', () => {
    expect(policies.dynamo).toBe(dynamoPolicy);
  });
});

describe('dynamoGpuBudget (v0.8+ rule)', () => {
  it('leaves counts under budget alone and -1 turns it off', () => {
    expect(dynamoGpuBudget(3, 2, 1, 1, 8, 1)).toEqual({ p: 3, d: 2 });
    expect(dynamoGpuBudget(30, 20, 1, 1, -1, 1)).toEqual({ p: 30, d: 20 });
  });
  it('gives (0, 0) when even the minimum does not fit', () => {
    expect(dynamoGpuBudget(3, 2, 4, 4, 7, 1)).toEqual({ p: 0, d: 0 });
  });
  it('with multi-GPU replicas: (10, 10) at 2 and 4 GPUs, budget 24', () => {
    // total 60, s = 0.4, max_p = floor((24 - 4)/2) = 10, p = min(10, floor(4)) = 4, d = floor((24 - 8)/4) = 4
    expect(dynamoGpuBudget(10, 10, 2, 4, 24, 1)).toEqual({ p: 4, d: 4 });
  });
});
