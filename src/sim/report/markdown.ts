/** report.md: the summary table with enough context (trace, SLO, how to read it) to stand on its own. */
import type { SimReport } from '../types.js';
import {
  fmtDuration, fmtGpuHours, fmtInt, fmtMoney, fmtMs, fmtPct, fmtRate, fmtRatio, fmtSavedGpuHours, fmtSavedMoney,
} from './format.js';
import { markdownTable, type Align } from './table.js';
import { CURRENT_RUN, findRun, latencyHeader, POLICY_RUN, sloGoal, sloPercent, summaryRows, traceExtras, type LatencyVsSlo } from './summary.js';
import { compareRuns, EXTRA_COST_FOR_SLO } from './pareto.js';
import { coldStartLines } from './cold-starts.js';
import { startingLines } from './starting.js';
import { gpuLayerLines } from './gpu-layers.js';

/** "412 ✓" or "612 ✗": the percentile and whether it met the SLO. */
function latencyCell(l: LatencyVsSlo): string {
  return `${fmtMs(l.value)} ${l.ok ? '✓' : '✗'}`;
}

/** Column headers and cells shared by report.md and report.html; the savings columns only with a current run. */
export function summaryTableCells(report: SimReport): { headers: string[]; rows: string[][]; align: Align[] } {
  const withCurrent = findRun(report, CURRENT_RUN) !== undefined;
  const headers = [
    'run', 'kind', 'SLO met (both)', 'TTFT met', 'ITL met',
    latencyHeader(report, 'ttft'), latencyHeader(report, 'itl'),
    'GPU-hours', 'spot / on-demand', 'x bound', 'x hindsight', 'vs policy', 'cost',
    ...(withCurrent ? ['GPU-hours saved vs current', 'cost saved vs current'] : []),
    'evictions (requeued)', 'dropped',
  ];
  const align: Align[] = ['left', 'left', ...headers.slice(2).map((): Align => 'right')];
  const rows = summaryRows(report).map((r) => [
    r.policy,
    r.kind,
    fmtPct(r.attainment.both),
    fmtPct(r.attainment.ttft),
    fmtPct(r.attainment.itl),
    latencyCell(r.ttft),
    latencyCell(r.itl),
    fmtGpuHours(r.gpuHours.total),
    `${fmtGpuHours(r.gpuHours.spot)} / ${fmtGpuHours(r.gpuHours.onDemand)}`,
    fmtRatio(r.xBound),
    fmtRatio(r.xHindsight),
    fmtRatio(r.vsPolicy),
    fmtMoney(r.cost),
    ...(withCurrent ? [fmtSavedGpuHours(r.savedVsCurrent?.gpuHours), fmtSavedMoney(r.savedVsCurrent?.cost)] : []),
    `${fmtInt(r.evictions)} (${fmtInt(r.requeued)})`,
    fmtInt(r.dropped),
  ]);
  return { headers, rows, align };
}

/** "azure-code.csv (azure), 123,456 requests over 1h 00m, rate scale ×1; 3 lines skipped (line 17: ...)". */
export function traceLine(report: SimReport): string {
  const t = report.trace;
  const parts = [`${t.name} (${t.format}), ${fmtInt(t.requests)} requests over ${fmtDuration(t.durationSeconds)}, rate scale ×${t.rateScale}`];
  if (t.skippedLines > 0) {
    const examples = t.skippedExamples.map((e) => `line ${e.line}: ${e.reason}`).join('; ');
    const more = t.skippedLines > t.skippedExamples.length ? '; …' : '';
    parts.push(`${fmtInt(t.skippedLines)} ${t.skippedLines === 1 ? 'line' : 'lines'} skipped${examples ? ` (${examples}${more})` : ''}`);
  } else {
    parts.push('no lines skipped');
  }
  for (const e of traceExtras(report).excluded ?? []) parts.push(`${fmtInt(e.count)} requests excluded: ${e.reason}`);
  return parts.join('; ');
}

export function sloLine(report: SimReport): string {
  const { ttft, itl } = report.slo;
  return `TTFT p${sloPercent(ttft.percentile)} ≤ ${ttft.ms} ms, ITL p${sloPercent(itl.percentile)} ≤ ${itl.ms} ms`;
}

/** The run's inputs beyond the trace and SLO, as (label, text) pairs for report.md and report.html. */
export function inputLines(report: SimReport): [string, string][] {
  const out: [string, string][] = [];
  const overrides = Object.entries(report.overrides ?? {});
  out.push(['What-if overrides', overrides.length > 0 ? overrides.map(([flag, v]) => `--${flag} ${v}`).join(', ') : 'none (the policy as written)']);
  if (report.current) out.push(['Today (current)', Object.entries(report.current).map(([pool, n]) => `${pool}=${n}`).join(', ')]);
  if (report.pools && report.pools.length > 0) {
    out.push(['Pools', report.pools.map((p) => `${p.name} (${p.role}, ${p.capacity}, ${p.gpusPerReplica} GPU${p.gpusPerReplica === 1 ? '' : 's'}/replica, ${fmtMoney(p.costPerGpuHour)}/GPU-h)`).join('; ')]);
  }
  return out;
}

export function simLine(report: SimReport): string {
  const { sim } = report;
  const runs = report.runs.length;
  return `${runs} ${runs === 1 ? 'run' : 'runs'} in ${fmtDuration(sim.wallSeconds)} (${fmtRate(sim.requestsPerSecond)} requests/s), seed ${sim.seed}`;
}

/** The "how to read this" notes, shared by report.md and report.html. */
export function howToRead(report: SimReport): string[] {
  const { ttft, itl } = report.slo;
  return [
    `**SLO met** is the share of requests that met the target: TTFT ≤ ${ttft.ms} ms, ITL ≤ ${itl.ms} ms, and **both**. ` +
      `An SLO on p${sloPercent(ttft.percentile)} is kept when at least ${sloPercent(ttft.percentile)}% of requests meet it.`,
    '**TTFT / ITL** columns give the latency at the SLO\'s own percentile over all completed requests; ✓ means it is within the SLO, ✗ that it is not.',
    '**GPU-hours** count every GPU provisioned, starting or ready; **cost** prices them per pool (Spot is cheaper).',
    '**x bound** divides a run\'s GPU-hours by the fluid lower bound (no schedule that meets the SLO, however clever, goes below 1.00×; one that misses it may); ' +
      '**x hindsight** by the cheapest schedule found, with the whole trace known, that meets the SLO: 1.25× means 25% more ' +
      'GPU-hours than that. **vs policy** compares with the policy file\'s own policy.',
    '**evictions** are Spot replicas taken away; their in-flight requests were requeued. **dropped** requests never completed.',
    ...(findRun(report, CURRENT_RUN)
      ? ['**current** holds the replicas run today (`--current`) in every interval; **saved vs current** is what each run saves against it, in GPU-hours and in cost (negative: it costs more).']
      : []),
    `A run **beats** another when it meets the SLO at fewer GPU-hours, or meets it where the other does not at no more than ${Math.round(EXTRA_COST_FOR_SLO * 100)}% extra GPU-hours; a cheaper run that misses the SLO is compared with its cost beside it, never called beaten.`,
  ];
}

/** Per-run warnings (and the trace's), so nothing the simulator noticed is lost. */
export function warningSections(report: SimReport): { title: string; items: string[] }[] {
  const out: { title: string; items: string[] }[] = [];
  const traceWarnings = traceExtras(report).warnings ?? [];
  if (traceWarnings.length > 0) out.push({ title: 'trace', items: traceWarnings });
  for (const run of report.runs) if (run.warnings.length > 0) out.push({ title: run.policy, items: run.warnings });
  return out;
}

export function reportMarkdown(report: SimReport): string {
  const { headers, rows, align } = summaryTableCells(report);
  const lines = [
    `# Simulation report: ${report.policyName}`,
    '',
    `- **Trace**: ${traceLine(report)}`,
    `- **SLO**: ${sloLine(report)}`,
    ...inputLines(report).map(([label, text]) => `- **${label}**: ${text}`),
    `- **Simulated**: ${simLine(report)}`,
    `- **Generated**: ${report.generatedAt}`,
    '',
    '## Summary',
    '',
    markdownTable(headers, rows, align),
    '',
    ...yardstickLines(report).map((l) => `- ${l}`),
    ...coldStartLines(report.runs).map((l) => `- ${l}`),
    ...startingLines(report.runs).map((l) => `- Starting: ${l}`),
    ...gpuLayerLines(report.runs).map((l) => `- Where the GPU-hours went: ${l}`),
    '',
    '## How to read this',
    '',
    ...howToRead(report).map((s) => `- ${s}`),
    '',
  ];
  const warnings = warningSections(report);
  if (warnings.length > 0) {
    lines.push('## Warnings', '');
    for (const w of warnings) {
      lines.push(`### ${w.title}`, '', ...w.items.map((i) => `- ${i}`), '');
    }
  }
  lines.push('Plots: see `report.html` next to this file. Full numbers: `report.json`.', '');
  return lines.join('\n');
}

/**
 * The surprise in words (yardsticks/surprise.ts), or undefined for a report without it.
 * Example: "Surprise: 15.5% of requests arrive above any load seen 4 intervals earlier (startup, then one interval to
 * see the load), more than the 10.0% misses the SLO allows: a planner that only reacts serves them in time only from
 * the slack it keeps, a trend it extrapolates, or a standing reserve (minReplicas or a schedule; `pd-planner reserve` finds how many)."
 */
export function surpriseLine(report: SimReport): string | undefined {
  const s = report.surprise;
  if (!s) return undefined;
  const head = `Surprise: ${fmtPct(s.share)} of requests arrive above any load seen ${s.lagIntervals} intervals earlier (startup, then one interval to see the load)`;
  return s.exceedsAllowance
    ? `${head}, more than the ${fmtPct(s.allowedMisses)} misses the SLO allows: a planner that only reacts serves them in time only from the slack it keeps, a trend it extrapolates, or a standing reserve (minReplicas or a schedule; \`pd-planner reserve\` finds the fewest replicas that meet the SLO on this trace).`
    : `${head}, within the ${fmtPct(s.allowedMisses)} misses the SLO allows.`;
}

/**
 * The yardsticks in words: the bound with its method, the surprise, and the policy against each baseline (pareto.ts).
 * Example: "policy beats hpa-tuned: both meet the SLO, at 0.73x hpa-tuned's GPU-hours".
 */
export function yardstickLines(report: SimReport): string[] {
  const lines: string[] = [];
  if (report.bound) {
    lines.push(`Fluid lower bound: ${fmtGpuHours(report.bound.gpuHours)} GPU-hours (prefill ${fmtGpuHours(report.bound.prefillGpuHours)}, decode ${fmtGpuHours(report.bound.decodeGpuHours)}; ${report.bound.method.split(':')[0]}).`);
  }
  const surprise = surpriseLine(report);
  if (surprise) lines.push(surprise);
  const policy = findRun(report, POLICY_RUN);
  if (!policy) return lines;
  const goal = sloGoal(report);
  const current = findRun(report, CURRENT_RUN);
  if (current) {
    const gpuHours = current.gpuHours.total - policy.gpuHours.total;
    const cost = current.cost - policy.cost;
    const counts = report.current ? ` (${Object.entries(report.current).map(([pool, n]) => `${pool}=${n}`).join(', ')})` : '';
    lines.push(
      `Against today's replicas${counts}: the policy ${gpuHours >= 0 ? 'saves' : 'costs'} ${fmtGpuHours(Math.abs(gpuHours))} GPU-hours and ${fmtMoney(Math.abs(cost))}` +
        `${gpuHours >= 0 ? '' : ' more'}, with ${fmtPct(policy.sloAttainment.both)} of requests within the SLO (current: ${fmtPct(current.sloAttainment.both)}).`,
    );
  }
  const as = (r: typeof policy) => ({ name: r.policy, attainment: r.sloAttainment.both, gpuHours: r.gpuHours.total });
  for (const run of report.runs) {
    if (run === policy) continue;
    lines.push(`policy ${compareRuns(as(policy), as(run), goal).text}.`);
  }
  return lines;
}
