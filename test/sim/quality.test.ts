/**
 * Planner quality on the bundled real traces (bench/quality.ts setups: per-trace SLO, budget 256 GPUs), replayed
 * through the real planner loop and the cluster model, judged against yardsticks that share none of the planner's
 * code: the fluid lower bound and the hindsight schedule (src/sim/yardsticks), every run from the same neutral start.
 *
 * Absolute checks (bench/quality.ts qualityCheck): the default policy meets the SLO (attainment within both targets
 * >= the SLO percentile) and costs at most its trace's hindsightFactor x hindsight's GPU-hours: what the defaults
 * reach with 6-9% to spare (measured at seed 1: azure-code x2 1.74x of a 1.85 factor, azure-conv x4 1.45x of
 * 1.6, mooncake x1 1.45x of 1.55). A planner that scales every need by 2 (test/fixtures/scaled-policy.ts) fails them
 * on every trace; one that scales it by 0.5 fails them too (minimums and step limits keep 0.65-0.81x of the policy's
 * GPU-hours, and it misses the SLO: 88% and 86% on the Azure traces, 38% on Mooncake).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { benchQuality, QUALITY_BASELINES, QUALITY_TRACES, qualityCheck, qualitySpec, type QualityRow } from '../../bench/quality.js';
import { parsePolicyText } from '../../src/config/load.js';
import type { PolicySpec } from '../../src/config/schema.js';
import { loadProfile } from '../../src/profiles/load.js';
import { DEFAULT_POLICY_YAML } from '../../src/sim/default-policy.js';
import { simulate } from '../../src/sim/run.js';
import { readTrace } from '../../src/sim/traces/index.js';
import type { RunResult } from '../../src/sim/types.js';
import { withScaledPolicy } from '../fixtures/scaled-policy.js';

const loaded = parsePolicyText(DEFAULT_POLICY_YAML, '<embedded default policy>', process.cwd());
const profile = loadProfile(loaded.spec.profile, loaded.baseDir);

async function policyOnly(name: string, edit: (spec: PolicySpec) => PolicySpec = (s) => s): Promise<{ run: RunResult; spec: PolicySpec }> {
  const setup = QUALITY_TRACES.find((t) => t.name === name)!;
  const spec = edit(qualitySpec(loaded.spec, setup));
  const trace = await readTrace(setup.path, { rateScale: setup.rateScale, seed: 1 });
  const { runs } = await simulate({ spec, profile, trace, baselines: [], seed: 1 });
  return { run: runs[0] as RunResult, spec };
}

describe.each(QUALITY_TRACES.map((t) => t.name))('planner quality on %s', (name) => {
  const factor = QUALITY_TRACES.find((t) => t.name === name)!.hindsightFactor;
  let row: QualityRow;
  beforeAll(async () => {
    // Every baseline, perfect-forecast included: hindsight must cost no more than any of them that meets the SLO.
    row = (await benchQuality({ traces: [name], baselines: [...QUALITY_BASELINES, 'perfect-forecast'] }))[0] as QualityRow;
  }, 240_000);

  it(`the default policy meets the SLO within the trace's factor of hindsight's GPU-hours`, () => {
    const policy = row.runs.policy!;
    expect(policy.sloMet, `attainment ${policy.attainment}`).toBe(true);
    expect(factor).toBeLessThan(2);
    expect(policy.xHindsight).toBeLessThanOrEqual(factor);
    expect(row.targets).toEqual({ sloMet: true, withinHindsightFactor: true });
  });

  it('hindsight meets the SLO, costs no less than the fluid bound and no more than any other run that meets the SLO', () => {
    const hindsight = row.runs.hindsight!;
    expect(hindsight.sloMet).toBe(true);
    expect(hindsight.gpuHours).toBeGreaterThanOrEqual(row.bound.gpuHours);
    for (const [run, r] of Object.entries(row.runs)) {
      if (r.sloMet) expect(r.gpuHours, `${run} meets the SLO at ${r.gpuHours.toFixed(2)} GPU-h`).toBeGreaterThanOrEqual(hindsight.gpuHours);
    }
  });

  it('a planner that doubles or halves every count fails the same checks (mutation)', async () => {
    for (const scale of [2, 0.5]) {
      const { run, spec } = await withScaledPolicy('sla', scale, () => policyOnly(name));
      const check = qualityCheck(run, row.runs.hindsight!.gpuHours, spec, factor);
      const passes = check.sloMet && check.withinHindsightFactor;
      const figures = `x${scale}: attainment ${run.sloAttainment.both.toFixed(3)}, ${check.xHindsight.toFixed(2)}x hindsight, ${(run.gpuHours.total / row.runs.policy!.gpuHours).toFixed(2)}x the policy's GPU-hours`;
      if (scale < 1 && passes) {
        // Halving the policy's need does not always halve the counts: minimums, the step limits and the readiness gate
        // (scale-downs wait while other replicas start, as on a Dynamo graph) keep them up: on azure-conv x4 the
        // mutant keeps 0.78x the policy's GPU-hours (and misses the SLO, 86%). A mutant that passes must at least not
        // be a halving planner: at 0.8x the policy's GPU-hours or below it has to fail the checks.
        expect(run.gpuHours.total, figures).toBeGreaterThan(0.8 * row.runs.policy!.gpuHours);
        continue;
      }
      expect(passes, figures).toBe(false);
    }
  }, 120_000);

  it('"beats" is Pareto: no baseline that misses the SLO is counted as beaten unless the policy costs at most 10% more', () => {
    for (const r of Object.values(row.runs)) {
      if (!r.verdict || r.sloMet) continue;
      expect(r.policyBeats).toBe(r.gpuHours > 0 && row.runs.policy!.gpuHours <= 1.1 * r.gpuHours);
      expect(r.verdict).toMatch(/GPU-hours$/);
    }
  });
});

describe('what the improvements buy', () => {
  it('azure-code x2: the burst improvement is what meets the SLO (79% without it)', async () => {
    const { run } = await policyOnly('azure-code-2023', (spec) => ({ ...spec, sla: { ...spec.sla, improvements: { ...spec.sla.improvements, burst: false } } }));
    // measured: 78.6% with burst off, TTFT p95 16.9 s
    expect(run.sloAttainment.both).toBeLessThan(0.9);
    expect(run.ttftMs.p95).toBeGreaterThan(5000);
  }, 60_000);
});
