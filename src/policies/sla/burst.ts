/**
 * `burst` (spec.sla.improvements.burst): size both roles for the busiest 10 s of the interval rather than its mean.
 * A prefill queue that must drain within a 2 s TTFT cannot average a 10 s burst away, and decode receives what
 * prefill emits. The burst ratio b = observed peak 10 s rate / mean rate of the window (burstRatio below) is carried
 * across ticks, rising at once and falling by BURST_DECAY of the gap per tick, so a quiet minute does not forget the
 * bursts of the one before; the forecast count is multiplied by b. A forecast that knows its own peak (the
 * simulator's oracle) is used as is.
 * 600 requests forecast, b = 2.37 (250 of the last window's 600 arrivals came in one 10 s, less the Poisson allowance
 * of 13): sized for 1422. A burst floor (the last peak demand, decaying with time constant 3 x startupSeconds) also
 * holds through silent minutes, because bursty traffic comes back and new capacity takes startupSeconds to arrive:
 * 1422 at the peak, then a silent minute at startup 180 s -> still 1422 x e^(-1/9) = 1272.
 *
 * `budgetHold` (spec.sla.improvements.budgetHold): the floor's memory grows as the SLO's miss budget is spent
 * (slo-feedback.ts budgetSpent: the share of the allowed misses the SLO loop remembers over its last half hour or so):
 * memory = BURST_MEMORY_STARTUPS / (1 - spent) startup times, at most BUDGET_HOLD_STARTUPS. A reactive planner loses
 * the minutes before capacity arrives whenever load comes back above what it holds; once those losses have used the
 * budget it cannot afford another, so it keeps what the last bursts needed until the budget recovers, and lets it
 * go as fast as before while the budget is healthy.
 * Example (startup 180 s, 60 s ticks): nothing spent -> 3 startups, the floor keeps e^(-60/540) = 89% a tick; half
 * spent -> 6 startups, 95%; all spent -> 10 startups (30 minutes), 96.7% a tick, 59% of a crowd's demand 16 minutes
 * later.
 */
import type { Forecast, Observation } from '../../planner/types.js';
import { isUsable, r4, windowSeconds } from '../common.js';
import type { SlaContext } from './context.js';
import { budgetSpent } from './slo-feedback.js';

/** Burst ratio bounds and memory (see the module comment). */
export const BURST_CAP = 4;
export const BURST_DECAY = 0.25;
/**
 * Memory of the burst floor, in startup times: capacity let go now takes startupSeconds to come back, and on the
 * Azure code trace bursts recur after silent gaps of up to 6 minutes (2 startup times at 180 s). With 3 the floor
 * keeps 72% of a burst's demand after a 3-minute gap and 51% after 6 (1 startup time: 37% and 14%).
 * Tuned on the bundled Azure code trace (bench/quality.ts): say so when quoting it.
 */
export const BURST_MEMORY_STARTUPS = 3;
/**
 * Longest memory of the burst floor with `budgetHold`, in startup times (30 minutes at 180 s): a flash crowd's demand
 * is still 59% held when the next comes 15-20 minutes later. Chosen on the tuning seeds (1-5) of the scenario
 * families with the bundled traces (bench/tune.ts): 20 (an hour) met the SLO on one more tuning row of 39 but cost the
 * bursty Azure code trace 12% more GPU-hours at the same attainment; 6 met one fewer.
 */
export const BUDGET_HOLD_STARTUPS = 10;
/** A window with fewer arrivals says nothing reliable about burstiness (its 10 s counts are mostly noise). */
export const BURST_MIN_REQUESTS = 30;

/**
 * Sub-window of the peak rate (the metric's; the simulator measures 10 s) and the Poisson allowance: even steady
 * Poisson arrivals have a busiest sub-window above the mean, by about 1.27 standard deviations for the busiest of 6,
 * and the queue model already absorbs that. Only the excess is burstiness.
 */
export const BURST_SUBWINDOW_SECONDS = 10;
export const POISSON_PEAK_Z = 1.3;

/**
 * The burst ratio carried to the next tick: the peak sub-window count less the Poisson allowance, over the mean
 * sub-window count; at least 1 and at most BURST_CAP; a higher ratio is taken at once, a lower one approached by
 * BURST_DECAY of the gap per tick.
 * Example: 600 arrivals in 60 s (mean 100 per 10 s) with a peak of 25 req/s (250 in 10 s):
 * (250 - 1.3 x sqrt(100)) / 100 = 2.37; steady 1300/min (216.7 per 10 s) with a peak of 235: (235 - 19.1) / 216.7
 * -> 1. Last 3.0, observed 2.37 -> 3.0 + (2.37 - 3.0) x 0.25 = 2.84.
 */
export function burstRatio(
  obs: Observation,
  interval: number,
  last: number,
): { value: number; detail: Record<string, number | string>; missing?: string; peakDemand?: number; observed?: number } {
  const keep = (why: string, missing?: string) => ({ value: last, detail: { burstRatio: r4(last), burstSource: `last tick (${why})` }, ...(missing ? { missing } : {}) });
  if (!isUsable(obs.requests) || obs.requests < BURST_MIN_REQUESTS) return keep(`fewer than ${BURST_MIN_REQUESTS} arrivals in the window`);
  if (!isUsable(obs.peakRequestsPerSecond) || obs.peakRequestsPerSecond < 0) return keep('no peak rate observed', 'kept the burst ratio from the last tick');
  const window = windowSeconds(obs.windowSeconds, interval);
  const meanCount = (obs.requests * BURST_SUBWINDOW_SECONDS) / window;
  const excessPeak = obs.peakRequestsPerSecond * BURST_SUBWINDOW_SECONDS - POISSON_PEAK_Z * Math.sqrt(meanCount);
  const observed = Math.min(BURST_CAP, Math.max(1, excessPeak / meanCount));
  const value = observed >= last ? observed : last + (observed - last) * BURST_DECAY;
  const peakDemand = (observed * obs.requests * interval) / window;
  return { value, peakDemand, observed, detail: { burstRatio: r4(value), observedBurstRatio: r4(observed), observedPeakRequestsPerSecond: r4(obs.peakRequestsPerSecond) } };
}

/** The burst step's result: what sizing multiplies by, and what is carried to the next tick. */
export interface BurstState {
  on: boolean;
  /** Carried ratio b (1 when off). */
  ratio: number;
  /** Burst floor in requests per interval (0 when off). */
  floor: number;
  /** This window's peak demand (its busiest 10 s scaled to the interval; 0 when not measured). */
  peakDemand: number;
  /** The floor's memory in startup times (floorMemory). */
  memoryStartups: number;
  /** This window's own ratio (1 when not measured): the queue model's arrival rate in the prefill correction. */
  now: number;
  detail: Record<string, number | string>;
}

export const BURST_OFF: BurstState = { on: false, ratio: 1, floor: 0, peakDemand: 0, memoryStartups: 0, now: 1, detail: {} };

export function burstStep(ctx: SlaContext): BurstState {
  if (!ctx.improvements.burst) return BURST_OFF;
  const { input, spec, obs, interval } = ctx;
  const lastBurst = isUsable(input.correction.burst) && input.correction.burst >= 1 ? input.correction.burst : 1;
  const b = burstRatio(obs, interval, lastBurst);
  if (b.missing) ctx.missing.peakRequestsPerSecond = b.missing;
  // The burst floor: the peak demand last seen, decaying with time constant BURST_MEMORY_STARTUPS x startupSeconds.
  // 1500 requests at the peak rate, then a silent minute, startup 180 s: 1500 x e^(-60/540) = 1342 still sized for.
  const startup = Math.max(0, ...spec.pools.map((p) => p.startupSeconds));
  const memory = floorMemory(ctx);
  const keep = startup > 0 ? Math.exp(-interval / (startup * memory.startups)) : 0;
  const lastFloor = isUsable(input.correction.burstFloor) && input.correction.burstFloor > 0 ? input.correction.burstFloor : 0;
  const floor = Math.max(b.peakDemand ?? 0, lastFloor * keep);
  const detail: Record<string, number | string> = { ...b.detail, burstFloorRequests: r4(floor) };
  if (memory.spent !== undefined) {
    detail.burstFloorMemoryStartups = r4(memory.startups);
    detail.budgetSpent = r4(memory.spent);
  }
  return { on: true, ratio: b.value, floor, peakDemand: b.peakDemand ?? 0, memoryStartups: memory.startups, now: b.observed ?? 1, detail };
}

/** The burst floor's memory in startup times, and with `budgetHold` the budget share it was read from. */
export function floorMemory(ctx: SlaContext): { startups: number; spent?: number } {
  if (!ctx.improvements.budgetHold) return { startups: BURST_MEMORY_STARTUPS };
  const spent = budgetSpent(ctx.spec, ctx.input.correction.slo);
  const startups = spent >= 1 ? BUDGET_HOLD_STARTUPS : Math.min(BUDGET_HOLD_STARTUPS, BURST_MEMORY_STARTUPS / (1 - spent));
  return { startups, spent };
}

/** The request count sizing uses for forecast `f`: the mean, or with `burst` its peak. */
export interface BurstDemand {
  mean: number;
  n: number;
  /** The forecast's own peak, when it knows one. */
  known?: number;
}

export function burstDemand(f: Forecast, burst: BurstState): BurstDemand {
  const mean = f.requests.value;
  if (!burst.on) return { mean, n: mean };
  const known = f.requestsPeak !== undefined && isUsable(f.requestsPeak.value) ? f.requestsPeak.value : undefined;
  if (known !== undefined) return { mean, n: Math.max(mean, known), known };
  // A forecast with an upper bound (forecast/trend.ts) is already an allowance for what the load may do: the burst
  // ratio and the bound are two estimates of the peak, so the larger is taken, not their product.
  // Point 300 + bound 150 at burst ratio 3: max(300 x 3, 450) = 900, not 450 x 3 = 1350.
  const point = mean - (f.requests.bound ?? 0);
  return { mean, n: Math.max(point * burst.ratio, mean, burst.floor) };
}

/** The burst keys of a role's detail. */
export function burstDetail(burst: BurstState, demand: BurstDemand): Record<string, number | string> {
  const sizedFor = demand.known !== undefined ? 'forecast peak' : `forecast x burst ratio ${r4(burst.ratio)}`;
  return Object.assign({}, burst.detail, { meanRequests: r4(demand.mean), burstSizedRequests: r4(demand.n), burstSizedFor: sizedFor });
}
