/**
 * The trace cut into planner intervals: request count, mean ISL/OSL and the busiest 10 s per interval.
 * The perfect-forecast baseline reads the future from here; the simulated metric source reads only the interval
 * that has just ended (its peak rate, as Prometheus would give it).
 *
 * Example: interval 60 s, arrivals at 5 s, 30 s and 70 s -> bins [{requests: 2}, {requests: 1}].
 */
import type { Forecast } from '../planner/types.js';
import type { Trace } from './types.js';
import { kthSmallest } from './cluster/percentiles.js';
import { checkSimulationSpan } from './span.js';

export interface IntervalLoad {
  requests: number;
  isl: number;
  osl: number;
  /** Highest arrival rate (req/s) over the interval's PEAK_SUBWINDOW_SECONDS sub-windows. */
  peakPerSecond: number;
}

/** Sub-window over which the peak arrival rate is measured: a burst this long fills a 2 s TTFT budget many times over. */
const PEAK_SUBWINDOW_SECONDS = 10;

export function binTrace(trace: Trace, intervalSeconds: number): IntervalLoad[] {
  checkSimulationSpan(trace, intervalSeconds);
  const count = Math.max(1, Math.ceil(trace.durationSeconds / intervalSeconds));
  const requests = new Float64Array(count);
  const islSum = new Float64Array(count);
  const oslSum = new Float64Array(count);
  // Sub-windows restart at each interval boundary, so an interval's peak never borrows the next one's arrivals.
  const subs = Math.max(1, Math.ceil(intervalSeconds / PEAK_SUBWINDOW_SECONDS));
  const subCount = new Float64Array(count * subs);
  for (let i = 0; i < trace.arrival.length; i++) {
    const t = trace.arrival[i] as number;
    const bin = Math.min(count - 1, Math.floor(t / intervalSeconds));
    requests[bin]! += 1;
    islSum[bin]! += trace.isl[i] as number;
    oslSum[bin]! += trace.osl[i] as number;
    const sub = Math.min(subs - 1, Math.max(0, Math.floor((t - bin * intervalSeconds) / PEAK_SUBWINDOW_SECONDS)));
    subCount[bin * subs + sub]! += 1;
  }
  const bins: IntervalLoad[] = [];
  let lastIsl = 0;
  let lastOsl = 0;
  for (let b = 0; b < count; b++) {
    const n = requests[b] as number;
    // An empty interval keeps the last ISL/OSL: a mean of nothing is not zero tokens.
    if (n > 0) {
      lastIsl = (islSum[b] as number) / n;
      lastOsl = (oslSum[b] as number) / n;
    }
    let peak = 0;
    for (let s = 0; s < subs; s++) {
      const len = Math.min(PEAK_SUBWINDOW_SECONDS, intervalSeconds - s * PEAK_SUBWINDOW_SECONDS);
      const rate = (subCount[b * subs + s] as number) / len;
      if (rate > peak) peak = rate;
    }
    bins.push({ requests: n, isl: lastIsl, osl: lastOsl, peakPerSecond: peak });
  }
  return bins;
}

/**
 * The q-quantile (0..1, nearest rank) of ISL over each interval's arrivals; NaN for an empty interval.
 * What a Prometheus ISL histogram gives the service per window. Example: ISLs 100, 200, ..., 2000 in one
 * interval, q 0.95 -> 1900.
 */
export function binIslQuantile(trace: Trace, intervalSeconds: number, q: number): Float64Array {
  const count = Math.max(1, Math.ceil(trace.durationSeconds / intervalSeconds));
  const out = new Float64Array(count).fill(NaN);
  let start = 0;
  const n = trace.arrival.length;
  let scratch = new Float64Array(1024);
  while (start < n) {
    const bin = Math.min(count - 1, Math.floor((trace.arrival[start] as number) / intervalSeconds));
    let end = start;
    while (end < n && Math.min(count - 1, Math.floor((trace.arrival[end] as number) / intervalSeconds)) === bin) end++;
    const len = end - start;
    if (len > scratch.length) scratch = new Float64Array(Math.max(len, 2 * scratch.length));
    for (let i = 0; i < len; i++) scratch[i] = trace.isl[start + i] as number;
    // Selection, not a sort of the interval (the same order statistic; ~20k ISLs per interval at 1M requests).
    out[bin] = kthSmallest(scratch, len, Math.min(len - 1, Math.max(0, Math.ceil(q * len) - 1)));
    start = end;
  }
  return out;
}

/**
 * Perfect foresight at the tick that ends interval `k` (0-based): `next` is interval k+1 as it will be;
 * `lead` is the busiest interval from k+1 to the one in which a replica started now becomes ready.
 *
 * Example: startup 240 s, interval 60 s -> lead looks at intervals k+1 .. k+5.
 */
export function oracleForecast(bins: IntervalLoad[], k: number, intervalSeconds: number, startupSeconds: number): { next: Forecast; lead: Forecast } {
  const at = (i: number): IntervalLoad => bins[Math.min(bins.length - 1, Math.max(0, i))] as IntervalLoad;
  const nextLoad = k + 1 < bins.length ? at(k + 1) : { requests: 0, isl: at(k).isl, osl: at(k).osl, peakPerSecond: 0 };
  const horizon = Math.ceil(startupSeconds / intervalSeconds) + 1;
  let busiest = nextLoad;
  for (let i = k + 1; i <= k + horizon && i < bins.length; i++) {
    const load = at(i);
    const d = demand(load, intervalSeconds);
    const b = demand(busiest, intervalSeconds);
    if (d * load.isl > b * busiest.isl || d * load.osl > b * busiest.osl) busiest = load;
  }
  // Each load's own peak rate, as requests per interval (never below its count).
  const asForecast = (load: IntervalLoad): Forecast => ({
    requests: { value: load.requests, method: 'oracle' },
    isl: { value: load.isl, method: 'oracle' },
    osl: { value: load.osl, method: 'oracle' },
    requestsPeak: { value: Math.max(load.requests, load.peakPerSecond * intervalSeconds), method: 'oracle' },
  });
  return { next: asForecast(nextLoad), lead: asForecast(busiest) };
}

/** Requests per interval at the interval's peak rate (at least its count): what capacity must absorb. */
function demand(load: IntervalLoad, intervalSeconds: number): number {
  return Math.max(load.requests, load.peakPerSecond * intervalSeconds);
}
