/**
 * A fleet simulation's results: each run (the fleet's shared arbitration, and the baselines) carries the fleet's
 * totals and, under `graphs`, each graph's own result (the fields of a single-graph run), side by side.
 */
import type { FleetBudget } from '../../fleet/decide.js';
import type { Percentiles, RunResult } from '../types.js';

/** One graph within one fleet run. */
export interface FleetGraphRun extends RunResult {
  priority: number;
  /** The share of its requests meeting both targets reaches its SLO's percentile. */
  sloMet: boolean;
  /** GPUs it asked for and did not get, integrated over the run (GPU-hours); shared arbitration only. */
  gaveUpGpuHours?: number;
}

/** The fleet's GPUs at the end of one interval, per graph. */
export interface FleetIntervalRecord {
  t: number;
  /** GPUs provisioned (starting, ready or leaving) per graph. */
  gpus: Record<string, number>;
  /** What the arbitration granted each graph at this tick, and what it asked for (shared arbitration only). */
  granted?: Record<string, number>;
  demand?: Record<string, number>;
}

export interface FleetRunResult {
  /** "policy" for the shared arbitration; the baseline's name otherwise ("split", "unlimited", "dynamo"). */
  policy: string;
  kind: string;
  /** Over every request of every graph. */
  sloAttainment: { ttft: number; itl: number; both: number };
  ttftMs: Percentiles;
  itlMs: Percentiles;
  gpuHours: { total: number; spot: number; onDemand: number };
  cost: number;
  evictions: number;
  requeued: number;
  droppedRequests: number;
  completedRequests: number;
  decisions: number;
  /** Every graph met its own SLO. */
  sloMet: boolean;
  /** Most GPUs the fleet held at once (at an interval's end), and the budget it had (none for `unlimited`). */
  peakGpus: number;
  budgetGpus?: number;
  graphs: Record<string, FleetGraphRun>;
  intervals: FleetIntervalRecord[];
  warnings: string[];
}

export interface FleetReport {
  schemaVersion: number;
  kind: 'PlannerFleet';
  generatedAt: string;
  fleetName: string;
  budget: FleetBudget;
  /** Totals over the graphs' traces (the single-graph report's contract fields). */
  trace: { requests: number; durationSeconds: number; rateScale: number; speedup?: number };
  /** The what-if flags given (`--gpu-budget` sets the fleet's budget; the others apply to every graph), by flag name. */
  overrides?: Record<string, number>;
  graphs: {
    name: string;
    priority: number;
    /** The policy file, as the fleet file names it. */
    policy: string;
    trace: { name: string; format: string; requests: number; durationSeconds: number; skippedLines: number };
    slo: { ttft: { percentile: number; ms: number }; itl: { percentile: number; ms: number } };
  }[];
  runs: FleetRunResult[];
  sim: { wallSeconds: number; requestsPerSecond: number; seed: number };
}
