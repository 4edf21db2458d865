/**
 * The panic poll of `sla`'s fastPath (spec.sla.improvements.fastPath, spec.sla.panicPoll): between two interval ticks
 * a single graph that is not at zero looks at its prefill queue every `panicPoll` seconds; once the queue holds at
 * least its panic threshold (panicQueueThreshold), it decides at once (a poll tick: planner/decide.ts `poll` with `panic`), as Knative's
 * panic window answers a sharp rise on a short window instead of waiting for the stable one. At most one panic
 * decision per interval; the next interval tick sees the whole window as usual.
 *
 * Example: interval 60 s, panicPoll 10 s, 180 requests in the last interval (3 req/s), TTFT target 2 s: threshold
 * max(10, 2 x 3 x 2) = 12. A flash crowd from 10:00:12: the polls at 10:00:10 and 10:00:20 read 0 and 14 queued: the 10:00:20 poll decides on the 20 s since the interval began, 40 s before the interval tick would.
 *
 * A graph at zero is polled by the scale-to-zero rule instead (planner/idle.ts nextTickSeconds); fleets
 * (src/fleet/) have no panic polls.
 */
import type { PolicySpec } from '../config/schema.js';
import { atZero } from './idle.js';
import type { PlannerState } from './state.js';
import type { Observation } from './types.js';

/**
 * Queued prefill requests from which a panic poll decides, at the least. Chosen on tuning seeds 1-12 of the scenario
 * families with the bundled traces (bench/tune.ts), where 10 beat 30: 52 against 51 of 81 rows met the SLO, at the
 * same GPU-hours.
 */
export const PANIC_QUEUE = 10;
/**
 * The queue must also hold this many TTFT targets' worth of the last interval's arrivals: a queue that long makes new
 * requests miss the target even while the pool keeps pace with arrivals, where a burst's queue of 10 on a busy graph
 * drains within it. Chosen on the same tuning seeds: with PANIC_QUEUE alone, the Azure conversation trace at x4 (25
 * requests a second) panicked on its ordinary bursts for 2% more GPU-hours; 2 kept every gain of the flash, step and
 * idle rows (1 and 4 did about as well).
 */
export const PANIC_TTFT_MULTIPLE = 2;

/**
 * The queue depth from which a panic poll decides: max(PANIC_QUEUE, PANIC_TTFT_MULTIPLE x the last interval's request
 * rate x the TTFT target). Without a request count in the history, PANIC_QUEUE.
 * Example: 1500 requests in the last 60 s interval (25 req/s), TTFT 2 s -> max(10, 2 x 25 x 2) = 100; 180 -> 12.
 */
export function panicQueueThreshold(spec: PolicySpec, state?: PlannerState): number {
  const last = state?.history.at(-1)?.requests;
  if (typeof last !== 'number' || !Number.isFinite(last) || last <= 0 || !(spec.interval > 0)) return PANIC_QUEUE;
  return Math.max(PANIC_QUEUE, (PANIC_TTFT_MULTIPLE * last * spec.slo.ttft.ms) / 1000 / spec.interval);
}

/** What a panic poll saw, for the decision's explanation. */
export interface PanicPoll {
  /** Prefill queue depth at the poll. */
  queueDepth: number;
  /** Seconds since the interval (the graph's last full tick) began. */
  secondsIntoInterval: number;
  /** The threshold it crossed (panicQueueThreshold); PANIC_QUEUE when absent. */
  threshold?: number;
}

/**
 * Seconds between panic polls: spec.sla.panicPoll when the policy is `sla` with fastPath on and the period is shorter
 * than the interval (and above 0), else undefined (no panic polls). With `state`, also undefined while the graph's
 * last decision put every pool at zero (the scale-to-zero poll applies then).
 * Example: interval 60 s, panicPoll 10 s -> 10; panicPoll 60 s or fastPath false -> undefined.
 */
export function panicPollSeconds(spec: PolicySpec, state?: PlannerState): number | undefined {
  if (spec.policy !== 'sla' || !spec.sla.improvements.fastPath) return undefined;
  const period = spec.sla.panicPoll;
  if (!(typeof period === 'number' && Number.isFinite(period) && period > 0 && period < spec.interval)) return undefined;
  if (state && atZero(state, spec)) return undefined;
  return period;
}

/**
 * Whether a panic poll that read `queueDepth` decides: panic polls are on (panicPollSeconds) and the queue holds at
 * least the threshold (panicQueueThreshold, from `state`'s last interval). A depth that is missing, not a finite
 * number or negative is never due.
 * Example: no history, 14 queued -> true; 9 -> false; NaN, -3 or undefined -> false; 1500 requests last interval
 * at TTFT 2 s, 60 queued -> false (the threshold is 100).
 */
export function panicDue(spec: PolicySpec, queueDepth: number | undefined, state?: PlannerState): boolean {
  if (panicPollSeconds(spec) === undefined) return false;
  return typeof queueDepth === 'number' && Number.isFinite(queueDepth) && queueDepth >= panicQueueThreshold(spec, state);
}

/** The explanation of a panic-poll decision. Example: "panic poll: 14 queued at 20 s into the interval". */
export function panicDetail(panic: PanicPoll): string {
  return `panic poll: ${Math.round(panic.queueDepth)} queued at ${Math.round(panic.secondsIntoInterval)} s into the interval (>= ${Math.round(panic.threshold ?? PANIC_QUEUE)} queued)`;
}

/** The latency, length and rate fields of an Observation: what a panic poll does not read (see panicView). */
const WINDOW_ONLY = ['peakRequestsPerSecond', 'isl', 'osl', 'islPercentiles', 'oslPercentiles', 'ttftMs', 'itlMs', 'requestDurationSeconds', 'kvUsage'] as const;

/**
 * What a panic-poll decision reads of its observation: the requests since the interval began, the queue and the pools
 * (with the errors of those), not the window's latencies, lengths, peak rate or KV use. The service's poll reads them
 * from Prometheus, the simulator's poll has none: so both decide alike, and a few seconds of latencies teach the
 * correction factors nothing (decide.ts keeps the correction state on a panic poll).
 */
export function panicView(observation: Observation): Observation {
  const out: Observation = { ...observation };
  for (const field of WINDOW_ONLY) delete out[field];
  if (observation.errors) {
    const errors = { ...observation.errors };
    for (const field of WINDOW_ONLY) delete errors[field];
    if (Object.keys(errors).length > 0) out.errors = errors;
    else delete out.errors;
  }
  return out;
}
