import { describe, expect, it } from 'vitest';
import { reportJson } from '../../../src/sim/report/json.js';
import { sampleReport } from '../../fixtures/sample-report.js';

describe('reportJson', () => {
  const report = sampleReport();
  const text = reportJson(report);
  const parsed = JSON.parse(text);

  it('has the SPEC section 8 contract fields with the fixture numbers', () => {
    expect(parsed.trace.requests).toBe(140_500);
    expect(parsed.trace.durationSeconds).toBe(3600);
    expect(parsed.sim.wallSeconds).toBe(0.38);
    expect(parsed.sim.requestsPerSecond).toBe(1_848_684);
    expect(parsed.runs.map((r: { policy: string }) => r.policy)).toEqual(['policy', 'static', 'hpa', 'dynamo', 'hindsight']);
    expect(parsed.schemaVersion).toBe(2);
    // The fixture's bound: 140,500 requests / 600 per GPU-minute + 2 x 140,500 / 400 per 2-GPU-minute, over 60.
    expect(parsed.bound.gpuHours).toBeCloseTo(140_500 / 600 / 60 + (2 * 140_500) / 400 / 60, 9);
    expect(Object.keys(parsed.bound)).toEqual(['gpuHours', 'prefillGpuHours', 'decodeGpuHours', 'method']);

    const policy = parsed.runs[0];
    expect(policy.sloAttainment).toEqual({ ttft: 0.9685, itl: 0.9742, both: 0.9478 });
    expect(policy.ttftMs).toEqual({ p50: 183.4, p95: 441.9, p99: 917 });
    expect(policy.itlMs).toEqual({ p50: 29.5, p95: 45.5, p99: 59.6 });
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

  it('puts the contract keys first, in a fixed order', () => {
    expect(Object.keys(parsed).slice(0, 5)).toEqual(['schemaVersion', 'trace', 'bound', 'runs', 'sim']);
    expect(Object.keys(parsed.trace).slice(0, 2)).toEqual(['requests', 'durationSeconds']);
    expect(Object.keys(parsed.runs[0]).slice(0, 9)).toEqual([
      'policy', 'sloAttainment', 'ttftMs', 'itlMs', 'gpuHours', 'cost', 'evictions', 'droppedRequests', 'decisions',
    ]);
    expect(Object.keys(parsed.runs[0].sloAttainment)).toEqual(['ttft', 'itl', 'both']);
    expect(Object.keys(parsed.runs[0].gpuHours)).toEqual(['total', 'spot', 'onDemand']);
    expect(Object.keys(parsed.runs[0].ttftMs)).toEqual(['p50', 'p95', 'p99']);
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

  it('writes non-finite numbers as null (valid JSON)', () => {
    const r = sampleReport();
    r.runs[0]!.ttftMs.p99 = Number.POSITIVE_INFINITY;
    expect(JSON.parse(reportJson(r)).runs[0].ttftMs.p99).toBeNull();
  });
});
