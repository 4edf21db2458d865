/**
 * report.html and sweep.html as a browser draws them (headless Chromium, which `npm test` installs from Debian when
 * it is missing: scripts/test-tools.sh): no legend box covers a plotted line, bar, circle or label, and the page
 * does not scroll sideways at a laptop's width. The checks run in the page itself (a copy of the report with a small
 * script appended: the report proper has none), and screenshots are kept for a look (PD_REPORT_SHOTS=DIR).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../src/sim/report/write.js';
import { writeSweepReport } from '../../src/sim/report/sweep.js';
import type { SimReport } from '../../src/sim/types.js';
import { sampleReport, sampleSweep } from '../fixtures/sample-report.js';

const CHROMIUM = process.env.PD_PLANNER_CHROMIUM ?? '/usr/bin/chromium';
const WIDTH = 1300;
const work = mkdtempSync(join(tmpdir(), 'pd-browser-'));
const shots = process.env.PD_REPORT_SHOTS ?? work;

afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Runs in the page: every legend's box (client pixels), and every drawn datum under it. Lines are sampled along the
 * path every 2 px; bars, circles and text by their boxes. The result replaces the page body as JSON.
 */
const CHECK = String.raw`<script>
addEventListener('load', () => {
  const box = (r) => ({ x1: r.left, y1: r.top, x2: r.right, y2: r.bottom });
  const inside = (b, x, y) => x > b.x1 + 1 && x < b.x2 - 1 && y > b.y1 + 1 && y < b.y2 - 1;
  const overlap = (a, b) => a.x1 < b.x2 - 1 && b.x1 < a.x2 - 1 && a.y1 < b.y2 - 1 && b.y1 < a.y2 - 1;
  const result = { svgs: 0, legends: 0, marks: 0, hidden: [], scrollWidth: document.documentElement.scrollWidth, innerWidth };
  for (const svg of document.querySelectorAll('svg')) {
    result.svgs++;
    const legends = [...svg.querySelectorAll('g.role-legend')].map((g) => box(g.getBoundingClientRect())).filter((b) => b.x2 > b.x1);
    result.legends += legends.length;
    for (const el of svg.querySelectorAll('g.role-mark > path, g.role-mark > text')) {
      const line = el.closest('g.mark-line, g.mark-area');
      const points = [];
      if (line && el.tagName === 'path') {
        const m = el.getScreenCTM();
        const length = el.getTotalLength();
        for (let d = 0; d <= length; d += 2) {
          const p = el.getPointAtLength(d);
          points.push([m.a * p.x + m.c * p.y + m.e, m.b * p.x + m.d * p.y + m.f]);
        }
      }
      const b = box(el.getBoundingClientRect());
      result.marks++;
      for (const legend of legends) {
        const under = line ? points.some(([x, y]) => inside(legend, x, y)) : overlap(legend, b);
        if (under) result.hidden.push({ chart: svg.closest('section')?.id, legend, mark: el.closest('g[class*=mark-]')?.getAttribute('class') });
      }
    }
  }
  document.body.innerHTML = '<pre id="result">' + JSON.stringify(result) + '</pre>';
});
</script>`;

function chromium(args: string[]): { status: number | null; stdout: string; stderr: string } {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run the tests with \`npm test\` (scripts/test-tools.sh installs Debian's chromium when missing), or set PD_PLANNER_CHROMIUM`);
  const profile = mkdtempSync(join(work, 'profile-'));
  // At a lower CPU priority, as the README test runs its commands: the timing-sensitive suites run beside it.
  const r = spawnSync('nice', ['-n', '10', CHROMIUM,
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', `--user-data-dir=${profile}`, `--window-size=${WIDTH},1000`, '--virtual-time-budget=10000', ...args,
  ], { encoding: 'utf8', timeout: 90_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface PageCheck {
  svgs: number;
  legends: number;
  marks: number;
  hidden: unknown[];
  scrollWidth: number;
  innerWidth: number;
}

/** The page's own check, run by Chromium on a copy of `html` with CHECK appended. */
function checkPage(html: string, name: string): PageCheck {
  const file = join(work, `${name}-check.html`);
  writeFileSync(file, html.replace('</body>', `${CHECK}\n</body>`));
  const run = chromium(['--dump-dom', `file://${file}`]);
  const match = /<pre id="result">([^<]*)<\/pre>/.exec(run.stdout);
  if (!match) throw new Error(`no result from Chromium (exit ${run.status}): ${run.stderr.slice(-2000)}`);
  return JSON.parse(match[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as PageCheck;
}

function screenshot(htmlFile: string, name: string): string {
  const png = join(shots, `${name}.png`);
  chromium([`--screenshot=${png}`, '--window-size=1300,6000', `file://${htmlFile}`]);
  return png;
}

/** The fixture with a `current` run and load peaks in the first and last minutes, where a corner legend would sit. */
function reportWithEdgePeaks(): SimReport {
  const r = sampleReport();
  const current = structuredClone(r.runs[1]!);
  current.policy = 'current';
  current.gpuHours.total += 10;
  current.cost += 40;
  r.runs.splice(1, 0, current);
  r.current = { 'prefill-od': 3, 'prefill-spot': 3, 'decode-od': 5, 'decode-spot': 5 };
  for (const run of r.runs) {
    for (const i of [0, 1, run.intervals.length - 2, run.intervals.length - 1]) {
      run.intervals[i]!.requests = 6000;
      run.intervals[i]!.forecastRequests = 5800;
    }
  }
  return r;
}

describe('report.html in Chromium', () => {
  it('no legend covers plotted data, and the page fits a 1300 px window', async () => {
    const dir = join(work, 'report');
    const paths = await writeReport(reportWithEdgePeaks(), dir);
    const result = checkPage(readFileSync(paths.html, 'utf8'), 'report');
    expect(result.svgs).toBe(7);
    // load, replicas, gpus, cost: the legends that are there are drawn (and so were checked).
    expect(result.legends).toBeGreaterThanOrEqual(4);
    expect(result.marks).toBeGreaterThan(50);
    expect(result.hidden).toEqual([]);
    expect(result.scrollWidth).toBeLessThanOrEqual(result.innerWidth);
    const png = screenshot(paths.html, 'report');
    expect(statSync(png).size).toBeGreaterThan(50_000);
  });

  it('the check finds a legend drawn over the data (the page with the load legend moved into the plot)', async () => {
    const dir = join(work, 'report-bad');
    const paths = await writeReport(reportWithEdgePeaks(), dir);
    // Move the load plot's legend into its plotting area, across the load line (fixture load ~1,800-3,700 of 6,000).
    const html = readFileSync(paths.html, 'utf8');
    const load = html.indexOf('id="load"');
    const at = html.indexOf('class="mark-group role-legend"', load);
    const transform = /transform="translate\(([-\d.]+),([-\d.]+)\)"/.exec(html.slice(at, at + 400))!;
    const moved = html.slice(0, at) + html.slice(at, at + 400).replace(transform[0], 'transform="translate(20,120)"') + html.slice(at + 400);
    const result = checkPage(moved, 'report-bad');
    expect(result.hidden.length).toBeGreaterThan(0);
  });
});

describe('sweep.html in Chromium', () => {
  it('no legend covers plotted data, and the page fits a 1300 px window', async () => {
    const dir = join(work, 'sweep');
    const paths = await writeSweepReport(sampleSweep(), dir, { scenarioReports: false });
    const result = checkPage(readFileSync(paths.html, 'utf8'), 'sweep');
    expect(result.svgs).toBe(1);
    expect(result.legends).toBeGreaterThanOrEqual(1);
    expect(result.hidden).toEqual([]);
    expect(result.scrollWidth).toBeLessThanOrEqual(result.innerWidth);
    screenshot(paths.html, 'sweep');
  });
});
