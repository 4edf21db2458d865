/**
 * report.html: one self-contained file (inline CSS and SVG, no script, no URL) that opens offline,
 * attaches to a ticket, and prints.
 */
import type { SimReport } from '../types.js';
import { reportCharts, type Chart } from './charts.js';
import { runColours } from './colours.js';
import { howToRead, inputLines, simLine, sloLine, summaryTableCells, surpriseLine, traceLine, warningSections } from './markdown.js';
import { summaryRows } from './summary.js';
import { renderSvg } from './svg.js';
import { coldStartLines } from './cold-starts.js';
import { startingLines } from './starting.js';
import { gpuLayerLines } from './gpu-layers.js';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** The little Markdown our own notes use (**bold**, `code`), escaped first so user text cannot inject markup. */
function inlineMarkdown(s: string): string {
  return escapeHtml(s)
    .replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')
    .replace(/`(.+?)`/g, '<code>$1</code>');
}

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: #1d2228; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 12px; }
h2 { font-size: 18px; margin: 0 0 4px; }
h3 { font-size: 15px; margin: 12px 0 4px; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 20px; }
.meta dt { font-weight: 600; color: #555; }
.meta dd { margin: 0; }
.card { background: white; border: 1px solid #e1e4e8; border-radius: 8px; padding: 16px 18px; margin: 0 0 18px; }
.caption { color: #555; margin: 0 0 10px; max-width: 980px; }
figure { margin: 0; overflow-x: auto; }
.scroll { overflow-x: auto; }
figure svg { display: block; max-width: 100%; height: auto; }
table.summary { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 13px; }
table.summary th, table.summary td { padding: 6px 8px; border-bottom: 1px solid #e6e8eb; white-space: nowrap; }
table.summary th { background: #f0f2f5; font-weight: 600; text-align: left; vertical-align: bottom; white-space: normal; }
table.summary td.num, table.summary th.num { text-align: right; }
table.summary tr.main td { background: #f2f7fd; }
td.bad { color: #b00020; font-weight: 600; }
td.good { color: #1a7f37; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
nav ul { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 6px 16px; }
nav a, a { color: #0b5cad; }
ul.notes { margin: 0; padding-left: 20px; }
ul.notes li { margin: 3px 0; }
footer { color: #777; font-size: 12px; margin-top: 24px; }
@media print { body { background: white; } .card { border: none; padding: 0; break-inside: avoid; } nav { display: none; } }
`;

function summaryTableHtml(report: SimReport): string {
  const { headers, rows, align } = summaryTableCells(report);
  const summary = summaryRows(report);
  const colours = runColours(report.runs.map((r) => r.policy));
  const ttftCol = 5;
  const itlCol = 6;
  const head = headers.map((h, i) => `<th${align[i] === 'right' ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((cells, r) => {
    const s = summary[r]!;
    const tds = cells.map((c, i) => {
      const classes: string[] = [];
      if (align[i] === 'right') classes.push('num');
      if (i === ttftCol) classes.push(s.ttft.ok ? 'good' : 'bad');
      if (i === itlCol) classes.push(s.itl.ok ? 'good' : 'bad');
      const cls = classes.length > 0 ? ` class="${classes.join(' ')}"` : '';
      const content = i === 0 ? `<span class="swatch" style="background:${colours[r]}"></span><strong>${escapeHtml(c)}</strong>` : escapeHtml(c);
      return `<td${cls}>${content}</td>`;
    }).join('');
    return `<tr${s.policy === 'policy' ? ' class="main"' : ''}>${tds}</tr>`;
  }).join('\n');
  // Wide tables (the savings columns of --current) scroll inside their card instead of widening the page.
  return `<div class="scroll"><table class="summary"><thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table></div>`;
}

function chartSection(chart: Chart, svg: string): string {
  return `<section class="card" id="${chart.id}">
<h2>${escapeHtml(chart.heading)}</h2>
<p class="caption">${escapeHtml(chart.caption)}</p>
<figure>${svg}</figure>
</section>`;
}

/** A whole page around pre-rendered parts; shared with the sweep report. */
export function htmlPage(title: string, body: string, extraCss = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}${extraCss}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export async function reportHtml(report: SimReport): Promise<string> {
  const charts = reportCharts(report);
  const svgs = await Promise.all(charts.map((c) => renderSvg(c.spec)));
  const warnings = warningSections(report);
  const parts = [
    `<h1>Simulation report: ${escapeHtml(report.policyName)}</h1>`,
    `<dl class="meta">
<dt>Trace</dt><dd>${escapeHtml(traceLine(report))}</dd>
<dt>SLO</dt><dd>${escapeHtml(sloLine(report))}</dd>
${[surpriseLine(report)].flatMap((l) => (l ? [`<dt>Surprise</dt><dd>${escapeHtml(l.replace(/^Surprise: /, ''))}</dd>`] : [])).join('')}
${inputLines(report).map(([label, text]) => `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(text)}</dd>`).join('\n')}
<dt>Simulated</dt><dd>${escapeHtml(simLine(report))}</dd>
<dt>Generated</dt><dd>${escapeHtml(report.generatedAt)}</dd>
${coldStartLines(report.runs).map((l) => `<dt>Cold starts</dt><dd>${escapeHtml(l)}</dd>`).join('\n')}
${startingLines(report.runs).map((l) => `<dt>Starting</dt><dd>${escapeHtml(l)}</dd>`).join('\n')}
${gpuLayerLines(report.runs).map((l) => `<dt>GPU-hours by rule</dt><dd>${escapeHtml(l)}</dd>`).join('\n')}
</dl>`,
    `<section class="card" id="summary">
<h2>Summary</h2>
<p class="caption">One row per run; the highlighted row is the policy file's own policy.</p>
${summaryTableHtml(report)}
</section>`,
    `<section class="card" id="how-to-read">
<h2>How to read this</h2>
<ul class="notes">${howToRead(report).map((s) => `<li>${inlineMarkdown(s)}</li>`).join('\n')}</ul>
</section>`,
    `<nav class="card"><ul>${charts.map((c) => `<li><a href="#${c.id}">${escapeHtml(c.heading)}</a></li>`).join('')}${warnings.length > 0 ? '<li><a href="#warnings">Warnings</a></li>' : ''}</ul></nav>`,
    ...charts.map((c, i) => chartSection(c, svgs[i]!)),
  ];
  if (warnings.length > 0) {
    parts.push(`<section class="card" id="warnings">
<h2>Warnings</h2>
${warnings.map((w) => `<h3>${escapeHtml(w.title)}</h3>\n<ul class="notes">${w.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`).join('\n')}
</section>`);
  }
  parts.push(`<footer>pd-planner simulate · report.json holds every number shown here.</footer>`);
  return htmlPage(`pd-planner simulation: ${report.policyName}`, parts.join('\n'));
}
