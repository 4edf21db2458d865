/**
 * The trace cut into planner intervals: request count and mean ISL/OSL per interval.
 * The oracle baseline reads the future from here; nothing else may.
 *
 * Example: interval 60 s, arrivals at 5 s, 30 s and 70 s -> bins [{requests: 2}, {requests: 1}].
 */
import type { Forecast } from '../planner/types.js';
import type { Trace } from './types.js';

export interface IntervalLoad {
  requests: number;
  isl: number;
  osl: number;
}

export function binTrace(trace: Trace, intervalSeconds: number): IntervalLoad[] {
  const count = Math.max(1, Math.ceil(trace.durationSeconds / intervalSeconds));
  const requests = new Float64Array(count);
  const islSum = new Float64Array(count);
  const oslSum = new Float64Array(count);
  for (let i = 0; i < trace.arrival.length; i++) {
    const bin = Math.min(count - 1, Math.floor((trace.arrival[i] as number) / intervalSeconds));
    requests[bin]! += 1;
    islSum[bin]! += trace.isl[i] as number;
    oslSum[bin]! += trace.osl[i] as number;
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
    bins.push({ requests: n, isl: lastIsl, osl: lastOsl });
  }
  return bins;
}

/**
 * Perfect foresight at the tick that ends interval `k` (0-based): `next` is interval k+1 as it will be;
 * `lead` is the busiest interval from k+1 to the one in which a replica started now becomes ready.
 *
 * Example: startup 240 s, interval 60 s -> lead looks at intervals k+1 .. k+5.
 */
export function oracleForecast(bins: IntervalLoad[], k: number, intervalSeconds: number, startupSeconds: number): { next: Forecast; lead: Forecast } {
  const at = (i: number): IntervalLoad => bins[Math.min(bins.length - 1, Math.max(0, i))] as IntervalLoad;
  const nextLoad = k + 1 < bins.length ? at(k + 1) : { requests: 0, isl: at(k).isl, osl: at(k).osl };
  const horizon = Math.ceil(startupSeconds / intervalSeconds) + 1;
  let busiest = nextLoad;
  for (let i = k + 1; i <= k + horizon && i < bins.length; i++) {
    const load = at(i);
    if (load.requests * load.isl > busiest.requests * busiest.isl || load.requests * load.osl > busiest.requests * busiest.osl) busiest = load;
  }
  const asForecast = (load: IntervalLoad): Forecast => ({
    requests: { value: load.requests, method: 'oracle' },
    isl: { value: load.isl, method: 'oracle' },
    osl: { value: load.osl, method: 'oracle' },
  });
  return { next: asForecast(nextLoad), lead: asForecast(busiest) };
}
