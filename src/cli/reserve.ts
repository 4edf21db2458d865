/**
 * `pd-planner reserve`: the smallest standing reserve (replicas each role always runs) with which the policy meets
 * the SLO on one or more traces, found by simulating the policy with raised minReplicas (sim/reserve.ts). Prints every
 * run tried, the answer, the minReplicas to set and the what-if knobs it was found under; `--json` prints the search
 * (`best: null` when no run met the SLO, and `stoppedBy` says what ended the search: the run budget, a limit of the
 * policy, the pools' maxReplicas, or more replicas not helping). Exit 0 with an answer, found or not, as `simulate`
 * exits 0 on a run that misses its SLO; 2 on bad input.
 */
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { fmtGpuHours, fmtMoney, fmtPct, fmtRatio } from '../sim/report/format.js';
import { textTable } from '../sim/report/table.js';
import { DEFAULT_MAX_RUNS, findReserve, MAX_RUNS_LIMIT, type ReserveSearch, type ReserveTrial } from '../sim/reserve.js';
import { checkScenario, loadScenarioInputs, readScenarioTrace, type Scenario } from '../sim/scenario.js';
import type { PolicySpec } from '../config/schema.js';
import { collect } from './flag-rules.js';
import { WHAT_IF_PARAMS, type WhatIf } from '../sim/overrides.js';
import { addWhatIfFlags, FACTOR_RANGE, MAX_SEED, numberOption, whatIfOptions, traceFormatOption } from './options.js';
import { createProgress, type Progress } from './progress.js';

/** Most --trace values: every trace is held in memory for the whole search (two weeks of days). */
export const MAX_TRACES = 14;

export function registerReserve(program: Command): void {
  const command = program
    .command('reserve')
    .description('what-if: the fewest replicas each role should always run for the policy to meet its SLO on a trace (simulated)')
    .option('--policy <file>', 'policy file (default: the embedded default policy)')
    .option('--trace <file>', 'trace file, synthetic:KIND?k=v or scenario:FAMILY?seed=N (default: the bundled Azure LLM code trace); again for more traces: the reserve must meet the SLO on each', collect)
    .option('--trace-format <format>', 'azure | burstgpt | mooncake | auto', 'auto')
    .option('--max-runs <n>', `most simulations the search runs (each reserve tried replays every trace), 1 to ${MAX_RUNS_LIMIT}`, String(DEFAULT_MAX_RUNS))
    .option('--speedup <x>', 'replay x times faster (same requests, shorter duration)', '1')
    .option('--rate-scale <x>', 'multiply the arrival rate, keeping duration and shape', '1')
    .option('--seed <n>', 'random seed (rate scaling, evictions)', '1')
    .option('--json', 'print the search as JSON instead of the table');
  addWhatIfFlags(command);
  command.action(async (flags: Record<string, string | string[] | boolean | undefined>) => {
    const given: (string | undefined)[] = Array.isArray(flags.trace) && flags.trace.length > 0 ? flags.trace : [undefined];
    const format = traceFormatOption(flags.traceFormat, given);
    const whatIf = whatIfOptions(flags as Record<string, unknown>);
    if (given.length > MAX_TRACES) throw new InputError([`--trace: given ${given.length} times; at most ${MAX_TRACES} traces (each is held in memory for the whole search)`]);
    // The same trace twice is simulated twice and its GPU-hours counted twice in the sum: a repeated flag, said as one.
    const repeated = given.find((trace, i) => trace !== undefined && given.indexOf(trace) !== i);
    if (repeated !== undefined) throw new InputError([`--trace: ${repeated} is given twice; give each trace once (the reserve must meet the SLO on each, GPU-hours summed)`]);
    const maxRuns = numberOption('--max-runs', String(flags.maxRuns), { integer: true, min: 1, max: MAX_RUNS_LIMIT });
    if (maxRuns < given.length) throw new InputError([`--max-runs: ${maxRuns} is below the ${given.length} traces: the policy as written alone replays each once; give at least ${given.length}`]);
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
    const bar = createProgress(`searching (at most ${maxRuns} simulations)`, maxRuns);
    const search = await findReserve({ spec: inputs.spec, profile: inputs.profile, traces: read.map((r) => r.trace), seed, maxRuns, onTrial: (_t, runs) => bar.update(runs) });
    bar.done();
    const shown: Shown = { traces: read.map((r) => r.traceSource), knobs: knobsGiven(flags), seed, whatIf, maxRuns };
    process.stdout.write(flags.json ? `${JSON.stringify(reserveJson(search, inputs.spec, shown), null, 2)}\n` : `${reserveText(search, inputs.spec, shown)}\n`);
  });
}

/** What the answer was found under, for the report: the traces and every knob that changed the policy or the run. */
interface Shown {
  traces: string[];
  /** `--gpu-budget 32`, `--rate-scale 2`, ...: the flags given that change what was simulated. */
  knobs: string[];
  seed: number;
  whatIf: WhatIf;
  maxRuns: number;
}

/** The flags that change what is simulated, as given: the what-if knobs, and rate scale and speedup when not 1. */
function knobsGiven(flags: Record<string, string | string[] | boolean | undefined>): string[] {
  const out: string[] = [];
  for (const name of [...Object.keys(WHAT_IF_PARAMS).filter((n) => n !== 'rate-scale'), 'rate-scale', 'speedup']) {
    const value = flags[name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())];
    if (typeof value === 'string' && !((name === 'rate-scale' || name === 'speedup') && Number(value) === 1)) out.push(`--${name} ${value}`);
  }
  return out;
}

function reserveJson(search: ReserveSearch, spec: PolicySpec, shown: Shown): object {
  return {
    traces: shown.traces,
    seed: shown.seed,
    whatIf: shown.whatIf,
    maxRuns: shown.maxRuns,
    simulations: search.simulations,
    goal: search.goal,
    stoppedBy: search.stoppedBy,
    written: search.written,
    peak: search.peak,
    trials: search.trials,
    best: search.best ?? null,
    cheapest: search.cheapest ?? null,
    minReplicas: search.changes.map((c) => ({ field: `spec.pools[${c.index}].minReplicas`, pool: c.pool, capacity: c.capacity, from: c.from, to: c.to })),
    warnings: search.warnings,
    truncated: search.truncated,
    refused: search.refused,
    noGain: search.noGain ?? null,
    budgetGpus: spec.budget.maxGpus,
  };
}

const reserveCell = (t: Pick<ReserveTrial, 'reserve'>): string => `${t.reserve.prefill} / ${t.reserve.decode}`;

function reserveText(search: ReserveSearch, spec: PolicySpec, shown: Shown): string {
  const slo = `TTFT p${spec.slo.ttft.percentile} ${spec.slo.ttft.ms} ms, ITL p${spec.slo.itl.percentile} ${spec.slo.itl.ms} ms`;
  const { traces } = shown;
  const several = traces.length > 1;
  const knobs = shown.knobs.length > 0 ? `; what-if ${shown.knobs.join(', ')}` : '';
  const lines = [
    several
      ? `traces ${traces.map((t, i) => `(${i + 1}) ${t}`).join(', ')}; SLO ${slo}: ${fmtPct(search.goal)} of requests within both, on each trace (attainment: the worst trace's; GPU-h and cost: their sum)${knobs}; seed ${shown.seed}`
      : `trace ${traces[0]}; SLO ${slo}: ${fmtPct(search.goal)} of requests within both${knobs}; seed ${shown.seed}`,
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
  if (!best) lines.push(noAnswer(search));
  else if (best === search.written) {
    lines.push(`the policy as written meets the SLO (${fmtPct(best.attainment)}): no reserve needed.`);
  } else {
    lines.push(
      `fewest replicas to keep running that meet the SLO: ${best.reserve.prefill} prefill / ${best.reserve.decode} decode: ` +
        `${fmtPct(best.attainment)} at ${fmtGpuHours(best.gpuHours)} GPU-h (${fmtRatio(best.gpuHours / search.written.gpuHours)} the policy as written). Set` +
        `${shown.knobs.length > 0 ? ', with the what-if knobs above applied to the policy' : ''}:`,
    );
    for (const c of search.changes) {
      lines.push(`  spec.pools[${c.index}].minReplicas (${c.pool}): ${c.from} -> ${c.to}${c.capacity === 'spot' ? ' (a Spot pool: the on-demand pools are at their maxReplicas; an eviction takes this reserve away for a startup time)' : ''}`);
    }
    for (const warning of search.warnings) lines.push(`  warning: ${warning}`);
    const cheapest = search.cheapest;
    if (cheapest) {
      lines.push(
        `the run that meets the SLO at the fewest GPU-hours holds more: ${reserveCell(cheapest)}, ${fmtPct(cheapest.attainment)} at ${fmtGpuHours(cheapest.gpuHours)} GPU-h ` +
          `(${fmtPct(1 - cheapest.gpuHours / best.gpuHours)} less: the larger reserve spares some of the policy's own scaling).`,
      );
    }
  }
  for (const r of search.refused) lines.push(`not tried: ${reserveCell(r)}: ${r.problem}`);
  if (search.truncated && best) lines.push(`(the search stopped at --max-runs ${shown.maxRuns}; a larger value may find a smaller reserve)`);
  return lines.join('\n');
}

/** Why no reserve was found, from what ended the search, and what to change. */
function noAnswer(search: ReserveSearch): string {
  const top = search.trials.reduce((a, t) => (t.attainment > a.attainment ? t : a), search.written);
  const seen = `best ${fmtPct(top.attainment)} at ${reserveCell(top)}`;
  const largest = search.trials.reduce((a, t) => (t.reserve.prefill + t.reserve.decode > a.reserve.prefill + a.reserve.decode ? t : a), search.written);
  switch (search.stoppedBy) {
    case 'runs':
      return `no run within --max-runs (${search.simulations} simulations) meets the SLO (${seen}): a larger --max-runs may find a reserve that does.`;
    case 'noGain': {
      const { from, to } = search.noGain!;
      return (
        `no reserve tried meets the SLO (${seen}); twice the reserve did no better (${fmtPct(from.attainment)} at ${reserveCell(from)}, ` +
        `${fmtPct(to.attainment)} at ${reserveCell(to)}): more replicas running do not help. Try a looser SLO (no replica count meets ` +
        'an ITL below what the profile gives at any batch), a faster startup (--startup-seconds) or another policy.'
      );
    }
    case 'refused':
      return largest !== search.written && largest.attainment <= search.written.attainment
        ? `no reserve tried meets the SLO (${seen}); the largest tried, ${reserveCell(largest)}, did no better than the policy as written, and the ` +
            "policy's own checks refuse larger ones (not tried, below): a larger limit (--gpu-budget) may not help either. Try a looser SLO or a faster startup (--startup-seconds) first."
        : `no reserve tried meets the SLO (${seen}); larger reserves are not tried: the policy's own checks refuse them (not tried, below). ` +
            'Raise the limit that refuses them (a GPU budget: --gpu-budget), try a faster startup (--startup-seconds) or a looser SLO.';
    default:
      return (
        `no reserve tried meets the SLO, not even ${reserveCell(largest)} replicas always running, the pools' maxReplicas (${seen}; ` +
        `the policy's own peak is ${search.peak.prefill} / ${search.peak.decode}). The load outruns what replicas running from the start can serve ` +
        'under this policy: try a faster startup (--startup-seconds), a looser SLO, larger pools, or compare static with `simulate`.'
      );
  }
}
