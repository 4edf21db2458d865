/**
 * One fleet run with the shared arbitration: one cluster model per graph, all advanced in lockstep, interval by
 * interval; at each interval's end every graph's window becomes its observation (as replay.ts builds it: the
 * window's peak 10 s rate and ISL at the TTFT percentile from the trace, as Prometheus would give them), the REAL
 * fleet decision (src/fleet/decide.ts decideFleet, which runs each graph's decide()) splits the budget, and each
 * cluster gets its graph's desired replicas.
 *
 * A graph at zero with `scaleToZero.pollInterval` is polled within the interval, as the service polls it: at the first
 * poll that sees its trace's arrivals, the fleet decides that graph alone (the others keep their counts) and it wakes
 * at that second.
 */
import { nullRecord, own } from '../../config/records.js';
import type { PolicySpec } from '../../config/schema.js';
import { decideFleet, type FleetBudget, type FleetGraphInput, type FleetResult } from '../../fleet/decide.js';
import { nextTickSeconds } from '../../planner/idle.js';
import { initialState, type PlannerState } from '../../planner/state.js';
import { percentileKey } from '../../planner/percentile-key.js';
import type { Decision, Observation, PoolObservation } from '../../planner/types.js';
import type { PerformanceProfile } from '../../profiles/types.js';
import { ClusterSim, windowObservation, type ClusterTotals } from '../cluster/index.js';
import { binIslQuantile, type IntervalLoad } from '../intervals.js';
import { layerHours, type LayerHours } from '../layer-hours.js';
import { arrivalsUpTo, intervalRecord, SIM_EPOCH_MS, warmHistory, type EvictionOptions } from '../replay.js';
import type { IntervalRecord, RunResult, Trace } from '../types.js';
import type { FleetIntervalRecord } from './types.js';

export interface FleetSimGraph {
  name: string;
  priority: number;
  spec: PolicySpec;
  profile: PerformanceProfile;
  trace: Trace;
  bins: IntervalLoad[];
  /** Warm start (replicas per pool, ready at t = 0). */
  initial: Record<string, number>;
  /** Seed of its cluster model (evictions, startup draws). */
  seed: number;
}

export interface FleetReplayInput {
  name: string;
  budget: FleetBudget;
  graphs: FleetSimGraph[];
  evictions?: EvictionOptions;
  startup?: { sigma: number; factor?: number };
  progress?: (done: number, total: number) => void;
  /** Every tick's fleet decision (each graph's decision with its explanation), for tests and debugging. */
  onTick?: (k: number, result: FleetResult) => void;
  /** Every interval's observation of each graph, as its decision saw it. */
  onObservation?: (graph: string, observation: Observation) => void;
}

export interface FleetReplayResult {
  runs: RunResult[];
  /** Each graph's cluster totals (per-request latencies, for the fleet's percentiles). */
  totals: ClusterTotals[];
  intervals: FleetIntervalRecord[];
  /** GPU-hours each graph asked for and did not get. */
  gaveUpGpuHours: Record<string, number>;
  warnings: string[];
}

interface GraphRun {
  graph: FleetSimGraph;
  cluster: ClusterSim;
  state: PlannerState;
  islTail: Float64Array;
  current: Record<string, number>;
  records: IntervalRecord[];
  decisions: number;
  wakes: number;
  lastForecast?: number;
  warnings: Set<string>;
  /** The desired GPU-hours by layer (planner/gpu-layers.ts), as the single-graph replay adds them up. */
  layers: LayerHours;
}

/** The fleet's common tick (every graph has one interval: checkFleet) and how many there are. */
export function fleetTicks(graphs: readonly FleetSimGraph[]): { interval: number; total: number; end: number } {
  const interval = graphs[0]?.spec.interval ?? 60;
  const end = Math.max(interval, ...graphs.map((g) => g.trace.durationSeconds));
  return { interval, total: Math.max(1, ...graphs.map((g) => g.bins.length)), end };
}

function desiredOf(decisionPools: Record<string, { desired: number }>): Record<string, number> {
  return Object.fromEntries(Object.entries(decisionPools).map(([pool, d]) => [pool, d.desired]));
}

function sum(values: Record<string, number>): number {
  let s = 0;
  for (const v of Object.values(values)) s += v;
  return s;
}

export async function replayFleet(input: FleetReplayInput): Promise<FleetReplayResult> {
  const { interval, total, end } = fleetTicks(input.graphs);
  const runs: GraphRun[] = input.graphs.map((graph) => {
    const { spec, profile, trace, initial } = graph;
    const cluster = new ClusterSim(trace, {
      profile,
      pools: spec.pools,
      initialReplicas: initial,
      slo: spec.slo,
      seed: graph.seed,
      spot: {
        evictionRatePerHour: input.evictions?.ratePerHour ?? spec.spot.evictionRatePerHour,
        noticeSeconds: input.evictions?.noticeSeconds ?? spec.spot.noticeSeconds,
        schedule: input.evictions?.schedule?.filter((e) => spec.pools.some((p) => p.name === e.pool)),
      },
      ...(input.startup ? { startup: input.startup } : {}),
    });
    const state = initialState();
    state.last = { ...initial };
    state.recommendations = [{ time: SIM_EPOCH_MS, desired: { ...initial } }];
    state.history = warmHistory(graph.bins[0], interval);
    return { graph, cluster, state, islTail: binIslQuantile(trace, interval, spec.slo.ttft.percentile / 100), current: { ...initial }, records: [], decisions: 0, wakes: 0, warnings: new Set(), layers: layerHours(spec, initial) };
  });
  const fleetRecords: FleetIntervalRecord[] = [];
  // Keyed by graph names (a graph may be named `constructor` or `__proto__`): records without a prototype.
  const gaveUp = nullRecord<number>();
  for (const g of input.graphs) gaveUp[g.name] = 0;
  const fleetWarnings = new Set<string>();

  const apply = (run: GraphRun, decision: Decision, t: number) => {
    const desired = desiredOf(decision.pools);
    run.layers.decided(t, decision);
    const before = sum(run.current);
    let changed = false;
    for (const [pool, n] of Object.entries(desired)) {
      if (run.current[pool] !== n) changed = true;
      run.cluster.setDesired(pool, n, t);
    }
    run.current = { ...run.current, ...desired };
    if (changed) run.decisions++;
    if (before === 0 && sum(run.current) > 0) run.wakes++;
  };

  /** Polls within [start, stop) of the graphs at zero; a poll that sees demand decides those graphs alone. */
  const pollWithin = (start: number, stop: number) => {
    const polling = runs.map((r) => ({ r, period: nextTickSeconds(r.graph.spec, r.state) })).filter((p) => p.period < interval);
    if (polling.length === 0) return;
    const firsts = new Map(polling.map((p) => [p.r, arrivalsUpTo(p.r.graph.trace, start)]));
    const times = [...new Set(polling.flatMap((p) => Array.from({ length: Math.ceil((stop - start) / p.period) }, (_, j) => start + (j + 1) * p.period)))]
      .filter((s) => s < stop - 1e-9)
      .sort((a, b) => a - b);
    const woken = new Set<GraphRun>();
    for (const s of times) {
      const seeing = polling.filter((p) => !woken.has(p.r) && Math.abs(((s - start) / p.period) % 1) < 1e-9 && arrivalsUpTo(p.r.graph.trace, s) > (firsts.get(p.r) as number));
      if (seeing.length === 0) continue;
      const graphs: FleetGraphInput[] = runs.map((r) => {
        const poll = seeing.find((p) => p.r === r);
        const base = { name: r.graph.name, priority: r.graph.priority, spec: r.graph.spec, profile: r.graph.profile, state: r.state };
        if (!poll) return base;
        r.cluster.runTo(s);
        const seen = r.cluster.peek();
        const pools: Record<string, PoolObservation> = {};
        for (const [name, p] of Object.entries(seen.pools)) pools[name] = { desired: p.desired, ready: p.ready, pending: p.starting };
        const observation: Observation = {
          time: new Date(SIM_EPOCH_MS + s * 1000).toISOString(),
          windowSeconds: s - start,
          requests: arrivalsUpTo(r.graph.trace, s) - (firsts.get(r) as number),
          queueDepth: seen.queueDepth,
          pools,
        };
        return { ...base, observation, poll: true };
      });
      const result = decideFleet({ name: input.name, budget: input.budget, graphs, now: SIM_EPOCH_MS + s * 1000 });
      for (const p of seeing) {
        const decided = own(result.results, p.r.graph.name);
        if (!decided) continue;
        p.r.state = decided.state;
        apply(p.r, decided.decision, s);
        woken.add(p.r);
      }
    }
  };

  for (let k = 0; k < total; k++) {
    const t = Math.min((k + 1) * interval, end);
    pollWithin(k * interval, t);
    const observations = runs.map((r) => {
      const stats = r.cluster.advanceTo(t);
      const observation = windowObservation(stats, SIM_EPOCH_MS + t * 1000, r.graph.spec.slo, r.graph.spec.pools);
      const bin = r.graph.bins[k];
      if (bin) observation.peakRequestsPerSecond = bin.peakPerSecond;
      const tail = r.islTail[k];
      if (tail !== undefined && Number.isFinite(tail)) observation.islPercentiles = { [percentileKey(r.graph.spec.slo.ttft.percentile)]: tail };
      input.onObservation?.(r.graph.name, observation);
      return { stats, observation };
    });
    const result = decideFleet({
      name: input.name,
      budget: input.budget,
      now: SIM_EPOCH_MS + t * 1000,
      graphs: runs.map((r, i) => ({ name: r.graph.name, priority: r.graph.priority, spec: r.graph.spec, profile: r.graph.profile, state: r.state, observation: observations[i]!.observation })),
    });
    input.onTick?.(k, result);
    for (const w of result.arbitration.warnings) fleetWarnings.add(w);
    const record: FleetIntervalRecord = { t, gpus: nullRecord(), granted: nullRecord(), demand: nullRecord() };
    runs.forEach((r, i) => {
      const decided = own(result.results, r.graph.name)!;
      const { stats, observation } = observations[i]!;
      r.state = decided.state;
      for (const w of decided.decision.explanation.warnings) r.warnings.add(w);
      // The record shows what ran in the window and what was decided for the next (as replay.ts records it).
      r.records.push(intervalRecord(t, stats, observation, { ...r.current, ...desiredOf(decided.decision.pools) }, r.lastForecast));
      r.lastForecast = decided.decision.explanation.forecast?.requests.value;
      apply(r, decided.decision, t);
      const share = own(result.arbitration.shares, r.graph.name)!;
      record.gpus[r.graph.name] = stats.gpus;
      record.granted![r.graph.name] = share.grantedGpus;
      record.demand![r.graph.name] = share.demandGpus;
      gaveUp[r.graph.name] = (gaveUp[r.graph.name] as number) + (share.gaveUpGpus * interval) / 3600;
    });
    fleetRecords.push(record);
    input.progress?.(k + 1, total);
  }

  const results: RunResult[] = runs.map((r) => {
    const totals = r.cluster.finish();
    r.layers.until(Math.min(total * interval, end));
    const desiredGpuHours = r.layers.result();
    return {
      policy: 'policy',
      kind: r.graph.spec.policy,
      sloAttainment: totals.attainment,
      ttftMs: totals.ttftMs,
      itlMs: totals.itlMs,
      gpuHours: totals.gpuHours,
      cost: totals.cost,
      evictions: totals.evictions,
      requeued: totals.requeued,
      droppedRequests: totals.dropped,
      completedRequests: totals.completed,
      decisions: r.decisions,
      coldStarts: { wakes: r.wakes, ...totals.coldStarts },
      ...(desiredGpuHours ? { desiredGpuHours } : {}),
      intervals: r.records,
      warnings: [...r.warnings].slice(0, 20),
    };
  });
  return { runs: results, totals: runs.map((r) => r.cluster.finish()), intervals: fleetRecords, gaveUpGpuHours: gaveUp, warnings: [...fleetWarnings].slice(0, 20) };
}
