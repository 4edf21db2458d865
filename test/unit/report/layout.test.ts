/**
 * Legends never hide data: in every plot of report.html and sweep.html, as Vega lays them out (the layout renderSvg
 * writes), no legend box overlaps a plotting area, and no plotted point, bar or label lies under a legend.
 * test/integration/report-browser.test.ts checks the same on the page as Chromium draws it.
 */
import { describe, expect, it } from 'vitest';
import { reportCharts } from '../../../src/sim/report/charts.js';
import { sweepChartSpec } from '../../../src/sim/report/sweep.js';
import type { SimReport } from '../../../src/sim/types.js';
import { contains, layoutOf, overlaps } from '../../fixtures/scenegraph.js';
import { sampleReport, sampleSweep } from '../../fixtures/sample-report.js';

/** The fixture with a `current` run whose load peaks at the very start and end (where a corner legend would sit). */
function withCurrentAndEdgePeaks(): SimReport {
  const r = sampleReport();
  const current = structuredClone(r.runs[1]!);
  current.policy = 'current';
  r.runs.splice(1, 0, current);
  for (const run of r.runs) {
    for (const i of [0, 1, 2, run.intervals.length - 2, run.intervals.length - 1]) {
      run.intervals[i]!.requests = 6000;
      run.intervals[i]!.forecastRequests = 5800;
    }
  }
  return r;
}

describe('legends sit outside the plotting areas', () => {
  const cases: [string, SimReport][] = [['fixture', sampleReport()], ['current run and peaks at both ends', withCurrentAndEdgePeaks()]];
  for (const [name, report] of cases) {
    for (const chart of reportCharts(report)) {
      it(`${chart.id} (${name})`, async () => {
        const layout = await layoutOf(chart.spec);
        expect(layout.plots.length, 'plotting areas found').toBeGreaterThan(0);
        expect(layout.marks.length, 'data marks found').toBeGreaterThan(0);
        for (const legend of layout.legends) {
          for (const plot of layout.plots) expect(overlaps(legend, plot), `legend ${JSON.stringify(legend)} over plot ${JSON.stringify(plot)}`).toBe(false);
          const hidden = layout.marks.filter((m) => overlaps(legend, m.box) || contains(legend, m.box.x1, m.box.y1, 2));
          expect(hidden, 'marks under a legend').toEqual([]);
        }
      });
    }
  }

  it('the load plot keeps a legend (requests and forecast), above the plot', async () => {
    const layout = await layoutOf(reportCharts(sampleReport())[0]!.spec);
    expect(layout.legends).toHaveLength(1);
    const [legend] = layout.legends;
    const top = Math.min(...layout.plots.map((p) => p.y1));
    expect(legend!.y2).toBeLessThanOrEqual(top);
  });

  it('the sweep plot', async () => {
    const layout = await layoutOf(sweepChartSpec(sampleSweep()));
    expect(layout.plots).toHaveLength(2);
    expect(layout.legends.length).toBeGreaterThan(0);
    for (const legend of layout.legends) for (const plot of layout.plots) expect(overlaps(legend, plot)).toBe(false);
  });
});

describe('the check can fail', () => {
  it('a legend inside the plot (top-left) is caught over the data', async () => {
    const chart = reportCharts(withCurrentAndEdgePeaks())[0]!;
    const spec = structuredClone(chart.spec) as unknown as { encoding: Record<string, { legend: Record<string, unknown> }> };
    spec.encoding.color!.legend = { orient: 'top-left' };
    spec.encoding.strokeDash!.legend = { orient: 'top-left' };
    const layout = await layoutOf(spec as unknown as typeof chart.spec);
    const [legend] = layout.legends;
    expect(layout.plots.some((p) => overlaps(legend!, p))).toBe(true);
    expect(layout.marks.some((m) => contains(legend!, m.box.x1, m.box.y1, 2))).toBe(true);
  });
});
