import type { SimReport } from '../types.js';

/**
 * A parameter sweep: the same trace and policy file simulated once per value of one parameter
 * (GPU budget, Spot share, SLO, startup time, ...). `values` is the order the user asked for;
 * `scenarios` holds one full report per value, in any order (worker threads finish out of order).
 */
export interface SweepReport {
  /** What was varied, as the user named it, e.g. "budget.maxGpus" or "startupSeconds". */
  parameter: string;
  values: (number | string)[];
  scenarios: { value: number | string; report: SimReport }[];
}

/** Paths of the files `writeReport` wrote. */
export interface ReportPaths {
  json: string;
  md: string;
  html: string;
}

/** Paths of the files `writeSweepReport` wrote; `scenarios` are the per-value report folders, in `values` order. */
export interface SweepReportPaths extends ReportPaths {
  scenarios: string[];
}
