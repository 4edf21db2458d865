/** `pd-planner reserve`: the table, the minReplicas to set, JSON, an answer when no reserve meets the SLO, exit 2 on bad flags. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_YAML } from '../../../src/sim/default-policy.js';
import { registerReserve } from '../../../src/cli/reserve.js';
import { runInProcess } from './cli-helpers.js';

const STEP = 'synthetic:step?steps=0:2,10m:8,20m:3&duration=30m';
/** The README's second traffic: a sixfold step. */
const STEP6 = 'synthetic:step?steps=0:2,10m:12,20m:3&duration=30m';

afterEach(() => {
  process.exitCode = undefined;
});

describe('pd-planner reserve', () => {
  it("names the minReplicas to set on the README's step", async () => {
    const { status, stdout } = await runInProcess(registerReserve, ['reserve', '--trace', STEP]);
    expect(status).toBe(0);
    expect(process.exitCode ?? 0).toBe(0);
    expect(stdout).toContain('1 / 1 (as written)');
    expect(stdout).toMatch(/76\.0%\s+no\s+14\.10/);
    expect(stdout).toContain('fewest replicas to keep running that meet the SLO: 1 prefill / 2 decode: 99.9% at 12.33 GPU-h (0.87× the policy as written)');
    expect(stdout).toContain('spec.pools[2].minReplicas (decode-od): 1 -> 2');
    expect(stdout).not.toContain('spec.pools[0].minReplicas');
    expect(stdout).not.toContain('spec.pools[1].minReplicas');
    expect(stdout).not.toContain('spec.pools[3].minReplicas');
    // 2 / 2 misses and 1 / 2 meets: attainment need not rise with the reserve. 3 / 2 costs fewer GPU-hours.
    expect(stdout).toMatch(/2 \/ 2\s+75\.6%\s+no/);
    expect(stdout).toContain('the run that meets the SLO at the fewest GPU-hours holds more: 3 / 2, 99.9% at 11.85 GPU-h (3.9% less');
    expect(stdout).toContain('; seed 1');
  });

  it('names the what-if knobs the answer was found under', async () => {
    const { stdout } = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--startup-seconds', '60', '--speedup', '1']);
    expect(stdout).toContain('; what-if --startup-seconds 60; seed 1');
    expect(stdout).toContain('Set, with the what-if knobs above applied to the policy:');
  });

  it('says so when the reserve lands on a Spot pool (the on-demand pools full)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-reserve-'));
    const policy = join(dir, 'od-one.yaml');
    // The embedded default with decode-od capped at 1 replica: a second decode replica can only be Spot.
    const text = DEFAULT_POLICY_YAML.replace(/(name: decode-od,.*?maxReplicas: )16/, '$11');
    expect(text).not.toBe(DEFAULT_POLICY_YAML);
    writeFileSync(policy, text);
    try {
      const { status, stdout } = await runInProcess(registerReserve, ['reserve', '--policy', policy, '--trace', STEP]);
      expect(status).toBe(0);
      expect(stdout).toContain('spec.pools[3].minReplicas (decode-spot): 0 -> 1 (a Spot pool: the on-demand pools are at their maxReplicas');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--trace again: the reserve must meet the SLO on each trace; the table shows each', async () => {
    const { status, stdout } = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--trace', 'synthetic:step?steps=0:2,10m:12,20m:3&duration=30m']);
    expect(status).toBe(0);
    expect(stdout).toContain('on each trace (attainment: the worst trace\'s; GPU-h and cost: their sum)');
    expect(stdout).toMatch(/3 \/ 2\s+73\.1%\s+99\.9% \/ 73\.1%\s+no/);
    expect(stdout).toContain('fewest replicas to keep running that meet the SLO: 4 prefill / 2 decode');
  });

  it('--json: the search, with the fields to set', async () => {
    const { status, stdout } = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--json']);
    expect(status).toBe(0);
    const json = JSON.parse(stdout) as Record<string, unknown> & { best: { reserve: { prefill: number; decode: number } }; cheapest: unknown };
    expect(json.traces).toEqual([STEP]);
    expect(json.goal).toBe(0.95);
    expect(json.seed).toBe(1);
    expect(json.maxRuns).toBe(40);
    expect(json.stoppedBy).toBe('met');
    expect(json.best.reserve).toEqual({ prefill: 1, decode: 2 });
    expect(json.cheapest).toMatchObject({ reserve: { prefill: 3, decode: 2 }, meets: true });
    expect(json.minReplicas).toEqual([{ field: 'spec.pools[2].minReplicas', pool: 'decode-od', capacity: 'on-demand', from: 1, to: 2 }]);
  });

  it('a way out when no run meets the SLO (an ITL no replica count meets), exit 0 as for any answer', async () => {
    const { status, stdout } = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--itl-ms', '1']);
    expect(status).toBe(0);
    expect(process.exitCode ?? 0).toBe(0);
    expect(stdout).toContain('no reserve tried meets the SLO');
    expect(stdout).toContain('--startup-seconds');
    process.exitCode = undefined;
    // With a budget that holds the pools' maxReplicas: twice the policy's peak does no better, so the search stops.
    const vast = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--itl-ms', '1', '--gpu-budget', '1000']);
    expect(process.exitCode ?? 0).toBe(0);
    expect(vast.stdout).toMatch(/twice the reserve did no better \(0\.0% at \d+ \/ \d+, 0\.0% at \d+ \/ \d+\): more replicas running do not help/);
  });

  it('a GPU budget below the peak: the reserve the budget holds, and the peak it refused', async () => {
    const { status, stdout } = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--gpu-budget', '32']);
    expect(status).toBe(0);
    expect(process.exitCode ?? 0).toBe(0);
    expect(stdout).toMatch(/fewest replicas to keep running that meet the SLO: \d prefill \/ 2 decode/);
    expect(stdout).toContain('not tried: 5 / 4: spec.budget.maxGpus: 32 GPUs is below the 36');
  });

  it('a budget that refuses the doubled top is not "more replicas do not help"', async () => {
    const { stdout } = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--itl-ms', '25', '--gpu-budget', '160', '--json']);
    const json = JSON.parse(stdout) as { stoppedBy: string; noGain: unknown; best: unknown };
    expect(json.best).toBeNull();
    expect(json.stoppedBy).toBe('refused');
    expect(json.noGain).toBeNull();
    const text = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--itl-ms', '25', '--gpu-budget', '160']);
    expect(text.stdout).not.toContain('twice the reserve did no better');
    expect(text.stdout).toContain('did no better than the policy as written, and the policy\'s own checks refuse larger ones');
  });

  it('--max-runs counts simulations: with two traces, each reserve tried is two', async () => {
    const { stdout } = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--trace', STEP6, '--max-runs', '5', '--json']);
    const json = JSON.parse(stdout) as { simulations: number; trials: unknown[]; truncated: boolean };
    expect(json.simulations).toBeLessThanOrEqual(5);
    expect(json.simulations).toBe(2 * json.trials.length);
    expect(json.truncated).toBe(true);
  });

  it('when nothing meets, says why the search stopped: the run budget or the limits, not the load', async () => {
    const truncated = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--max-runs', '1']);
    expect(process.exitCode ?? 0).toBe(0);
    expect(truncated.stdout).toContain('no run within --max-runs (1 simulations) meets the SLO (best 76.0% at 1 / 1): a larger --max-runs may find a reserve that does');
    expect(truncated.stdout).not.toContain('outruns');
    expect(truncated.stdout).not.toContain('a smaller reserve');
    process.exitCode = undefined;
    const budget = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--gpu-budget', '12']);
    expect(process.exitCode ?? 0).toBe(0);
    expect(budget.stdout).toContain("larger reserves are not tried: the policy's own checks refuse them (not tried, below)");
    expect(budget.stdout).toContain('not tried: 2 / 2: spec.budget.maxGpus: 12 GPUs');
    expect(budget.stdout).not.toContain('outruns');
  });

  it('a trace with no request is exit 2: there is no SLO to meet, not "no reserve meets it" after every rung', async () => {
    const { status, stdout, stderr } = await runInProcess(registerReserve, ['reserve', '--trace', 'synthetic:poisson?rate=0.0001&duration=10m']);
    expect(status).toBe(2);
    expect(stderr).toContain('--trace: synthetic:poisson?rate=0.0001&duration=10m holds no request, so there is no SLO to meet');
    expect(stdout).toBe('');
  });

  it.each([
    [['--max-runs', '0'], '--max-runs: "0" is not a whole number from 1 to 200'],
    [['--trace', STEP6, '--max-runs', '1'], '--max-runs: 1 is below the 2 traces'],
    // The same trace twice would be simulated twice and its GPU-hours summed twice.
    [['--trace', STEP], `--trace: ${STEP} is given twice; give each trace once`],
    [Array.from({ length: 14 }, () => ['--trace', STEP]).flat(), '--trace: given 15 times; at most 14 traces'],
    [['--max-runs', '2.5'], '--max-runs: "2.5" is not a whole number from 1 to 200'],
    [['--trace-format', 'csv'], '--trace-format: "csv" is not one of azure, burstgpt, mooncake, auto'],
    [['--gpu-budget', '4'], "--gpu-budget: 4 GPUs is below the"],
    [['--policy', 'examples/static.yaml'], 'spec.policy: static runs spec.static.replicas at every tick, so a reserve (minReplicas) changes nothing'],
  ])('%j is exit 2 naming the flag', async (flags, message) => {
    const { status, stderr } = await runInProcess(registerReserve, ['reserve', '--trace', STEP, ...flags]);
    expect(status).toBe(2);
    expect(stderr).toContain(message);
  });
});
