/**
 * decisionGpuLayers: a decision's GPUs by what asked for them, from its explanation (the worked example of
 * src/planner/gpu-layers.ts), and the same layers added up over a simulated run.
 */
import { describe, expect, it } from 'vitest';
import { decisionGpuLayers, GPU_LAYERS, type GpuLayers } from '../../../src/planner/gpu-layers.js';
import type { ConstraintEffect, Decision, PoolDecision } from '../../../src/planner/types.js';
import { decide } from '../../../src/planner/decide.js';
import { initialState } from '../../../src/planner/state.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { simulate } from '../../../src/sim/run.js';
import { readTrace } from '../../../src/sim/traces/index.js';
import { makeSpec, T0 } from '../constraints/helpers.js';

const SPEC = makeSpec({
  policy: 'sla',
  pools: [
    { name: 'prefill-spot', role: 'prefill', capacity: 'spot', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 12 },
    { name: 'prefill-od', role: 'prefill', capacity: 'on-demand', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 8 },
    { name: 'decode-od', role: 'decode', capacity: 'on-demand', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 8 },
  ],
});

function pool(role: 'prefill' | 'decode', desired: number): PoolDecision {
  return { desired, role, capacity: 'on-demand', gpus: desired * 4, boundBy: [] };
}

function decision(pools: Record<string, PoolDecision>, need: Decision['explanation']['need'], constraints: ConstraintEffect[]): Decision {
  return { time: '2026-01-14T12:00:00.000Z', pools, explanation: { policy: 'sla', held: false, need, constraints, warnings: [], missing: {} } };
}

function total(layers: GpuLayers): number {
  return GPU_LAYERS.reduce((sum, layer) => sum + layers[layer], 0);
}

describe('decisionGpuLayers', () => {
  it('splits the worked example: need, eviction spare, scale-down window, readiness gate', () => {
    // prefill: need 3, +1 spare, the window keeps 5 (2 Spot + 3 on-demand); decode: need 2, +1 spare, the gate keeps 2.
    const d = decision(
      { 'prefill-spot': pool('prefill', 2), 'prefill-od': pool('prefill', 3), 'decode-od': pool('decode', 2) },
      { prefill: { replicas: 3, detail: {} }, decode: { replicas: 2, detail: {} } },
      [
        { constraint: 'eviction-headroom', role: 'prefill', from: 3, to: 4, detail: '' },
        { constraint: 'eviction-headroom', role: 'decode', from: 2, to: 3, detail: '' },
        { constraint: 'spot-cap', role: 'prefill', from: 4, to: 2, detail: '' },
        { constraint: 'stabilization', pool: 'prefill-od', role: 'prefill', from: 2, to: 3, detail: '' },
        { constraint: 'readiness', pool: 'decode-od', role: 'decode', from: 3, to: 2, detail: '' },
      ],
    );
    const layers = decisionGpuLayers(SPEC, d);
    expect(layers).toMatchObject({ need: 20, evictionSpare: 8, stabilization: 4, readinessGate: -4, margins: 0, other: 0 });
    expect(total(layers)).toBe(28);
  });

  it('splits an sla need at its bare need, and counts a held role as held', () => {
    const d = decision(
      { 'prefill-spot': pool('prefill', 0), 'prefill-od': pool('prefill', 6), 'decode-od': pool('decode', 3) },
      { prefill: { replicas: 6, detail: { bareReplicas: 4 } }, decode: { replicas: 3, detail: { held: true, reason: 'no ITL' } } },
      [],
    );
    expect(decisionGpuLayers(SPEC, d)).toMatchObject({ need: 16, margins: 8, held: 12, other: 0 });
  });

  it('a pool\'s hard bound first takes back what its window or step limit changed the other way', () => {
    // decode: need 2, the count known to run is 7 (role hold +5); the scale-up window holds the pool at 0 (-7) and the
    // hold raises it back to 7 (+7): the window kept nothing from it. prefill-od: need 10, the step limit cuts 10 to 4
    // (-6) and a schedule raises it to 8 (+4): the step limit took 2.
    const d = decision(
      { 'prefill-spot': pool('prefill', 0), 'prefill-od': pool('prefill', 8), 'decode-od': pool('decode', 7) },
      { prefill: { replicas: 10, detail: {} }, decode: { replicas: 2, detail: {} } },
      [
        { constraint: 'hold', role: 'decode', from: 2, to: 7, detail: '' },
        { constraint: 'step-up', pool: 'prefill-od', role: 'prefill', from: 10, to: 4, detail: '' },
        { constraint: 'schedule', pool: 'prefill-od', role: 'prefill', from: 4, to: 8, detail: '' },
        { constraint: 'stabilization', pool: 'decode-od', role: 'decode', from: 7, to: 0, detail: '' },
        { constraint: 'hold', pool: 'decode-od', role: 'decode', from: 0, to: 7, detail: '' },
      ],
    );
    const layers = decisionGpuLayers(SPEC, d);
    expect(layers).toMatchObject({ need: 48, stepLimits: -8, stabilization: 0, minimums: 20, other: 0 });
    expect(total(layers)).toBe(60);
  });

  it('leaves to `other` what no effect explains, so the layers still add up', () => {
    const d = decision(
      { 'prefill-spot': pool('prefill', 1), 'prefill-od': pool('prefill', 3), 'decode-od': pool('decode', 1) },
      { prefill: { replicas: 3, detail: {} }, decode: { replicas: 1, detail: {} } },
      [],
    );
    const layers = decisionGpuLayers(SPEC, d);
    expect(layers.other).toBe(4);
    expect(total(layers)).toBe(20);
  });
});

describe('decisionGpuLayers of decide(): the Spot split and pool minimums', () => {
  const profile = loadProfile('builtin:dynamo-format-synthetic', process.cwd());
  const splitSpec = (spotGpus: number, odMin: number, maxShare: number) =>
    makeSpec({
      policy: 'static',
      static: { replicas: { 'p-od': odMin > 0 ? 3 : 2, d: 1 } },
      spot: { maxShare, onDemandFloor: 1, evictionRatePerHour: 0 },
      pools: [
        { name: 'p-od', role: 'prefill', capacity: 'on-demand', gpusPerReplica: 4, minReplicas: odMin, maxReplicas: 8 },
        { name: 'p-spot', role: 'prefill', capacity: 'spot', gpusPerReplica: spotGpus, minReplicas: 0, maxReplicas: 8 },
        { name: 'd', role: 'decode', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 8 },
      ],
    });
  const decideOnce = (spec: ReturnType<typeof makeSpec>) =>
    decide({ spec, profile, observation: { time: '', windowSeconds: 60, requests: 10 }, state: initialState(), now: T0 }).decision;

  it('an on-demand side held at its pools\' minimums is part of the total: Spot has the rest, nothing counts as minimums', () => {
    // Need 3 prefill of 4 GPUs, the on-demand pool's minimum 2: Spot min(floor(0.7 x 3), 3 - 1, 3 - 2) = 1 -> 1 + 2 = 3
    // run (12 GPUs, all need; decode's 1 replica 4 more), not 2 on Spot beside the 2 (16 prefill GPUs, 4 of them minimums).
    const decision = decideOnce(splitSpec(4, 2, 0.7));
    expect(decision.pools['p-spot']?.desired).toBe(1);
    expect(decision.pools['p-od']?.desired).toBe(2);
    expect(decision.explanation.constraints.filter((e) => e.constraint === 'min')).toEqual([]);
    expect(decision.explanation.constraints.find((e) => e.role === 'prefill')).toMatchObject({ constraint: 'on-demand-floor', from: 3, to: 1 });
    expect(decisionGpuLayers(splitSpec(4, 2, 0.7), decision)).toMatchObject({ need: 16, minimums: 0, other: 0 });
  });

  it('leaves the rounding up to a Spot replica larger than the role unit to `other`, not to minimums', () => {
    // Need 2 prefill of 4 GPUs (the first pool's size): 1 on Spot = one 8-GPU replica, 1 on-demand; no minimum above 0.
    const spec = splitSpec(8, 0, 0.5);
    const decision = decideOnce(spec);
    expect(decision.pools['p-spot']?.desired).toBe(1);
    expect(decision.pools['p-od']?.desired).toBe(1);
    expect(decision.explanation.constraints.filter((e) => e.constraint === 'min')).toEqual([]);
    expect(decisionGpuLayers(spec, decision)).toMatchObject({ need: 12, minimums: 0, other: 4 });
  });
});

describe('decisionGpuLayers of decide(): sla splits its bare need off with or without its SLO loop', () => {
  const profile = loadProfile('builtin:dynamo-format-synthetic', process.cwd());
  for (const sloFeedback of [true, false]) {
    it(`sloFeedback ${sloFeedback}: the need shows bareReplicas, and what sla asked over it are its margins`, () => {
      const spec = makeSpec({
        policy: 'sla',
        slo: { ttft: { ms: 2000 }, itl: { ms: 60 } },
        sla: { improvements: { sloFeedback } },
        stabilization: { scaleDown: '0s' },
        pools: [
          { name: 'p', role: 'prefill', gpusPerReplica: 2, minReplicas: 0, maxReplicas: 100 },
          { name: 'd', role: 'decode', gpusPerReplica: 2, minReplicas: 0, maxReplicas: 100 },
        ],
      });
      const observation = { time: '', windowSeconds: 60, requests: 30000, isl: 3000, osl: 150 };
      const { decision } = decide({ spec, profile, observation, state: initialState(), now: T0 });
      const prefill = decision.explanation.need.prefill!;
      expect(typeof prefill.detail.bareReplicas).toBe('number');
      const bare = Math.ceil(prefill.detail.bareReplicas as number);
      expect(bare).toBeGreaterThan(0);
      // Utilisation 0.85 and the burst allowance put the sized need above the bare one.
      expect(Math.ceil(prefill.replicas)).toBeGreaterThan(bare);
      const layers = decisionGpuLayers(spec, decision);
      const bareDecode = Math.ceil(decision.explanation.need.decode!.detail.bareReplicas as number);
      expect(layers.need).toBe((bare + bareDecode) * 2);
      expect(layers.margins).toBeGreaterThan(0);
    });
  }
});

describe('desired GPU-hours by layer over a simulated run', () => {
  it('on a flat load: the eviction spare is one replica per role for the whole run, and the layers add up to what ran', async () => {
    const spec = makeSpec({
      policy: 'sla',
      profile: 'builtin:llama2-70b-h100-tp4',
      slo: { ttft: { ms: 2000, percentile: 95 }, itl: { ms: 60, percentile: 95 } },
      spot: { evictionRatePerHour: 0.05, maxShare: 0.6 },
      pools: [
        { name: 'prefill-od', role: 'prefill', capacity: 'on-demand', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16, startupSeconds: '180s' },
        { name: 'prefill-spot', role: 'prefill', capacity: 'spot', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 16, startupSeconds: '180s' },
        { name: 'decode-od', role: 'decode', capacity: 'on-demand', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16, startupSeconds: '180s' },
        { name: 'decode-spot', role: 'decode', capacity: 'spot', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 16, startupSeconds: '180s' },
      ],
    });
    const profile = loadProfile(spec.profile, process.cwd());
    const trace = await readTrace('synthetic:step?steps=0:8&duration=40m', { seed: 1 });
    const result = await simulate({ spec, profile, trace, baselines: [], seed: 1, evictions: { ratePerHour: 0 } });
    const run = result.runs[0]!;
    const layers = run.desiredGpuHours!;
    expect(layers).toBeDefined();
    // 40 minutes, the warm start for the first 60 s: one 4-GPU spare per role from then on = 8 x 39/60 = 5.2 GPU-h.
    expect(layers.evictionSpare).toBeCloseTo(5.2, 1);
    expect(layers.start).toBeGreaterThan(0);
    expect(layers.other).toBe(0);
    // What the decisions asked for is what ran, less the replicas ordered and not yet started (none are evicted here).
    expect(total(layers)).toBeGreaterThan(run.gpuHours.total * 0.97);
    expect(total(layers)).toBeLessThan(run.gpuHours.total * 1.03);
    // The bare need alone is under what ran: the margins and the spare are on top of it.
    expect(layers.need).toBeGreaterThan(0);
    expect(layers.need + layers.evictionSpare).toBeLessThan(total(layers) + 1e-9);
  });
});
