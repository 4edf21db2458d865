/**
 * Vega-Lite specs for the report's plots: pure functions from a SimReport to a spec with its data
 * inlined. `svg.ts` renders them; nothing here does I/O.
 */
import type { TopLevelSpec } from 'vega-lite';
import { percentileKey } from '../../planner/percentile-key.js';
import type { RunResult, SimReport } from '../types.js';
import { runColours, SLO_COLOUR } from './colours.js';
import { bucketSize, downsample, type PlotPoint } from './downsample.js';
import { fmtGpuHours, fmtMoney, fmtRatio } from './format.js';
import { findRun, HINDSIGHT_RUN, POLICY_RUN, reportPercentileKey, sloPercent, summaryRows } from './summary.js';

export interface Chart {
  /** Stable id, used as the HTML anchor. */
  id: string;
  /** Section heading in the HTML. */
  heading: string;
  /** One sentence under the heading: what to look for. */
  caption: string;
  spec: TopLevelSpec;
}

/** Plot width in px; the page is laid out for it (about 1,150 px with axes and legend). */
export const PLOT_WIDTH = 900;
const PLOT_HEIGHT = 240;

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif';

/** Shared look: readable fonts, light grid, left-aligned titles; legends outside the plotting area (layout.test.ts). */
const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 8,
  view: { stroke: '#ddd' },
  title: { fontSize: 15, fontWeight: 600, anchor: 'start', subtitleFontSize: 12, subtitleColor: '#555', offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 500, gridColor: '#eee', domainColor: '#888', tickColor: '#888' },
  legend: { labelFontSize: 12, titleFontSize: 12, titleFontWeight: 600, symbolStrokeWidth: 2.5, symbolSize: 250, labelLimit: 260 },
  header: { labelFontSize: 12, labelFontWeight: 600 },
  line: { strokeWidth: 2 },
} as const;

interface TimeScale {
  divisor: number;
  title: string;
}

/**
 * Minutes for traces up to 3 h, hours up to 3 days, days beyond.
 * Example: a 1 h trace -> t = 1,800 s is plotted at 30 (min).
 */
export function timeScale(durationSeconds: number): TimeScale {
  if (durationSeconds <= 3 * 3600) return { divisor: 60, title: 'time since trace start (min)' };
  if (durationSeconds <= 3 * 86400) return { divisor: 3600, title: 'time since trace start (h)' };
  return { divisor: 86400, title: 'time since trace start (days)' };
}

/** Interval length in seconds, from the first two records (or the first record's end time). */
function intervalSeconds(report: SimReport): number {
  for (const run of report.runs) {
    const [a, b] = run.intervals;
    if (a && b) return b.t - a.t;
    if (a) return a.t;
  }
  return 60;
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

function runScale(report: SimReport): { domain: string[]; range: string[] } {
  const domain = report.runs.map((r) => r.policy);
  return { domain, range: runColours(domain) };
}

function timeX(report: SimReport): Record<string, unknown> {
  return { field: 'time', type: 'quantitative', title: timeScale(report.trace.durationSeconds).title, scale: { nice: false, zero: true } };
}

function at(report: SimReport, rec: { t: number }): number {
  return round(rec.t / timeScale(report.trace.durationSeconds).divisor, 4);
}

/** Intervals per plotted point for this report (1 unless the trace is long; see downsample.ts). */
function bucketOf(report: SimReport): number {
  return bucketSize(Math.max(0, ...report.runs.map((r) => r.intervals.length)));
}

function points(report: SimReport, run: RunResult | undefined): PlotPoint[] {
  return run ? downsample(run.intervals, bucketOf(report)) : [];
}

/** " · each point: the mean of 14 intervals" when bucketed, "" otherwise. */
function bucketNote(report: SimReport, how: string): string {
  const k = bucketOf(report);
  return k > 1 ? ` · each point: ${how.replace('K', String(k))}` : '';
}

/** The run the report is about: the file's policy, or the first run when the driver named none "policy". */
function mainRun(report: SimReport) {
  return findRun(report, POLICY_RUN) ?? report.runs[0];
}

/** (a) Requests per interval and the policy's forecast for the same interval. */
function loadChart(report: SimReport): Chart {
  const run = mainRun(report);
  const step = intervalSeconds(report);
  const actual = 'requests (trace)';
  const forecastName = run ? `forecast (${run.policy}, ${run.kind})` : 'forecast';
  const rows: Record<string, unknown>[] = [];
  let forecasts = 0;
  for (const rec of points(report, run)) {
    rows.push({ time: at(report, rec), series: actual, value: round(rec.requests, 2) });
    if (rec.forecastRequests !== undefined) {
      rows.push({ time: at(report, rec), series: forecastName, value: round(rec.forecastRequests, 2) });
      forecasts++;
    }
  }
  const forecastColour = runColours([run?.policy ?? POLICY_RUN])[0]!;
  // Above the plot, never inside it: a legend in a corner of the plot covers the peaks that land there.
  const seriesLegend = { orient: 'top', direction: 'horizontal', symbolSize: 300, labelLimit: 400 };
  return {
    id: 'load',
    heading: 'Load and forecast',
    caption: forecasts > 0
      ? 'Requests that arrived in each interval, and what the policy forecast for that interval one tick earlier. Gaps between the lines are forecast error.'
      : 'Requests that arrived in each interval. The policy made no forecasts (it reacts to observed load only).',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config: CONFIG,
      title: {
        text: 'Load: requests per interval',
        subtitle: (forecasts > 0 ? 'trace vs the policy\'s forecast' : 'the policy made no forecasts') + bucketNote(report, 'the mean of K intervals'),
      },
      width: PLOT_WIDTH,
      height: PLOT_HEIGHT,
      data: { values: rows },
      mark: { type: 'line', interpolate: 'linear', strokeWidth: 2 },
      encoding: {
        x: timeX(report),
        y: { field: 'value', type: 'quantitative', title: `requests per interval (${step} s)` },
        // Colour and dash on the same field with the same legend settings merge into one legend.
        color: {
          field: 'series', type: 'nominal', title: null,
          scale: { domain: [actual, forecastName], range: ['#222222', forecastColour] },
          legend: seriesLegend,
        },
        strokeDash: {
          field: 'series', type: 'nominal', title: null,
          scale: { domain: [actual, forecastName], range: [[1, 0], [6, 3]] },
          legend: seriesLegend,
        },
      },
    } as TopLevelSpec,
  };
}

/** (b) Desired vs ready replicas per pool for the policy file's policy, one panel per pool. */
function replicasChart(report: SimReport): Chart {
  const run = mainRun(report);
  const rows: Record<string, unknown>[] = [];
  const pools: string[] = [];
  // Panels in first-seen order by a numeric field: a sort list of pool names breaks Vega when a name is an Object
  // property ("constructor", a valid pool name).
  const order = (pool: string): number => {
    if (!pools.includes(pool)) pools.push(pool);
    return pools.indexOf(pool);
  };
  for (const rec of points(report, run)) {
    for (const pool of Object.keys(rec.desired)) {
      rows.push({ time: at(report, rec), pool, order: order(pool), state: 'desired', replicas: rec.desired[pool] });
    }
    for (const pool of Object.keys(rec.ready)) {
      rows.push({ time: at(report, rec), pool, order: order(pool), state: 'ready', replicas: rec.ready[pool] });
    }
  }
  const colour = runColours([run?.policy ?? POLICY_RUN])[0]!;
  return {
    id: 'replicas',
    heading: 'Replicas per pool',
    caption: `What the ${run?.policy ?? 'policy'} run (${run?.kind ?? '?'}) asked for (dashed) and what was ready (solid) in each pool. Ready lags desired by the startup time; drops in ready without a drop in desired are evictions.`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config: CONFIG,
      title: {
        text: `Replicas per pool: ${run?.policy ?? ''} (${run?.kind ?? ''})`,
        subtitle: `desired (dashed) vs ready (solid), per pool${bucketNote(report, 'the highest desired and lowest ready of K intervals')}`,
      },
      data: { values: rows },
      facet: {
        row: {
          field: 'pool', type: 'nominal', sort: { field: 'order', op: 'min' }, title: null,
          header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top', labelPadding: 4 },
        },
      },
      spacing: 14,
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: PLOT_WIDTH,
        height: 80,
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
        encoding: {
          x: timeX(report),
          y: { field: 'replicas', type: 'quantitative', title: 'replicas', axis: { tickMinStep: 1, format: 'd' }, scale: { zero: true } },
          color: {
            field: 'state', type: 'nominal', title: null,
            scale: { domain: ['desired', 'ready'], range: ['#222222', colour] },
            legend: { orient: 'right', symbolSize: 300 },
          },
          strokeDash: {
            field: 'state', type: 'nominal', title: null,
            scale: { domain: ['desired', 'ready'], range: [[5, 3], [1, 0]] },
            legend: { orient: 'right', symbolSize: 300 },
          },
        },
      },
    } as TopLevelSpec,
  };
}

/** (b) Total GPUs provisioned per run over time. */
function gpusChart(report: SimReport): Chart {
  const rows = report.runs.flatMap((run) => points(report, run).map((rec) => ({ time: at(report, rec), run: run.policy, gpus: round(rec.gpus, 2) })));
  return {
    id: 'gpus',
    heading: 'GPUs per run',
    caption: 'GPUs provisioned (starting or ready) at the end of each interval, per run. The area under each line is its GPU-hours.',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config: CONFIG,
      title: { text: 'GPUs provisioned per run', subtitle: `all pools, starting or ready${bucketNote(report, 'the mean of K intervals')}` },
      width: PLOT_WIDTH,
      height: PLOT_HEIGHT,
      data: { values: rows },
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2, opacity: 0.9 },
      encoding: {
        x: timeX(report),
        y: { field: 'gpus', type: 'quantitative', title: 'GPUs', axis: { tickMinStep: 1 } },
        color: { field: 'run', type: 'nominal', title: 'run', scale: runScale(report) },
      },
    } as TopLevelSpec,
  };
}

/**
 * Tick values for a log axis: 1-2-5 steps within [lo, hi], finer steps when that gives fewer than 3
 * ticks, so a narrow range still gets labels and a wide one never crowds.
 * Examples: [180, 2300] -> [200, 500, 1000, 2000]; [20, 75] -> [20, 30, 50, 70].
 */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi >= lo)) return [];
  const steps = [[1, 2, 5], [1, 2, 3, 5, 7], [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9]];
  let ticks: number[] = [];
  for (const mantissas of steps) {
    ticks = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of mantissas) {
        const v = Number((m * 10 ** e).toPrecision(6));
        if (v >= lo && v <= hi) ticks.push(v);
      }
    }
    if (ticks.length >= 3) break;
  }
  return ticks;
}

/**
 * (c) A latency percentile per interval against its SLO: one small panel per run (five overlaid lines
 * hide each other), shared log scale so panels compare (overload is 10-100× the SLO).
 */
function latencyChart(report: SimReport, which: 'ttft' | 'itl'): Chart {
  const slo = report.slo[which];
  const key = reportPercentileKey(report, which);
  const name = which === 'ttft' ? 'TTFT' : 'ITL';
  const rows: Record<string, unknown>[] = [];
  const overByRun = new Map<string, number>();
  let lo = slo.ms;
  let hi = slo.ms;
  for (const run of report.runs) {
    // Count breaches on the raw intervals, plot the (possibly bucketed) points.
    overByRun.set(run.policy, run.intervals.filter((rec) => {
      const p = which === 'ttft' ? rec.ttftMs : rec.itlMs;
      return p !== undefined && (p[key] ?? 0) > slo.ms;
    }).length);
    for (const rec of points(report, run)) {
      const p = which === 'ttft' ? rec.ttftMs : rec.itlMs;
      // An interval with no completed request has no percentile: null breaks the line instead of inventing a value.
      const ms = p?.[key];
      const value = ms !== undefined && ms > 0 ? round(ms, 2) : null;
      if (value !== null) {
        lo = Math.min(lo, value);
        hi = Math.max(hi, value);
      }
      rows.push({ time: at(report, rec), run: run.policy, ms: value, slo: slo.ms });
    }
  }
  // Pad the domain a little so the lowest and highest lines do not sit on the panel edges.
  const domain = [round(lo / 1.15, 2), round(hi * 1.15, 2)];
  const ticks = logTicks(domain[0]!, domain[1]!);
  const sloKey = percentileKey(sloPercent(slo.percentile));
  const onOther = sloKey === key ? '' : ` (SLO is on ${sloKey})`;
  const overTotal = [...overByRun.values()].reduce((s, n) => s + n, 0);
  const intervals = report.runs[0]?.intervals.length ?? 0;
  const runLabels = report.runs.map((r) => `${r.policy}: ${overByRun.get(r.policy) ?? 0} of ${r.intervals.length} over`);
  return {
    id: which,
    heading: `${name} ${key} per interval`,
    caption: `${name} ${key} of the requests that completed in each interval, one panel per run, against the SLO of ${slo.ms} ms (red dashed line). Line above the red line = an interval that broke the SLO. Logarithmic scale, the same in every panel.`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config: CONFIG,
      title: {
        text: `${name} ${key} per interval vs SLO ${slo.ms} ms${onOther}`,
        subtitle: `${overTotal} of ${intervals * report.runs.length} run-intervals over the SLO${bucketNote(report, 'the worst of K intervals')}`,
      },
      data: { values: rows },
      facet: {
        row: {
          field: 'run', type: 'nominal', sort: report.runs.map((r) => r.policy), title: null,
          header: {
            labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top', labelPadding: 3,
            // "policy: 3 of 60 over" as the panel label.
            labelExpr: `${JSON.stringify(Object.fromEntries(report.runs.map((r, i) => [r.policy, runLabels[i]])))}[datum.value]`,
          },
        },
      },
      spacing: 10,
      spec: {
        width: PLOT_WIDTH,
        height: 70,
        layer: [
          {
            mark: { type: 'line', strokeWidth: 1.8 },
            encoding: {
              x: timeX(report),
              y: {
                field: 'ms', type: 'quantitative', title: `${key} (ms)`,
                scale: { type: 'log', domain, nice: false }, axis: { values: ticks, format: ',' },
              },
              color: { field: 'run', type: 'nominal', title: 'run', scale: runScale(report), legend: null },
            },
          },
          {
            // One rule per panel: the max of a constant column.
            transform: [{ aggregate: [{ op: 'max', field: 'slo', as: 'slo' }], groupby: [] }],
            mark: { type: 'rule', color: SLO_COLOUR, strokeDash: [6, 4], strokeWidth: 1.5 },
            encoding: { y: { field: 'slo', type: 'quantitative' } },
          },
        ],
      },
    } as TopLevelSpec,
  };
}

const ttftChart = (report: SimReport): Chart => latencyChart(report, 'ttft');
const itlChart = (report: SimReport): Chart => latencyChart(report, 'itl');

/** (d) GPU-hours (Spot and on-demand stacked) and cost per run, as bars. */
function costChart(report: SimReport): Chart {
  const rows = summaryRows(report);
  const hours = rows.flatMap((r) => [
    { run: r.policy, capacity: 'on-demand', gpuHours: round(r.gpuHours.onDemand, 4) },
    { run: r.policy, capacity: 'spot', gpuHours: round(r.gpuHours.spot, 4) },
  ]);
  const hasHindsight = findRun(report, HINDSIGHT_RUN) !== undefined;
  const labels = rows.map((r) => ({
    run: r.policy,
    total: round(r.gpuHours.total, 4),
    label: hasHindsight ? `${fmtGpuHours(r.gpuHours.total)} (${fmtRatio(r.xHindsight)} hindsight)` : fmtGpuHours(r.gpuHours.total),
  }));
  const costs = rows.map((r) => ({ run: r.policy, cost: round(r.cost, 2), label: fmtMoney(r.cost) }));
  const runs = runScale(report);
  const barHeight = Math.max(120, rows.length * 34);
  const yRun = { field: 'run', type: 'nominal', sort: runs.domain, title: null, axis: { labelFontSize: 12, labelFontWeight: 600 } };
  return {
    id: 'cost',
    heading: 'GPU-hours and cost',
    caption: 'Total GPU-hours per run (solid: on-demand, pale: Spot) with the ratio to the hindsight schedule, and the cost of those GPU-hours at each pool\'s price.',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config: CONFIG,
      title: { text: 'GPU-hours and cost per run', subtitle: hasHindsight ? 'labels: total and ratio to hindsight (the cheapest schedule found that meets the SLO)' : 'no hindsight run in this report' },
      hconcat: [
        {
          width: 430,
          height: barHeight,
          layer: [
            {
              data: { values: hours },
              mark: { type: 'bar' },
              encoding: {
                y: yRun,
                x: { field: 'gpuHours', type: 'quantitative', stack: 'zero', title: 'GPU-hours', scale: { nice: true } },
                color: { field: 'run', type: 'nominal', scale: runs, legend: null },
                opacity: {
                  field: 'capacity', type: 'ordinal', title: 'capacity', sort: ['on-demand', 'spot'],
                  scale: { domain: ['on-demand', 'spot'], range: [1, 0.4] },
                  legend: { orient: 'bottom', direction: 'horizontal' },
                },
                order: { field: 'capacity', sort: 'ascending' },
              },
            },
            {
              data: { values: labels },
              mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
              encoding: { y: yRun, x: { field: 'total', type: 'quantitative' }, text: { field: 'label' } },
            },
          ],
          resolve: { scale: { x: 'shared' } },
        },
        {
          width: 300,
          height: barHeight,
          layer: [
            {
              data: { values: costs },
              mark: { type: 'bar' },
              encoding: {
                y: yRun,
                x: { field: 'cost', type: 'quantitative', title: 'cost (USD)', axis: { format: '$,.0f' } },
                color: { field: 'run', type: 'nominal', scale: runs, legend: null },
              },
            },
            {
              data: { values: costs },
              mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
              encoding: { y: yRun, x: { field: 'cost', type: 'quantitative' }, text: { field: 'label' } },
            },
          ],
        },
      ],
      spacing: 40,
    } as TopLevelSpec,
  };
}

/** (e) Spot evictions over time: one row per run, a circle per interval with evictions, sized by count. */
function evictionsChart(report: SimReport): Chart {
  const rows = report.runs.flatMap((run) =>
    run.intervals.filter((rec) => rec.evictions > 0).map((rec) => ({ time: at(report, rec), run: run.policy, evictions: rec.evictions })),
  );
  const total = rows.reduce((s, r) => s + r.evictions, 0);
  const runs = runScale(report);
  const [first] = report.runs[0]?.intervals ?? [];
  const last = report.runs[0]?.intervals.at(-1);
  const xDomain = first && last ? [0, at(report, last)] : undefined;
  const maxCount = Math.max(1, ...rows.map((r) => r.evictions));
  return {
    id: 'evictions',
    heading: 'Spot evictions',
    caption: total > 0
      ? 'Each circle is an interval in which Spot replicas of that run were evicted; the number is how many. Their in-flight requests were requeued.'
      : 'No Spot replica was evicted in any run.',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config: CONFIG,
      title: { text: 'Spot evictions over time', subtitle: total > 0 ? 'circle area = replicas evicted in the interval' : 'no evictions in any run' },
      width: PLOT_WIDTH,
      height: Math.max(90, report.runs.length * 30),
      data: { values: rows },
      encoding: {
        x: { ...timeX(report), scale: { domain: xDomain, nice: false, zero: true } },
        y: { field: 'run', type: 'nominal', title: null, scale: { domain: runs.domain }, axis: { labelFontSize: 12, labelFontWeight: 600, grid: true } },
      },
      layer: [
        {
          mark: { type: 'circle', opacity: 0.8 },
          encoding: {
            color: { field: 'run', type: 'nominal', scale: runs, legend: null },
            size: { field: 'evictions', type: 'quantitative', title: 'replicas evicted', scale: { domain: [0, maxCount], range: [0, 400] }, legend: null },
          },
        },
        {
          mark: { type: 'text', align: 'left', dx: 9, fontSize: 11, fontWeight: 600 },
          encoding: { text: { field: 'evictions', type: 'quantitative' } },
        },
      ],
    } as TopLevelSpec,
  };
}

/** Every plot of report.html, in page order. */
export function reportCharts(report: SimReport): Chart[] {
  return [
    loadChart(report),
    replicasChart(report),
    gpusChart(report),
    ttftChart(report),
    itlChart(report),
    costChart(report),
    evictionsChart(report),
  ];
}
