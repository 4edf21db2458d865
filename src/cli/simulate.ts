/**
 * `pd-planner simulate`: replay a request trace through the real planner loop against a modelled P/D cluster,
 * under the policy file's policy and the baselines; print a summary table and write report.json/.md/.html.
 * With no --policy and no --trace it runs the embedded default on the bundled Azure code trace.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { loadPolicyFile, parsePolicyText, type LoadedPolicy } from '../config/load.js';
import { loadProfile } from '../profiles/load.js';
import { readTrace, defaultTracePath } from '../sim/traces/index.js';
import { buildReport, simulate } from '../sim/run.js';
import { applyWhatIfChecked } from '../sim/overrides.js';
import { DEFAULT_POLICY_YAML } from '../sim/default-policy.js';
import { reportJson, summaryTable, writeReport } from '../sim/report/index.js';
import { createProgress } from './progress.js';
import { InputError } from '../errors.js';
import { baselinesOption, FACTOR_RANGE, MAX_SEED, numberOption, whatIfOptions, addWhatIfFlags } from './options.js';
import { simulateFleetCommand } from './simulate-fleet.js';

/** Repeatable option: every value, in order. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export interface SimulateFlags {
  policy?: string;
  /** Repeatable: one trace, or with --fleet one NAME=FILE per graph. */
  trace?: string[];
  fleet?: string;
  startupSpread?: string;
  traceFormat: string;
  out: string;
  baselines: string;
  speedup: string;
  rateScale: string;
  seed: string;
  json?: boolean;
  [key: string]: unknown;
}

export function registerSimulate(program: Command): void {
  const command = program
    .command('simulate')
    .description('what-if: replay a trace through the planner against a modelled cluster, with baselines')
    .option('--policy <file>', 'policy file (default: the embedded default policy)')
    .option('--trace <file>', 'trace file, synthetic:KIND?k=v or scenario:FAMILY?seed=N (default: the bundled Azure LLM code trace); with --fleet, NAME=FILE once per graph', collect)
    .option('--fleet <file>', 'a PlannerFleet file: simulate its graphs on their shared budget (baselines: split, unlimited, dynamo)')
    .option('--startup-spread <sigma>', 'with --fleet: draw each replica\'s startup time from a lognormal around its pool\'s startupSeconds with this log-space sigma (e.g. 0.3)')
    .option('--trace-format <format>', 'azure | burstgpt | mooncake | auto', 'auto')
    .option('--out <dir>', 'where report.json, report.md and report.html go', 'out/report')
    .option('--baselines <list>', 'comma-separated: static,hpa,hpa-tuned,dynamo,hindsight,perfect-forecast (or "none"; "oracle" = perfect-forecast)', 'static,hpa,hpa-tuned,dynamo,hindsight,perfect-forecast')
    .option('--speedup <x>', 'replay x times faster (same requests, shorter duration)', '1')
    .option('--rate-scale <x>', 'multiply the arrival rate, keeping duration and shape', '1')
    .option('--seed <n>', 'random seed (rate scaling, evictions)', '1')
    .option('--json', 'print report.json to stdout instead of the table');
  addWhatIfFlags(command);
  command.action(async (flags: SimulateFlags) => {
    if (flags.fleet !== undefined) {
      await simulateFleetCommand(flags, command.getOptionValueSource('baselines') === 'default');
      return;
    }
    if (flags.startupSpread !== undefined) throw new InputError(['--startup-spread: only with --fleet (the single-graph yardsticks search with exact startup times)']);
    if ((flags.trace?.length ?? 0) > 1) throw new InputError([`--trace: given ${flags.trace?.length} times; one trace per simulation (several, as NAME=FILE, only with --fleet)`]);
    const loaded = loadPolicyOrDefault(flags.policy);
    const whatIf = whatIfOptions(flags);
    const spec = applyWhatIfChecked(loaded.spec, whatIf);
    const profile = loadProfile(spec.profile, loaded.baseDir);
    const seed = numberOption('--seed', flags.seed, { integer: true, min: 0, max: MAX_SEED });
    const rateScale = whatIf.rateScale ?? numberOption('--rate-scale', flags.rateScale, FACTOR_RANGE);
    const speedup = numberOption('--speedup', flags.speedup, FACTOR_RANGE);
    const baselines = baselinesOption(flags.baselines);
    const tracePath = flags.trace?.[0] ?? defaultTracePath();
    const format = flags.traceFormat as 'azure' | 'burstgpt' | 'mooncake' | 'auto';
    if (!['azure', 'burstgpt', 'mooncake', 'auto'].includes(format)) {
      throw new InputError([`--trace-format: "${flags.traceFormat}" is not one of azure, burstgpt, mooncake, auto`]);
    }

    const readBar = createProgress('reading trace', 1);
    const trace = await readTrace(tracePath, { format, rateScale, speedup, seed, onProgress: (done, total) => readBar.update(total > 0 ? done / total : 0) });
    readBar.done();
    // Skipped lines, sorting and exclusions: the run goes on, but the user hears about it (file:line: reason).
    for (const warning of [...loaded.warnings, ...(trace.warnings ?? [])]) process.stderr.write(`warning: ${warning}\n`);
    const runs = 1 + baselines.length;
    const bar = createProgress(`simulating ${runs} runs`, runs);
    const result = await simulate({
      spec,
      profile,
      trace,
      baselines,
      seed,
      onProgress: (run, done, total) => bar.update(run + done / total),
    });
    bar.done();
    const report = buildReport({
      policyName: loaded.file.metadata.name,
      spec,
      trace,
      rateScale,
      seed,
      result,
      generatedAt: new Date().toISOString(),
    });
    const outDir = path.resolve(flags.out);
    const files = await writeReport(report, outDir);
    if (flags.json) {
      process.stdout.write(`${reportJson(report)}\n`);
    } else {
      process.stdout.write(`${summaryTable(report)}\n`);
      process.stdout.write(`\nreport: ${path.relative(process.cwd(), files.html) || files.html} (also report.json, report.md)\n`);
    }
  });
}

export function loadPolicyOrDefault(policyPath: string | undefined): LoadedPolicy {
  if (policyPath) return loadPolicyFile(policyPath);
  return parsePolicyText(DEFAULT_POLICY_YAML, '<embedded default policy>', process.cwd());
}
