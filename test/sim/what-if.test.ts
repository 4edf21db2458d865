/**
 * What-if answers that agree with each other (the default policy, simulated): a shorter startup never costs more
 * GPU-hours, and a larger GPU budget never lowers attainment, beyond noise. A simulation is deterministic for a seed, so
 * the allowance is for decisions that land a tick apart: 2% of GPU-hours (one 4-GPU replica for 10 minutes of a 35
 * GPU-hour run) and half a point of attainment.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../src/config/load.js';
import { loadProfile } from '../../src/profiles/load.js';
import { DEFAULT_POLICY_YAML } from '../../src/sim/default-policy.js';
import { applyWhatIf, type WhatIf } from '../../src/sim/overrides.js';
import { simulate } from '../../src/sim/run.js';
import { BUNDLED_TRACES, readTrace } from '../../src/sim/traces/index.js';
import type { RunResult } from '../../src/sim/types.js';

const loaded = parsePolicyText(DEFAULT_POLICY_YAML, '<embedded default policy>', process.cwd());
const profile = loadProfile(loaded.spec.profile, loaded.baseDir);
const GPU_HOURS_NOISE = 0.02;
const ATTAINMENT_NOISE = 0.005;

async function sweep(tracePath: string, whatIfs: WhatIf[]): Promise<RunResult[]> {
  const trace = await readTrace(tracePath, { seed: 1 });
  const out: RunResult[] = [];
  for (const w of whatIfs) out.push((await simulate({ spec: applyWhatIf(loaded.spec, w), profile, trace, baselines: [], seed: 1 })).runs[0] as RunResult);
  return out;
}

describe('coherent what-ifs', () => {
  it('startup-seconds 60s, 120s, 240s, 600s on the bundled code trace: GPU-hours never fall as startup grows', async () => {
    const runs = await sweep(BUNDLED_TRACES.azureCode2023, [60, 120, 240, 600].map((s) => ({ startupSeconds: s })));
    const gpuHours = runs.map((r) => r.gpuHours.total);
    // measured: 29.8, 29.7, 36.4, 52.1 (60 s and 120 s within the noise allowance)
    for (let i = 1; i < gpuHours.length; i++) expect(gpuHours[i - 1]!).toBeLessThanOrEqual(gpuHours[i]! * (1 + GPU_HOURS_NOISE));
    expect(gpuHours[3]! / gpuHours[0]!).toBeGreaterThan(1.3);
  });

  it('gpu-budget 24, 32, 48, 128 on a ramp: attainment never falls as the budget grows, and the budget binds', async () => {
    const runs = await sweep('scenario:ramp?seed=2', [24, 32, 48, 128].map((g) => ({ gpuBudget: g })));
    const attainment = runs.map((r) => r.sloAttainment.both);
    // measured: 24.3%, 99.5%, 99.8%, 99.8%
    for (let i = 1; i < attainment.length; i++) expect(attainment[i]!).toBeGreaterThanOrEqual(attainment[i - 1]! - ATTAINMENT_NOISE);
    expect(attainment[0]!).toBeLessThan(0.5);
    expect(attainment[3]!).toBeGreaterThan(0.99);
  });
});
