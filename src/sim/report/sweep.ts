/**
 * Sweep reports: one comparison table and one plot across the values of a swept parameter
 * (sweep.json, sweep.md, sweep.html), plus each scenario's own full report in a sub-folder.
 */
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { SimReport } from '../types.js';
import { runColours } from './colours.js';
import { PLOT_WIDTH } from './charts.js';
import { fmtGpuHours, fmtMoney, fmtMs, fmtPct, fmtRatio, fmtSavedGpuHours, fmtSavedMoney } from './format.js';
import { WHAT_IF_PARAMS } from '../overrides.js';
import { escapeHtml, htmlPage } from './html.js';
import { reportObject } from './json.js';
import { sloLine } from './markdown.js';
import { CURRENT_RUN, reportPercentileKey, sloPercent, summaryRows } from './summary.js';
import { renderSvg } from './svg.js';
import { markdownTable, textTable, type Align } from './table.js';
import type { SweepReport, SweepReportPaths } from './types.js';
import { mkdirOrExplain, writeOrExplain, writeReport } from './write.js';

export interface SweepScenario {
  value: number | string;
  /** Undefined when `values` lists a value no scenario reported (a failed scenario): shown, not hidden. */
  report?: SimReport;
}

const sameValue = (a: number | string, b: number | string): boolean => a === b || String(a) === String(b);

/** Scenarios in the order of `values`, then any scenario whose value `values` does not list. */
function orderedScenarios(sweep: SweepReport): SweepScenario[] {
  const out: SweepScenario[] = sweep.values.map((value) => ({ value, report: sweep.scenarios.find((s) => sameValue(s.value, value))?.report }));
  for (const s of sweep.scenarios) if (!sweep.values.some((v) => sameValue(v, s.value))) out.push({ value: s.value, report: s.report });
  return out;
}

/** Run names across all scenarios, in first-seen order. */
function runNames(scenarios: SweepScenario[]): string[] {
  const names: string[] = [];
  for (const s of scenarios) for (const r of s.report?.runs ?? []) if (!names.includes(r.policy)) names.push(r.policy);
  return names;
}

/** A folder name for one scenario: "budget.maxGpus=16" -> "budget.maxGpus-16"; anything unsafe becomes "_". */
export function scenarioDirName(parameter: string, value: number | string): string {
  return `${parameter}-${value}`.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** How a swept parameter is named and shown: from the what-if knob of that name, else as given (older sweeps). */
export interface SweepAxis {
  label: string;
  unit: string;
  /** A value with its unit: "64 GPUs", "60 s", "×2". */
  show: (value: number | string) => string;
  /** Values are shares (spot-share) and the axis shows them as percentages. */
  share: boolean;
}

function sweepAxis(parameter: string): SweepAxis {
  const param = Object.hasOwn(WHAT_IF_PARAMS, parameter) ? WHAT_IF_PARAMS[parameter] : undefined;
  if (!param) return { label: parameter, unit: '', show: String, share: false };
  return { label: param.label, unit: param.unit, show: (v) => (typeof v === 'number' ? param.show(v) : String(v)), share: param.key === 'spotShare' };
}

/** The axis title and table header: "GPU budget (GPUs)", or the parameter as given when it has no unit. */
function axisTitle(axis: SweepAxis): string {
  return axis.unit ? `${axis.label} (${axis.unit})` : axis.label;
}

/** One table row per (value, run): the cells the markdown, terminal and HTML tables share. */
interface SweepRow {
  value: string;
  run: string;
  both: string;
  ttft: string;
  itl: string;
  gpuHours: string;
  xBound: string;
  xHindsight: string;
  cost: string;
  savedGpuHours: string;
  savedCost: string;
}

/** The latency headers of the first scenario with a report ("TTFT p90 ms"): the SLO's own percentile. */
function latencyKeys(scenarios: SweepScenario[]): { ttft: string; itl: string } {
  const first = scenarios.find((s) => s.report)?.report;
  return first ? { ttft: reportPercentileKey(first, 'ttft'), itl: reportPercentileKey(first, 'itl') } : { ttft: 'p95', itl: 'p95' };
}

function hasCurrent(scenarios: SweepScenario[]): boolean {
  return scenarios.some((s) => s.report?.runs.some((r) => r.policy === CURRENT_RUN));
}

function sweepRows(sweep: SweepReport, ascii: boolean): SweepRow[] {
  const rows: SweepRow[] = [];
  const axis = sweepAxis(sweep.parameter);
  const mark = (ok: boolean) => (ascii ? (ok ? '' : '!') : ok ? ' ✓' : ' ✗');
  for (const s of orderedScenarios(sweep)) {
    const value = axis.show(s.value);
    if (!s.report) {
      rows.push({ value, run: '(no result)', both: '—', ttft: '—', itl: '—', gpuHours: '—', xBound: '—', xHindsight: '—', cost: '—', savedGpuHours: '—', savedCost: '—' });
      continue;
    }
    for (const r of summaryRows(s.report)) {
      rows.push({
        value,
        run: r.policy,
        both: fmtPct(r.attainment.both),
        ttft: `${fmtMs(r.ttft.value)}${mark(r.ttft.ok)}`,
        itl: `${fmtMs(r.itl.value)}${mark(r.itl.ok)}`,
        gpuHours: fmtGpuHours(r.gpuHours.total),
        xBound: fmtRatio(r.xBound),
        xHindsight: fmtRatio(r.xHindsight),
        cost: fmtMoney(r.cost),
        savedGpuHours: fmtSavedGpuHours(r.savedVsCurrent?.gpuHours),
        savedCost: fmtSavedMoney(r.savedVsCurrent?.cost),
      });
    }
  }
  return rows;
}

/** Cells with the value shown once per group, so the eye finds where each value starts. */
function tableCells(sweep: SweepReport, ascii: boolean): { headers: string[]; rows: string[][]; align: Align[] } {
  const scenarios = orderedScenarios(sweep);
  const rows = sweepRows(sweep, ascii);
  const keys = latencyKeys(scenarios);
  const current = hasCurrent(scenarios);
  const headers = [
    axisTitle(sweepAxis(sweep.parameter)), 'run', 'SLO met (both)', `TTFT ${keys.ttft} ms`, `ITL ${keys.itl} ms`, 'GPU-hours', 'x bound', 'x hindsight', 'cost',
    ...(current ? [ascii ? 'saved GPU-h' : 'GPU-hours saved vs current', ascii ? 'saved $' : 'cost saved vs current'] : []),
  ];
  const plainText = (x: string) => (ascii ? x.replace('×', 'x').replace('−', '-') : x);
  return {
    headers,
    align: ['left', 'left', ...headers.slice(2).map((): Align => 'right')],
    rows: rows.map((r, i) => [
      i > 0 && rows[i - 1]!.value === r.value ? '' : plainText(r.value),
      r.run,
      r.both,
      r.ttft,
      r.itl,
      r.gpuHours,
      plainText(r.xBound),
      plainText(r.xHindsight),
      r.cost,
      ...(current ? [plainText(r.savedGpuHours), plainText(r.savedCost)] : []),
    ]),
  };
}

export function sweepObject(sweep: SweepReport): Record<string, unknown> {
  return {
    parameter: sweep.parameter,
    unit: sweepAxis(sweep.parameter).unit,
    values: sweep.values,
    scenarios: orderedScenarios(sweep).map((s) => {
      if (!s.report) return { value: s.value, report: null };
      // The per-interval series stay in each scenario's own report.json; here they would make the file N times larger.
      const obj = reportObject(s.report);
      const runs = (obj.runs as Record<string, unknown>[]).map(({ intervals: _intervals, ...rest }) => rest);
      return { value: s.value, dir: scenarioDirName(sweep.parameter, s.value), report: { ...obj, runs } };
    }),
  };
}

export function sweepJson(sweep: SweepReport): string {
  return `${JSON.stringify(sweepObject(sweep), null, 2)}\n`;
}

function missingValues(sweep: SweepReport): string[] {
  const axis = sweepAxis(sweep.parameter);
  return orderedScenarios(sweep).filter((s) => !s.report).map((s) => axis.show(s.value));
}

/** "64 GPUs, 96 GPUs, 128 GPUs". */
function valuesLine(sweep: SweepReport): string {
  const axis = sweepAxis(sweep.parameter);
  return sweep.values.map((v) => axis.show(v)).join(', ');
}

export function sweepMarkdown(sweep: SweepReport): string {
  const scenarios = orderedScenarios(sweep);
  const first = scenarios.find((s) => s.report)?.report;
  const { headers, rows, align } = tableCells(sweep, false);
  const missing = missingValues(sweep);
  const lines = [
    `# Sweep over ${sweepAxis(sweep.parameter).label} (\`--param ${sweep.parameter}\`)`,
    '',
    `- **Values**: ${valuesLine(sweep)}`,
  ];
  if (first) {
    lines.push(`- **Policy**: ${first.policyName}`, `- **Trace**: ${first.trace.name} (${first.trace.format})`, `- **SLO** (first scenario): ${sloLine(first)}`);
  }
  if (missing.length > 0) lines.push(`- **No result for**: ${missing.join(', ')}`);
  lines.push(
    '',
    '## Comparison',
    '',
    markdownTable(headers, rows, align),
    '',
    '**SLO met (both)** is the share of requests that met both the TTFT and the ITL target; **TTFT** and **ITL** are ' +
      'the latencies at the SLO\'s own percentile (✓ within the SLO, ✗ over it); **x bound** is GPU-hours ' +
      'over the fluid lower bound of the same scenario (no schedule that meets the SLO goes below 1.00×), **x hindsight** over the cheapest ' +
      'schedule found with the whole trace known that meets the SLO.' +
      (hasCurrent(scenarios) ? ' **Saved vs current** is what a run saves against `current`, the replicas run today (negative: it costs more).' : ''),
    '',
    `Each scenario's full report (plots, per-interval numbers) is in its own folder, e.g. \`${scenarioDirName(sweep.parameter, sweep.values[0] ?? '')}/report.html\`.`,
    '',
  );
  return lines.join('\n');
}

export function sweepSummaryTable(sweep: SweepReport): string {
  const { headers, rows, align } = tableCells(sweep, true);
  const missing = missingValues(sweep);
  const axis = sweepAxis(sweep.parameter);
  const out = [`sweep over ${axis.label} (${sweep.parameter}): ${valuesLine(sweep)}`, '', textTable(headers, rows, align)];
  if (missing.length > 0) out.push('', `no result for ${sweep.parameter} = ${missing.join(', ')}`);
  return out.join('\n');
}

/** The sweep plot: GPU-hours and attainment (both) against the parameter, one line per run. */
export function sweepChartSpec(sweep: SweepReport): TopLevelSpec {
  const scenarios = orderedScenarios(sweep);
  const numeric = scenarios.every((s) => typeof s.value === 'number');
  const rows = scenarios.flatMap((s) =>
    (s.report?.runs ?? []).map((r) => ({
      value: numeric ? s.value : String(s.value),
      run: r.policy,
      gpuHours: Number(r.gpuHours.total.toFixed(4)),
      both: Number(r.sloAttainment.both.toFixed(6)),
    })),
  );
  const domain = runNames(scenarios);
  const colour = { field: 'run', type: 'nominal', title: 'run', scale: { domain, range: runColours(domain) } };
  const axis = sweepAxis(sweep.parameter);
  // Ticks exactly at the swept values (a sweep is about those, not about round numbers in between), in the unit.
  const numbers = numeric ? [...new Set(scenarios.map((s) => s.value as number))].sort((a, b) => a - b) : [];
  const x = numeric
    ? {
        field: 'value', type: 'quantitative', title: axisTitle(axis),
        scale: { zero: false, nice: false, padding: 14, ...(numbers.length > 1 ? { domain: [numbers[0], numbers.at(-1)] } : {}) },
        axis: { values: numbers, labelOverlap: false, grid: true, ...(axis.share ? { format: '.0%' } : { format: ',~f' }) },
      }
    : { field: 'value', type: 'ordinal', title: axisTitle(axis), sort: scenarios.map((s) => String(s.value)), axis: { labelAngle: 0 } };
  // A reference line at the SLO percentile, when every scenario has the same one (not when sweeping the SLO).
  const percents = new Set(scenarios.flatMap((s) => (s.report ? [sloPercent(s.report.slo.ttft.percentile)] : [])));
  const target = percents.size === 1 ? [...percents][0]! / 100 : undefined;
  const panelWidth = Math.round((PLOT_WIDTH - 60) / 2);
  const line = { type: 'line', point: { size: 50, filled: true }, strokeWidth: 2 };
  return {
    config: {
      font: 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif',
      background: 'white',
      padding: 8,
      view: { stroke: '#ddd' },
      title: { fontSize: 15, fontWeight: 600, anchor: 'start', subtitleFontSize: 12, subtitleColor: '#555', offset: 14 },
      axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
      legend: { labelFontSize: 12, titleFontSize: 12, symbolStrokeWidth: 2.5, symbolSize: 120 },
    },
    title: { text: `GPU-hours and SLO attainment vs ${axis.label}`, subtitle: 'one line per run; a cheaper run only counts if it still meets the SLO' },
    data: { values: rows },
    hconcat: [
      {
        width: panelWidth,
        height: 260,
        title: { text: 'GPU-hours', fontSize: 13 },
        mark: line,
        encoding: { x, y: { field: 'gpuHours', type: 'quantitative', title: 'GPU-hours' }, color: colour },
      },
      {
        width: panelWidth,
        height: 260,
        title: { text: target === undefined ? 'SLO met (both TTFT and ITL)' : `SLO met (both TTFT and ITL); red dashed line: the SLO's ${target * 100}%`, fontSize: 13 },
        layer: [
          {
            mark: line,
            encoding: { x, y: { field: 'both', type: 'quantitative', title: 'requests meeting both SLOs', axis: { format: '.0%' }, scale: { zero: false } }, color: colour },
          },
          // The SLO's line, named in the panel title rather than by a label drawn over the data.
          ...(target === undefined ? [] : [{
            data: { values: [{ target }] },
            mark: { type: 'rule', color: '#d62728', strokeDash: [6, 4], strokeWidth: 1.5 },
            encoding: { y: { field: 'target', type: 'quantitative' } },
          }]),
        ],
      },
    ],
    spacing: 50,
  } as TopLevelSpec;
}

export async function sweepHtml(sweep: SweepReport, scenarioLinks = true): Promise<string> {
  const svg = await renderSvg(sweepChartSpec(sweep));
  const { headers, rows, align } = tableCells(sweep, false);
  const scenarios = orderedScenarios(sweep);
  const axis = sweepAxis(sweep.parameter);
  const colours = new Map(runNames(scenarios).map((n, i, all) => [n, runColours(all)[i]!]));
  const first = scenarios.find((s) => s.report)?.report;
  const missing = missingValues(sweep);
  const head = headers.map((h, i) => `<th${align[i] === 'right' ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  // A rule above the first row of each value's group.
  const body = rows.map((cells, r) => `<tr${r > 0 && cells[0] !== '' ? ' class="group"' : ''}>${cells.map((c, i) => {
    let content = escapeHtml(c);
    const linked = i === 0 && c !== '' && scenarioLinks ? scenarios.find((s) => s.report && axis.show(s.value) === c) : undefined;
    if (linked) content = `<a href="${escapeHtml(scenarioDirName(sweep.parameter, linked.value))}/report.html">${content}</a>`;
    if (i === 1 && colours.has(c)) content = `<span class="swatch" style="background:${colours.get(c)}"></span>${content}`;
    return `<td${align[i] === 'right' ? ' class="num"' : ''}>${content}</td>`;
  }).join('')}</tr>`).join('\n');
  const meta = [
    `<dt>Values</dt><dd>${escapeHtml(valuesLine(sweep))}</dd>`,
    ...(first ? [
      `<dt>Policy</dt><dd>${escapeHtml(first.policyName)}</dd>`,
      `<dt>Trace</dt><dd>${escapeHtml(`${first.trace.name} (${first.trace.format})`)}</dd>`,
      `<dt>SLO</dt><dd>${escapeHtml(sloLine(first))} (first scenario)</dd>`,
    ] : []),
    ...(missing.length > 0 ? [`<dt>No result for</dt><dd>${escapeHtml(missing.join(', '))}</dd>`] : []),
  ];
  const page = [
    `<h1>Sweep over ${escapeHtml(sweepAxis(sweep.parameter).label)} (--param ${escapeHtml(sweep.parameter)})</h1>`,
    `<dl class="meta">${meta.join('\n')}</dl>`,
    `<section class="card" id="plot"><h2>GPU-hours and attainment</h2><p class="caption">Each point is one scenario's run. Look for the value where the policy's line meets the SLO at the fewest GPU-hours.</p><figure>${svg}</figure></section>`,
    `<section class="card" id="comparison"><h2>Comparison</h2><p class="caption">Per value and run. ${scenarioLinks ? 'Click a value for that scenario\'s full report.' : ''}</p><div class="scroll"><table class="summary"><thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table></div></section>`,
  ];
  return htmlPage(`pd-planner sweep: ${sweep.parameter}`, page.join('\n'), 'table.summary tr.group td { border-top: 2px solid #b8bec6; }');
}

export interface SweepWriteOptions {
  /** Also write each scenario's full report into `outDir/<parameter>-<value>/` (default true). */
  scenarioReports?: boolean;
}

/** Write sweep.json, sweep.md, sweep.html (and, by default, one report folder per scenario) into `outDir`. */
export async function writeSweepReport(sweep: SweepReport, outDir: string, options: SweepWriteOptions = {}): Promise<SweepReportPaths> {
  const withScenarios = options.scenarioReports ?? true;
  await mkdirOrExplain(outDir);
  const scenarios: string[] = [];
  if (withScenarios) {
    // One at a time: each render holds its SVGs in memory, and the CPU is busy either way.
    for (const s of orderedScenarios(sweep)) {
      if (!s.report) continue;
      const dir = join(outDir, scenarioDirName(sweep.parameter, s.value));
      await writeReport(s.report, dir);
      scenarios.push(dir);
    }
  }
  const paths = { json: join(outDir, 'sweep.json'), md: join(outDir, 'sweep.md'), html: join(outDir, 'sweep.html') };
  const html = await sweepHtml(sweep, withScenarios);
  await Promise.all([
    writeOrExplain(paths.json, sweepJson(sweep)),
    writeOrExplain(paths.md, sweepMarkdown(sweep)),
    writeOrExplain(paths.html, html),
  ]);
  return { ...paths, scenarios };
}
