/**
 * The what-if simulation: the REAL planner loop (planner/tick.ts -> decide()) on a virtual clock,
 * driving the modelled P/D cluster (sim/cluster) instead of Kubernetes.
 *
 * Per interval of virtual time: the cluster runs up to the tick, its window becomes an Observation
 * (the simulated metric source, plus the window's peak 10 s arrival rate from the trace), runTick() decides
 * exactly as the service would, and the simulated
 * connector hands the desired replicas back to the cluster, where they become useful after startupSeconds.
 *
 * Every run starts from the same warm cluster: each pool at the count the oracle picks for the first
 * interval (as if a planner had been running before the trace began), so no policy is charged for a cold
 * start the trace does not show; the static baseline starts at its fixed counts.
 */
import type { PolicySpec } from '../config/schema.js';
import type { PerformanceProfile } from '../profiles/types.js';
import { runTick } from '../planner/tick.js';
import { initialState, type PlannerState } from '../planner/state.js';
import type { Decision, Observation } from '../planner/types.js';
import type { Connector, MetricSource } from '../planner/ports.js';
import { decide } from '../planner/decide.js';
import { ClusterSim, windowObservation } from './cluster/index.js';
import { baselineSpec, type Baseline, type RunKind } from './baselines.js';
import { binIslQuantile, binTrace, oracleForecast, type IntervalLoad } from './intervals.js';
import type { IntervalRecord, RunResult, SimReport, Trace } from './types.js';

/** Virtual epoch of the trace start (a Monday 00:00 UTC, so schedules behave predictably). */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 5, 0, 0, 0);

export interface EvictionOptions {
  /** Evictions per Spot replica per hour; defaults to the policy's spot.evictionRatePerHour. */
  ratePerHour?: number;
  noticeSeconds?: number;
  schedule?: { t: number; pool: string; count: number }[];
}

export interface SimulateOptions {
  spec: PolicySpec;
  profile: PerformanceProfile;
  trace: Trace;
  baselines: Baseline[];
  seed: number;
  evictions?: EvictionOptions;
  /** Called after each interval of each run (for a progress bar): (runIndex, intervalsDone, intervalsTotal). */
  onProgress?: (run: number, done: number, total: number) => void;
  /** Every tick's full decision (with its explanation), for tests and debugging: (run kind, interval index, decision). */
  onDecision?: (kind: RunKind, interval: number, decision: Decision) => void;
}

export interface SimulateResult {
  runs: RunResult[];
  wallSeconds: number;
  requestsReplayed: number;
}

export async function simulate(options: SimulateOptions): Promise<SimulateResult> {
  const started = performance.now();
  const { spec, profile, trace } = options;
  const bins = binTrace(trace, spec.interval);
  const meanIsl = mean(trace.isl);
  const meanOsl = mean(trace.osl);

  // The oracle runs first when it is asked for or the static baseline needs its peak counts; otherwise it is not
  // run at all (the warm start is only the oracle's first decision, firstDecision() below, no replay). Running it
  // unasked doubled the work of a policy-only simulation (1M requests → 2M replayed).
  const kinds: RunKind[] = ['policy', ...options.baselines];
  const needsOracle = kinds.includes('oracle') || kinds.includes('static');
  const order: RunKind[] = needsOracle ? ['oracle', ...kinds.filter((k) => k !== 'oracle')] : kinds;
  const warm = firstDecision(spec, profile, bins);
  const results = new Map<RunKind, RunResult>();
  let peak: Record<string, number> | undefined;
  let runIndex = 0;
  let replayed = 0;
  for (const kind of order) {
    const runSpec = baselineSpec(kind, spec, { profile, meanIsl, meanOsl, peak });
    const initial = kind === 'static' && peak ? peak : warm;
    const index = runIndex++;
    const result = await simulateOne(kind, runSpec, profile, trace, bins, initial, options, (d, t) => options.onProgress?.(index, d, t));
    replayed += trace.arrival.length;
    results.set(kind, result);
    if (kind === 'oracle') peak = peakDesired(result);
  }
  const runs = kinds.map((k) => results.get(k) as RunResult);
  return { runs, wallSeconds: (performance.now() - started) / 1000, requestsReplayed: replayed };
}

/** The oracle's decision for the first interval: every run's starting point. */
export function warmStartReplicas(spec: PolicySpec, profile: PerformanceProfile, trace: Trace): Record<string, number> {
  return firstDecision(spec, profile, binTrace(trace, spec.interval));
}

function firstDecision(spec: PolicySpec, profile: PerformanceProfile, bins: IntervalLoad[]): Record<string, number> {
  const startup = Math.max(...spec.pools.map((p) => p.startupSeconds));
  const forecast = oracleForecast(bins, -1, spec.interval, startup);
  const observation: Observation = {
    time: new Date(SIM_EPOCH_MS).toISOString(),
    windowSeconds: spec.interval,
    requests: forecast.next.requests.value,
    isl: forecast.next.isl.value,
    osl: forecast.next.osl.value,
  };
  const { decision } = decide({ spec: { ...spec, policy: 'sla' }, profile, observation, state: initialState(), now: SIM_EPOCH_MS, forecastOverride: forecast });
  return Object.fromEntries(Object.entries(decision.pools).map(([name, pool]) => [name, pool.desired]));
}

async function simulateOne(
  kind: RunKind,
  spec: PolicySpec,
  profile: PerformanceProfile,
  trace: Trace,
  bins: IntervalLoad[],
  initial: Record<string, number>,
  options: SimulateOptions,
  progress: (done: number, total: number) => void,
): Promise<RunResult> {
  const cluster = new ClusterSim(trace, {
    profile,
    pools: spec.pools,
    initialReplicas: initial,
    slo: spec.slo,
    seed: options.seed,
    spot: {
      evictionRatePerHour: options.evictions?.ratePerHour ?? spec.spot.evictionRatePerHour,
      noticeSeconds: options.evictions?.noticeSeconds ?? spec.spot.noticeSeconds,
      schedule: options.evictions?.schedule,
    },
  });
  const interval = spec.interval;
  const startup = Math.max(...spec.pools.map((p) => p.startupSeconds));
  const total = bins.length;
  const islAtPercentile = binIslQuantile(trace, interval, spec.slo.ttft.percentile / 100);
  let state: PlannerState = initialState();
  state.last = { ...initial };
  // The planner that ran before the trace (see the warm start above) also recommended these counts: its
  // scale-down stabilization window remembers them, so a run does not drop the warm capacity on its first tick.
  state.recommendations = [{ time: SIM_EPOCH_MS, desired: { ...initial } }];
  // ... and its forecaster saw the load of the first interval (the same foresight the warm start uses), so a
  // forecaster's trend does not start from the ramp of the trace's first minutes.
  state.history = warmHistory(bins[0], interval);
  let virtualSeconds = 0;
  let observation: Observation | undefined;
  const intervals: IntervalRecord[] = [];
  const warnings = new Set<string>();
  let decisions = 0;
  let lastForecast: number | undefined;

  const clock = { now: () => SIM_EPOCH_MS + virtualSeconds * 1000 };
  const source: MetricSource = { observe: async () => observation as Observation };
  const connector: Connector = {
    apply: async (decision: Decision) => {
      for (const [pool, d] of Object.entries(decision.pools)) cluster.setDesired(pool, d.desired, virtualSeconds);
      return { pools: {}, errors: {} };
    },
  };

  for (let k = 0; k < total; k++) {
    virtualSeconds = Math.min((k + 1) * interval, Math.max(trace.durationSeconds, interval));
    const stats = cluster.advanceTo(virtualSeconds);
    observation = windowObservation(stats, clock.now(), spec.slo);
    // The window's busiest 10 s, from the trace arrivals of exactly this window (the service reads it from Prometheus).
    // And its ISL at the TTFT SLO's percentile (an ISL histogram in Prometheus).
    const bin = bins[k];
    if (bin) observation.peakRequestsPerSecond = bin.peakPerSecond;
    const islTail = islAtPercentile[k];
    if (islTail !== undefined && Number.isFinite(islTail)) observation.islPercentiles = { [`p${spec.slo.ttft.percentile}`]: islTail };
    const forecastOverride = kind === 'oracle' ? oracleForecast(bins, k, interval, startup) : undefined;
    const before = state.last ? { ...state.last } : undefined;
    const tick = await runTick({ spec, profile, state }, { clock, source, connector }, { forecastOverride });
    options.onDecision?.(kind, k, tick.decision);
    state = tick.state;
    if (!before || Object.entries(tick.decision.pools).some(([p, d]) => before[p] !== d.desired)) decisions++;
    for (const w of tick.decision.explanation.warnings) warnings.add(w);
    intervals.push(intervalRecord(virtualSeconds, stats, observation, tick.decision, lastForecast));
    lastForecast = tick.decision.explanation.forecast?.requests.value;
    progress(k + 1, total);
  }
  const totals = cluster.finish();
  return {
    policy: kind,
    kind: kind === 'policy' ? spec.policy : kind,
    sloAttainment: totals.attainment,
    ttftMs: totals.ttftMs,
    itlMs: totals.itlMs,
    gpuHours: totals.gpuHours,
    cost: totals.cost,
    evictions: totals.evictions,
    requeued: totals.requeued,
    droppedRequests: totals.dropped,
    completedRequests: totals.completed,
    decisions,
    intervals,
    warnings: [...warnings].slice(0, 20),
  };
}

function intervalRecord(
  t: number,
  stats: ReturnType<ClusterSim['advanceTo']>,
  observation: Observation,
  decision: Decision,
  forecastRequests: number | undefined,
): IntervalRecord {
  const desired: Record<string, number> = {};
  const ready: Record<string, number> = {};
  let evictions = 0;
  for (const [name, pool] of Object.entries(stats.pools)) {
    desired[name] = decision.pools[name]?.desired ?? pool.desired;
    ready[name] = pool.ready;
    evictions += pool.evicted;
  }
  return {
    t,
    requests: stats.arrived,
    forecastRequests: Number.isFinite(forecastRequests) ? forecastRequests : undefined,
    desired,
    ready,
    ttftMs: stats.ttft.count > 0 ? { p50: stats.ttft.p50, p95: stats.ttft.p95, p99: stats.ttft.p99 } : undefined,
    itlMs: stats.itl.count > 0 ? { p50: stats.itl.p50, p95: stats.itl.p95, p99: stats.itl.p99 } : undefined,
    attainment: stats.completed > 0 ? stats.attainment : undefined,
    gpus: stats.gpus,
    costPerHour: stats.costPerHour,
    evictions,
    queueDepth: observation.queueDepth ?? 0,
  };
}

/** WARM_HISTORY_POINTS intervals before the trace at the first interval's load: a flat, settled history. */
export const WARM_HISTORY_POINTS = 3;
function warmHistory(first: IntervalLoad | undefined, interval: number): PlannerState['history'] {
  if (!first) return [];
  const points: PlannerState['history'] = [];
  for (let j = WARM_HISTORY_POINTS - 1; j >= 0; j--) {
    points.push({ time: SIM_EPOCH_MS - j * interval * 1000, requests: first.requests, isl: first.isl, osl: first.osl });
  }
  return points;
}

function peakDesired(run: RunResult): Record<string, number> {
  const peak: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const record of run.intervals) {
    for (const [pool, n] of Object.entries(record.desired)) peak[pool] = Math.max(peak[pool] ?? 0, n);
  }
  return peak;
}

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return values.length ? sum / values.length : 0;
}

export function buildReport(args: {
  policyName: string;
  spec: PolicySpec;
  trace: Trace;
  rateScale: number;
  seed: number;
  result: SimulateResult;
  generatedAt: string;
}): SimReport {
  const { trace, result } = args;
  return {
    generatedAt: args.generatedAt,
    policyName: args.policyName,
    trace: {
      name: trace.name,
      format: trace.format,
      requests: trace.arrival.length,
      durationSeconds: trace.durationSeconds,
      rateScale: args.rateScale,
      skippedLines: trace.skipped.count,
      skippedExamples: trace.skipped.examples,
    },
    slo: { ttft: { ...args.spec.slo.ttft }, itl: { ...args.spec.slo.itl } },
    runs: result.runs,
    sim: {
      wallSeconds: result.wallSeconds,
      requestsPerSecond: result.wallSeconds > 0 ? result.requestsReplayed / result.wallSeconds : 0,
      seed: args.seed,
    },
  };
}
