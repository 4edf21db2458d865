import { describe, expect, it } from 'vitest';
import { reportCharts } from '../../../src/sim/report/charts.js';
import { logTicks, timeScale } from '../../../src/sim/report/charts.js';
import { reportHtml } from '../../../src/sim/report/html.js';
import { renderSvg } from '../../../src/sim/report/svg.js';
import { sampleReport } from '../../fixtures/sample-report.js';

/** The inner HTML of <section id="...">. */
function section(html: string, id: string): string {
  const m = new RegExp(`<section class="card" id="${id}">([\\s\\S]*?)</section>`).exec(html);
  if (!m) throw new Error(`no section ${id}`);
  return m[1]!;
}

/** Asserts `text` is in section `id`, with a short failure message (a section is ~50 kB of SVG). */
function expectIn(html: string, id: string, text: string): void {
  expect(section(html, id).includes(text), `section ${id} should contain ${JSON.stringify(text)}`).toBe(true);
}

describe('reportHtml', () => {
  const report = sampleReport();
  const htmlPromise = reportHtml(report);

  it('is one self-contained file: no script, no URL, no external resource', async () => {
    const html = await htmlPromise;
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/http/i);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link|<img|<iframe|src=|url\(/i);
    expect(html).toContain('<style>');
  });

  it('has one <svg> per plot, each in its own section', async () => {
    const html = await htmlPromise;
    const charts = reportCharts(report);
    expect(charts.map((c) => c.id)).toEqual(['load', 'replicas', 'gpus', 'ttft', 'itl', 'cost', 'evictions']);
    expect(html.match(/<svg/g)).toHaveLength(charts.length);
    for (const c of charts) expect(section(html, c.id).match(/<svg/g)).toHaveLength(1);
  });

  it('draws data in every plot, with titles and axis titles carrying units', async () => {
    const html = await htmlPromise;
    expectIn(html, 'load', 'requests per interval (60 s)');
    expectIn(html, 'load', 'forecast (policy, sla)');
    expectIn(html, 'replicas', 'decode-spot');
    expectIn(html, 'gpus', 'GPUs provisioned per run');
    expectIn(html, 'ttft', 'TTFT p95 per interval vs SLO 500 ms');
    expectIn(html, 'ttft', 'dynamo: 10 of 60 over');
    expectIn(html, 'itl', 'ITL p95 per interval vs SLO 50 ms');
    expectIn(html, 'cost', '18.80 (1.10× hindsight)');
    expectIn(html, 'cost', '$54.08');
    expectIn(html, 'evictions', 'Spot evictions over time');
    for (const id of ['load', 'replicas', 'gpus', 'ttft', 'itl']) {
      // A drawn line is a path with many points, not an empty "M0,0".
      const paths = [...section(html, id).matchAll(/class="mark-line role-mark[^"]*"[^>]*>\s*<path[^>]*d="([^"]+)"/g)];
      expect(paths.length, id).toBeGreaterThan(0);
      expect(paths[0]![1]!.split(/[LH]/).length, id).toBeGreaterThan(30);
    }
    expectIn(html, 'load', 'time since trace start (min)');
  });

  it('compiles and renders every plot without a Vega or Vega-Lite warning', async () => {
    for (const chart of reportCharts(report)) {
      const warnings: string[] = [];
      await renderSvg(chart.spec, warnings);
      expect(warnings, chart.id).toEqual([]);
    }
  });

  it('has the summary table with one row per run and marks SLO misses', async () => {
    const summary = section(await htmlPromise, 'summary');
    expect(summary.match(/<tr/g)).toHaveLength(1 + 5);
    expect(summary).toContain('<td class="num bad">567 ✗</td>');
    expect(summary).toContain('<td class="num good">442 ✓</td>');
  });

  it('escapes user-given text', async () => {
    const r = sampleReport();
    r.policyName = '<script>alert(1)</script>';
    r.runs[0]!.warnings.push('pool "a<b" & more');
    const html = await reportHtml(r);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('pool &quot;a&lt;b&quot; &amp; more');
  });

  it('still renders every plot when there is no hindsight run, no forecast and an interval without completions', async () => {
    const r = sampleReport();
    r.runs = r.runs.filter((run) => run.policy !== 'hindsight');
    for (const run of r.runs) {
      for (const rec of run.intervals) delete rec.forecastRequests;
      delete run.intervals[10]!.ttftMs;
      delete run.intervals[10]!.itlMs;
    }
    const html = await reportHtml(r);
    expect(html.match(/<svg/g)).toHaveLength(7);
    expectIn(html, 'load', 'The policy made no forecasts');
    expectIn(html, 'cost', 'no hindsight run in this report');
  });
});

describe('plot helpers', () => {
  it('picks minutes, hours or days for the time axis', () => {
    expect(timeScale(3600).divisor).toBe(60);
    expect(timeScale(24 * 3600).divisor).toBe(3600);
    expect(timeScale(7 * 86400).divisor).toBe(86400);
  });

  it('puts 1-2-5 ticks on a wide log axis and finer ones on a narrow one', () => {
    expect(logTicks(180, 2300)).toEqual([200, 500, 1000, 2000]);
    expect(logTicks(20, 75)).toEqual([20, 30, 50, 70]);
    expect(logTicks(0, 10)).toEqual([]);
  });
});
