/**
 * The fleet what-if: the fleet's shared arbitration and the baselines, each over every graph's trace.
 *
 * Runs:
 * - `policy`: the graphs on the fleet's one budget, decided together each interval (replay.ts, src/fleet/).
 * - `split`: each graph planned alone by its own policy, held to a fixed share of the budget in proportion to its
 *   priority (src/fleet/decide.ts splitShares): what separate planners, one per graph, would do.
 * - `unlimited`: each graph planned alone with no fleet budget (its own, if its policy has one): what the graphs
 *   would take together if GPUs were not shared; its peak shows the budget sharing saves.
 * - `dynamo`: NVIDIA Dynamo's planner as it ships, one per graph, each with its split share as its GPU budget
 *   (Dynamo has no shared budget across graphs).
 *
 * Every run starts each graph from the same warm start (the neutral start of replay.ts's single-graph runs, decided
 * without any policy), cut to fit the budget the run has: the fleet's budget for `policy` (lower priorities give
 * first), the graph's share for `split` and `dynamo`.
 */
import { nullRecord, own, toNullRecord } from '../../config/records.js';
import type { PolicySpec } from '../../config/schema.js';
import { arbitrate } from '../../fleet/arbitrate.js';
import { splitShares, type FleetBudget } from '../../fleet/decide.js';
import type { PerformanceProfile } from '../../profiles/types.js';
import { quantilesInPlace, type ClusterTotals } from '../cluster/index.js';
import { dynamoShipsDriver } from '../dynamo-ships/loop.js';
import { listNameProblem } from '../baselines.js';
import { binTrace } from '../intervals.js';
import { plannerDriver, replay, type EvictionOptions } from '../replay.js';
import { REPORT_SCHEMA_VERSION } from '../run.js';
import type { Percentiles, RunResult, Trace } from '../types.js';
import { neutralStart } from '../yardsticks/hindsight.js';
import { replayFleet, type FleetSimGraph } from './replay.js';
import type { FleetGraphRun, FleetIntervalRecord, FleetReport, FleetRunResult } from './types.js';

export const FLEET_BASELINES = ['split', 'unlimited', 'dynamo'] as const;
export type FleetBaseline = (typeof FLEET_BASELINES)[number];
export const DEFAULT_FLEET_BASELINES: readonly FleetBaseline[] = ['split', 'unlimited'];

export function parseFleetBaselines(text: string): FleetBaseline[] {
  if (text.trim() === '' || text.trim() === 'none') return [];
  const out: FleetBaseline[] = [];
  for (const name of text.split(',').map((s) => s.trim())) {
    listNameProblem(text, name);
    if (!(FLEET_BASELINES as readonly string[]).includes(name)) {
      throw new Error(`--baselines: "${name}" is not a fleet baseline (with --fleet choose from ${FLEET_BASELINES.join(', ')})`);
    }
    out.push(name as FleetBaseline);
  }
  return [...new Set(out)];
}

export interface FleetSimGraphInput {
  name: string;
  priority: number;
  /** The policy file as the fleet names it (for the report). */
  policy: string;
  spec: PolicySpec;
  profile: PerformanceProfile;
  trace: Trace;
}

export interface SimulateFleetOptions {
  name: string;
  budget: FleetBudget;
  graphs: FleetSimGraphInput[];
  baselines: FleetBaseline[];
  seed: number;
  evictions?: EvictionOptions;
  /** Startup times drawn per replica (lognormal around startupSeconds); omitted = exact. */
  startup?: { sigma: number; factor?: number };
  /** Warm starts per graph, when the caller has them (default: neutralStart of each graph). */
  starts?: Record<string, Record<string, number>>;
  onProgress?: (run: number, done: number, total: number) => void;
}

export interface SimulateFleetResult {
  runs: FleetRunResult[];
  wallSeconds: number;
  requestsReplayed: number;
}

/** Take replicas from a warm start until it fits `gpus` (the pool with most above its minimum first). */
export function fitStart(spec: PolicySpec, start: Record<string, number>, gpus: number): Record<string, number> {
  const out = toNullRecord(start);
  const used = () => spec.pools.reduce((s, p) => s + (out[p.name] ?? 0) * p.gpusPerReplica, 0);
  let guard = spec.pools.reduce((s, p) => s + (out[p.name] ?? 0), 0);
  while (used() > gpus && guard-- > 0) {
    let pick: string | undefined;
    let most = 0;
    for (const p of spec.pools) {
      const spare = (out[p.name] ?? 0) - p.minReplicas;
      if (spare > most) {
        most = spare;
        pick = p.name;
      }
    }
    if (pick === undefined) break;
    out[pick] = (out[pick] as number) - 1;
  }
  return out;
}

const gpusOf = (spec: PolicySpec, counts: Record<string, number>) => spec.pools.reduce((s, p) => s + (counts[p.name] ?? 0) * p.gpusPerReplica, 0);
const minGpus = (spec: PolicySpec) => spec.pools.reduce((s, p) => s + p.minReplicas * p.gpusPerReplica, 0);

/** The warm starts fitted into the fleet budget: floors first, then by priority (the arbitration's rule). */
function fitFleetStarts(graphs: readonly FleetSimGraphInput[], starts: Record<string, Record<string, number>>, budget: number): Record<string, Record<string, number>> {
  const asks = graphs.map((g) => {
    const want = gpusOf(g.spec, own(starts, g.name) ?? {});
    return { name: g.name, priority: g.priority, pressure: 1, floor: minGpus(g.spec), hard: want, want, step: 1 };
  });
  const grants = arbitrate(asks, budget).grants;
  return toNullRecord(graphs.map((g, i) => [g.name, fitStart(g.spec, own(starts, g.name) ?? {}, grants[i]!.granted)] as const));
}

function withBudget(spec: PolicySpec, maxGpus: number | undefined): PolicySpec {
  if (maxGpus === undefined) return spec;
  const own = spec.budget.maxGpus;
  return { ...spec, budget: { ...spec.budget, maxGpus: own === undefined ? maxGpus : Math.min(own, maxGpus) } };
}

function percentilesOver(columns: readonly Float32Array[], skipZero: boolean): Percentiles {
  let n = 0;
  for (const c of columns) n += c.length;
  const values = new Float32Array(Math.max(1, n));
  let k = 0;
  for (const c of columns) {
    for (let i = 0; i < c.length; i++) {
      const v = c[i] as number;
      // NaN: dropped; ITL 0: a one-token output, which has no ITL (as the single-graph percentiles count them).
      if (Number.isFinite(v) && !(skipZero && v === 0)) values[k++] = v;
    }
  }
  const [p50, p95, p99] = quantilesInPlace(values, k, [0.5, 0.95, 0.99]) as [number, number, number];
  return { p50, p95, p99 };
}

/** A graph's SLO goal: the stricter of its two percentiles, as a share (95 -> 0.95). */
export function sloGoalOf(spec: PolicySpec): number {
  return Math.max(spec.slo.ttft.percentile, spec.slo.itl.percentile) / 100;
}

/** The fleet's totals from its graphs' runs (attainment over all requests, percentiles over all of them). */
export function fleetTotals(
  name: string,
  kind: string,
  graphs: readonly FleetSimGraphInput[],
  runs: readonly RunResult[],
  totals: readonly ClusterTotals[],
  intervals: FleetIntervalRecord[],
  budget: number | undefined,
  gaveUp?: Record<string, number>,
  warnings: string[] = [],
): FleetRunResult {
  let requests = 0;
  const met = { ttft: 0, itl: 0, both: 0 };
  const gpuHours = { total: 0, spot: 0, onDemand: 0, starting: 0 };
  let cost = 0;
  let evictions = 0;
  let requeued = 0;
  let dropped = 0;
  let completed = 0;
  let decisions = 0;
  const byGraph = nullRecord<FleetGraphRun>();
  runs.forEach((run, i) => {
    const g = graphs[i]!;
    const n = g.trace.arrival.length;
    requests += n;
    met.ttft += run.sloAttainment.ttft * n;
    met.itl += run.sloAttainment.itl * n;
    met.both += run.sloAttainment.both * n;
    gpuHours.total += run.gpuHours.total;
    gpuHours.spot += run.gpuHours.spot;
    gpuHours.onDemand += run.gpuHours.onDemand;
    gpuHours.starting += run.gpuHours.starting ?? 0;
    cost += run.cost;
    evictions += run.evictions;
    requeued += run.requeued;
    dropped += run.droppedRequests;
    completed += run.completedRequests;
    decisions += run.decisions;
    byGraph[g.name] = {
      ...run,
      policy: name,
      priority: g.priority,
      sloMet: n === 0 || run.sloAttainment.both >= sloGoalOf(g.spec),
      ...(gaveUp ? { gaveUpGpuHours: own(gaveUp, g.name) ?? 0 } : {}),
    };
  });
  const share = (x: number) => (requests > 0 ? x / requests : NaN);
  return {
    policy: name,
    kind,
    sloAttainment: { ttft: share(met.ttft), itl: share(met.itl), both: share(met.both) },
    ttftMs: percentilesOver(totals.map((t) => t.ttftMsByRequest), false),
    itlMs: percentilesOver(totals.map((t) => t.itlMsByRequest), true),
    gpuHours,
    cost,
    evictions,
    requeued,
    droppedRequests: dropped,
    completedRequests: completed,
    decisions,
    sloMet: Object.values(byGraph).every((g) => g.sloMet),
    peakGpus: intervals.reduce((m, r) => Math.max(m, Object.values(r.gpus).reduce((a, b) => a + b, 0)), 0),
    ...(budget !== undefined ? { budgetGpus: budget } : {}),
    graphs: byGraph,
    intervals,
    warnings,
  };
}

/** Per interval, each graph's GPUs from its own run's records (for the runs whose graphs ran apart). */
function mergeIntervals(graphs: readonly FleetSimGraphInput[], runs: readonly RunResult[]): FleetIntervalRecord[] {
  const length = Math.max(0, ...runs.map((r) => r.intervals.length));
  const out: FleetIntervalRecord[] = [];
  for (let k = 0; k < length; k++) {
    const gpus = nullRecord<number>();
    let t = 0;
    runs.forEach((r, i) => {
      const rec = r.intervals[k];
      gpus[graphs[i]!.name] = rec?.gpus ?? 0;
      if (rec) t = Math.max(t, rec.t);
    });
    out.push({ t, gpus });
  }
  return out;
}

export async function simulateFleet(options: SimulateFleetOptions): Promise<SimulateFleetResult> {
  const started = performance.now();
  const { graphs, budget, seed } = options;
  const prepared = graphs.map((g, i) => ({ g, bins: binTrace(g.trace, g.spec.interval), seed: seed + 7919 * i }));
  const starts = options.starts ?? toNullRecord(graphs.map((g) => [g.name, neutralStart(g.spec, g.profile, g.trace)] as const));
  const shares = splitShares(budget.maxGpus, graphs.map((g) => g.priority));
  const kinds = ['policy', ...options.baselines] as const;
  const runs: FleetRunResult[] = [];
  let replayed = 0;
  const requestsAll = graphs.reduce((s, g) => s + g.trace.arrival.length, 0);

  for (const [index, kind] of kinds.entries()) {
    const progress = (done: number, total: number) => options.onProgress?.(index, done, total);
    if (kind === 'policy') {
      const fitted = fitFleetStarts(graphs, starts, budget.maxGpus);
      const simGraphs: FleetSimGraph[] = prepared.map(({ g, bins, seed: s }) => ({ name: g.name, priority: g.priority, spec: g.spec, profile: g.profile, trace: g.trace, bins, initial: own(fitted, g.name) ?? {}, seed: s }));
      const result = await replayFleet({ name: options.name, budget, graphs: simGraphs, evictions: options.evictions, startup: options.startup, progress });
      runs.push(fleetTotals('policy', 'fleet', graphs, result.runs, result.totals, result.intervals, budget.maxGpus, result.gaveUpGpuHours, result.warnings));
      replayed += requestsAll;
      continue;
    }
    const alone: RunResult[] = [];
    const totals: ClusterTotals[] = [];
    for (const [i, { g, bins, seed: s }] of prepared.entries()) {
      const cap = kind === 'unlimited' ? undefined : shares[i]!;
      const spec = withBudget(g.spec, cap);
      const start = own(starts, g.name) ?? {};
      const initial = cap === undefined ? start : fitStart(g.spec, start, cap);
      const sub = (done: number, total: number) => progress(i + done / total, graphs.length);
      const driver = kind === 'dynamo' ? dynamoShipsDriver(spec, g.profile, initial) : plannerDriver({ spec, profile: g.profile, trace: g.trace, bins, initial });
      const run = await replay({
        name: kind,
        kind: kind === 'dynamo' ? 'dynamo' : spec.policy,
        spec,
        profile: g.profile,
        trace: g.trace,
        bins,
        initial,
        seed: s,
        evictions: options.evictions,
        startup: options.startup,
        driver,
        progress: sub,
        onTotals: (t) => totals.push(t),
      });
      alone.push(run);
      replayed += g.trace.arrival.length;
    }
    runs.push(fleetTotals(kind, kind === 'dynamo' ? 'dynamo' : 'alone', graphs, alone, totals, mergeIntervals(graphs, alone), kind === 'unlimited' ? undefined : budget.maxGpus));
  }
  return { runs, wallSeconds: (performance.now() - started) / 1000, requestsReplayed: replayed };
}

export function buildFleetReport(args: {
  name: string;
  budget: FleetBudget;
  graphs: FleetSimGraphInput[];
  rateScale: number;
  speedup?: number;
  /** The what-if flags given, by flag name (whatIfFlags), `startup-spread` included. */
  overrides?: Record<string, number>;
  seed: number;
  result: SimulateFleetResult;
  generatedAt: string;
}): FleetReport {
  const { graphs, result } = args;
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    kind: 'PlannerFleet',
    generatedAt: args.generatedAt,
    fleetName: args.name,
    budget: args.budget,
    trace: {
      requests: graphs.reduce((s, g) => s + g.trace.arrival.length, 0),
      durationSeconds: Math.max(0, ...graphs.map((g) => g.trace.durationSeconds)),
      rateScale: args.rateScale,
      ...(args.speedup !== undefined && args.speedup !== 1 ? { speedup: args.speedup } : {}),
    },
    overrides: args.overrides ?? {},
    graphs: graphs.map((g) => ({
      name: g.name,
      priority: g.priority,
      policy: g.policy,
      trace: { name: g.trace.name, format: g.trace.format, requests: g.trace.arrival.length, durationSeconds: g.trace.durationSeconds, skippedLines: g.trace.skipped.count },
      slo: { ttft: { ...g.spec.slo.ttft }, itl: { ...g.spec.slo.itl } },
    })),
    runs: result.runs,
    sim: { wallSeconds: result.wallSeconds, requestsPerSecond: result.wallSeconds > 0 ? result.requestsReplayed / result.wallSeconds : 0, seed: args.seed },
  };
}
