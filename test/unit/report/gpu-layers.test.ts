/** The "where the GPU-hours went" sentence of the reports (src/sim/report/gpu-layers.ts). */
import { describe, expect, it } from 'vitest';
import { emptyLayers } from '../../../src/planner/gpu-layers.js';
import { gpuLayerLine, gpuLayerLines } from '../../../src/sim/report/gpu-layers.js';

const gpuHours = { total: 14.1, spot: 6.26, onDemand: 7.84 };

describe('gpuLayerLine', () => {
  it('names the need first, then every other layer by size with its share, signed', () => {
    const layers = { ...emptyLayers(), start: 0.13, need: 7.5, margins: 2.61, evictionSpare: 3.21, stabilization: 0.67, readinessGate: -0.07, stepLimits: 0.001 };
    expect(gpuLayerLine({ policy: 'policy', gpuHours, desiredGpuHours: layers })).toBe(
      'policy: desired 14.05 GPU-hours = need 7.50 + Spot eviction spare 3.21 (22.8%) + ' +
        "the policy's margins over the bare need (target utilisation, corrections, burst, lead time, SLO headroom, holds) 2.61 (18.6%) + " +
        'stabilization windows 0.67 (4.8%) + warm start before the first decision 0.13 (0.9%) - readiness gate 0.07 (0.5%); ran 14.10.',
    );
  });

  it('says nothing for a run without layers (a schedule, Dynamo as it ships) or with none desired', () => {
    expect(gpuLayerLine({ policy: 'hindsight', gpuHours })).toBeUndefined();
    expect(gpuLayerLines([{ policy: 'idle', gpuHours, desiredGpuHours: emptyLayers() }, { policy: 'hindsight', gpuHours }])).toEqual([]);
  });
});
