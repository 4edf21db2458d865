/**
 * The yardsticks (src/sim/yardsticks): the fluid bound, the hindsight search and its schedule's rules, the neutral
 * warm start, and that no baseline depends on the policy under test.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../src/config/load.js';
import type { PolicySpec } from '../../src/config/schema.js';
import { loadProfile } from '../../src/profiles/load.js';
import { ClusterSim } from '../../src/sim/cluster/index.js';
import { simulate } from '../../src/sim/run.js';
import { readTrace } from '../../src/sim/traces/index.js';
import type { RunResult, Trace } from '../../src/sim/types.js';
import { DecodeItl } from '../../src/sim/cluster/latency.js';
import { decodeSecondsPerToken, fluidBound, hindsight, neutralStart, sumWithoutLargest } from '../../src/sim/yardsticks/index.js';

const POLICY = `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: yardsticks }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 2000 }, itl: { percentile: 95, ms: 60 } }
  forecaster: { kind: holt }
  budget: { maxGpus: 96 }
  pools:
    - { name: prefill, role: prefill, gpusPerReplica: 4, minReplicas: 1, maxReplicas: 12, startupSeconds: 180s }
    - { name: decode,  role: decode,  gpusPerReplica: 4, minReplicas: 1, maxReplicas: 12, startupSeconds: 180s }
`;
const loaded = parsePolicyText(POLICY, 'yardsticks.yaml', process.cwd());
const spec = loaded.spec;
const profile = loadProfile(spec.profile, loaded.baseDir);
// 30 minutes: 2 req/s, a 4x burst of 3 minutes at 12 min, prompts around 3000 tokens.
const TRACE = 'synthetic:step?steps=0:2,12m:8,15m:2&duration=30m&isl=lognormal:3000:0.5&osl=lognormal:200:0.5';

describe('fluid lower bound', () => {
  it('charges decode at the largest batch within the ITL SLO that fits the KV cache (worked example of bound.ts)', () => {
    const itl = new DecodeItl(profile);
    // isl 2048, osl 129 at ITL 60 ms: b* = 68 requests at 59.57 ms -> 4 GPUs x 59.57 ms / 68 = 3.504 GPU-ms per token.
    expect(decodeSecondsPerToken(itl, profile.maxKvTokens, 60, 4, 2048, 129)).toBeCloseTo(0.0035040, 6);
    // A looser ITL target allows a larger batch and so a lower cost per token; a tight one the reverse.
    expect(decodeSecondsPerToken(itl, profile.maxKvTokens, 120, 4, 2048, 129)).toBeLessThan(0.0035);
    expect(decodeSecondsPerToken(itl, profile.maxKvTokens, 35, 4, 2048, 129)).toBeGreaterThan(0.0036);
  });

  it('leaves out the largest values in O(n), ties included', () => {
    expect(sumWithoutLargest(Float64Array.from([5, 1, 9, 3]), 1)).toBe(9);
    expect(sumWithoutLargest(Float64Array.from([5, 5, 5, 1]), 2)).toBe(6);
    expect(sumWithoutLargest(Float64Array.from([2, 2]), 0)).toBe(4);
    expect(sumWithoutLargest(Float64Array.from([2, 2]), 2)).toBe(0);
  });

  it('property: dropping k values equals summing the smallest n - k (any values, ties, any k)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 60 }), fc.nat(70), (values, k) => {
        const sorted = [...values].sort((a, b) => a - b);
        const expected = sorted.slice(0, Math.max(0, values.length - k)).reduce((a, b) => a + b, 0);
        expect(sumWithoutLargest(Float64Array.from(values), k)).toBe(expected);
      }),
    );
  });

  it('property: longer prompts never lower the prefill bound, longer outputs never lower the decode bound (requests that fit the KV cache)', () => {
    // (Adding requests can lower it: one more request may let one more of the costliest be left out.)
    const traceOf = (reqs: { t: number; isl: number; osl: number }[], dIsl: number, dOsl: number): Trace => {
      const sorted = [...reqs].sort((a, b) => a.t - b.t);
      return {
        name: 'p', format: 'synthetic', durationSeconds: 600, skipped: { count: 0, examples: [] },
        arrival: Float64Array.from(sorted, (r) => r.t), isl: Uint32Array.from(sorted, (r) => r.isl + dIsl), osl: Uint32Array.from(sorted, (r) => r.osl + dOsl),
      };
    };
    const request = fc.record({ t: fc.double({ min: 0, max: 599, noNaN: true }), isl: fc.integer({ min: 1, max: 20000 }), osl: fc.integer({ min: 1, max: 2000 }) });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 400 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 500 }), (reqs, dIsl, dOsl) => {
        const base = fluidBound(spec, profile, traceOf(reqs, 0, 0));
        expect(fluidBound(spec, profile, traceOf(reqs, dIsl, 0)).prefillGpuHours).toBeGreaterThanOrEqual(base.prefillGpuHours - 1e-12);
        expect(fluidBound(spec, profile, traceOf(reqs, 0, dOsl)).decodeGpuHours).toBeGreaterThanOrEqual(base.decodeGpuHours - 1e-12);
      }),
      { numRuns: 40 },
    );
  });

  it('grows with the load, never goes below the minimum replicas, and leaves out the SLO percentile\'s share', async () => {
    const light = await readTrace('synthetic:poisson?rate=0.2&duration=30m&isl=3000&osl=150', { seed: 1 });
    const heavy = await readTrace('synthetic:poisson?rate=20&duration=30m&isl=3000&osl=150', { seed: 1 });
    const floor = (4 * light.durationSeconds) / 3600; // one 4-GPU replica per role
    const b1 = fluidBound(spec, profile, light);
    expect(b1.prefillGpuHours).toBeCloseTo(floor, 9);
    expect(b1.decodeGpuHours).toBeCloseTo(floor, 9);
    const b2 = fluidBound(spec, profile, heavy);
    expect(b2.prefillGpuHours).toBeGreaterThan(floor);
    expect(b2.gpuHours).toBeCloseTo(b2.prefillGpuHours + b2.decodeGpuHours, 12);
    // Same requests, a 99% SLO: fewer may be left out, so the bound rises.
    const strict = fluidBound({ ...spec, slo: { ttft: { ms: 2000, percentile: 99 }, itl: { ms: 60, percentile: 99 } } }, profile, heavy);
    expect(strict.prefillGpuHours).toBeGreaterThan(b2.prefillGpuHours);
    expect(b2.method).toMatch(/^fluid-strict/);
  });
});

describe('ClusterSim.clone', () => {
  it('gives an independent copy: the copy runs on with other replicas, the original is unchanged', async () => {
    const trace = await readTrace(TRACE, { seed: 2 });
    const options = { profile, pools: spec.pools, initialReplicas: { prefill: 3, decode: 2 }, slo: spec.slo, seed: 1 };
    const a = new ClusterSim(trace, options);
    const b = new ClusterSim(trace, options);
    a.advanceTo(600);
    b.advanceTo(600);
    const copy = a.clone();
    copy.setDesired('prefill', 1, 600, true);
    copy.advanceTo(1200);
    const ta = a.advanceTo(1200);
    const tb = b.advanceTo(1200);
    expect(ta).toEqual(tb);
    expect(a.finish().attainment).toEqual(b.finish().attainment);
    expect(copy.finish().attainment.ttft).toBeLessThan(a.finish().attainment.ttft);
  });

  it('copyInto over the requests a window can touch runs that window exactly as a full copy does', async () => {
    const trace = await readTrace(TRACE, { seed: 2 });
    const base = new ClusterSim(trace, { profile, pools: spec.pools, initialReplicas: { prefill: 3, decode: 2 }, slo: spec.slo, seed: 1 });
    base.runTo(600);
    let oldest = 0;
    while (!base.isInSystem(oldest) && trace.arrival[oldest]! <= 600) oldest++;
    const until = 800;
    let end = 0;
    while (end < trace.arrival.length && trace.arrival[end]! <= until) end++;
    let scratch: ClusterSim | undefined;
    for (const prefill of [1, 4, 2]) {
      const full = base.clone();
      scratch = base.copyInto(scratch, oldest, end);
      for (const sim of [full, scratch]) {
        sim.setDesired('prefill', prefill, 600, true);
        sim.runTo(until);
      }
      for (let i = oldest; i < end; i++) expect(scratch.requestOutcome(i, false), `request ${i}`).toBe(full.requestOutcome(i, false));
    }
  });
});

describe('hindsight', () => {
  it('meets the SLO, costs no less than the bound, and its schedule respects startup, pool bounds and the budget', async () => {
    const trace = await readTrace(TRACE, { seed: 2 });
    const h = await hindsight(spec, profile, trace, { seed: 1 });
    const bound = fluidBound(spec, profile, trace);
    expect(h.sloMet).toBe(true);
    expect(h.run.sloAttainment.both).toBeGreaterThanOrEqual(0.95);
    expect(h.run.gpuHours.total).toBeGreaterThanOrEqual(bound.gpuHours);
    // Startup 180 s = 3 intervals: what is held at j covers what serves at j..j+3 (P[j] = max c[j..j+3]).
    h.desired.forEach((d, j) => {
      const serving = h.serving.prefill.slice(j, j + 4);
      expect(d.prefill).toBe(Math.max(...serving));
      expect(d.prefill).toBeLessThanOrEqual(12);
      expect(d.decode).toBeGreaterThanOrEqual(1);
      expect(4 * (d.prefill! + d.decode!)).toBeLessThanOrEqual(96);
    });
    // Before the first replica asked for can be ready (3 intervals), nothing serves beyond the warm start.
    for (let k = 0; k < 3; k++) expect(h.serving.prefill[k]).toBeLessThanOrEqual(h.start.prefill!);
    // The burst (12-15 min) needs more prefill than the quiet start.
    expect(Math.max(...h.serving.prefill.slice(12, 15))).toBeGreaterThan(h.serving.prefill[5]!);
  });

  it('the warm start is hindsight\'s first intervals, not any policy\'s: the same for every policy kind', async () => {
    const trace = await readTrace(TRACE, { seed: 2 });
    const a = neutralStart(spec, profile, trace);
    const b = neutralStart({ ...spec, policy: 'load' }, profile, trace);
    expect(a).toEqual(b);
    expect(a.prefill).toBeGreaterThanOrEqual(1);
  });
});

describe('neutral baselines', () => {
  it('changing the policy under test (sla -> load) changes no baseline: dynamo, hpa, hpa-tuned and hindsight are identical', async () => {
    const trace = await readTrace(TRACE, { seed: 2 });
    const baselines = ['dynamo', 'hpa', 'hpa-tuned', 'hindsight'] as const;
    const run = async (s: PolicySpec) => (await simulate({ spec: s, profile, trace, baselines: [...baselines], seed: 1 })).runs;
    const withSla = await run(spec);
    const withLoad = await run({ ...spec, policy: 'load' });
    const strip = (runs: RunResult[]) => runs.filter((r) => r.policy !== 'policy');
    expect(strip(withLoad)).toEqual(strip(withSla));
    expect(strip(withSla).map((r) => r.policy)).toEqual([...baselines]);
    // ... while the policy runs themselves differ.
    expect(withLoad[0]!.gpuHours.total).not.toBe(withSla[0]!.gpuHours.total);
  }, 120_000);
});
