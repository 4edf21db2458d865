/**
 * One simulated run: the cluster model (sim/cluster) replays the trace interval by interval; at the end of each
 * interval a driver sees the window and says what each pool should run from then on.
 *
 * Drivers:
 * - plannerDriver: the REAL planner loop (planner/tick.ts -> decide()), as the service runs it; the simulated metric
 *   source is the window's Observation (plus the window's peak 10 s arrival rate and ISL at the TTFT percentile from
 *   the trace, which the service reads from Prometheus), the simulated connector hands the desired replicas to the
 *   cluster, where they become useful after startupSeconds.
 * - scheduleDriver: a fixed per-interval schedule of desired replicas (the hindsight yardstick), set at each
 *   interval's start, with the same startup rule.
 * - any other Driver (Dynamo as it ships, src/sim/dynamo-ships/loop.ts).
 *
 * Every run starts from the same warm cluster (`initial`, ready at t = 0), decided without any policy
 * (src/sim/yardsticks/hindsight.ts neutralStart), so no policy is charged for a cold start the trace does not show
 * and no baseline depends on the policy under test.
 */
import type { PolicySpec } from '../config/schema.js';
import type { PerformanceProfile } from '../profiles/types.js';
import { runTick } from '../planner/tick.js';
import { initialState, type PlannerState } from '../planner/state.js';
import { percentileKey } from '../planner/percentile-key.js';
import type { Decision, Forecast, Observation, PoolObservation } from '../planner/types.js';
import { nextTickSeconds } from '../planner/idle.js';
import { panicDue, panicPollSeconds, type PanicPoll } from '../planner/panic.js';
import type { Connector, MetricSource } from '../planner/ports.js';
import { layerHours } from './layer-hours.js';
import { ClusterSim, windowObservation, type ClusterTotals, type WindowStats } from './cluster/index.js';
import { reportPercentiles } from './cluster/percentiles.js';
import { binIslQuantile, type IntervalLoad } from './intervals.js';
import type { IntervalRecord, RunResult, Trace } from './types.js';

/** Virtual epoch of the trace start (a Monday 00:00 UTC, so schedules behave predictably). */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 5, 0, 0, 0);

export interface EvictionOptions {
  /** Evictions per Spot replica per hour; defaults to the policy's spot.evictionRatePerHour. */
  ratePerHour?: number;
  noticeSeconds?: number;
  schedule?: { t: number; pool: string; count: number }[];
}

/** What a driver decided at the end of one interval. */
export interface DriverStep {
  /** Desired replicas per pool from now on; pools left out keep their count. */
  desired: Record<string, number>;
  /** The planner's decision, for callers that want its explanation. */
  decision?: Decision;
  /** What the driver forecast for the next interval (requests), for the plots. */
  forecastRequests?: number;
  warnings?: string[];
}

export interface Driver {
  /** Desired replicas to set at t = 0 on top of the warm start (a schedule that needs replicas ready early). */
  atStart?: Record<string, number>;
  /** Called at the end of interval k (virtual second t) with the window's stats and observation. */
  step(k: number, t: number, stats: WindowStats, observation: Observation): Promise<DriverStep> | DriverStep;
  /** Seconds between polls for demand within an interval while the graph is at zero; undefined = no polls now. */
  pollSeconds?(): number | undefined;
  /**
   * A poll at virtual second t within interval k that saw demand (`observation`: the requests since the interval
   * began and the queue now). Returns what to run from t on.
   */
  poll?(k: number, t: number, observation: Observation, panic?: PanicPoll): Promise<DriverStep> | DriverStep;
  /**
   * Seconds between panic polls within an interval while the graph is not at zero (planner/panic.ts); undefined = none
   * now. Asked only when pollSeconds gives nothing.
   */
  panicSeconds?(): number | undefined;
  /** Whether a panic poll that read this queue depth decides (planner/panic.ts panicDue). */
  panicDue?(queueDepth: number): boolean;
}

export interface ReplayInput {
  /** Name in the report (`runs[].policy`) and the kind actually run (`runs[].kind`). */
  name: string;
  kind: string;
  /** The spec whose pools, SLO and interval the cluster uses (a driver may run its own loop on other intervals). */
  spec: PolicySpec;
  profile: PerformanceProfile;
  trace: Trace;
  /** Intervals of the trace (binTrace at spec.interval). */
  bins: IntervalLoad[];
  initial: Record<string, number>;
  seed: number;
  evictions?: EvictionOptions;
  driver: Driver;
  progress?: (done: number, total: number) => void;
  /** Startup times drawn per replica (ClusterOptions.startup); omitted = each pool's startupSeconds exactly. */
  startup?: { sigma: number; factor?: number };
  /** Called with the cluster's totals (per-request latencies included) when the run is done. */
  onTotals?: (totals: ClusterTotals) => void;
}

export async function replay(input: ReplayInput): Promise<RunResult> {
  const { spec, profile, trace, bins, initial, driver } = input;
  const cluster = new ClusterSim(trace, {
    profile,
    pools: spec.pools,
    initialReplicas: initial,
    slo: spec.slo,
    seed: input.seed,
    spot: {
      evictionRatePerHour: input.evictions?.ratePerHour ?? spec.spot.evictionRatePerHour,
      noticeSeconds: input.evictions?.noticeSeconds ?? spec.spot.noticeSeconds,
      schedule: input.evictions?.schedule,
    },
    ...(input.startup ? { startup: input.startup } : {}),
  });
  if (driver.atStart) for (const [pool, n] of Object.entries(driver.atStart)) cluster.setDesired(pool, n, 0);
  const interval = spec.interval;
  const total = bins.length;
  const intervals: IntervalRecord[] = [];
  const warnings = new Set<string>();
  let decisions = 0;
  let lastForecast: number | undefined;
  let current: Record<string, number> = { ...initial, ...(driver.atStart ?? {}) };
  let wakes = 0;
  // The desired GPU-hours by layer (planner/gpu-layers.ts): each decision's layers for as long as it stood.
  const layers = layerHours(spec, current);
  const apply = (step: DriverStep, t: number) => {
    if (step.decision) layers.decided(t, step.decision);
    const before = sumOf(current);
    let changed = false;
    for (const [pool, n] of Object.entries(step.desired)) {
      if (current[pool] !== n) changed = true;
      cluster.setDesired(pool, n, t);
    }
    current = { ...current, ...step.desired };
    if (changed) decisions++;
    if (before === 0 && sumOf(current) > 0) wakes++;
  };
  for (let k = 0; k < total; k++) {
    const t = Math.min((k + 1) * interval, Math.max(trace.durationSeconds, interval));
    await pollWithin(cluster, trace, driver, k, k * interval, t, apply);
    const stats = cluster.advanceTo(t);
    const observation = windowObservation(stats, SIM_EPOCH_MS + t * 1000, spec.slo, spec.pools);
    const step = await driver.step(k, t, stats, observation);
    apply(step, t);
    for (const w of step.warnings ?? []) warnings.add(w);
    intervals.push(intervalRecord(t, stats, observation, current, lastForecast));
    lastForecast = step.forecastRequests;
    input.progress?.(k + 1, total);
  }
  layers.until(Math.min(total * interval, Math.max(trace.durationSeconds, interval)));
  const totals = cluster.finish();
  input.onTotals?.(totals);
  const desiredGpuHours = layers.result();
  return {
    policy: input.name,
    kind: input.kind,
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
    coldStarts: { wakes, ...totals.coldStarts },
    ...(desiredGpuHours ? { desiredGpuHours } : {}),
    intervals,
    warnings: [...warnings].slice(0, 20),
  };
}

function sumOf(counts: Record<string, number>): number {
  let sum = 0;
  for (const n of Object.values(counts)) sum += n;
  return sum;
}

/** Index of the first arrival after t (arrivals sorted). */
export function arrivalsUpTo(trace: Trace, t: number): number {
  let lo = 0;
  let hi = trace.arrival.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((trace.arrival[mid] as number) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Polls within interval k (from `start` to `end`) while the driver is at zero: every pollSeconds it looks at the
 * trace's arrivals since `start` (what the frontend counter shows) and the cluster's queue, without closing the
 * window; the first poll that sees demand is decided (`driver.poll`) and applied at that second. The interval's
 * window stays whole: the next tick sees everything since `start`.
 */
async function pollWithin(
  cluster: ClusterSim,
  trace: Trace,
  driver: Driver,
  k: number,
  start: number,
  end: number,
  apply: (step: DriverStep, t: number) => void,
): Promise<void> {
  const period = driver.pollSeconds?.();
  if (period === undefined || !(period > 0) || !driver.poll) return panicWithin(cluster, trace, driver, k, start, end, apply);
  const first = arrivalsUpTo(trace, start);
  for (let s = start + period; s < end - 1e-9; s += period) {
    const arrived = arrivalsUpTo(trace, s) - first;
    if (arrived === 0) continue;
    cluster.runTo(s);
    const seen = cluster.peek();
    const pools: Record<string, PoolObservation> = {};
    for (const [name, p] of Object.entries(seen.pools)) pools[name] = { desired: p.desired, ready: p.ready, pending: p.starting };
    const observation: Observation = { time: new Date(SIM_EPOCH_MS + s * 1000).toISOString(), windowSeconds: s - start, requests: arrived, queueDepth: seen.queueDepth, pools };
    apply(await driver.poll(k, s, observation), s);
    return;
  }
}

/**
 * Panic polls within interval k while the graph is not at zero (planner/panic.ts): every panicSeconds the cluster is
 * run to that second and its prefill queue read; the first poll whose queue is due is decided (`driver.poll`, as a
 * panic poll: the requests since `start`, the queue, the pools) and applied at that second, and no other poll follows
 * in this interval. The interval's window stays whole.
 * Example: interval 60 s, panicPoll 10 s: the queue is read at 10, 20, 30, 40 and 50 s into the interval.
 */
async function panicWithin(
  cluster: ClusterSim,
  trace: Trace,
  driver: Driver,
  k: number,
  start: number,
  end: number,
  apply: (step: DriverStep, t: number) => void,
): Promise<void> {
  const period = driver.panicSeconds?.();
  if (period === undefined || !(period > 0) || !driver.poll || !driver.panicDue) return;
  for (let j = 1; start + j * period < end - 1e-9; j++) {
    const s = start + j * period;
    cluster.runTo(s);
    const seen = cluster.peek();
    if (!driver.panicDue(seen.queueDepth)) continue;
    const pools: Record<string, PoolObservation> = {};
    for (const [name, p] of Object.entries(seen.pools)) pools[name] = { desired: p.desired, ready: p.ready, pending: p.starting };
    const observation: Observation = {
      time: new Date(SIM_EPOCH_MS + s * 1000).toISOString(),
      windowSeconds: s - start,
      requests: arrivalsUpTo(trace, s) - arrivalsUpTo(trace, start),
      queueDepth: seen.queueDepth,
      pools,
    };
    apply(await driver.poll(k, s, observation, { queueDepth: seen.queueDepth, secondsIntoInterval: s - start }), s);
    return;
  }
}

/** WARM_HISTORY_POINTS intervals before the trace at the first interval's load: a flat, settled history. */
export const WARM_HISTORY_POINTS = 3;

export interface PlannerDriverOptions {
  spec: PolicySpec;
  profile: PerformanceProfile;
  trace: Trace;
  bins: IntervalLoad[];
  initial: Record<string, number>;
  /** Perfect foresight at the tick that ends interval k (the perfect-forecast baseline). */
  forecastAt?: (k: number) => { next: Forecast; lead: Forecast };
  onDecision?: (k: number, decision: Decision) => void;
}

/**
 * The real planner loop as a driver. Its state starts as if a planner had been running before the trace: the warm
 * counts as the last decision and as the one recommendation in its scale-down window (so it does not drop the warm
 * capacity on its first tick), and a flat history at the first interval's load (so a forecaster's trend does not
 * start from the ramp of the trace's first minutes). Both come from the trace, not from any policy.
 */
export function plannerDriver(options: PlannerDriverOptions): Driver {
  const { spec, profile, trace, bins, initial } = options;
  const interval = spec.interval;
  const islAtPercentile = binIslQuantile(trace, interval, spec.slo.ttft.percentile / 100);
  let state: PlannerState = initialState();
  state.last = { ...initial };
  state.recommendations = [{ time: SIM_EPOCH_MS, desired: { ...initial } }];
  state.history = warmHistory(bins[0], interval);
  const tickAt = async (k: number, t: number, observation: Observation, poll: boolean, panic?: PanicPoll) => {
    const clock = { now: () => SIM_EPOCH_MS + t * 1000 };
    const source: MetricSource = { observe: async () => observation };
    let desired: Record<string, number> = {};
    const connector: Connector = {
      apply: async (decision: Decision) => {
        desired = Object.fromEntries(Object.entries(decision.pools).map(([pool, d]) => [pool, d.desired]));
        return { pools: {}, errors: {} };
      },
    };
    const forecastOverride = poll ? undefined : options.forecastAt?.(k);
    const tick = await runTick({ spec, profile, state }, { clock, source, connector }, { forecastOverride, poll, ...(panic ? { panic } : {}) });
    options.onDecision?.(k, tick.decision);
    state = tick.state;
    return { desired, decision: tick.decision, forecastRequests: tick.decision.explanation.forecast?.requests.value, warnings: tick.decision.explanation.warnings };
  };
  return {
    pollSeconds() {
      const next = nextTickSeconds(spec, state);
      return next < interval ? next : undefined;
    },
    poll: (k, t, observation, panic) => tickAt(k, t, observation, true, panic),
    // A perfect forecast has nothing to panic about, and a poll decides without it: no panic polls with forecastAt.
    panicSeconds: () => (options.forecastAt ? undefined : panicPollSeconds(spec, state)),
    panicDue: (queueDepth) => panicDue(spec, queueDepth, state),
    async step(k, t, _stats, observation) {
      const bin = bins[k];
      // The window's busiest 10 s and its ISL at the TTFT SLO's percentile, from the trace arrivals of exactly this window.
      if (bin) observation.peakRequestsPerSecond = bin.peakPerSecond;
      const islTail = islAtPercentile[k];
      if (islTail !== undefined && Number.isFinite(islTail)) observation.islPercentiles = { [percentileKey(spec.slo.ttft.percentile)]: islTail };
      return tickAt(k, t, observation, false);
    },
  };
}

/** A fixed schedule: `desired[k]` is set at the start of interval k (desired[0] at t = 0, on top of the warm start). */
export function scheduleDriver(desired: readonly Record<string, number>[]): Driver {
  return {
    atStart: desired[0],
    step: (k) => ({ desired: desired[Math.min(k + 1, desired.length - 1)] ?? {} }),
  };
}

export function intervalRecord(t: number, stats: WindowStats, observation: Observation, desiredNow: Record<string, number>, forecastRequests: number | undefined): IntervalRecord {
  const desired: Record<string, number> = {};
  const ready: Record<string, number> = {};
  let evictions = 0;
  for (const [name, pool] of Object.entries(stats.pools)) {
    desired[name] = desiredNow[name] ?? pool.desired;
    ready[name] = pool.ready;
    evictions += pool.evicted;
  }
  return {
    t,
    requests: stats.arrived,
    forecastRequests: Number.isFinite(forecastRequests) ? forecastRequests : undefined,
    desired,
    ready,
    ttftMs: stats.ttft.count > 0 ? reportPercentiles(stats.ttft) : undefined,
    itlMs: stats.itl.count > 0 ? reportPercentiles(stats.itl) : undefined,
    attainment: stats.completed > 0 ? stats.attainment : undefined,
    gpus: stats.gpus,
    costPerHour: stats.costPerHour,
    evictions,
    queueDepth: observation.queueDepth ?? 0,
  };
}

export function warmHistory(first: IntervalLoad | undefined, interval: number): PlannerState['history'] {
  if (!first) return [];
  const points: PlannerState['history'] = [];
  for (let j = WARM_HISTORY_POINTS - 1; j >= 0; j--) {
    points.push({ time: SIM_EPOCH_MS - j * interval * 1000, requests: first.requests, isl: first.isl, osl: first.osl });
  }
  return points;
}
