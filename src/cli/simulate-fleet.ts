/**
 * `pd-planner simulate --fleet FLEET.yaml --trace NAME=FILE ... [--baselines split,unlimited,dynamo] [--out DIR]
 *  [--seed N] [--rate-scale X] [--speedup X] [--startup-spread SIGMA] [--json]`: the fleet's graphs replayed on their
 * shared budget (src/sim/fleet/), with the baselines; writes report.json / report.md / report.html of the fleet.
 * Each NAME is a graph's metadata.name; every graph needs one trace. What-if flags apply to every graph, except
 * --gpu-budget, which sets the fleet's budget.
 */
import path from 'node:path';
import { InputError, messageOf } from '../errors.js';
import { loadFleetFile } from '../config/fleet-load.js';
import { checkFleet } from '../config/fleet.js';
import { applyWhatIfChecked, whatIfFlags } from '../sim/overrides.js';
import { buildFleetReport, DEFAULT_FLEET_BASELINES, parseFleetBaselines, simulateFleet, type FleetSimGraphInput } from '../sim/fleet/run.js';
import { fleetReportJson, fleetSummaryTable, writeFleetReport } from '../sim/report/fleet.js';
import { readTrace } from '../sim/traces/index.js';
import { createProgress } from './progress.js';
import { checkOutDir, REPORT_FILES, shownPath } from './out-dir.js';
import { FACTOR_RANGE, MAX_SEED, numberOption, whatIfOptions, traceFormatOption } from './options.js';

/** The flags of `simulate` (simulate.ts registers and parses them; the fleet reads them too). */
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
  force?: boolean;
  current?: string;
  [key: string]: unknown;
}

/** Most a --startup-spread may be: e^(1.28 x 2) = 13x the median at p90 is already no startup time anyone plans with. */
const MAX_STARTUP_SPREAD = 2;

/**
 * `--trace chat=chat.jsonl` -> ["chat", "chat.jsonl"]; the FILE may itself hold "=" (synthetic specs do). Keyed by a
 * Map: a graph named `__proto__` or `constructor` is a key like any other.
 */
export function parseNamedTraces(values: readonly string[], names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const problems: string[] = [];
  for (const value of values) {
    // A graph name may itself hold "=" (metadata.name is free text): the longest graph name followed by "=" wins.
    const named = names.filter((n) => value.startsWith(`${n}=`)).sort((a, b) => b.length - a.length)[0];
    // Without a graph's name, an "=" inside a path or a synthetic: spec is not the NAME=FILE one: a metadata.name
    // holds no ":", "/" or "?" (`synthetic:step?steps=0:2` is a spec without NAME=, not a graph "synthetic:step?steps").
    const first = value.indexOf('=');
    const eq = named !== undefined ? named.length : /[:/?]/.test(value.slice(0, Math.max(first, 0))) ? -1 : first;
    const name = eq > 0 ? value.slice(0, eq) : '';
    const file = eq > 0 ? value.slice(eq + 1) : '';
    if (!names.includes(name) || file === '') {
      problems.push(
        eq <= 0 || file === ''
          ? `--trace: "${value}" is not NAME=FILE; with --fleet give one per graph (${names.map((n) => `${n}=FILE`).join(', ')})`
          : `--trace: "${name}" is not a graph of the fleet (graphs: ${names.join(', ')}; NAME is a policy's metadata.name)`,
      );
      continue;
    }
    if (out.has(name)) problems.push(`--trace: ${name} is given twice`);
    out.set(name, file);
  }
  for (const name of names) if (!out.has(name) && !problems.some((p) => p.includes(`"${name}"`))) problems.push(`--trace: no trace for graph ${name}; add --trace ${name}=FILE`);
  if (problems.length > 0) throw new InputError(problems);
  return out;
}

/**
 * `simulate --fleet`. `outGiven`: --out was on the command line (with --json, files are written only then); an --out
 * folder that holds a report is refused without --force, as for a single graph.
 */
export async function simulateFleetCommand(flags: SimulateFlags, defaultBaselines: boolean, outGiven: boolean): Promise<void> {
  if (flags.policy !== undefined) throw new InputError(['--policy: not with --fleet (the fleet file names its graphs\' policies)']);
  // Nothing given is dropped silently: --current names the pools of one graph, and the fleet has several.
  if (flags.current !== undefined) throw new InputError(['--current: not with --fleet (it gives one graph\'s replica counts); simulate that graph alone with --policy FILE --current ...']);
  const fleet = loadFleetFile(flags.fleet as string);
  const whatIf = whatIfOptions(flags);
  const { gpuBudget, ...perGraph } = whatIf;
  const budget = { ...fleet.file.spec.budget, ...(gpuBudget !== undefined ? { maxGpus: gpuBudget } : {}) };
  if (gpuBudget !== undefined) {
    const checked = checkFleet({ ...fleet.file, spec: { ...fleet.file.spec, budget } }, fleet.graphs);
    const problem = checked.problems.find((p) => p.startsWith('spec.budget.maxGpus'));
    if (problem) throw new InputError([`--gpu-budget: ${problem.slice(problem.indexOf(': ') + 2)}`]);
  }
  const seed = numberOption('--seed', flags.seed, { integer: true, min: 0, max: MAX_SEED });
  const rateScale = numberOption('--rate-scale', flags.rateScale, FACTOR_RANGE);
  const speedup = numberOption('--speedup', flags.speedup, FACTOR_RANGE);
  const spread = flags.startupSpread === undefined ? undefined : numberOption('--startup-spread', flags.startupSpread, { min: 0, max: MAX_STARTUP_SPREAD });
  let baselines;
  try {
    baselines = parseFleetBaselines(defaultBaselines ? DEFAULT_FLEET_BASELINES.join(',') : flags.baselines);
  } catch (error) {
    throw new InputError([messageOf(error)]);
  }
  const files = parseNamedTraces(flags.trace ?? [], fleet.graphs.map((g) => g.name));
  const format = traceFormatOption(flags.traceFormat, [...files.values()]);
  const writeFiles = !flags.json || outGiven;
  const outDir = path.resolve(flags.out);
  const replacing = writeFiles ? checkOutDir(outDir, REPORT_FILES, flags.force === true) : undefined;

  for (const warning of fleet.warnings) process.stderr.write(`warning: ${warning}\n`);
  const graphs: FleetSimGraphInput[] = [];
  for (const [i, g] of fleet.graphs.entries()) {
    const spec = Object.keys(perGraph).length > 0 ? applyWhatIfChecked(g.spec, perGraph) : g.spec;
    const bar = createProgress(`reading trace ${g.name}`, 1);
    const trace = await readTrace(files.get(g.name) as string, { format, rateScale, speedup, seed: seed + i, onProgress: (done, total) => bar.update(total > 0 ? done / total : 0) });
    bar.done();
    for (const warning of trace.warnings ?? []) process.stderr.write(`warning: ${g.name}: ${warning}\n`);
    graphs.push({ name: g.name, priority: g.priority, policy: g.policy, spec, profile: g.profile, trace });
  }
  const runs = 1 + baselines.length;
  const bar = createProgress(`simulating ${runs} fleet runs`, runs);
  const result = await simulateFleet({
    name: fleet.name,
    budget,
    graphs,
    baselines,
    seed,
    ...(spread !== undefined && spread > 0 ? { startup: { sigma: spread } } : {}),
    onProgress: (run, done, total) => bar.update(run + done / total),
  });
  bar.done();
  // Every what-if flag given is in the report: the run is labelled with what it simulated.
  const overrides = { ...whatIfFlags(whatIf), ...(spread !== undefined ? { 'startup-spread': spread } : {}) };
  const report = buildFleetReport({ name: fleet.name, budget, graphs, rateScale, speedup, overrides, seed, result, generatedAt: new Date().toISOString() });
  if (replacing) process.stderr.write(`${replacing}\n`);
  const written = writeFiles ? await writeFleetReport(report, outDir) : undefined;
  if (flags.json) process.stdout.write(fleetReportJson(report));
  else {
    process.stdout.write(`${fleetSummaryTable(report)}\n`);
    if (written) process.stdout.write(`\nreport: ${shownPath(written.html)} (also report.json, report.md)\n`);
  }
}
