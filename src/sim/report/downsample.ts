/**
 * Long traces have more intervals than a plot has pixels (a week at 60 s = 10,080 per run). Plots
 * then show buckets of `k` consecutive intervals, each summarised so that what matters survives:
 * load and GPUs as the mean (GPU-hours are kept), latency as the worst interval (an SLO breach
 * never disappears), desired replicas as the highest and ready as the lowest (a gap never disappears).
 */
import { mean } from 'simple-statistics';
import type { IntervalRecord, Percentiles } from '../types.js';

/** At most this many points per series: about 1.25 px each on a 900 px plot. */
const MAX_PLOT_POINTS = 720;

/** Intervals per bucket. Example: 10,080 intervals -> ceil(10,080 / 720) = 14; 60 intervals -> 1. */
export function bucketSize(intervals: number, maxPoints = MAX_PLOT_POINTS): number {
  return Math.max(1, Math.ceil(intervals / maxPoints));
}

/** What a plot shows of an interval, or of a bucket of intervals (`t`: the end of the bucket's last interval). */
export type PlotPoint = Pick<IntervalRecord, 't' | 'requests' | 'forecastRequests' | 'desired' | 'ready' | 'ttftMs' | 'itlMs' | 'gpus'>;

function worst(ps: (Percentiles | undefined)[]): Percentiles | undefined {
  const defined = ps.filter((p): p is Percentiles => p !== undefined);
  if (defined.length === 0) return undefined;
  // Every key any interval carries (p50, p90, p95, p99, the SLO's own), each the worst of the bucket.
  const out: Percentiles = { p50: -Infinity, p95: -Infinity, p99: -Infinity };
  for (const p of defined) {
    for (const [key, value] of Object.entries(p) as [`p${string}`, number | undefined][]) {
      if (value !== undefined) out[key] = Math.max(out[key] ?? -Infinity, value);
    }
  }
  return out;
}

function perPool(records: IntervalRecord[], pick: (r: IntervalRecord) => Record<string, number>, combine: (xs: number[]) => number): Record<string, number> {
  const out: Record<string, number> = {};
  const pools: string[] = [];
  for (const r of records) for (const p of Object.keys(pick(r))) if (!pools.includes(p)) pools.push(p);
  for (const p of pools) {
    const xs = records.map((r) => pick(r)[p]).filter((x): x is number => x !== undefined);
    if (xs.length > 0) out[p] = combine(xs);
  }
  return out;
}

/** The plot points of one run's intervals, `k` intervals per point (k = 1 keeps every interval as is). */
export function downsample(intervals: IntervalRecord[], k: number): PlotPoint[] {
  if (k <= 1) return intervals;
  const points: PlotPoint[] = [];
  for (let i = 0; i < intervals.length; i += k) {
    const bucket = intervals.slice(i, i + k);
    const forecasts = bucket.map((r) => r.forecastRequests).filter((x): x is number => x !== undefined);
    points.push({
      t: bucket[bucket.length - 1]!.t,
      requests: mean(bucket.map((r) => r.requests)),
      forecastRequests: forecasts.length > 0 ? mean(forecasts) : undefined,
      desired: perPool(bucket, (r) => r.desired, (xs) => Math.max(...xs)),
      ready: perPool(bucket, (r) => r.ready, (xs) => Math.min(...xs)),
      ttftMs: worst(bucket.map((r) => r.ttftMs)),
      itlMs: worst(bucket.map((r) => r.itlMs)),
      gpus: mean(bucket.map((r) => r.gpus)),
    });
  }
  return points;
}
