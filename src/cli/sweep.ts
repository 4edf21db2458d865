/**
 * `pd-planner sweep --param NAME=V1,V2,...`: the simulate what-if over a range of one parameter (GPU budget,
 * Spot share, eviction rate, startup seconds i.e. model-cache storage, SLO targets, rate scale), scenarios in
 * parallel worker threads, one comparison table and plot. Across machines: `--emit-job` prints a Kubernetes Indexed
 * Job, `--job-index` runs one of its indices, `--merge DIR` combines their results (sweep-job.ts).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { applyWhatIfChecked, parseSweepParam } from '../sim/overrides.js';
import { loadScenarioPolicy } from '../sim/scenario.js';
import { runSweep } from '../sim/sweep.js';
import type { Scenario } from '../sim/scenario.js';
import { sweepJson, sweepSummaryTable, writeSweepReport } from '../sim/report/index.js';
import { checkCurrent, parseCurrent } from '../sim/current.js';
import { checkOutDir, shownPath, SWEEP_FILES } from './out-dir.js';
import { createProgress } from './progress.js';
import { addWhatIfFlags, baselinesOption, FACTOR_RANGE, MAX_SEED, numberOption, whatIfOptions, traceFormatOption } from './options.js';
import { DEFAULT_REPORTS_CLAIM, REPORTS_MOUNT, checkModes, emitJob, mergeCommand, runJobIndex } from './sweep-job.js';

/**
 * Most worker threads one sweep starts. Each holds its own copy of the modules and of the trace (about 55 MB for a
 * small trace), so threads beyond the cores only multiply memory: 64 is more cores than a sweep machine has.
 */
const MAX_SWEEP_THREADS = 64;

export function registerSweep(program: Command): void {
  const command = program
    .command('sweep')
    .description('what-if over a parameter range: one simulation per value, in parallel, one comparison')
    .option('--param <name=values>', 'gpu-budget | spot-share | eviction-rate | startup-seconds | ttft-ms | itl-ms | rate-scale, e.g. gpu-budget=32,48,64')
    .option('--policy <file>', 'policy file (default: the embedded default policy)')
    .option('--trace <file>', 'trace file (default: the bundled Azure LLM code trace)')
    .option('--trace-format <format>', 'azure | burstgpt | mooncake | auto', 'auto')
    .option('--out <dir>', 'where sweep.json, sweep.md and sweep.html go (with --json: only when given)', 'out/sweep')
    .option('--force', 'replace a sweep report already in --out (without it, such a folder is refused)')
    .option('--baselines <list>', 'comma-separated baselines per scenario (see simulate)', 'dynamo,hindsight')
    .option('--current <pool=n,...>', 'the replicas each pool runs today: adds the static baseline "current" to every scenario')
    .option('--speedup <x>', 'replay x times faster', '1')
    .option('--rate-scale <x>', 'arrival-rate multiplier (not with --param rate-scale=...)', '1')
    .option('--seed <n>', 'random seed', '1')
    .option('--threads <n>', `worker threads, at most ${MAX_SWEEP_THREADS} (default: one per core)`)
    .option('--json', 'print sweep.json to stdout instead of the table (no files unless --out is given)');
  addWhatIfFlags(command);
  command
    .option('--emit-job', 'print a Kubernetes Indexed Job that runs one value per pod (same flags, same image) instead of sweeping here')
    .option('--image <ref>', 'with --emit-job: the pd-planner image (default: this version\'s, see deploy/README.md)')
    .option('--job-name <name>', 'with --emit-job: the Job\'s name (default: pd-planner-sweep-<parameter>)')
    .option('--namespace <ns>', 'with --emit-job: the Job\'s namespace (default: kubectl\'s current one)')
    .option('--reports-claim <pvc>', `with --emit-job: the PersistentVolumeClaim mounted at ${REPORTS_MOUNT} in every pod (default: ${DEFAULT_REPORTS_CLAIM})`)
    .option('--parallelism <n>', 'with --emit-job: pods at once (default: one per value)')
    .option('--job-index [n]', 'run only the value at this index (default: $JOB_COMPLETION_INDEX, set by the Indexed Job) and write --out/sweep-index-<n>.json')
    .option('--merge <dir>', 'combine the sweep-index-<n>.json files in DIR into sweep.json/md/html (written to DIR unless --out is given)');
  command.action(async (flags: Record<string, string | boolean | undefined>, cmd: Command) => {
    checkModes(cmd);
    if (flags.merge !== undefined) return mergeCommand(cmd);
    if (flags.param === undefined) throw new InputError(['sweep: --param <name=values> is required (or --merge DIR), e.g. --param gpu-budget=32,48,64']);
    const param = parseSweepParam(String(flags.param));
    // The swept parameter's own flag would be overridden by every swept value: refused rather than dropped.
    const sweptFlag = param.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (cmd.getOptionValueSource(sweptFlag) === 'cli') {
      throw new InputError([`--${param.name}: ${param.name} is the swept parameter (--param ${String(flags.param)}); leave --${param.name} out, or sweep another parameter`]);
    }
    const baselines = baselinesOption(String(flags.baselines));
    const base = whatIfOptions(flags);
    const format = traceFormatOption(flags.traceFormat, [flags.trace ? String(flags.trace) : undefined]);
    const rateScale = numberOption('--rate-scale', String(flags.rateScale), FACTOR_RANGE);
    const speedup = numberOption('--speedup', String(flags.speedup), FACTOR_RANGE);
    const seed = numberOption('--seed', String(flags.seed), { integer: true, min: 0, max: MAX_SEED });
    const current = flags.current !== undefined ? parseCurrent(String(flags.current)) : undefined;
    // Every scenario's policy checked here, before any worker starts: a value the policy cannot take is exit 2 naming it.
    const loaded = loadScenarioPolicy(flags.policy ? String(flags.policy) : undefined);
    const label = (name: string, value: number) => (name === param.name ? `--param ${name}=${value}` : `--${name}`);
    const currentWarnings: string[][] = [];
    for (const value of param.values) {
      const spec = applyWhatIfChecked(loaded.spec, { ...base, [param.key]: value }, label);
      if (current) currentWarnings.push(checkCurrent(spec, current).warnings.map((w) => `--current ${w}`));
    }
    if (current) for (const warning of sweepWarnings(param.name, param.values, currentWarnings)) process.stderr.write(`warning: ${warning}\n`);
    const scenarios: Scenario[] = param.values.map((value) => ({
      policyPath: flags.policy ? path.resolve(String(flags.policy)) : undefined,
      tracePath: flags.trace ? String(flags.trace) : undefined,
      traceFormat: format,
      whatIf: { ...base, [param.key]: value },
      rateScale,
      speedup,
      seed,
      baselines,
      ...(current ? { current } : {}),
    }));
    if (flags.emitJob) return void process.stdout.write(emitJob(cmd, param.name, scenarios));
    if (flags.jobIndex !== undefined) return runJobIndex(cmd, param.name, param.values, scenarios);
    const writeFiles = !flags.json || cmd.getOptionValueSource('out') === 'cli';
    const outDir = path.resolve(String(flags.out));
    const replacing = writeFiles ? checkOutDir(outDir, SWEEP_FILES, flags.force === true) : undefined;
    const threads = flags.threads ? numberOption('--threads', String(flags.threads), { integer: true, min: 1, max: MAX_SWEEP_THREADS }) : undefined;
    const bar = createProgress(`sweeping ${param.name} over ${scenarios.length} values`, scenarios.length);
    const result = await runSweep(scenarios, { threads, onDone: (done) => bar.update(done) });
    bar.done();
    for (const warning of sweepWarnings(param.name, param.values, result.warnings)) process.stderr.write(`warning: ${warning}\n`);
    const sweep = {
      parameter: param.name,
      values: param.values,
      scenarios: param.values.map((value, i) => ({ value, report: result.reports[i]! })),
    };
    if (replacing) process.stderr.write(`${replacing}\n`);
    const files = writeFiles ? await writeSweepReport(sweep, outDir) : undefined;
    if (flags.json) process.stdout.write(sweepJson(sweep));
    else {
      process.stdout.write(`${sweepSummaryTable(sweep)}\n`);
      if (files) process.stdout.write(`\nsweep report: ${shownPath(files.html)} (${result.wallSeconds.toFixed(1)} s wall)\n`);
    }
  });
}

/**
 * The scenarios' warnings, once each: one every scenario gave (the trace's skipped lines, read the same way each time)
 * as it is, one only some gave prefixed with their values. Example: "trace.csv: 1 bad line(s) skipped; ..." once
 * for a four-value sweep, not four times, and "--param startup-seconds=600: ..." for a warning of that value alone.
 */
export function sweepWarnings(name: string, values: readonly number[], warnings: readonly (readonly string[])[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  warnings.forEach((list) => {
    for (const warning of list) {
      if (seen.has(warning)) continue;
      seen.add(warning);
      const given = values.filter((_, i) => warnings[i]?.includes(warning));
      out.push(given.length === values.length ? warning : `--param ${name}=${given.join(',')}: ${warning}`);
    }
  });
  return out;
}
