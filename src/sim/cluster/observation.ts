/**
 * WindowStats → the planner's Observation (src/planner/types.ts), as the in-cluster metric sources would report it.
 * Fields with nothing behind them are left out (not zero), so the decision core sees "missing" and says what it did:
 * no arrivals → no isl/osl; no first tokens → no ttftMs; no completions → no itlMs / requestDurationSeconds;
 * no ready decode replica → no kvUsage. `requests` is always there (0 arrivals is a real measurement).
 *
 * Example: a 60 s window with 720 arrivals of mean ISL 3000, TTFT p95 610 ms, SLO percentile 95 →
 * { time, windowSeconds: 60, requests: 720, isl: 3000, ttftMs: { mean, p50, p90, p95: 610, p99 }, ... }.
 *
 * Pools, for the readiness gate as the Kubernetes readers fill them: `desired` the count last set, `ready` the
 * replicas taking work, `updated` the replicas counting towards desired (ready + starting: the model has no rolling
 * updates, so every replica runs the current spec), `pending` the starting ones. The modelled cluster is one graph,
 * Ready as Dynamo's operator reports it: when no pool of it is still becoming ready (fewer ready than desired).
 * Pools that target a DynamoComponentDeployment get no `graph`, as in the service.
 * Example: decode 4 desired, 2 ready, 2 starting -> decode { desired 4, ready 2, updated 4, pending 2 }, and every
 * graph pool { graph: { ready: false, condition: "decode: 2/4 ready" } }.
 */
import type { PoolSpec, SloSpec } from '../../config/schema.js';
import { percentileKey } from '../../planner/percentile-key.js';
import type { GraphReadiness, LatencySummary, Observation, PoolObservation } from '../../planner/types.js';
import type { LatencyStats, WindowStats } from './types.js';

function summary(stats: LatencyStats, sloPercentile: number): LatencySummary | undefined {
  if (stats.count === 0) return undefined;
  const out: LatencySummary = { mean: stats.mean, p50: stats.p50, p90: stats.p90, p95: stats.p95, p99: stats.p99 };
  // The SLO's own percentile, when it is not one of the above (e.g. p99.9); computed by the cluster at its SLO.
  if (stats.slo.percentile === sloPercentile) out[percentileKey(sloPercentile)] = stats.slo.value;
  return out;
}

/** The graph's Ready condition: True when no pool is still becoming ready; else which pools are not, and how far. */
function graphReadiness(stats: WindowStats): GraphReadiness {
  const behind = Object.entries(stats.pools)
    .filter(([, p]) => p.ready < p.desired)
    .map(([name, p]) => `${name}: ${p.ready}/${p.desired} ready`);
  return behind.length === 0 ? { ready: true } : { ready: false, condition: behind.join(', ') };
}

/**
 * The Observation for one window ending at `timeEpochMs` (wall-clock ms of the window's end). `pools`: the policy's
 * pools, so that those targeting a DynamoComponentDeployment get no graph condition (all pools do when left out).
 */
export function windowObservation(stats: WindowStats, timeEpochMs: number, slo: SloSpec, pools?: readonly PoolSpec[]): Observation {
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
  const graph = graphReadiness(stats);
  const out: Record<string, PoolObservation> = {};
  for (const [name, p] of Object.entries(stats.pools)) {
    const component = pools?.find((spec) => spec.name === name)?.target?.kind === 'DynamoComponentDeployment';
    out[name] = { desired: p.desired, ready: p.ready, updated: p.ready + p.starting, pending: p.starting, evicted: p.evicted, evictionNotices: p.evictionNotices };
    if (!component) out[name].graph = graph;
    if (p.startupSeconds.length > 0) out[name].startupSeconds = p.startupSeconds.slice();
  }
  obs.pools = out;
  return obs;
}
