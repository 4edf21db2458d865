import { describe, expect, it } from 'vitest';
import { hpaDesired, hpaPolicy } from '../../../src/policies/hpa.js';
import { policies } from '../../../src/policies/index.js';
import { makeInput, makeSpec } from './helpers.js';

// interval 180 s; target 2 req/s per replica for both roles (defaults), tolerance 0.1
const run = (requests: number | undefined, current = { prefill: 4, decode: 4 }, spec = makeSpec()) =>
  hpaPolicy(makeInput({ spec, observation: { time: 't', windowSeconds: 60, ...(requests !== undefined ? { requests } : {}) }, current }));

describe('hpa policy', () => {
  it('scales up: 630 requests / 60 s = 10.5 req/s over 4 replicas = 2.625, ratio 1.3125 -> ceil(5.25) = 6', () => {
    const out = run(630);
    expect(out.need.prefill.replicas).toBe(6);
    expect(out.need.prefill.detail).toMatchObject({ requestsPerSecond: 10.5, valuePerReplica: 2.625, ratio: 1.3125, withinTolerance: false });
  });
  it('holds inside the 10% tolerance: 8.6 req/s (ratio 1.075) and 7.2 req/s (ratio exactly 0.9)', () => {
    expect(run(516).need.prefill).toMatchObject({ replicas: 4, detail: { withinTolerance: true } });
    expect(run(432).need.prefill).toMatchObject({ replicas: 4, detail: { withinTolerance: true } });
  });
  it('acts just outside the tolerance: ratio 1.11 -> ceil(4.44) = 5; ratio 0.875 -> ceil(3.5) = 4; ratio 0.75 -> 3', () => {
    expect(run(532.8).need.prefill.replicas).toBe(5);
    expect(run(420).need.prefill).toMatchObject({ replicas: 4, detail: { withinTolerance: false } });
    expect(run(360).need.prefill.replicas).toBe(3);
  });
  it('each role has its own target and current count', () => {
    const spec = makeSpec({ hpa: { prefillRequestsPerReplica: 5, decodeRequestsPerReplica: 1 } });
    // 10 req/s: prefill 2 replicas -> 5 per replica = target -> hold 2; decode 4 replicas -> 2.5 vs 1 -> 10
    const out = run(600, { prefill: 2, decode: 4 }, spec);
    expect([out.need.prefill.replicas, out.need.decode.replicas]).toEqual([2, 10]);
  });
  it('a custom tolerance of 0 acts on any change', () => {
    const spec = makeSpec({ hpa: { tolerance: 0 } });
    expect(run(516, undefined, spec).need.prefill.replicas).toBe(5);
  });
  it('zero traffic gives 0 (pool minimums apply later); no replicas running starts from ceil(rate / target)', () => {
    expect(run(0).need.prefill.replicas).toBe(0);
    expect(run(600, { prefill: 0, decode: 0 }).need.decode.replicas).toBe(5);
  });
  it('a missing request count holds the current counts, never 0', () => {
    const out = run(undefined, { prefill: 3, decode: 0 });
    expect([out.need.prefill.replicas, out.need.decode.replicas]).toEqual([3, 1]);
    expect(out.missing.requests).toBe('held the current replicas (no request count)');
  });
  it('uses the planner interval when the observation has no window', () => {
    const out = hpaPolicy(makeInput({ observation: { time: 't', requests: 3600 }, current: { prefill: 4, decode: 4 } }));
    // 3600 / 180 = 20 req/s over 4 = 5 per replica, ratio 2.5 -> 10
    expect(out.need.prefill.replicas).toBe(10);
  });
  it('hpaDesired is the HPA replica calculation', () => {
    expect(hpaDesired(10, 1.05, 1, 0.1)).toEqual({ replicas: 10, ratio: 1.05, withinTolerance: true });
    expect(hpaDesired(10, 1.5, 1, 0.1)).toEqual({ replicas: 15, ratio: 1.5, withinTolerance: false });
    expect(policies.hpa).toBe(hpaPolicy);
  });
});
