/**
 * The fleet simulation's report: report.json (contract fields first, each run with the fleet's totals and `graphs`
 * beside them), report.md and report.html (the graphs side by side: one column group per graph, one row per run;
 * a plot of each graph's GPUs under the budget; a line per run and graph on where its GPU-hours went), and the
 * terminal summary.
 */
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { own } from '../../config/records.js';
import type { FleetGraphRun, FleetReport, FleetRunResult } from '../fleet/types.js';
import type { Percentiles } from '../types.js';
import { timeScale } from './charts.js';
import { coldStartLines } from './cold-starts.js';
import { gpuLayerLines } from './gpu-layers.js';
import { fmtDuration, fmtGpuHours, fmtInt, fmtMoney, fmtMs, fmtPct, fmtRate } from './format.js';
import { escapeHtml, htmlPage } from './html.js';
import { renderSvg } from './svg.js';
import { markdownTable, textTable, type Align } from './table.js';
import type { ReportPaths } from './types.js';
import { mkdirOrExplain, writeOrExplain } from './write.js';

type Plain = Record<string, unknown>;

/** A copy of `obj` with `first` keys (those present) in that order, then the rest; undefined values dropped. */
function ordered(obj: object, first: readonly string[], nested: Record<string, (v: unknown) => unknown> = {}): Plain {
  const src = obj as Plain;
  const out: Plain = {};
  const put = (key: string) => {
    if (!(key in src) || key in out || src[key] === undefined) return;
    const fix = nested[key];
    out[key] = fix ? fix(src[key]) : src[key];
  };
  for (const key of first) put(key);
  for (const key of Object.keys(src)) put(key);
  return out;
}

const RUN_FIELDS = ['policy', 'sloAttainment', 'ttftMs', 'itlMs', 'gpuHours', 'cost', 'evictions', 'droppedRequests', 'decisions'];

function graphJson(run: FleetGraphRun): Plain {
  return ordered(run, [...RUN_FIELDS, 'sloMet', 'priority', 'gaveUpGpuHours', 'coldStarts', 'desiredGpuHours', 'kind', 'requeued', 'completedRequests', 'warnings', 'intervals']);
}

function runJson(run: FleetRunResult): Plain {
  return ordered(run, [...RUN_FIELDS, 'sloMet', 'peakGpus', 'budgetGpus', 'graphs', 'kind', 'requeued', 'completedRequests', 'warnings', 'intervals'], {
    graphs: (v) => Object.fromEntries(Object.entries(v as Record<string, FleetGraphRun>).map(([name, g]) => [name, graphJson(g)])),
  });
}

/** report.json of a fleet: 2-space indented, contract fields first (NaN and Infinity become null). */
export function fleetReportJson(report: FleetReport): string {
  const object = ordered(report, ['schemaVersion', 'kind', 'trace', 'budget', 'runs', 'graphs', 'overrides', 'sim', 'fleetName', 'generatedAt'], {
    runs: (v) => (v as FleetRunResult[]).map(runJson),
  });
  return `${JSON.stringify(object, null, 2)}\n`;
}

function sloText(slo: FleetReport['graphs'][number]['slo']): string {
  return `TTFT p${slo.ttft.percentile} ≤ ${slo.ttft.ms} ms, ITL p${slo.itl.percentile} ≤ ${slo.itl.ms} ms`;
}

/** The nearest reported percentile to the SLO's (p95 for p95, p99 for p99.9). */
function at(p: Percentiles, percentile: number): number {
  const key = percentile >= 97 ? 'p99' : percentile >= 72.5 ? 'p95' : 'p50';
  return p[key];
}

function budgetText(run: FleetRunResult): string {
  return run.budgetGpus === undefined ? `${fmtInt(run.peakGpus)} / none` : `${fmtInt(run.peakGpus)} / ${fmtInt(run.budgetGpus)}`;
}

/** The side-by-side table: per run, the fleet's totals then each graph's SLO attainment (✓/✗) and GPU-hours. */
export function fleetSummaryCells(report: FleetReport, marks = { ok: ' ✓', bad: ' ✗' }): { headers: string[]; rows: string[][]; align: Align[] } {
  const names = report.graphs.map((g) => g.name);
  const headers = ['run', 'all SLOs met', 'SLO met (all requests)', 'GPU-hours', 'peak GPUs / budget', 'cost', ...names.flatMap((n) => [`${n}: SLO met`, `${n}: GPU-h`])];
  const align: Align[] = ['left', 'left', 'right', 'right', 'right', 'right', ...names.flatMap(() => ['right', 'right'] as Align[])];
  const rows = report.runs.map((run) => [
    run.policy,
    run.sloMet ? 'yes' : 'no',
    fmtPct(run.sloAttainment.both),
    fmtGpuHours(run.gpuHours.total),
    budgetText(run),
    fmtMoney(run.cost),
    ...names.flatMap((n) => {
      const g = own(run.graphs, n);
      return g ? [`${fmtPct(g.sloAttainment.both)}${g.sloMet ? marks.ok : marks.bad}`, fmtGpuHours(g.gpuHours.total)] : ['—', '—'];
    }),
  ]);
  return { headers, rows, align };
}

/** Per run and graph: latencies at the SLO percentile, what it gave up, its cold starts. */
export function fleetGraphCells(report: FleetReport): { headers: string[]; rows: string[][]; align: Align[] } {
  const headers = ['run', 'graph', 'priority', 'SLO met (both)', 'TTFT (SLO pct) ms', 'ITL (SLO pct) ms', 'GPU-hours', 'gave up GPU-h', 'cost', 'wakes', 'cold-start requests', 'dropped'];
  const align: Align[] = ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'];
  const rows: string[][] = [];
  for (const run of report.runs) {
    for (const g of report.graphs) {
      const r = own(run.graphs, g.name);
      if (!r) continue;
      rows.push([
        run.policy,
        g.name,
        String(g.priority),
        `${fmtPct(r.sloAttainment.both)}${r.sloMet ? '' : ' (missed)'}`,
        fmtMs(at(r.ttftMs, g.slo.ttft.percentile)),
        fmtMs(at(r.itlMs, g.slo.itl.percentile)),
        fmtGpuHours(r.gpuHours.total),
        r.gaveUpGpuHours === undefined ? '—' : fmtGpuHours(r.gaveUpGpuHours),
        fmtMoney(r.cost),
        fmtInt(r.coldStarts?.wakes ?? 0),
        fmtInt(r.coldStarts?.requests ?? 0),
        fmtInt(r.droppedRequests),
      ]);
    }
  }
  return { headers, rows, align };
}

const RUN_MEANING: Record<string, string> = {
  policy: 'the graphs on the fleet\'s one budget, decided together each interval (minimums first, then by priority, then by SLO pressure)',
  split: 'each graph planned alone, held to a fixed share of the budget in proportion to its priority (separate planners)',
  unlimited: 'each graph planned alone with no fleet budget: what sharing saves',
  dynamo: 'Dynamo\'s planner as it ships, one per graph, each with its split share as its budget',
};

export function fleetNotes(report: FleetReport): string[] {
  const notes = report.runs.map((r) => `**${r.policy}**: ${RUN_MEANING[r.policy] ?? r.kind}.`);
  notes.push(
    'A graph **meets its SLO** when the share of its requests within both targets reaches its SLO\'s percentile (95% for p95); the fleet row meets them when every graph does.',
    '**peak GPUs** counts every GPU held at an interval\'s end, replicas still draining after a scale-down included, so it may pass the budget while one graph hands GPUs to another.',
    '**gave up GPU-h**: GPUs a graph asked for and the arbitration did not grant, over the run.',
  );
  return notes;
}

function headLines(report: FleetReport): string[] {
  const b = report.budget;
  const limits = [`${b.maxGpus} GPUs`, ...(b.maxSpotGpus !== undefined ? [`${b.maxSpotGpus} on Spot`] : []), ...(b.maxOnDemandGpus !== undefined ? [`${b.maxOnDemandGpus} on-demand`] : [])];
  return [
    `Budget: ${limits.join(', ')}, shared by ${report.graphs.length} graphs`,
    ...report.graphs.map((g) => `${g.name} (priority ${g.priority}, ${g.policy}): ${g.trace.name}, ${fmtInt(g.trace.requests)} requests over ${fmtDuration(g.trace.durationSeconds)}; ${sloText(g.slo)}`),
    `What-if overrides: ${Object.keys(report.overrides ?? {}).length > 0 ? Object.entries(report.overrides ?? {}).map(([flag, v]) => `--${flag} ${v}`).join(', ') : 'none (the fleet and its policies as written)'}${report.trace.rateScale !== 1 ? `; arrival rate x${report.trace.rateScale}` : ''}${report.trace.speedup !== undefined ? `; replayed x${report.trace.speedup} faster` : ''}`,
    `Simulated: ${report.runs.length} runs in ${fmtDuration(report.sim.wallSeconds)} (${fmtRate(report.sim.requestsPerSecond)} requests/s), seed ${report.sim.seed}`,
  ];
}

function coldLines(report: FleetReport): string[] {
  return report.runs.flatMap((run) => coldStartLines(report.graphs.map((g) => ({ policy: `${run.policy} / ${g.name}`, coldStarts: own(run.graphs, g.name)?.coldStarts }))));
}

/** Where each graph's GPU-hours went, per run of the planner (planner/gpu-layers.ts; Dynamo's own loop has none). */
function layerLines(report: FleetReport): string[] {
  return report.runs.flatMap((run) =>
    gpuLayerLines(report.graphs.flatMap((g) => {
      const graph = own(run.graphs, g.name);
      return graph ? [{ policy: `${run.policy} / ${g.name}`, gpuHours: graph.gpuHours, desiredGpuHours: graph.desiredGpuHours }] : [];
    })),
  );
}

export function fleetReportMarkdown(report: FleetReport): string {
  const summary = fleetSummaryCells(report);
  const detail = fleetGraphCells(report);
  const lines = [`# Fleet simulation report: ${report.fleetName}`, '', ...headLines(report).map((l) => `- ${l}`), '', '## Graphs side by side', '', markdownTable(summary.headers, summary.rows, summary.align), '', '## Per graph', '', markdownTable(detail.headers, detail.rows, detail.align), ''];
  const cold = coldLines(report);
  if (cold.length > 0) lines.push('## Cold starts', '', ...cold.map((l) => `- ${l}`), '');
  const layers = layerLines(report);
  if (layers.length > 0) lines.push('## Where the GPU-hours went', '', ...layers.map((l) => `- ${l}`), '');
  lines.push('## How to read this', '', ...fleetNotes(report).map((n) => `- ${n}`), '');
  const warnings = report.runs.flatMap((r) => r.warnings.map((w) => `${r.policy}: ${w}`));
  if (warnings.length > 0) lines.push('## Warnings', '', ...warnings.map((w) => `- ${w}`), '');
  lines.push('Plots: see `report.html` next to this file. Full numbers: `report.json`.', '');
  return lines.join('\n');
}

/** Graph colours: Tableau 10, far apart from one graph to the next (runs in the single-graph report use their own). */
const GRAPH_COLOURS = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#eeca3b', '#9d755d', '#ff9da6', '#bab0ac'];

/**
 * A graph's name as the chart shows it. Vega looks nominal values up in plain objects, so a value that names a member
 * of Object.prototype (`constructor`, `toString`, `__proto__`: valid policy names) breaks the whole page ("Operator
 * not defined"); such a name is shown with " (graph)" after it.
 */
export function chartGraphName(name: string): string {
  return name in Object.prototype ? `${name} (graph)` : name;
}

/** Per run, each graph's GPUs over time, stacked, with the budget as a rule. */
export function fleetGpuChart(report: FleetReport): TopLevelSpec {
  const scale = timeScale(report.trace.durationSeconds);
  const values: { run: string; graph: string; time: number; gpus: number }[] = [];
  for (const run of report.runs) {
    for (const rec of run.intervals) for (const [graph, gpus] of Object.entries(rec.gpus)) values.push({ run: run.policy, graph: chartGraphName(graph), time: Number((rec.t / scale.divisor).toFixed(4)), gpus });
  }
  const names = report.graphs.map((g) => chartGraphName(g.name));
  return {
    data: { values },
    facet: { row: { field: 'run', type: 'nominal', title: null, sort: report.runs.map((r) => r.policy) } },
    spec: {
      width: 860,
      height: 140,
      layer: [
        {
          mark: { type: 'area', interpolate: 'step-before', opacity: 0.85 },
          encoding: {
            x: { field: 'time', type: 'quantitative', title: scale.title },
            y: { field: 'gpus', type: 'quantitative', stack: 'zero', title: 'GPUs' },
            color: { field: 'graph', type: 'nominal', scale: { domain: names, range: names.map((_, i) => GRAPH_COLOURS[i % GRAPH_COLOURS.length]) }, title: 'graph' },
          },
        },
        { mark: { type: 'rule', color: '#d62728', strokeDash: [6, 4], strokeWidth: 2 }, encoding: { y: { datum: report.budget.maxGpus } } },
      ],
    },
    resolve: { scale: { y: 'shared' } },
    config: { font: 'system-ui, sans-serif', view: { stroke: '#ddd' } },
  } as unknown as TopLevelSpec;
}

function htmlTable(cells: { headers: string[]; rows: string[][]; align: Align[] }, bad: (cell: string) => boolean): string {
  const head = cells.headers.map((h, i) => `<th${cells.align[i] === 'right' ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  const body = cells.rows
    .map((r) => `<tr${r[0] === 'policy' ? ' class="main"' : ''}>${r.map((c, i) => `<td class="${[cells.align[i] === 'right' ? 'num' : '', bad(c) ? 'bad' : ''].join(' ').trim()}">${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table class="summary"><thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

export async function fleetReportHtml(report: FleetReport): Promise<string> {
  const svg = await renderSvg(fleetGpuChart(report));
  const cold = coldLines(report);
  const warnings = report.runs.flatMap((r) => r.warnings.map((w) => `${r.policy}: ${w}`));
  const isBad = (c: string) => c.endsWith('✗') || c.endsWith('(missed)') || c === 'no';
  const parts = [
    `<h1>Fleet simulation report: ${escapeHtml(report.fleetName)}</h1>`,
    `<ul class="notes">${headLines(report).map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`,
    `<section class="card" id="side-by-side"><h2>Graphs side by side</h2><p class="caption">One row per run: the fleet's totals, then each graph's share of requests within its SLO (✓ met, ✗ missed) and its GPU-hours.</p>${htmlTable(fleetSummaryCells(report), isBad)}</section>`,
    `<section class="card" id="per-graph"><h2>Per graph</h2>${htmlTable(fleetGraphCells(report), isBad)}</section>`,
    `<section class="card" id="gpus"><h2>GPUs per graph under the budget</h2><p class="caption">Stacked GPUs held by each graph at each interval's end; the dashed line is the fleet's budget.</p><figure>${svg}</figure></section>`,
  ];
  if (cold.length > 0) parts.push(`<section class="card" id="cold-starts"><h2>Cold starts</h2><ul class="notes">${cold.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul></section>`);
  const layers = layerLines(report);
  if (layers.length > 0) parts.push(`<section class="card" id="gpu-layers"><h2>Where the GPU-hours went</h2><ul class="notes">${layers.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul></section>`);
  parts.push(`<section class="card" id="how-to-read"><h2>How to read this</h2><ul class="notes">${fleetNotes(report).map((n) => `<li>${escapeHtml(n).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')}</li>`).join('')}</ul></section>`);
  if (warnings.length > 0) parts.push(`<section class="card" id="warnings"><h2>Warnings</h2><ul class="notes">${warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></section>`);
  parts.push('<footer>pd-planner simulate --fleet · report.json holds every number shown here.</footer>');
  return htmlPage(`pd-planner fleet simulation: ${report.fleetName}`, parts.join('\n'));
}

/** The terminal summary of a fleet run. */
export function fleetSummaryTable(report: FleetReport): string {
  const s = fleetSummaryCells(report, { ok: '', bad: '!' });
  return [...headLines(report), '', textTable(s.headers, s.rows, s.align), '', '("!" = that graph missed its SLO)'].join('\n');
}

export async function writeFleetReport(report: FleetReport, outDir: string): Promise<ReportPaths> {
  const paths: ReportPaths = { json: join(outDir, 'report.json'), md: join(outDir, 'report.md'), html: join(outDir, 'report.html') };
  const html = await fleetReportHtml(report);
  await mkdirOrExplain(outDir);
  await Promise.all([writeOrExplain(paths.json, fleetReportJson(report)), writeOrExplain(paths.md, fleetReportMarkdown(report)), writeOrExplain(paths.html, html)]);
  return paths;
}
