import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scenarioDirName, sweepJson, sweepMarkdown, sweepSummaryTable, writeSweepReport } from '../../../src/sim/report/sweep.js';
import { writeReport } from '../../../src/sim/report/write.js';
import { sampleReport, sampleSweep } from '../../fixtures/sample-report.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'pd-report-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Data rows of the first Markdown table, as trimmed cells. */
function tableRows(md: string): string[][] {
  return md.split('\n').filter((l) => l.startsWith('|')).slice(2).map((l) => l.slice(1, -1).split(' | ').map((c) => c.trim()));
}

describe('sweep tables', () => {
  const sweep = sampleSweep();

  it('has one row per value (with its unit) and run with attainment, latencies at the SLO percentile, GPU-hours and cost', () => {
    const md = sweepMarkdown(sweep);
    expect(md).toContain('| arrival rate (× the trace) | run | SLO met (both) | TTFT p95 ms | ITL p95 ms | GPU-hours | x bound | x hindsight | cost |');
    const rows = tableRows(md);
    expect(rows).toHaveLength(4 * 5);
    // The value is shown on the first row of its group only.
    expect(rows.map((r) => r[0]).filter((v) => v !== '')).toEqual(['×0.5', '×1', '×1.5', '×2']);
    const oneX = rows.slice(5, 10);
    expect(oneX[0]).toEqual(['×1', 'policy', '94.8%', '442 ✓', '46 ✓', '18.80', '1.20×', '1.10×', '$54.08']);
    expect(oneX[4]!.slice(1)).toEqual(['hindsight', '93.5%', '489 ✓', '48 ✓', '17.02', '1.09×', '1.00×', '$49.79']);
    // At 2× the load, the static baseline (sized for 1×) costs the same and misses the SLO badly.
    // Below the bound (0.83×) because it misses the SLO: x bound is only a floor for runs that meet it.
    expect(rows[16]!.slice(1, 3)).toEqual(['static', '34.3%']);
    expect(rows[16]!.slice(5)).toEqual(['26.00', '0.83×', '0.80×', '$72.80']);
    expect(rows[16]![3]).toMatch(/ ✗$/);
  });

  it('puts a p90 SLO against p90 columns and adds the savings against a current run', () => {
    const s = sampleSweep();
    for (const { report } of s.scenarios) {
      report.slo.ttft.percentile = 90;
      const current = structuredClone(report.runs[1]!);
      current.policy = 'current';
      current.gpuHours.total = 30;
      current.cost = 100;
      report.runs.splice(1, 0, current);
    }
    const md = sweepMarkdown(s);
    expect(md).toContain('| TTFT p90 ms | ITL p95 ms |');
    expect(md).toContain('| GPU-hours saved vs current | cost saved vs current |');
    // policy at ×1: 18.80 GPU-h at $54.08 against 30 GPU-h at $100.
    expect(tableRows(md)[6]!.slice(-2)).toEqual(['11.20', '$45.92']);
    expect(sweepSummaryTable(s).split('\n')[2]).toMatch(/saved GPU-h\s+saved \$$/);
  });

  it('orders scenarios by `values`, shows a value without a result, and keeps unlisted ones', () => {
    const s = sampleSweep();
    s.scenarios.reverse();
    s.scenarios = s.scenarios.filter((x) => x.value !== 1.5);
    s.values = [0.5, 1, 1.5];
    const md = sweepMarkdown(s);
    const values = tableRows(md).map((r) => r[0]).filter((v) => v !== '');
    expect(values).toEqual(['×0.5', '×1', '×1.5', '×2']);
    expect(md).toContain('| ×1.5 | (no result) | — | — | — | — | — | — | — |');
    expect(md).toContain('- **No result for**: ×1.5');
    expect(sweepSummaryTable(s)).toContain('no result for rate-scale = ×1.5');
  });

  it('prints an aligned terminal table', () => {
    const lines = sweepSummaryTable(sweep).split('\n');
    expect(lines[0]).toBe('sweep over arrival rate (rate-scale): ×0.5, ×1, ×1.5, ×2');
    expect(lines[2]).toMatch(/^arrival rate \(× the trace\)\s+run\s+SLO met \(both\)\s+TTFT p95 ms\s+ITL p95 ms\s+GPU-hours\s+x bound\s+x hindsight\s+cost$/);
    expect(lines[4]).toMatch(/^x0\.5\s+policy\s+95\.0%\s+\d+\s+\d+\s+10\.00\s+1\.28x\s+1\.06x\s+\$30\.16$/);
  });

  it('writes sweep.json in values order, summaries without the per-interval series', () => {
    const parsed = JSON.parse(sweepJson(sweep));
    expect(parsed.parameter).toBe('rate-scale');
    expect(parsed.unit).toBe('× the trace');
    expect(parsed.values).toEqual([0.5, 1, 1.5, 2]);
    expect(parsed.scenarios.map((s: { value: number }) => s.value)).toEqual([0.5, 1, 1.5, 2]);
    const one = parsed.scenarios[1];
    expect(one.dir).toBe('rate-scale-1');
    expect(one.report.trace.requests).toBe(140_500);
    expect(one.report.runs[0].gpuHours.total).toBe(18.8);
    expect(one.report.runs[0].intervals).toBeUndefined();
  });

  it('makes safe folder names', () => {
    expect(scenarioDirName('budget.maxGpus', 16)).toBe('budget.maxGpus-16');
    expect(scenarioDirName('storage', 'Azure Files/premium')).toBe('storage-Azure_Files_premium');
  });
});

describe('writeSweepReport', () => {
  it('writes sweep.json, sweep.md, a self-contained sweep.html with one plot, and one report per scenario', async () => {
    const out = join(await tempDir(), 'nested', 'sweep');
    // Two of the four values keep the test quick: each scenario folder holds a full report.html.
    const sweep = sampleSweep();
    sweep.values = [1, 1.5];
    sweep.scenarios = sweep.scenarios.filter((s) => sweep.values.includes(s.value));
    const paths = await writeSweepReport(sweep, out);
    expect(paths.json).toBe(join(out, 'sweep.json'));
    expect(paths.scenarios).toEqual([join(out, 'rate-scale-1'), join(out, 'rate-scale-1.5')]);
    const html = await readFile(paths.html, 'utf8');
    expect(html).not.toMatch(/http|<script/i);
    expect(html.match(/<svg/g)).toHaveLength(1);
    expect(html).toContain('GPU-hours and SLO attainment vs arrival rate');
    expect(html).toContain('<a href="rate-scale-1.5/report.html">×1.5</a>');
    expect((await readFile(paths.md, 'utf8')).startsWith('# Sweep over arrival rate (`--param rate-scale`)')).toBe(true);
    expect((await readdir(paths.scenarios[1]!)).sort()).toEqual(['report.html', 'report.json', 'report.md']);
    expect((await readdir(out)).sort()).toEqual(['rate-scale-1', 'rate-scale-1.5', 'sweep.html', 'sweep.json', 'sweep.md']);
  });

  it('can skip the per-scenario reports', async () => {
    const out = await tempDir();
    const paths = await writeSweepReport(sampleSweep(), out, { scenarioReports: false });
    expect(paths.scenarios).toEqual([]);
    expect((await readdir(out)).sort()).toEqual(['sweep.html', 'sweep.json', 'sweep.md']);
    expect(await readFile(paths.html, 'utf8')).not.toContain('<a href=');
  });
});

describe('writeReport', () => {
  it('creates the folder and writes the three files', async () => {
    const out = join(await tempDir(), 'a', 'b');
    const paths = await writeReport(sampleReport(), out);
    expect(paths).toEqual({ json: join(out, 'report.json'), md: join(out, 'report.md'), html: join(out, 'report.html') });
    expect(JSON.parse(await readFile(paths.json, 'utf8')).trace.requests).toBe(140_500);
    expect(await readFile(paths.md, 'utf8')).toContain('| policy | sla |');
    expect((await readFile(paths.html, 'utf8')).match(/<svg/g)).toHaveLength(7);
  });

  it('names the path when it cannot create the folder', async () => {
    const file = join(await tempDir(), 'file');
    await writeReport(sampleReport(), file); // a folder now
    await expect(writeReport(sampleReport(), join(file, 'report.json', 'x'))).rejects.toThrow(/cannot create the report folder .*report\.json\/x/);
  });
});
