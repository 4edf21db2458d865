/**
 * The cluster model's options and what it reports: per planner window (WindowStats) and for the whole run
 * (ClusterTotals). Times in seconds from the trace start unless a field says ms.
 */
import type { PoolSpec, SloSpec } from '../../config/schema.js';
import type { PerformanceProfile } from '../../profiles/types.js';
import type { ColdStarts, Percentiles } from '../types.js';

export type { ColdStarts } from '../types.js';

/** Spot evictions: a Poisson process per Spot replica, or a recorded schedule (which then replaces the Poisson one). */
export interface SpotOptions {
  /** Evictions per Spot replica per hour (Poisson). 0 = none. Ignored when `schedule` is given. */
  evictionRatePerHour: number;
  /** Notice before the replica is gone (Azure 30 s, AWS 120 s). */
  noticeSeconds: number;
  /** Recorded evictions: at `t` seconds, `count` replicas of Spot pool `pool` get their notice. */
  schedule?: { t: number; pool: string; count: number }[];
}

export interface ClusterOptions {
  profile: PerformanceProfile;
  pools: PoolSpec[];
  /** Replicas per pool name, ready at t = 0. Pools not named start at 0. */
  initialReplicas: Record<string, number>;
  /** TTFT/ITL targets, for attainment and the SLO-percentile latency of each window. */
  slo: SloSpec;
  seed: number;
  spot?: SpotOptions;
  /** KV transfer prefill → decode in ms per 1000 prompt tokens. Default DEFAULT_KV_TRANSFER_MS_PER_K_TOKEN. */
  kvTransferMsPerKToken?: number;
  /** After the last arrival, how long finish() keeps running before counting what is left as dropped. Default 600 s. */
  drainSeconds?: number;
  /**
   * Startup times drawn per replica: lognormal with median startupSeconds x `factor` (default 1) and log-space
   * standard deviation `sigma`, from a seeded stream of its own. Omitted: every replica takes startupSeconds exactly.
   * Example: startupSeconds 180, factor 1.5, sigma 0.3 -> median 270 s, p90 270 x e^(1.2816 x 0.3) = 396 s.
   */
  startup?: { sigma: number; factor?: number };
}

/** A latency over the requests of one window, in ms. All NaN when count is 0. */
export interface LatencyStats {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  /** The value at the SLO's own percentile (e.g. p95 when the SLO says percentile 95). */
  slo: { percentile: number; value: number };
}

export interface PoolWindowStats {
  /** Last desired count set (or the initial count). */
  desired: number;
  /** Ready replicas taking work (not draining, not under eviction notice). */
  ready: number;
  /** Replicas created but not yet useful (startup), not counting ones already under eviction notice. */
  starting: number;
  /** Replicas on their way out: draining after a scale-down, or under eviction notice. They still hold GPUs. */
  leaving: number;
  /** Replicas lost to Spot eviction in the window. */
  evicted: number;
  /** Eviction notices received in the window. */
  evictionNotices: number;
  /** Seconds from creation to ready of each replica that became ready in the window (the informers' measure). */
  startupSeconds: number[];
  /** GPUs held at the end of the window (starting + ready + leaving) x gpusPerReplica. */
  gpus: number;
  gpuSeconds: number;
  cost: number;
}

export interface WindowStats {
  start: number;
  end: number;
  windowSeconds: number;
  /** Requests that arrived in the window (including any dropped at once for not fitting in KV). */
  arrived: number;
  /** Mean ISL / OSL of those arrivals (NaN when none). */
  meanIsl: number;
  meanOsl: number;
  /** TTFT (ms) of requests that got their first token in the window. */
  ttft: LatencyStats;
  /** ITL (ms) of requests with more than one output token that completed in the window. */
  itl: LatencyStats;
  completed: number;
  /** Dropped in the window (too large for any decode replica's KV cache). */
  dropped: number;
  /** Re-queued in the window because their replica was evicted. */
  requeued: number;
  /** Mean arrival-to-last-token time of requests completed in the window (NaN when none). */
  meanRequestDurationSeconds: number;
  /** Requests waiting for a prefill replica at the end of the window. */
  queueDepth: number;
  /** Requests waiting for decode KV capacity at the end of the window. */
  decodeQueueDepth: number;
  /** Requests in the system (arrived, not completed or dropped) at the end of the window, and its time average. */
  inSystem: number;
  meanInSystem: number;
  /**
   * Time-averaged share of the ready decode replicas' KV cache reserved by admitted requests (isl + osl each), 0..1;
   * NaN when there were none. 1 means no request can be admitted: the saturation signal a KV-usage rule wants, as
   * vLLM's cache usage nears 1 when it stops admitting.
   */
  kvUsage: number;
  /**
   * The same with each request counted at its lifetime-average size, isl + osl/2: the profile's x_kv_usage, used to
   * look up the ITL. Example: 40 requests of isl 2000, osl 200 on one replica of 450,000 tokens: kvUsage
   * 40 x 2200 / 450000 = 0.196, kvOccupancy 40 x 2100 / 450000 = 0.187.
   */
  kvOccupancy: number;
  pools: Record<string, PoolWindowStats>;
  gpus: number;
  /** Cost per hour of what is provisioned at the end of the window. */
  costPerHour: number;
  gpuSeconds: number;
  cost: number;
  /** Share of requests completed in the window that met both targets (NaN when none completed). */
  attainment: number;
  /** The same for each target alone. */
  attainmentTtft: number;
  attainmentItl: number;
}

export interface ClusterTotals {
  coldStarts: ColdStarts;
  requests: number;
  completed: number;
  /** Dropped: too large for the KV cache, plus anything unfinished when the drain ran out. */
  dropped: number;
  droppedTooLarge: number;
  droppedUnfinished: number;
  requeued: number;
  evictions: number;
  evictionNotices: number;
  /** Per request (trace order): TTFT ms and mean ITL ms; NaN for dropped; ITL 0 for one-token outputs. */
  ttftMsByRequest: Float32Array;
  itlMsByRequest: Float32Array;
  /** `starting`: the part held by replicas started and not yet ready (billed, serving nothing). */
  gpuHours: { total: number; spot: number; onDemand: number; starting: number };
  cost: number;
  /** Share of ALL requests (dropped ones meet nothing) meeting the TTFT target, the ITL target, both. */
  attainment: { ttft: number; itl: number; both: number };
  /** Percentiles (ms) over completed requests (ITL: those with more than one output token). NaN when none. */
  ttftMs: Percentiles;
  itlMs: Percentiles;
  /** Simulated time at which the run ended (after the drain); GPU-hours are counted up to here. */
  endSeconds: number;
  /** Time-average number of requests in the system over [0, endSeconds], and mean time in system of completed ones. */
  meanInSystem: number;
  meanRequestDurationSeconds: number;
}
