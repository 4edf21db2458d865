/**
 * A fleet simulation's results: each run (the fleet's shared arbitration, and the baselines) carries the fleet's
 * totals and, under `graphs`, each graph's own result (the fields of a single-graph run), side by side.
 */
import type { FleetBudget } from '../../fleet/decide.js';
import type { RunResult } from '../types.js';

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

/** One fleet run: the single-graph run's contract fields over every request of every graph, and the graphs' own. */
export interface FleetRunResult
  extends Pick<
    RunResult,
    'sloAttainment' | 'ttftMs' | 'itlMs' | 'gpuHours' | 'cost' | 'evictions' | 'requeued' | 'droppedRequests' | 'completedRequests' | 'decisions'
  > {
  /** "policy" for the shared arbitration; the baseline's name otherwise ("split", "unlimited", "dynamo"). */
  policy: string;
  kind: string;
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
