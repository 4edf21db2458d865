/**
 * `pd-planner reserve`: the smallest standing reserve (replicas each role always runs) with which the policy meets
 * the SLO on a trace, found by simulating the policy with raised minReplicas (sim/reserve.ts). Prints every run
 * tried, the answer, and the minReplicas to set; `--json` prints the search as JSON (`best: null` when no run met
 * the SLO: the answer is then a faster startup, a looser SLO or another policy, not a reserve). Exit 0 with an
 * answer, found or not, as `simulate` exits 0 on a run that misses its SLO; 2 on bad input.
 */
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { fmtGpuHours, fmtMoney, fmtPct, fmtRatio } from '../sim/report/format.js';
import { textTable } from '../sim/report/table.js';
import { DEFAULT_MAX_RUNS, findReserve, MAX_RUNS_LIMIT, type ReserveSearch, type ReserveTrial } from '../sim/reserve.js';
import { checkScenario, loadScenarioInputs, readScenarioTrace, type Scenario } from '../sim/scenario.js';
import type { PolicySpec } from '../config/schema.js';
import { collect } from './flag-rules.js';
import { addWhatIfFlags, FACTOR_RANGE, MAX_SEED, numberOption, whatIfOptions } from './options.js';
import { createProgress, type Progress } from './progress.js';

export function registerReserve(program: Command): void {
  const command = program
    .command('reserve')
    .description('what-if: the fewest replicas each role should always run for the policy to meet its SLO on a trace (simulated)')
    .option('--policy <file>', 'policy file (default: the embedded default policy)')
    .option('--trace <file>', 'trace file, synthetic:KIND?k=v or scenario:FAMILY?seed=N (default: the bundled Azure LLM code trace); again for more traces: the reserve must meet the SLO on each', collect)
    .option('--trace-format <format>', 'azure | burstgpt | mooncake | auto', 'auto')
    .option('--max-runs <n>', `most simulations the search runs, 1 to ${MAX_RUNS_LIMIT}`, String(DEFAULT_MAX_RUNS))
    .option('--speedup <x>', 'replay x times faster (same requests, shorter duration)', '1')
    .option('--rate-scale <x>', 'multiply the arrival rate, keeping duration and shape', '1')
    .option('--seed <n>', 'random seed (rate scaling, evictions)', '1')
    .option('--json', 'print the search as JSON instead of the table');
  addWhatIfFlags(command);
  command.action(async (flags: Record<string, string | string[] | boolean | undefined>) => {
    const format = String(flags.traceFormat) as Scenario['traceFormat'];
    if (!['azure', 'burstgpt', 'mooncake', 'auto'].includes(format)) {
      throw new InputError([`--trace-format: "${String(flags.traceFormat)}" is not one of azure, burstgpt, mooncake, auto`]);
    }
    const whatIf = whatIfOptions(flags as Record<string, unknown>);
    const given: (string | undefined)[] = Array.isArray(flags.trace) && flags.trace.length > 0 ? flags.trace : [undefined];
    const maxRuns = numberOption('--max-runs', String(flags.maxRuns), { integer: true, min: 1, max: MAX_RUNS_LIMIT });
    const seed = numberOption('--seed', String(flags.seed), { integer: true, min: 0, max: MAX_SEED });
    const rateScale = numberOption('--rate-scale', String(flags.rateScale), FACTOR_RANGE);
    const speedup = numberOption('--speedup', String(flags.speedup), FACTOR_RANGE);
    const scenario: Scenario = {
      policyPath: flags.policy === undefined ? undefined : String(flags.policy),
      tracePath: given[0],
      traceFormat: format, whatIf, rateScale, speedup, seed, baselines: [],
    };
    // Before the trace is read: a static policy runs its own counts, so no reserve changes what it runs.
    if (checkScenario(scenario).spec.policy === 'static') {
      throw new InputError(['spec.policy: static runs spec.static.replicas at every tick, so a reserve (minReplicas) changes nothing; compare replica counts with `pd-planner simulate` instead']);
    }
    let readBar: Progress | undefined;
    const inputs = await loadScenarioInputs(scenario, {
      onTraceProgress: (share) => (readBar ??= createProgress('reading trace', 1)).update(share),
      onWarning: (warning) => process.stderr.write(`warning: ${warning}\n`),
    });
    const read = [{ trace: inputs.trace, traceSource: inputs.traceSource }];
    for (const more of given.slice(1)) read.push(await readScenarioTrace(scenario, more, { onWarning: (warning) => process.stderr.write(`warning: ${warning}\n`) }));
    readBar?.done();
    for (const { trace, traceSource } of read) {
      if (trace.arrival.length === 0) {
        throw new InputError([`--trace: ${traceSource} holds no request, so there is no SLO to meet; give a trace with requests (a higher rate or --rate-scale, a longer duration)`]);
      }
    }
    const bar = createProgress(`searching (at most ${maxRuns} runs)`, maxRuns);
    const search = await findReserve({ spec: inputs.spec, profile: inputs.profile, traces: read.map((r) => r.trace), seed, maxRuns, onTrial: (_t, runs) => bar.update(runs) });
    bar.done();
    const sources = read.map((r) => r.traceSource);
    process.stdout.write(flags.json ? `${JSON.stringify(reserveJson(search, inputs.spec, sources), null, 2)}\n` : `${reserveText(search, inputs.spec, sources)}\n`);
  });
}

function reserveJson(search: ReserveSearch, spec: PolicySpec, traces: string[]): object {
  return {
    traces,
    goal: search.goal,
    written: search.written,
    peak: search.peak,
    trials: search.trials,
    best: search.best ?? null,
    minReplicas: search.changes.map((c) => ({ field: `spec.pools[${c.index}].minReplicas`, pool: c.pool, from: c.from, to: c.to })),
    truncated: search.truncated,
    refused: search.refused,
    noGain: search.noGain ?? null,
    budgetGpus: spec.budget.maxGpus,
  };
}

const reserveCell = (t: ReserveTrial): string => `${t.reserve.prefill} / ${t.reserve.decode}`;

function reserveText(search: ReserveSearch, spec: PolicySpec, traces: string[]): string {
  const slo = `TTFT p${spec.slo.ttft.percentile} ${spec.slo.ttft.ms} ms, ITL p${spec.slo.itl.percentile} ${spec.slo.itl.ms} ms`;
  const several = traces.length > 1;
  const lines = [
    several
      ? `traces ${traces.map((t, i) => `(${i + 1}) ${t}`).join(', ')}; SLO ${slo}: ${fmtPct(search.goal)} of requests within both, on each trace (attainment: the worst trace's; GPU-h and cost: their sum)`
      : `trace ${traces[0]}; SLO ${slo}: ${fmtPct(search.goal)} of requests within both`,
    '',
  ];
  const rows = search.trials.map((t) => [
    t === search.written ? `${reserveCell(t)} (as written)` : reserveCell(t),
    fmtPct(t.attainment),
    ...(several ? [(t.perTrace ?? []).map((e) => fmtPct(e.attainment)).join(' / ')] : []),
    t.meets ? 'yes' : 'no',
    fmtGpuHours(t.gpuHours),
    fmtMoney(t.cost),
    fmtRatio(t.gpuHours / search.written.gpuHours),
  ]);
  const headers = ['least prefill / decode replicas', 'attainment', ...(several ? ['per trace'] : []), 'meets', 'GPU-h', 'cost', 'x as written'];
  lines.push(textTable(headers, rows, ['left', 'right', ...(several ? (['right'] as const) : []), 'left', 'right', 'right', 'right']));
  lines.push('');
  const best = search.best;
  if (!best) {
    const top = search.trials.reduce((a, t) => (t.attainment > a.attainment ? t : a), search.written);
    const seen = `best ${fmtPct(top.attainment)} at ${reserveCell(top)}`;
    const largest = search.trials.reduce((a, t) => (t.reserve.prefill + t.reserve.decode > a.reserve.prefill + a.reserve.decode ? t : a), search.written);
    if (search.truncated) {
      lines.push(`no run within --max-runs ${search.trials.length} meets the SLO (${seen}): a larger --max-runs may find a reserve that does.`);
    } else if (search.noGain) {
      const { from, to } = search.noGain;
      lines.push(
        `no reserve tried meets the SLO (${seen}); twice the reserve did no better (${fmtPct(from.attainment)} at ${reserveCell(from)}, ` +
          `${fmtPct(to.attainment)} at ${reserveCell(to)}): more replicas running do not help. Try a looser SLO (no replica count meets ` +
          'an ITL below what the profile gives at any batch), a faster startup (--startup-seconds) or another policy.',
      );
    } else if (search.refused.length > 0) {
      lines.push(
        `no reserve tried meets the SLO (${seen}); larger reserves are not tried: the policy's own checks refuse them (not tried, below). ` +
          'Raise the limit that refuses them (a GPU budget: --gpu-budget), try a faster startup (--startup-seconds) or a looser SLO.',
      );
    } else {
      lines.push(
        `no reserve tried meets the SLO, not even ${reserveCell(largest)} replicas always running, the pools' maxReplicas (${seen}; ` +
          `the policy's own peak is ${search.peak.prefill} / ${search.peak.decode}). The load outruns what replicas running from the start can serve ` +
          'under this policy: try a faster startup (--startup-seconds), a looser SLO, larger pools, or compare static with `simulate`.',
      );
    }
  } else if (best === search.written) {
    lines.push(`the policy as written meets the SLO (${fmtPct(best.attainment)}): no reserve needed.`);
  } else {
    lines.push(
      `cheapest reserve that meets the SLO: ${best.reserve.prefill} prefill / ${best.reserve.decode} decode replicas always running: ` +
        `${fmtPct(best.attainment)} at ${fmtGpuHours(best.gpuHours)} GPU-h (${fmtRatio(best.gpuHours / search.written.gpuHours)} the policy as written). Set:`,
    );
    for (const c of search.changes) lines.push(`  spec.pools[${c.index}].minReplicas (${c.pool}): ${c.from} -> ${c.to}`);
  }
  for (const r of search.refused) lines.push(`not tried: ${reserveCell({ reserve: r.reserve } as ReserveTrial)}: ${r.problem}`);
  if (search.truncated && best) lines.push(`(the search stopped at --max-runs ${search.trials.length}; a larger value may find a smaller reserve)`);
  return lines.join('\n');
}
