import { describe, expect, it } from 'vitest';
import { loadPolicy, thresholdStep } from '../../../src/policies/load.js';
import { policies } from '../../../src/policies/index.js';
import { makeInput, makeSpec } from './helpers.js';

const run = (obs: { queueDepth?: number; kvUsage?: number }, current = { prefill: 3, decode: 4 }, spec = makeSpec()) =>
  loadPolicy(makeInput({ spec, observation: { time: 't', ...obs }, current }));

describe('load policy: prefill queue per replica (defaults up 4, down 1, step 1)', () => {
  it('adds one above up: 15 queued / 3 = 5 > 4 -> 4', () => {
    const out = run({ queueDepth: 15, kvUsage: 0.5 });
    expect(out.need.prefill.replicas).toBe(4);
    expect(out.need.prefill.detail).toMatchObject({ queuePerReplica: 5, action: 'up' });
  });
  it('holds inside the hysteresis band: 6 / 3 = 2 -> 3; exactly 12 / 3 = 4 (not above) -> 3; exactly 3 / 3 = 1 -> 3', () => {
    expect(run({ queueDepth: 6, kvUsage: 0.5 }).need.prefill.replicas).toBe(3);
    expect(run({ queueDepth: 12, kvUsage: 0.5 }).need.prefill.replicas).toBe(3);
    expect(run({ queueDepth: 3, kvUsage: 0.5 }).need.prefill.replicas).toBe(3);
  });
  it('removes one below down: 2 / 3 = 0.67 < 1 -> 2, never below 1', () => {
    expect(run({ queueDepth: 2, kvUsage: 0.5 }).need.prefill.replicas).toBe(2);
    expect(run({ queueDepth: 0, kvUsage: 0.5 }, { prefill: 1, decode: 1 }).need.prefill.replicas).toBe(1);
  });
  it('starts one replica when requests queue and none is running', () => {
    expect(run({ queueDepth: 1, kvUsage: 0.5 }, { prefill: 0, decode: 1 }).need.prefill.replicas).toBe(1);
  });
  it('a larger step from spec.load.step', () => {
    const spec = makeSpec({ load: { step: 3 } });
    expect(run({ queueDepth: 30, kvUsage: 0.5 }, { prefill: 3, decode: 4 }, spec).need.prefill.replicas).toBe(6);
  });
});

describe('load policy: decode KV usage (defaults up 0.8, down 0.4)', () => {
  it('0.85 -> 5, 0.6 -> 4, exactly 0.8 -> 4, exactly 0.4 -> 4, 0.3 -> 3', () => {
    expect(run({ queueDepth: 6, kvUsage: 0.85 }).need.decode.replicas).toBe(5);
    expect(run({ queueDepth: 6, kvUsage: 0.6 }).need.decode.replicas).toBe(4);
    expect(run({ queueDepth: 6, kvUsage: 0.8 }).need.decode.replicas).toBe(4);
    expect(run({ queueDepth: 6, kvUsage: 0.4 }).need.decode.replicas).toBe(4);
    expect(run({ queueDepth: 6, kvUsage: 0.3 }).need.decode.replicas).toBe(3);
  });
  it('hysteresis: after scaling up at 0.85, usage falling to 0.7 (4 -> 5 replicas spreads 0.85 x 4/5 = 0.68) holds', () => {
    const up = run({ queueDepth: 6, kvUsage: 0.85 }, { prefill: 3, decode: 4 });
    const after = run({ queueDepth: 6, kvUsage: (0.85 * 4) / up.need.decode.replicas }, { prefill: 3, decode: up.need.decode.replicas });
    expect(after.need.decode.replicas).toBe(5);
  });
});

describe('load policy: missing metrics', () => {
  it('keeps the current counts (never 0) and says what it did', () => {
    const out = run({}, { prefill: 0, decode: 4 });
    expect([out.need.prefill.replicas, out.need.decode.replicas]).toEqual([1, 4]);
    expect(out.missing).toEqual({
      queueDepth: 'kept 1 prefill replicas (no queue depth)',
      kvUsage: 'kept 4 decode replicas (no KV-cache usage)',
    });
  });
  it('warns when down is above up', () => {
    const spec = makeSpec({ load: { decodeKvUsage: { up: 0.5, down: 0.6 } } });
    expect(run({ queueDepth: 6, kvUsage: 0.55 }, undefined, spec).warnings).toEqual([
      'spec.load.decodeKvUsage: down 0.6 is above up 0.5; the rule will flap',
    ]);
  });
  it('thresholdStep is the rule itself', () => {
    expect(thresholdStep(2, 10, 4, 1, 2)).toEqual({ replicas: 4, action: 'up' });
    expect(thresholdStep(2, 0.5, 4, 1, 2)).toEqual({ replicas: 1, action: 'down' });
    expect(policies.load).toBe(loadPolicy);
  });
});
