/**
 * The figures every report view shows per run, computed once: which latency percentile to hold
 * against the SLO, whether it met it, and each run's GPU-hours relative to the yardsticks that no
 * policy can beat or game: the fluid lower bound ("x bound") and the hindsight schedule
 * ("x hindsight"), and to the policy file's own policy.
 */
import type { Percentiles, RunResult, SimReport } from '../types.js';
import { percentileKey } from '../../planner/percentile-key.js';
import { CURRENT_RUN } from '../current.js';

export { CURRENT_RUN } from '../current.js';

export type PercentileKey = `p${string}`;

/** The run name report.json gives the policy file's own policy, and the hindsight baseline's. */
export const POLICY_RUN = 'policy';
export const HINDSIGHT_RUN = 'hindsight';

/** The SLO's attainment target as a share: the stricter of the two percentiles (95 -> 0.95). */
export function sloGoal(report: SimReport): number {
  return Math.max(sloPercent(report.slo.ttft.percentile), sloPercent(report.slo.itl.percentile)) / 100;
}

/** SLO percentiles arrive as 95 (the policy file's form) or 0.95; both mean p95. */
export function sloPercent(percentile: number): number {
  return percentile <= 1 ? percentile * 100 : percentile;
}

const NEAREST: [PercentileKey, number][] = [['p50', 50], ['p95', 95], ['p99', 99]];

/**
 * The key of percentile `percentile` in a run's latency object: its own name ("p90", "p97.5"), which every report
 * this simulator writes carries (src/sim/cluster/percentiles.ts). `available` is a latency object of the report:
 * when it lacks that key (a report written before the SLO's percentile was computed), the nearest of p50/p95/p99.
 * Example: an SLO on p90 -> "p90"; the same SLO against an old report with p50/p95/p99 only -> "p95".
 */
export function percentileKeyFor(percentile: number, available?: Percentiles): PercentileKey {
  const p = sloPercent(percentile);
  const own = percentileKey(p);
  if (!available || typeof available[own] === 'number') return own;
  let best = NEAREST[0]!;
  for (const c of NEAREST) if (Math.abs(c[1] - p) < Math.abs(best[1] - p)) best = c;
  return best[0];
}

/** The key a report's tables and plots use for the TTFT or ITL SLO, judged on the first run's latencies. */
export function reportPercentileKey(report: SimReport, which: 'ttft' | 'itl'): PercentileKey {
  const sample = report.runs[0]?.[which === 'ttft' ? 'ttftMs' : 'itlMs'];
  return percentileKeyFor(report.slo[which].percentile, sample);
}

export interface LatencyVsSlo {
  key: PercentileKey;
  value: number;
  sloMs: number;
  /** The SLO is on this percentile (e.g. 95); `key` is what we compare it with. */
  sloPercent: number;
  ok: boolean;
}

export interface SummaryRow {
  policy: string;
  kind: string;
  attainment: RunResult['sloAttainment'];
  ttft: LatencyVsSlo;
  itl: LatencyVsSlo;
  gpuHours: RunResult['gpuHours'];
  /** Whether the share of requests meeting both targets reaches the SLO's percentile. */
  sloMet: boolean;
  /** GPU-hours / the fluid lower bound's; undefined when the report has no bound. */
  xBound?: number;
  /** GPU-hours / the hindsight run's; undefined without a hindsight run. */
  xHindsight?: number;
  /** GPU-hours / the policy file's policy's GPU-hours; undefined without that run. */
  vsPolicy?: number;
  /**
   * What the run saves against the `current` run (--current: the replicas run today), positive when it costs less:
   * GPU-hours and cost. Undefined without a current run, and for the current run itself.
   */
  savedVsCurrent?: { gpuHours: number; cost: number };
  cost: number;
  evictions: number;
  requeued: number;
  dropped: number;
  completed: number;
  decisions: number;
}

function ratio(value: number, reference: number | undefined): number | undefined {
  if (reference === undefined || !(reference > 0)) return undefined;
  return value / reference;
}

export function findRun(report: SimReport, name: string): RunResult | undefined {
  return report.runs.find((r) => r.policy === name);
}

function vsSlo(p: Percentiles, slo: { percentile: number; ms: number }, key: PercentileKey): LatencyVsSlo {
  const value = p[key] ?? Number.NaN;
  return { key, value, sloMs: slo.ms, sloPercent: sloPercent(slo.percentile), ok: value <= slo.ms };
}

/**
 * One row per run, in the report's run order.
 * Example: policy 41.50 GPU-h, hindsight 33.25 GPU-h, bound 20.00 GPU-h -> policy.xHindsight = 41.50 / 33.25 = 1.248
 * ("1.25×"), policy.xBound = 2.075 ("2.08×"); with a current run of 64.00 GPU-h at $512.00 and the policy at $320.00,
 * policy.savedVsCurrent = { gpuHours: 22.50, cost: 192.00 }.
 */
export function summaryRows(report: SimReport): SummaryRow[] {
  const hindsightHours = findRun(report, HINDSIGHT_RUN)?.gpuHours.total;
  const boundHours = report.bound?.gpuHours;
  const policyHours = findRun(report, POLICY_RUN)?.gpuHours.total;
  const current = findRun(report, CURRENT_RUN);
  const goal = sloGoal(report);
  const ttftKey = reportPercentileKey(report, 'ttft');
  const itlKey = reportPercentileKey(report, 'itl');
  return report.runs.map((run) => ({
    policy: run.policy,
    kind: run.kind,
    attainment: run.sloAttainment,
    ttft: vsSlo(run.ttftMs, report.slo.ttft, ttftKey),
    itl: vsSlo(run.itlMs, report.slo.itl, itlKey),
    gpuHours: run.gpuHours,
    sloMet: run.sloAttainment.both >= goal,
    xBound: ratio(run.gpuHours.total, boundHours),
    xHindsight: ratio(run.gpuHours.total, hindsightHours),
    vsPolicy: ratio(run.gpuHours.total, policyHours),
    savedVsCurrent: current && run !== current ? { gpuHours: current.gpuHours.total - run.gpuHours.total, cost: current.cost - run.cost } : undefined,
    cost: run.cost,
    evictions: run.evictions,
    requeued: run.requeued,
    dropped: run.droppedRequests,
    completed: run.completedRequests,
    decisions: run.decisions,
  }));
}

/** "TTFT p90 ms (SLO 500)"; for an old report without the SLO's own percentile, "TTFT p95 ms (SLO 500 on p90)". */
export function latencyHeader(report: SimReport, which: 'ttft' | 'itl'): string {
  const slo = report.slo[which];
  const name = which === 'ttft' ? 'TTFT' : 'ITL';
  const key = reportPercentileKey(report, which);
  const p = sloPercent(slo.percentile);
  const onOther = percentileKey(p) === key ? '' : ` on ${percentileKey(p)}`;
  return `${name} ${key} ms (SLO ${slo.ms}${onOther})`;
}

/** Trace fields other helpers may add to `SimReport.trace` (see `Trace` in ../types.ts); shown when present. */
export interface TraceExtras {
  excluded?: { count: number; reason: string }[];
  warnings?: string[];
}

export function traceExtras(report: SimReport): TraceExtras {
  const t = report.trace as SimReport['trace'] & TraceExtras;
  return {
    excluded: Array.isArray(t.excluded) ? t.excluded : undefined,
    warnings: Array.isArray(t.warnings) ? t.warnings : undefined,
  };
}
