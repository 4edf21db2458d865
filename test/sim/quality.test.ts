/**
 * Planner quality on the bundled real traces (bench/quality.ts setups: per-trace SLO, budget 256 GPUs), replayed
 * through the real planner loop and the cluster model. Numbers measured at seed 1 (bench/quality-run.ts prints them);
 * the assertions leave a margin of about a point of attainment and a few percent of GPU-hours.
 */
import { describe, expect, it } from 'vitest';
import { QUALITY_TRACES, qualitySpec } from '../../bench/quality.js';
import { parsePolicyText } from '../../src/config/load.js';
import type { PolicySpec } from '../../src/config/schema.js';
import { loadProfile } from '../../src/profiles/load.js';
import { DEFAULT_POLICY_YAML } from '../../src/sim/default-policy.js';
import { simulate } from '../../src/sim/run.js';
import { readTrace } from '../../src/sim/traces/index.js';
import type { RunResult } from '../../src/sim/types.js';

const loaded = parsePolicyText(DEFAULT_POLICY_YAML, '<embedded default policy>', process.cwd());
const profile = loadProfile(loaded.spec.profile, loaded.baseDir);

async function run(name: string, edit: (spec: PolicySpec) => PolicySpec = (s) => s, baselines: ('hpa' | 'dynamo' | 'oracle')[] = ['hpa', 'dynamo', 'oracle']) {
  const setup = QUALITY_TRACES.find((t) => t.name === name)!;
  const spec = edit(qualitySpec(loaded.spec, setup));
  const trace = await readTrace(setup.path, { rateScale: setup.rateScale, seed: 1 });
  const { runs } = await simulate({ spec, profile, trace, baselines, seed: 1 });
  return Object.fromEntries(runs.map((r) => [r.policy, r])) as Record<string, RunResult>;
}

const withImprovements = (improvements: Partial<PolicySpec['sla']['improvements']>) => (spec: PolicySpec): PolicySpec => ({
  ...spec,
  sla: { ...spec.sla, improvements: { ...spec.sla.improvements, ...improvements } },
});

describe('planner quality on real traces', () => {
  it('azure-code x2 (sub-minute bursts): sla meets the 95% SLO where dynamo gets 35% and hpa 62%, within 1.35 x oracle', async () => {
    const r = await run('azure-code-2023');
    // measured: sla 96.0% at 67.1 GPU-h; oracle 97.6% at 51.2; hpa 61.5%; dynamo 35.0%. (hpa-tuned needs 79.5 GPU-h to
    // meet the SLO: bench/matrix.ts.) The oracle trims with the SLO loop from its first minute; the policy waits for
    // 15 minutes of evidence and sizes for its forecast's upper bound on this very bursty trace.
    expect(r.policy!.sloAttainment.both).toBeGreaterThanOrEqual(0.95);
    expect(r.dynamo!.sloAttainment.both).toBeLessThan(0.45);
    expect(r.hpa!.sloAttainment.both).toBeLessThan(0.65);
    expect(r.oracle!.sloAttainment.both).toBeGreaterThanOrEqual(0.97);
    expect(r.policy!.gpuHours.total).toBeLessThanOrEqual(1.35 * r.oracle!.gpuHours.total);
  });

  it('azure-code x2: the burst improvement is what meets the SLO (85% without it)', async () => {
    const off = await run('azure-code-2023', withImprovements({ burst: false }), []);
    // measured: 85.4% with burst off, TTFT p95 8.8 s
    expect(off.policy!.sloAttainment.both).toBeLessThan(0.9);
    expect(off.policy!.ttftMs.p95).toBeGreaterThan(5000);
  });

  it('azure-conv x4 (smooth): sla meets the SLO within 1.25 x oracle; dynamo misses at 76%', async () => {
    const r = await run('azure-conv-2023', (s) => s, ['dynamo', 'oracle']);
    // measured: sla 99.8% at 62.1 GPU-h; oracle 99.8% at 51.5; dynamo 75.7%
    expect(r.policy!.sloAttainment.both).toBeGreaterThanOrEqual(0.97);
    expect(r.policy!.gpuHours.total).toBeLessThanOrEqual(1.25 * r.oracle!.gpuHours.total);
    expect(r.dynamo!.sloAttainment.both).toBeLessThan(0.8);
  });

  it('mooncake x1 (long prompts, TTFT p95 8 s): sla meets it within 1.1 x hpa and below the oracle; dynamo 60%', async () => {
    const r = await run('mooncake-synthetic');
    // measured: sla 98.7% at 19.3 GPU-h; hpa 98.7% at 18.3; oracle 98.8% at 21.2; dynamo 60.3%
    expect(r.policy!.sloAttainment.both).toBeGreaterThanOrEqual(0.97);
    expect(r.policy!.gpuHours.total).toBeLessThanOrEqual(1.1 * r.hpa!.gpuHours.total);
    expect(r.policy!.gpuHours.total).toBeLessThanOrEqual(r.oracle!.gpuHours.total);
    expect(r.dynamo!.sloAttainment.both).toBeLessThan(0.7);
  });
});
