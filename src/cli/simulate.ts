/**
 * `pd-planner simulate`: replay a request trace through the real planner loop against a modelled P/D cluster,
 * under the policy file's policy and the baselines; print a summary table and write report.json/.md/.html.
 * With no --policy and no --trace it runs the embedded default on the bundled Azure code trace.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { checkScenario, runScenario, type Scenario } from '../sim/scenario.js';
import { checkCurrent, parseCurrent } from '../sim/current.js';
import { reportJson, summaryTable, writeReport } from '../sim/report/index.js';
import { createProgress, type Progress } from './progress.js';
import { InputError } from '../errors.js';
import { collect } from './flag-rules.js';
import { baselinesOption, FACTOR_RANGE, MAX_SEED, numberOption, whatIfOptions, addWhatIfFlags, traceFormatOption } from './options.js';
import { checkOutDir, REPORT_FILES, shownPath } from './out-dir.js';
import { simulateFleetCommand, type SimulateFlags } from './simulate-fleet.js';

export function registerSimulate(program: Command): void {
  const command = program
    .command('simulate')
    .description('what-if: replay a trace through the planner against a modelled cluster, with baselines')
    .option('--policy <file>', 'policy file (default: the embedded default policy)')
    .option('--trace <file>', 'trace file, synthetic:KIND?k=v or scenario:FAMILY?seed=N (default: the bundled Azure LLM code trace); with --fleet, NAME=FILE once per graph', collect)
    .option('--fleet <file>', 'a PlannerFleet file: simulate its graphs on their shared budget (baselines: split, unlimited, dynamo)')
    .option('--startup-spread <sigma>', 'with --fleet: draw each replica\'s startup time from a lognormal around its pool\'s startupSeconds with this log-space sigma (e.g. 0.3)')
    .option('--trace-format <format>', 'azure | burstgpt | mooncake | auto', 'auto')
    .option('--out <dir>', 'where report.json, report.md and report.html go (with --json: only when given)', 'out/report')
    .option('--force', 'replace a report already in --out (without it, such a folder is refused)')
    .option('--baselines <list>', 'comma-separated: static,hpa,hpa-tuned,dynamo,hindsight,perfect-forecast (or "none"; "oracle" = perfect-forecast)', 'static,hpa,hpa-tuned,dynamo,hindsight,perfect-forecast')
    .option('--current <pool=n,...>', 'the replicas each pool runs today: adds the static baseline "current" and the savings against it')
    .option('--speedup <x>', 'replay x times faster (same requests, shorter duration)', '1')
    .option('--rate-scale <x>', 'multiply the arrival rate, keeping duration and shape', '1')
    .option('--seed <n>', 'random seed (rate scaling, evictions)', '1')
    .option('--json', 'print report.json to stdout instead of the table (no files unless --out is given)');
  addWhatIfFlags(command);
  command.action(async (flags: SimulateFlags, cmd: Command) => {
    if (flags.fleet !== undefined) {
      await simulateFleetCommand(flags, command.getOptionValueSource('baselines') === 'default', cmd.getOptionValueSource('out') === 'cli');
      return;
    }
    if (flags.startupSpread !== undefined) throw new InputError(['--startup-spread: only with --fleet (the single-graph yardsticks search with exact startup times)']);
    if ((flags.trace?.length ?? 0) > 1) throw new InputError([`--trace: given ${flags.trace?.length} times; one trace per simulation (several, as NAME=FILE, only with --fleet)`]);
    const whatIf = whatIfOptions(flags);
    const seed = numberOption('--seed', flags.seed, { integer: true, min: 0, max: MAX_SEED });
    const rateScale = whatIf.rateScale ?? numberOption('--rate-scale', flags.rateScale, FACTOR_RANGE);
    const speedup = numberOption('--speedup', flags.speedup, FACTOR_RANGE);
    const baselines = baselinesOption(flags.baselines);
    const format = traceFormatOption(flags.traceFormat, [flags.trace?.[0]]);
    const current = flags.current !== undefined ? parseCurrent(flags.current) : undefined;
    const scenario: Scenario = { policyPath: flags.policy, tracePath: flags.trace?.[0], traceFormat: format, whatIf, rateScale, speedup, seed, baselines, current };
    const { spec } = checkScenario(scenario);
    // Today's counts outside the policy's bounds are worth seeing before the table, not only in report.md.
    if (current) for (const warning of checkCurrent(spec, current).warnings) process.stderr.write(`warning: --current ${warning}\n`);
    // --json prints the report; it writes the files too only when --out says where.
    const writeFiles = !flags.json || cmd.getOptionValueSource('out') === 'cli';
    const outDir = path.resolve(flags.out);
    const replacing = writeFiles ? checkOutDir(outDir, REPORT_FILES, flags.force === true) : undefined;

    let readBar: Progress | undefined;
    let bar: Progress | undefined;
    const report = await runScenario(
      scenario,
      {
        onTraceProgress: (share) => (readBar ??= createProgress('reading trace', 1)).update(share),
        onWarning: (warning) => process.stderr.write(`warning: ${warning}\n`),
        onRuns: (runs) => {
          readBar?.done();
          bar = createProgress(`simulating ${runs} runs`, runs);
        },
        onRunProgress: (run, done, total) => bar?.update(run + done / total),
      },
    );
    bar?.done();
    if (replacing) process.stderr.write(`${replacing}\n`);
    const files = writeFiles ? await writeReport(report, outDir) : undefined;
    if (flags.json) {
      process.stdout.write(reportJson(report));
    } else {
      process.stdout.write(`${summaryTable(report)}\n`);
      if (files) process.stdout.write(`\nreport: ${shownPath(files.html)} (also report.json, report.md)\n`);
    }
  });
}

