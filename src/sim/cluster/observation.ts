/**
 * WindowStats → the planner's Observation (src/planner/types.ts), as the in-cluster metric sources would report it.
 * Fields with nothing behind them are left out (not zero), so the decision core sees "missing" and says what it did:
 * no arrivals → no isl/osl; no first tokens → no ttftMs; no completions → no itlMs / requestDurationSeconds;
 * no ready decode replica → no kvUsage. `requests` is always there (0 arrivals is a real measurement).
 *
 * Example: a 60 s window with 720 arrivals of mean ISL 3000, TTFT p95 610 ms, SLO percentile 95 →
 * { time, windowSeconds: 60, requests: 720, isl: 3000, ttftMs: { mean, p50, p90, p95: 610, p99 }, ... }.
 */
import type { SloSpec } from '../../config/schema.js';
import type { LatencySummary, Observation, PoolObservation } from '../../planner/types.js';
import type { LatencyStats, WindowStats } from './types.js';

function summary(stats: LatencyStats, sloPercentile: number): LatencySummary | undefined {
  if (stats.count === 0) return undefined;
  const out: LatencySummary = { mean: stats.mean, p50: stats.p50, p90: stats.p90, p95: stats.p95, p99: stats.p99 };
  // The SLO's own percentile, when it is not one of the above (e.g. p99.9); computed by the cluster at its SLO.
  if (stats.slo.percentile === sloPercentile) out[`p${sloPercentile}`] = stats.slo.value;
  return out;
}

/** The Observation for one window ending at `timeEpochMs` (wall-clock ms of the window's end). */
export function windowObservation(stats: WindowStats, timeEpochMs: number, slo: SloSpec): Observation {
  const obs: Observation = {
    time: new Date(timeEpochMs).toISOString(),
    windowSeconds: stats.windowSeconds,
    requests: stats.arrived,
    queueDepth: stats.queueDepth,
  };
  if (stats.arrived > 0) {
    obs.isl = stats.meanIsl;
    obs.osl = stats.meanOsl;
  }
  const ttft = summary(stats.ttft, slo.ttft.percentile);
  if (ttft) obs.ttftMs = ttft;
  const itl = summary(stats.itl, slo.itl.percentile);
  if (itl) obs.itlMs = itl;
  if (stats.completed > 0) obs.requestDurationSeconds = stats.meanRequestDurationSeconds;
  if (Number.isFinite(stats.kvUsage)) obs.kvUsage = stats.kvUsage;
  const pools: Record<string, PoolObservation> = {};
  for (const [name, p] of Object.entries(stats.pools)) {
    pools[name] = { desired: p.desired, ready: p.ready, pending: p.starting, evicted: p.evicted, evictionNotices: p.evictionNotices };
    if (p.startupSeconds.length > 0) (pools[name] as PoolObservation).startupSeconds = p.startupSeconds.slice();
  }
  obs.pools = pools;
  return obs;
}
