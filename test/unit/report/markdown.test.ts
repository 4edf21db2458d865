import { describe, expect, it } from 'vitest';
import { reportMarkdown } from '../../../src/sim/report/markdown.js';
import { summaryRows, percentileKeyFor } from '../../../src/sim/report/summary.js';
import { summaryTable } from '../../../src/sim/report/terminal.js';
import { sampleReport } from '../../fixtures/sample-report.js';

/** The data rows of the first Markdown table, split into trimmed cells. */
function tableRows(md: string): string[][] {
  const lines = md.split('\n').filter((l) => l.startsWith('|'));
  return lines.slice(2).map((l) => l.slice(1, -1).split(' | ').map((c) => c.trim()));
}

describe('summaryRows', () => {
  it('divides GPU-hours by the bound\'s, by hindsight\'s and by the policy\'s', () => {
    const rows = summaryRows(sampleReport());
    const by = Object.fromEntries(rows.map((r) => [r.policy, r]));
    // bound 15.6111 GPU-h; 18.8 / 15.6111 = 1.2043; 18.8 / 17.0167 = 1.1048; 26 / 17.0167 = 1.5279; 26 / 18.8 = 1.3830
    expect(by.policy!.xBound).toBeCloseTo(1.2043, 4);
    expect(by.policy!.xHindsight).toBeCloseTo(1.1048, 4);
    expect(by.static!.xHindsight).toBeCloseTo(1.5279, 4);
    expect(by.static!.vsPolicy).toBeCloseTo(1.383, 3);
    expect(by.hindsight!.xHindsight).toBe(1);
    expect(by.policy!.vsPolicy).toBe(1);
    // SLO 95%: the fixture's policy (94.8%) misses it by a hair, static (100%) meets it.
    expect(by.policy!.sloMet).toBe(false);
    expect(by.static!.sloMet).toBe(true);
  });

  it('has no hindsight ratio without a hindsight run', () => {
    const r = sampleReport();
    r.runs = r.runs.filter((run) => run.policy !== 'hindsight');
    expect(summaryRows(r).every((row) => row.xHindsight === undefined && row.xBound !== undefined)).toBe(true);
  });

  it('compares the SLO with its own percentile, and an old report without it with the nearest one', () => {
    const current = { p50: 100, p90: 300, p95: 400, p99: 900, 'p97.5': 600 };
    expect(percentileKeyFor(90, current)).toBe('p90');
    expect(percentileKeyFor(97.5, current)).toBe('p97.5');
    expect(percentileKeyFor(0.99, current)).toBe('p99');
    const old = { p50: 100, p95: 400, p99: 900 };
    expect(percentileKeyFor(95, old)).toBe('p95');
    expect(percentileKeyFor(90, old)).toBe('p95');
    expect(percentileKeyFor(60, old)).toBe('p50');
  });

  it('puts a p90 SLO against the p90 columns', () => {
    const r = sampleReport();
    r.slo.ttft.percentile = 90;
    for (const run of r.runs) run.ttftMs.p90 = run.ttftMs.p95 - 100;
    const rows = summaryRows(r);
    expect(rows[0]!.ttft).toMatchObject({ key: 'p90', value: r.runs[0]!.ttftMs.p95 - 100, sloPercent: 90 });
    expect(reportMarkdown(r)).toContain('| TTFT p90 ms (SLO 500) |');
    expect(summaryTable(r)).toContain('TTFT p90');
  });
});

describe('reportMarkdown', () => {
  const md = reportMarkdown(sampleReport());
  const rows = tableRows(md);

  it('has one row per run with attainment, p95s against the SLO, GPU-hours and both ratios', () => {
    expect(rows.map((r) => r[0])).toEqual(['policy', 'static', 'hpa', 'dynamo', 'hindsight']);
    const [policy, staticRun, hpa, dynamo, hindsight] = rows;
    expect(policy).toEqual([
      'policy', 'sla', '94.8%', '96.9%', '97.4%', '442 ✓', '46 ✓', '18.80', '8.80 / 10.00', '1.20×', '1.10×', '1.00×', '$54.08', '3 (42)', '0',
    ]);
    expect(staticRun!.slice(7, 13)).toEqual(['26.00', '13.00 / 13.00', '1.67×', '1.53×', '1.38×', '$72.80']);
    expect(hpa![10]).toBe('1.43×'); // 24.3333 / 17.0167
    expect(dynamo!.slice(5, 7)).toEqual(['567 ✗', '54 ✗']);
    expect(dynamo![14]).toBe('13');
    expect(hindsight!.slice(10, 12)).toEqual(['1.00×', '0.91×']); // 17.0167 / 18.8
  });

  it('names the SLO in the latency headers', () => {
    expect(md).toContain('| TTFT p95 ms (SLO 500) | ITL p95 ms (SLO 50) |');
  });

  it('states the trace with its skipped lines, and explains how to read the table', () => {
    expect(md).toContain('azure-conv-2023-11-16-1h.csv (azure), 140,500 requests over 1h 00m, rate scale ×1');
    expect(md).toContain('3 lines skipped (line 1207: ContextTokens is not a number ("n/a"); line 40211:');
    expect(md).toContain('## How to read this');
    expect(md).toContain('**x bound**');
    expect(md).toContain('**x hindsight**');
    // Pareto wording: the policy misses the 95% SLO (94.8%) where static meets it at 1.38x the cost: not 'beaten' by a
    // cheaper run, and it does not beat a costlier one that meets the SLO.
    expect(md).toContain("- policy does not beat static: misses the SLO (94.8%) where static meets it, at 0.72x static's GPU-hours.");
    expect(md).toContain('- Fluid lower bound: 15.61 GPU-hours (prefill 3.90, decode 11.71; fluid-strict).');
  });

  it('lists every run warning', () => {
    expect(md).toContain('### dynamo\n\n- 13 requests dropped');
    expect(md).toContain('### policy\n\n- t=2460s: decode-spot lost 2 replicas');
  });

  it('escapes pipes in user-given names so the table keeps its columns', () => {
    const r = sampleReport();
    r.runs[1]!.policy = 'static|peak';
    const row = tableRows(reportMarkdown(r))[1]!;
    expect(row[0]).toBe('static\\|peak');
  });

  it('says when the trace had no bad lines, and shows excluded requests when the reader reports them', () => {
    const r = sampleReport();
    r.trace.skippedLines = 0;
    r.trace.skippedExamples = [];
    Object.assign(r.trace, { excluded: [{ count: 12, reason: 'Response tokens 0 (failed requests)' }] });
    const text = reportMarkdown(r);
    expect(text).toContain('no lines skipped; 12 requests excluded: Response tokens 0 (failed requests)');
  });
});

describe('summaryTable (terminal)', () => {
  const text = summaryTable(sampleReport());
  const lines = text.split('\n');

  it('prints one aligned row per run', () => {
    const header = lines.find((l) => l.startsWith('run '))!;
    const body = lines.slice(lines.indexOf(header) + 2, lines.indexOf(header) + 7);
    expect(body.map((l) => l.split(/\s+/)[0])).toEqual(['policy', 'static', 'hpa', 'dynamo', 'hindsight']);
    // Right-aligned numeric columns end at the same column as their header.
    const costEnd = header.indexOf('cost') + 'cost'.length;
    for (const l of body) expect(l.slice(0, costEnd)).toMatch(/\$\d[\d,]*\.\d\d$/);
    expect(body[0]).toMatch(/^policy\s+sla\s+94\.8%\s+442\s+46\s+18\.80\s+1\.20x\s+1\.10x\s+\$54\.08\s+3\s+0$/);
    expect(body[3]).toContain('567!');
  });

  it('is compact enough for a terminal', () => {
    const header = lines.findIndex((l) => l.startsWith('run '));
    // 11 columns (x bound and x hindsight side by side): within 110, narrower than any terminal this runs in.
    expect(Math.max(...lines.slice(header, header + 7).map((l) => l.length))).toBeLessThanOrEqual(110);
    expect(text).toContain("policy does not beat static: misses the SLO (94.8%) where static meets it, at 0.72x static's GPU-hours.");
  });
});
