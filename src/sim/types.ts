import type { GpuLayers } from '../planner/gpu-layers.js';
import type { PolicyDocument } from '../config/document.js';

/** A loaded (and possibly rate-scaled) trace, arrivals sorted ascending. Columnar for speed. */
export interface Trace {
  name: string;
  format: string;
  /** Arrival seconds from start, sorted. */
  arrival: Float64Array;
  isl: Uint32Array;
  osl: Uint32Array;
  durationSeconds: number;
  /** Lines that could not be used: count and the first few line numbers with reasons. */
  skipped: { count: number; examples: { line: number; reason: string }[] };
  /**
   * Well-formed requests left out of the load on purpose, per reason (e.g. BurstGPT rows with
   * `Response tokens` 0 are failed requests): not bad lines, but never dropped silently.
   */
  excluded?: { count: number; reason: string }[];
  /** Things the reader changed or noticed that the user should know (e.g. "file was not sorted; sorted by arrival"). */
  warnings?: string[];
}

/**
 * Percentiles of a latency over a set of requests, in ms: p50, p90, p95 and p99, and the SLO's own percentile under
 * its name when it is none of those (an SLO on p97.5 adds "p97.5"), so a report compares the SLO with exactly the
 * percentile it names. p90 and the SLO's own are optional only for reports written before they were computed.
 */
export interface Percentiles {
  p50: number;
  p90?: number;
  p95: number;
  p99: number;
  [key: `p${string}`]: number | undefined;
}

/** Requests that met a cold start: arrived while a role had no ready replica, and so waited for one to start. */
export interface ColdStarts {
  requests: number;
  completed: number;
  /** Of the completed ones, those within the TTFT target. */
  metTtft: number;
  /** TTFT percentiles (ms) of the completed ones (NaN when none), and the worst. */
  ttftMs: Percentiles;
  maxTtftMs: number;
}

/** One planner interval of one simulated run, for the report's plots. */
export interface IntervalRecord {
  /** Seconds from trace start at the end of the interval. */
  t: number;
  /** Requests that arrived in the interval. */
  requests: number;
  /** What the planner forecast for this interval (requests), when it forecast one. */
  forecastRequests?: number;
  /** Desired and ready replicas per pool at the end of the interval. */
  desired: Record<string, number>;
  ready: Record<string, number>;
  /** TTFT / ITL percentiles of requests that completed in the interval (ms); undefined when none did. */
  ttftMs?: Percentiles;
  itlMs?: Percentiles;
  /** Share of completed requests in the interval that met both SLOs. */
  attainment?: number;
  /** GPUs provisioned (ready or starting) at the end of the interval, and cost per hour. */
  gpus: number;
  costPerHour: number;
  evictions: number;
  queueDepth: number;
}

/** One policy's simulated run: the fields report.json documents (docs/report.md) plus the series behind the plots. */
export interface RunResult {
  /** "policy" for the policy file's own policy; the baseline's name otherwise. */
  policy: string;
  /** The policy kind actually run (sla, dynamo, hpa, static, hindsight). */
  kind: string;
  sloAttainment: { ttft: number; itl: number; both: number };
  ttftMs: Percentiles;
  itlMs: Percentiles;
  /** `starting`: the part held by replicas started and not yet ready (absent in reports written before it was kept). */
  gpuHours: { total: number; spot: number; onDemand: number; starting?: number };
  cost: number;
  evictions: number;
  /** Requests re-queued because their replica was evicted (they still finish or are dropped). */
  requeued: number;
  droppedRequests: number;
  completedRequests: number;
  /** Number of planner decisions taken. */
  decisions: number;
  /**
   * Scale-to-zero's cost, counted honestly: how often the graph woke from zero, and the requests that met a cold
   * start (arrived while a role had no ready replica, so waited for a startup), with their TTFT.
   */
  coldStarts?: ColdStarts & { wakes: number };
  /**
   * The GPU-hours the run's decisions asked for, by what asked for them (planner/gpu-layers.ts): the policy's need, the
   * eviction spare, the scale-down window, ... Only for runs of the planner (a schedule or Dynamo's own loop has none).
   * They add up to the desired GPU-hours, which differ from `gpuHours` (what ran) by replicas evicted or still pending and by the drain after the last interval.
   */
  desiredGpuHours?: GpuLayers;
  intervals: IntervalRecord[];
  warnings: string[];
}

/** What the searched yardsticks found, beside their runs. */
export interface YardstickSummary {
  hindsight?: {
    sloMet: boolean;
    /** The per-interval target share of the schedule kept. */
    perIntervalTarget: number;
    passes: { target: number; attainment: number; gpuHours: number }[];
    windowReplays: number;
  };
  hpaTuned?: {
    utilization: number;
    sloMet: boolean;
    grid: { utilization: number; attainment: number; gpuHours: number }[];
  };
}

/** A pool as the report describes it: what its rows and series are about. */
export interface ReportPool {
  name: string;
  role: string;
  capacity: string;
  gpusPerReplica: number;
  minReplicas: number;
  maxReplicas: number;
  costPerGpuHour: number;
  startupSeconds: number;
}

export interface SimReport {
  /** Layout version of report.json. */
  schemaVersion: number;
  generatedAt: string;
  policyName: string;
  trace: {
    name: string;
    format: string;
    requests: number;
    durationSeconds: number;
    rateScale: number;
    skippedLines: number;
    skippedExamples: { line: number; reason: string }[];
    /** What was read: the file path (relative to the working directory when under it) or the synthetic/scenario spec. */
    source?: string;
    /** The --speedup factor (1 = real time). */
    speedup?: number;
    /** Well-formed requests left out of the load on purpose, per reason (Trace.excluded). */
    excluded?: { count: number; reason: string }[];
    /** What the reader changed or noticed (Trace.warnings). */
    warnings?: string[];
  };
  slo: { ttft: { percentile: number; ms: number }; itl: { percentile: number; ms: number } };
  /** The fluid lower bound on GPU-hours (yardsticks/bound.ts). */
  bound: { gpuHours: number; prefillGpuHours: number; decodeGpuHours: number; method: string };
  /** The requests no planner that only reacts can have capacity for in time (yardsticks/surprise.ts). */
  surprise?: Surprise;
  /** The warm start (replicas per pool) every run began from. */
  start?: Record<string, number>;
  yardsticks?: YardstickSummary;
  runs: RunResult[];
  sim: { wallSeconds: number; requestsPerSecond: number; seed: number };
  /** The pools of the effective policy. */
  pools?: ReportPool[];
  /** The baselines asked for (--baselines), in order. */
  baselines?: string[];
  /** What-if knobs applied on top of the policy file, by flag name ({ "gpu-budget": 64 }); {} when none. */
  overrides?: Record<string, number>;
  /** --current: the replica counts per pool the `current` run held. */
  current?: Record<string, number>;
  /** The effective policy (the file with every default and override applied) as a policy file. */
  policy?: PolicyDocument;
}

/** The requests a planner that only reacts cannot have ordered capacity for in time (yardsticks/surprise.ts). */
export interface Surprise {
  /** Share of the trace's requests above the highest load seen a reaction time earlier (0-1). */
  share: number;
  /** The reaction time in intervals: ceil(largest startupSeconds / interval) + 1. */
  lagIntervals: number;
  /** The SLO's allowed misses: 1 - the stricter percentile (p90 -> 0.1). */
  allowedMisses: number;
  /** share > allowedMisses: a planner that only reacts meets the SLO only through slack, a trend or a reserve. */
  exceedsAllowance: boolean;
}
