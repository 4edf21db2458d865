/**
 * What-if flags go through the policy's own checks: a value that makes the policy invalid is exit 2 naming the
 * flag (never a run labelled with a setting it could not honour), and each flag's value is range-checked.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyFile } from '../../../src/config/load.js';
import { registerSimulate } from '../../../src/cli/simulate.js';
import { registerSweep, sweepWarnings } from '../../../src/cli/sweep.js';
import { traceFormatOption } from '../../../src/cli/options.js';
import { InputError } from '../../../src/errors.js';
import { applyWhatIfChecked, parseSweepParam, WHAT_IF_PARAMS } from '../../../src/sim/overrides.js';
import { ROOT, runInProcess } from './cli-helpers.js';

const POLICY = join(ROOT, 'test/fixtures/bad-input/valid-policy.yaml'); // two pools, min 1 x 4 GPUs each: 8 GPUs
const TRACE = join(ROOT, 'test/fixtures/bad-input/valid-trace.csv');
const spec = loadPolicyFile(POLICY, { checkProfile: false }).spec;

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError) return error.problems;
    throw error;
  }
  return [];
}

describe('applyWhatIfChecked', () => {
  it('names the flag when the budget cannot hold the minimums', () => {
    expect(problems(() => applyWhatIfChecked(spec, { gpuBudget: 4 }))).toEqual([
      "--gpu-budget: 4 GPUs is below the 8 the pools' minReplicas need (prefill-od 1x4, decode-od 1x4)",
    ]);
  });

  it('in a sweep, names the swept value', () => {
    expect(problems(() => applyWhatIfChecked(spec, { gpuBudget: 4 }, (name, value) => `--param ${name}=${value}`))).toEqual([
      "--param gpu-budget=4: 4 GPUs is below the 8 the pools' minReplicas need (prefill-od 1x4, decode-od 1x4)",
    ]);
  });

  it('passes a value that fits, and returns the spec unchanged when no knob is set', () => {
    expect(applyWhatIfChecked(spec, { gpuBudget: 8 }).budget.maxGpus).toBe(8);
    expect(applyWhatIfChecked(spec, {})).toBe(spec);
  });
});

describe('flag values', () => {
  const parse = (name: string, text: string) => problems(() => parseSweepParam(`${name}=${text}`));
  it.each([
    ['gpu-budget', '1e300', '--param gpu-budget: "1e300" is more than 10000000, the most allowed'],
    ['ttft-ms', '0x10', '--param ttft-ms: "0x10" is not a positive number'],
    ['eviction-rate', '1e9', '--param eviction-rate: "1e9" is more than 60, the most allowed'],
    ['startup-seconds', '2d', '--param startup-seconds: "2d" is more than 86400 (1d), the most allowed'],
    ['spot-share', '2', '--param spot-share: "2" is not a share between 0 and 1'],
    // A target no request can miss would let the yardsticks' searches follow requests for ever.
    ['itl-ms', '1e300', '--param itl-ms: "1e300" is more than 60000 ms (a minute per token), the most allowed'],
    ['ttft-ms', '1e7', '--param ttft-ms: "1e7" is more than 3600000 ms (an hour), the most allowed'],
    // Swept arrival rates within the range --rate-scale takes (1e-300 ran a trace of no request).
    ['rate-scale', '1e-300', '--param rate-scale: "1e-300" is less than 0.000001, the least allowed'],
    ['rate-scale', '1e9', '--param rate-scale: "1e9" is more than 1000000, the most allowed'],
    ['startup-seconds', '1e9', '--param startup-seconds: "1e9" is more than 86400 (1d), the most allowed'],
    ['startup-seconds', '-1e3', '--param startup-seconds: "-1e3" is not a number of seconds or a duration such as "90s" or "4m"'],
    // A value twice would be the same scenario simulated and shown twice.
    ['gpu-budget', '16,32,16', '--param gpu-budget: "16" is given twice; give each value once'],
    ['startup-seconds', '90,1m30s', '--param startup-seconds: "1m30s" is the same value as "90" (90 s); give each value once'],
  ])('%s=%s is refused', (name, text, line) => {
    expect(parse(name, text)).toEqual([line]);
  });

  it('--startup-seconds takes a plain number of seconds, as the policy field does', () => {
    expect(WHAT_IF_PARAMS['startup-seconds']!.parse('240')).toBe(240);
    expect(WHAT_IF_PARAMS['startup-seconds']!.parse('4m')).toBe(240);
    // Written as the other knobs' numbers are ("--ttft-ms 1e3" is taken): "1e3" is 1000 seconds, not "not a number".
    expect(WHAT_IF_PARAMS['startup-seconds']!.parse('1e3')).toBe(1000);
    expect(WHAT_IF_PARAMS['startup-seconds']!.parse('0')).toBe(0);
  });

  it('a parameter named like an Object property is unknown, not a crash', () => {
    expect(parse('constructor', '1')[0]).toMatch(/^--param: unknown parameter "constructor"/);
    expect(parse('__proto__', '1')[0]).toMatch(/^--param: unknown parameter "__proto__"/);
  });
});

describe('through the commands (exit 2 before any simulation)', () => {
  it('simulate --gpu-budget 4 where the minimums need 8', async () => {
    const result = await runInProcess(registerSimulate, ['simulate', '--policy', POLICY, '--trace', TRACE, '--gpu-budget', '4', '--baselines', 'none']);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe("--gpu-budget: 4 GPUs is below the 8 the pools' minReplicas need (prefill-od 1x4, decode-od 1x4)\n");
  });

  it('simulate --rate-scale 1e15 and --seed 1e300 are range errors naming the flag', async () => {
    const scale = await runInProcess(registerSimulate, ['simulate', '--policy', POLICY, '--trace', TRACE, '--rate-scale', '1e15']);
    expect(scale.stderr).toBe('--rate-scale: "1e15" is not a number from 0.000001 to 1000000\n');
    const seed = await runInProcess(registerSimulate, ['simulate', '--policy', POLICY, '--trace', TRACE, '--seed', '1e300']);
    expect(seed.stderr).toBe('--seed: "1e300" is not a whole number from 0 to 4294967295\n');
  });

  it('sweep: the swept parameter given again as its own flag is refused, not silently overridden', async () => {
    const ttft = await runInProcess(registerSweep, ['sweep', '--param', 'ttft-ms=500,800', '--ttft-ms', '600', '--policy', POLICY, '--trace', TRACE]);
    expect(ttft.status).toBe(2);
    expect(ttft.stdout).toBe('');
    expect(ttft.stderr).toBe('--ttft-ms: ttft-ms is the swept parameter (--param ttft-ms=500,800); leave --ttft-ms out, or sweep another parameter\n');
    const scale = await runInProcess(registerSweep, ['sweep', '--param', 'rate-scale=1,2', '--rate-scale', '3', '--policy', POLICY, '--trace', TRACE]);
    expect(scale.status).toBe(2);
    expect(scale.stderr).toBe('--rate-scale: rate-scale is the swept parameter (--param rate-scale=1,2); leave --rate-scale out, or sweep another parameter\n');
  });

  it('sweep --threads is bounded: each worker thread holds its own modules and trace', async () => {
    const result = await runInProcess(registerSweep, ['sweep', '--param', 'gpu-budget=16', '--threads', '100000', '--policy', POLICY, '--trace', TRACE, '--baselines', 'none', '--json']);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('--threads: "100000" is not a whole number from 1 to 64\n');
  });

  it('--trace-format with only generated traces is refused (it was dropped silently), and kept when a file is read', async () => {
    const spec = 'synthetic:poisson?rate=1&duration=5m';
    const simulate = await runInProcess(registerSimulate, ['simulate', '--policy', POLICY, '--trace', spec, '--trace-format', 'azure', '--baselines', 'none', '--json']);
    expect(simulate.status).toBe(2);
    expect(simulate.stdout).toBe('');
    expect(simulate.stderr).toBe(`--trace-format: azure is for trace files, and ${spec} is generated (synthetic: or scenario:); leave --trace-format out\n`);
    const sweep = await runInProcess(registerSweep, ['sweep', '--param', 'gpu-budget=16', '--policy', POLICY, '--trace', 'scenario:ramp?seed=2', '--trace-format', 'mooncake']);
    expect(sweep.stderr).toBe('--trace-format: mooncake is for trace files, and scenario:ramp?seed=2 is generated (synthetic: or scenario:); leave --trace-format out\n');
    expect(traceFormatOption('azure', [spec, TRACE])).toBe('azure');
    expect(traceFormatOption('azure', [undefined])).toBe('azure'); // the bundled trace is a file
    expect(traceFormatOption('auto', [spec])).toBe('auto');
  });

  it('simulate --current: today\'s counts outside the policy\'s bounds are warned on the terminal (they were only in report.md)', async () => {
    const result = await runInProcess(registerSimulate, ['simulate', '--policy', POLICY, '--trace', 'synthetic:poisson?rate=1&duration=3m', '--baselines', 'none', '--current', 'prefill-od=20,decode-od=1', '--json']);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('warning: --current prefill-od: 20 replicas today is above its maxReplicas');
  });

  it('sweep prints each scenario warning once, naming the values when only some gave it', () => {
    const skipped = 'trace.csv: 1 bad line(s) skipped; first trace.csv:5: expected 3 comma-separated fields, found 1';
    const slow = 'spec.pools[0].startupSeconds: 600 s is more than 5 intervals';
    expect(sweepWarnings('startup-seconds', [60, 600, 900], [[skipped], [skipped, slow], [skipped, slow]])).toEqual([
      skipped,
      `--param startup-seconds=600,900: ${slow}`,
    ]);
    expect(sweepWarnings('gpu-budget', [16], [[]])).toEqual([]);
  });

  it('sweep --param gpu-budget=4,64 names the value the policy cannot take', async () => {
    const result = await runInProcess(registerSweep, ['sweep', '--param', 'gpu-budget=4,64', '--policy', POLICY, '--trace', TRACE]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("--param gpu-budget=4: 4 GPUs is below the 8 the pools' minReplicas need (prefill-od 1x4, decode-od 1x4)\n");
  });
});
