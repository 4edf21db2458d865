/**
 * `pd-planner sweep --param NAME=V1,V2,...`: the simulate what-if over a range of one parameter (GPU budget,
 * Spot share, eviction rate, startup seconds i.e. model-cache storage, SLO targets, rate scale), scenarios in
 * parallel worker threads, one comparison table and plot.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { parseSweepParam } from '../sim/overrides.js';
import { runSweep } from '../sim/sweep.js';
import type { Scenario } from '../sim/scenario.js';
import { sweepSummaryTable, writeSweepReport } from '../sim/report/index.js';
import { createProgress } from './progress.js';
import { addWhatIfFlags, baselinesOption, numberOption, whatIfOptions } from './options.js';

export function registerSweep(program: Command): void {
  const command = program
    .command('sweep')
    .description('what-if over a parameter range: one simulation per value, in parallel, one comparison')
    .requiredOption('--param <name=values>', 'gpu-budget | spot-share | eviction-rate | startup-seconds | ttft-ms | itl-ms | rate-scale, e.g. gpu-budget=32,48,64')
    .option('--policy <file>', 'policy file (default: the embedded default policy)')
    .option('--trace <file>', 'trace file (default: the bundled Azure LLM code trace)')
    .option('--trace-format <format>', 'azure | burstgpt | mooncake | auto', 'auto')
    .option('--out <dir>', 'where sweep.json, sweep.md and sweep.html go', 'out/sweep')
    .option('--baselines <list>', 'comma-separated baselines per scenario (see simulate)', 'dynamo,hindsight')
    .option('--speedup <x>', 'replay x times faster', '1')
    .option('--rate-scale <x>', 'arrival-rate multiplier (unless it is the swept parameter)', '1')
    .option('--seed <n>', 'random seed', '1')
    .option('--threads <n>', 'worker threads (default: one per core)')
    .option('--json', 'print sweep.json to stdout instead of the table');
  addWhatIfFlags(command);
  command.action(async (flags: Record<string, string | boolean | undefined>) => {
    const param = parseSweepParam(String(flags.param));
    const baselines = baselinesOption(String(flags.baselines));
    const base = whatIfOptions(flags);
    const format = String(flags.traceFormat) as Scenario['traceFormat'];
    const scenarios: Scenario[] = param.values.map((value) => ({
      policyPath: flags.policy ? path.resolve(String(flags.policy)) : undefined,
      tracePath: flags.trace ? String(flags.trace) : undefined,
      traceFormat: format,
      whatIf: { ...base, [param.key]: value },
      rateScale: numberOption('--rate-scale', String(flags.rateScale), { min: 1e-6 }),
      speedup: numberOption('--speedup', String(flags.speedup), { min: 1e-6 }),
      seed: numberOption('--seed', String(flags.seed), { integer: true, min: 0 }),
      baselines,
    }));
    const threads = flags.threads ? numberOption('--threads', String(flags.threads), { integer: true, min: 1 }) : undefined;
    const bar = createProgress(`sweeping ${param.name} over ${scenarios.length} values`, scenarios.length);
    const result = await runSweep(scenarios, { threads, onDone: (done) => bar.update(done) });
    bar.done();
    const sweep = {
      parameter: param.name,
      values: param.values,
      scenarios: param.values.map((value, i) => ({ value, report: result.reports[i]! })),
    };
    const files = await writeSweepReport(sweep, path.resolve(String(flags.out)));
    if (flags.json) process.stdout.write(`${JSON.stringify(sweep, null, 2)}\n`);
    else process.stdout.write(`${sweepSummaryTable(sweep)}\n\nsweep report: ${path.relative(process.cwd(), files.html)} (${result.wallSeconds.toFixed(1)} s wall)\n`);
  });
}
