import { describe, expect, it } from 'vitest';
import { bucketSize, downsample } from '../../../src/sim/report/downsample.js';
import type { IntervalRecord } from '../../../src/sim/types.js';

function rec(t: number, over: Partial<IntervalRecord> = {}): IntervalRecord {
  return {
    t, requests: 100, desired: { a: 2 }, ready: { a: 2 }, gpus: 4, costPerHour: 16, evictions: 0, queueDepth: 0,
    ttftMs: { p50: 100, p95: 200, p99: 300 }, itlMs: { p50: 10, p95: 20, p99: 30 }, ...over,
  };
}

describe('downsample', () => {
  it('keeps every interval of a short trace and buckets a week', () => {
    expect(bucketSize(60)).toBe(1);
    expect(bucketSize(720)).toBe(1);
    expect(bucketSize(1440)).toBe(2);
    expect(bucketSize(10_080)).toBe(14); // a week of 60 s intervals -> 720 points
  });

  it('returns the records unchanged when k = 1', () => {
    const records = [rec(60), rec(120)];
    expect(downsample(records, 1)).toBe(records);
  });

  it('keeps the mean load and GPUs, the worst latency, the highest desired and the lowest ready', () => {
    const records = [
      rec(60, { requests: 100, gpus: 4, desired: { a: 2 }, ready: { a: 2 } }),
      rec(120, { requests: 300, gpus: 8, desired: { a: 4 }, ready: { a: 1 }, ttftMs: { p50: 150, p95: 900, p99: 1200 } }),
      rec(180, { requests: 200, gpus: 6, ttftMs: undefined, forecastRequests: 210 }),
      rec(240, { requests: 50 }),
    ];
    const [first, second] = downsample(records, 3);
    expect(first).toEqual({
      t: 180,
      requests: 200, // (100 + 300 + 200) / 3
      forecastRequests: 210,
      desired: { a: 4 },
      ready: { a: 1 },
      ttftMs: { p50: 150, p95: 900, p99: 1200 },
      itlMs: { p50: 10, p95: 20, p99: 30 },
      gpus: 6, // (4 + 8 + 6) / 3: GPU-hours of the bucket are kept
    });
    expect(second).toMatchObject({ t: 240, requests: 50, forecastRequests: undefined });
  });
});
