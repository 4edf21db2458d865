/** `pd-planner reserve`: the table, the minReplicas to set, JSON, an answer when no reserve meets the SLO, exit 2 on bad flags. */
import { afterEach, describe, expect, it } from 'vitest';
import { registerReserve } from '../../../src/cli/reserve.js';
import { runInProcess } from './cli-helpers.js';

const STEP = 'synthetic:step?steps=0:2,10m:8,20m:3&duration=30m';

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
    expect(stdout).toMatch(/cheapest reserve that meets the SLO: \d prefill \/ 2 decode replicas always running/);
    expect(stdout).toContain('spec.pools[2].minReplicas (decode-od): 1 -> 2');
  });

  it('--trace again: the reserve must meet the SLO on each trace; the table shows each', async () => {
    const { status, stdout } = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--trace', 'synthetic:step?steps=0:2,10m:12,20m:3&duration=30m']);
    expect(status).toBe(0);
    expect(stdout).toContain('on each trace (attainment: the worst trace\'s; GPU-h and cost: their sum)');
    expect(stdout).toMatch(/2 \/ 2\s+73\.1%\s+99\.9% \/ 73\.1%\s+no/);
    expect(stdout).toContain('cheapest reserve that meets the SLO: 3 prefill / 2 decode replicas always running');
  });

  it('--json: the search, with the fields to set', async () => {
    const { status, stdout } = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--json']);
    expect(status).toBe(0);
    const json = JSON.parse(stdout) as { traces: string[]; goal: number; best: { reserve: { decode: number } }; minReplicas: { field: string; to: number }[] };
    expect(json.traces).toEqual([STEP]);
    expect(json.goal).toBe(0.95);
    expect(json.best.reserve.decode).toBe(2);
    expect(json.minReplicas).toContainEqual({ field: 'spec.pools[2].minReplicas', pool: 'decode-od', from: 1, to: 2 });
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
    expect(stdout).toMatch(/cheapest reserve that meets the SLO: \d prefill \/ 2 decode replicas always running/);
    expect(stdout).toContain('not tried: 5 / 4: spec.budget.maxGpus: 32 GPUs is below the 36');
  });

  it('when nothing meets, says why the search stopped: the run budget or the limits, not the load', async () => {
    const truncated = await runInProcess(registerReserve, ['reserve', '--trace', STEP, '--max-runs', '1']);
    expect(process.exitCode ?? 0).toBe(0);
    expect(truncated.stdout).toContain('no run within --max-runs 1 meets the SLO (best 76.0% at 1 / 1): a larger --max-runs may find a reserve that does');
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
