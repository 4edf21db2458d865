/**
 * Surprise: the share of a trace's requests above any load a planner that only reacts could have ordered capacity for
 * in time. When it is above the misses the SLO allows, such a planner meets the SLO only through the slack it keeps
 * anyway (target utilisation, whole replicas, a queue that drains within the TTFT target), a trend it extrapolates, or
 * a standing reserve (minReplicas, a schedule); a faster startup shrinks it, and a looser SLO allows more of it.
 *
 * A load seen at the end of interval j - L is ordered for then and ready a startup later, so at interval j capacity
 * can cover only loads seen up to j - L, with L = ceil(startup / interval) + 1 (the reaction time, in intervals).
 * The most such a planner holds at j is the highest interval load up to j - L (the warm start serves the first
 * interval), as if it never let any capacity go; the requests above that are the surprise.
 * It is an indicator, not a bound: the slack above serves part of it in time, so a planner may meet an SLO that allows
 * less (a noisy trace whose minute-to-minute peaks are a few percent above any seen before). It says most on loads
 * that jump far without a precursor: steps, flash crowds, returns from idle, where no ordinary slack covers the jump.
 *
 * Example (60 s intervals, 180 s startup, L = 4): 100, 100, 100, 500, 500, 500, 500, 500 requests -> intervals 3-6
 * are 400 above the 100 seen in time each, interval 7 sees 500: 1600 of 2800 = 57%; an SLO on p90 allows 10%.
 */
import type { PolicySpec } from '../../config/schema.js';
import { binTrace } from '../intervals.js';
import type { Surprise, Trace } from '../types.js';

/** The surprise of per-interval request counts, with a reaction time of `lag` intervals (see the module comment). */
export function surpriseShare(loads: readonly number[], lag: number): number {
  let seen = loads[0] ?? 0;
  let unseen = 0;
  let total = 0;
  for (let j = 0; j < loads.length; j++) {
    if (j - lag >= 0) seen = Math.max(seen, loads[j - lag] as number);
    unseen += Math.max(0, (loads[j] as number) - seen);
    total += loads[j] as number;
  }
  return total > 0 ? unseen / total : 0;
}

export function surprise(spec: PolicySpec, trace: Trace): Surprise {
  const loads = binTrace(trace, spec.interval).map((b) => b.requests);
  const startup = Math.max(0, ...spec.pools.map((p) => p.startupSeconds));
  // 1e-9: a startup of exactly k intervals is k intervals, not k + 1, whatever the floating point of the division.
  const lagIntervals = Math.ceil(startup / spec.interval - 1e-9) + 1;
  const allowedMisses = 1 - Math.max(spec.slo.ttft.percentile, spec.slo.itl.percentile) / 100;
  const share = surpriseShare(loads, lagIntervals);
  return { share, lagIntervals, allowedMisses, exceedsAllowance: share > allowedMisses };
}
