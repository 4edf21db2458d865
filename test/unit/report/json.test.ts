import { describe, expect, it } from 'vitest';
import { reportJson } from '../../../src/sim/report/json.js';
import { REPORT_SCHEMA_VERSION } from '../../../src/sim/run.js';
import { sampleReport } from '../../fixtures/sample-report.js';

describe('reportJson', () => {
  const report = sampleReport();
  const text = reportJson(report);
  const parsed = JSON.parse(text);

  it('has the fields other tools read, with the fixture numbers', () => {
    expect(parsed.trace.requests).toBe(140_500);
    expect(parsed.trace.durationSeconds).toBe(3600);
    expect(parsed.sim.wallSeconds).toBe(0.38);
    expect(parsed.sim.requestsPerSecond).toBe(1_848_684);
    expect(parsed.runs.map((r: { policy: string }) => r.policy)).toEqual(['policy', 'static', 'hpa', 'dynamo', 'hindsight']);
    expect(parsed.schemaVersion).toBe(REPORT_SCHEMA_VERSION);
    expect(REPORT_SCHEMA_VERSION).toBe(4);
    // The fixture's bound: 140,500 requests / 600 per GPU-minute + 2 x 140,500 / 400 per 2-GPU-minute, over 60.
    expect(parsed.bound.gpuHours).toBe(Math.round((140_500 / 600 / 60 + (2 * 140_500) / 400 / 60) * 1e4) / 1e4);
    expect(Object.keys(parsed.bound)).toEqual(['gpuHours', 'prefillGpuHours', 'decodeGpuHours', 'method']);

    const policy = parsed.runs[0];
    expect(policy.sloAttainment).toEqual({ ttft: 0.9685, itl: 0.9742, both: 0.9478 });
    expect(policy.ttftMs).toMatchObject({ p50: 183.4, p95: 441.9, p99: 917 });
    expect(policy.itlMs).toMatchObject({ p50: 29.5, p95: 45.5, p99: 59.6 });
    expect(policy.gpuHours).toEqual({ total: 18.8, spot: 8.8, onDemand: 10 });
    expect(policy.cost).toBe(54.08);
    expect(policy.evictions).toBe(3);
    expect(policy.droppedRequests).toBe(0);
    expect(policy.decisions).toBe(60);

    const dynamo = parsed.runs[3];
    expect(dynamo.droppedRequests).toBe(13);
    expect(dynamo.gpuHours.total).toBe(17.45);
    const hindsight = parsed.runs[4];
    expect(hindsight.gpuHours).toEqual({ total: 17.0167, spot: 7.6167, onDemand: 9.4 });
  });

  it('puts the keys in the documented order', () => {
    expect(Object.keys(parsed)).toEqual(['schemaVersion', 'trace', 'bound', 'runs', 'sim', 'policyName', 'slo', 'pools', 'baselines', 'overrides', 'generatedAt']);
    expect(Object.keys(parsed.trace).slice(0, 2)).toEqual(['requests', 'durationSeconds']);
    expect(Object.keys(parsed.runs[0]).slice(0, 9)).toEqual([
      'policy', 'sloAttainment', 'ttftMs', 'itlMs', 'gpuHours', 'cost', 'evictions', 'droppedRequests', 'decisions',
    ]);
    expect(Object.keys(parsed.runs[0].sloAttainment)).toEqual(['ttft', 'itl', 'both']);
    expect(Object.keys(parsed.runs[0].gpuHours)).toEqual(['total', 'spot', 'onDemand']);
    expect(Object.keys(parsed.runs[0].ttftMs)).toEqual(['p50', 'p90', 'p95', 'p99']);
    expect(Object.keys(parsed.sim)).toEqual(['wallSeconds', 'requestsPerSecond', 'seed']);
  });

  it('keeps everything else, including the per-interval series and the skipped lines', () => {
    expect(parsed.runs[0].intervals).toHaveLength(60);
    expect(parsed.runs[0].intervals[0]).toMatchObject({ t: 60, requests: 1700, forecastRequests: 1700 });
    expect(parsed.trace.skippedLines).toBe(3);
    expect(parsed.trace.skippedExamples[0]).toEqual({ line: 1207, reason: 'ContextTokens is not a number ("n/a")' });
    expect(parsed.slo).toEqual({ ttft: { percentile: 95, ms: 500 }, itl: { percentile: 95, ms: 50 } });
  });

  it('is the same text whatever order the input object was built in', () => {
    const shuffled = JSON.parse(JSON.stringify(report));
    const run = shuffled.runs[0];
    shuffled.runs[0] = Object.fromEntries(Object.entries(run).reverse());
    const reordered = { sim: shuffled.sim, runs: shuffled.runs, ...shuffled };
    expect(reportJson(reordered)).toBe(text);
  });

  it('keeps fields a newer simulator adds, after the known ones', () => {
    const extended = { ...sampleReport(), extra: { note: 'added later' } };
    const keys = Object.keys(JSON.parse(reportJson(extended)));
    expect(keys.at(-1)).toBe('extra');
  });

  it('rounds numbers to what they mean: 0.01 ms, 6 decimals of a share, 4 of GPU-hours, cents, 0.001 s', () => {
    const r = sampleReport();
    const run = r.runs[0]!;
    run.ttftMs = { p50: 183.456789, p90: 300.001, p95: 441.987654, p99: 917.0049, 'p97.5': 600.123456 };
    run.sloAttainment = { ttft: 0.968512345, itl: 0.97, both: 0.947812345 };
    run.gpuHours = { total: 18.812345678, spot: 8.8, onDemand: 10.012345678 };
    run.cost = 54.08499;
    run.intervals[0]!.t = 60.00049;
    run.intervals[0]!.costPerHour = 12.345678;
    r.sim.wallSeconds = 0.3849999;
    const out = JSON.parse(reportJson(r));
    expect(out.runs[0].ttftMs).toEqual({ p50: 183.46, p90: 300, p95: 441.99, p99: 917, 'p97.5': 600.12 });
    expect(Object.keys(out.runs[0].ttftMs)).toEqual(['p50', 'p90', 'p95', 'p99', 'p97.5']);
    expect(out.runs[0].sloAttainment).toEqual({ ttft: 0.968512, itl: 0.97, both: 0.947812 });
    expect(out.runs[0].gpuHours).toEqual({ total: 18.8123, spot: 8.8, onDemand: 10.0123 });
    expect(out.runs[0].cost).toBe(54.08);
    expect(out.runs[0].intervals[0].t).toBe(60);
    expect(out.runs[0].intervals[0].costPerHour).toBe(12.35);
    expect(out.sim.wallSeconds).toBe(0.385);
    // The in-memory report keeps full precision: only the file is rounded.
    expect(r.runs[0]!.cost).toBe(54.08499);
  });

  it('gives every run its savings against a current run, positive when it costs less', () => {
    const r = sampleReport();
    const current = structuredClone(r.runs[1]!);
    current.policy = 'current';
    current.gpuHours = { total: 40, spot: 0, onDemand: 40 };
    current.cost = 160;
    r.runs.splice(1, 0, current);
    r.current = { 'prefill-od': 4, 'prefill-spot': 0, 'decode-od': 8, 'decode-spot': 0 };
    const out = JSON.parse(reportJson(r));
    expect(out.current).toEqual(r.current);
    // policy: 18.80 GPU-h at $54.08 -> saves 21.2 GPU-h and $105.92.
    expect(out.runs[0].savedVsCurrent).toEqual({ gpuHours: 21.2, cost: 105.92 });
    expect(out.runs[1].savedVsCurrent).toBeUndefined();
    // static: 26 GPU-h at $72.80.
    expect(out.runs[2].savedVsCurrent).toEqual({ gpuHours: 14, cost: 87.2 });
  });

  it('writes non-finite numbers as null (valid JSON)', () => {
    const r = sampleReport();
    r.runs[0]!.ttftMs.p99 = Number.POSITIVE_INFINITY;
    expect(JSON.parse(reportJson(r)).runs[0].ttftMs.p99).toBeNull();
  });
});
