/** The desired GPU-hours of a run by layer (src/sim/layer-hours.ts): each decision for as long as it stood. */
import { describe, expect, it } from 'vitest';
import { GPU_LAYERS } from '../../../src/planner/gpu-layers.js';
import type { Decision } from '../../../src/planner/types.js';
import { layerHours } from '../../../src/sim/layer-hours.js';
import { makeSpec } from '../constraints/helpers.js';

const spec = makeSpec({
  pools: [
    { name: 'p', role: 'prefill', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 10 },
    { name: 'd', role: 'decode', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 10 },
  ],
});

/** A decision of `p` prefill and `d` decode replicas, all of it the policy's need, with a spare of one prefill. */
function decided(p: number, d: number, spare = 0): Decision {
  const pool = (role: 'prefill' | 'decode', desired: number) => ({ desired, role, capacity: 'on-demand' as const, gpus: desired * 4, boundBy: [] });
  return {
    time: '',
    pools: { p: pool('prefill', p), d: pool('decode', d) },
    explanation: {
      policy: 'static', held: false, warnings: [], missing: {},
      need: { prefill: { replicas: p - spare, detail: {} }, decode: { replicas: d, detail: {} } },
      constraints: spare > 0 ? [{ constraint: 'eviction-headroom', role: 'prefill', from: p - spare, to: p, detail: '' }] : [],
    },
  };
}

const total = (l: Record<string, number>) => GPU_LAYERS.reduce((s, k) => s + l[k]!, 0);

describe('layerHours', () => {
  it('the worked example: warm start 16 GPUs until 60 s, need 12 + spare 4 until 120 s, need 8 until 180 s', () => {
    const hours = layerHours(spec, { p: 2, d: 2 });
    hours.decided(60, decided(3, 1, 1));
    hours.decided(120, decided(1, 1));
    hours.until(180);
    const l = hours.result()!;
    expect(l.start).toBeCloseTo((16 * 60) / 3600, 12);
    expect(l.need).toBeCloseTo(((12 + 8) * 60) / 3600, 12);
    expect(l.evictionSpare).toBeCloseTo((4 * 60) / 3600, 12);
    expect(total(l)).toBeCloseTo((16 + 16 + 8) / 60, 12);
  });

  it('a poll decided at the second of the tick stands for no time; the end counted twice counts once', () => {
    const hours = layerHours(spec, { p: 1, d: 1 });
    hours.decided(60, decided(5, 5));
    hours.decided(60, decided(1, 1));
    hours.until(120);
    hours.until(120);
    expect(total(hours.result()!)).toBeCloseTo((8 * 60 + 8 * 60) / 3600, 12);
  });

  it('a run with no decision (a schedule, Dynamo as it ships) has no layers', () => {
    const hours = layerHours(spec, { p: 1, d: 1 });
    hours.until(600);
    expect(hours.result()).toBeUndefined();
  });
});
