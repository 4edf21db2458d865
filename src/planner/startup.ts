/**
 * Startup time learned from the cluster: each pool's time from pod creation to Ready, as the informers measure it
 * (observation `pools[name].startupSeconds`: the durations of the pods that became Ready since the last tick; the
 * simulator reports its replicas' the same way). decide() plans with the learned value wherever the policy's
 * `startupSeconds` counts: the lead time of the forecast, the burst memory, the Spot eviction headroom.
 *
 * The learned value of a pool, with its last STARTUP_WINDOW samples and the policy's `startupSeconds` as the prior:
 *   no sample            -> the prior
 *   n < STARTUP_TRUST    -> (prior x (STARTUP_TRUST - n) + p90 x n) / STARTUP_TRUST   (the prior fades out)
 *   n >= STARTUP_TRUST   -> p90 of the samples (nearest rank)
 * Example: prior 180 s, samples 240, 260, 250 (p90 = 260): (180 x 2 + 260 x 3) / 5 = 228 s; with two more samples
 * 255 and 270 (p90 of five = 270) it is 270 s.
 *
 * Why p90 and not the mean: the lead time is how far ahead capacity must be ordered, and ordering it too late costs
 * SLO while ordering it a little early costs a few GPU-minutes. Why a count window and not a time window: scale-ups
 * can be days apart, and the startup time moves slowly (image cache, node pool), so the last 32 pods are the best
 * evidence at any age. Samples that are not a duration (negative, not a number, over a day) are ignored.
 * What it cannot see: a pod deleted before it was Ready (a scale-down while it started) gives no sample, and those
 * are the slow ones, so the learned p90 runs a little short of the truth when the planner often scales down
 * replicas that are still starting (the fleet section of bench/RESULTS.md shows how much on bursty load).
 */
import { MAX_TIMER_SECONDS } from '../config/duration.js';
import type { PolicySpec } from '../config/schema.js';
import { own } from '../config/records.js';
import type { PlannerState } from './state.js';
import type { LearnedStartup, Observation } from './types.js';

export type { LearnedStartup } from './types.js';

/** Samples kept per pool (the newest). */
export const STARTUP_WINDOW = 32;
/** Samples after which the prior no longer counts. */
const STARTUP_TRUST = 5;
/** The percentile of the samples used as the startup time. */
const STARTUP_PERCENTILE = 0.9;

function usable(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 && x <= MAX_TIMER_SECONDS;
}

/** Nearest-rank quantile of a small list. Example: q 0.9 of [240, 250, 260] -> rank ceil(2.7) = 3 -> 260. */
export function nearestRank(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

/** The startup time to plan with, from a pool's samples and its prior (the rule at the top of this file). */
export function learnedStartup(prior: number, samples: readonly number[]): LearnedStartup {
  const n = samples.length;
  if (n === 0) return { seconds: prior, prior, samples: 0, source: 'prior' };
  const p90 = nearestRank(samples, STARTUP_PERCENTILE);
  if (n >= STARTUP_TRUST) return { seconds: p90, prior, samples: n, p90, source: 'learned' };
  const seconds = (prior * (STARTUP_TRUST - n) + p90 * n) / STARTUP_TRUST;
  return { seconds, prior, samples: n, p90, source: 'blend' };
}

/** The samples kept for each pool after this tick: the state's, then this tick's, the newest STARTUP_WINDOW. */
export function startupSamples(spec: PolicySpec, observation: Observation, state: PlannerState): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const pool of spec.pools) {
    const kept = own(state.startup, pool.name);
    // Only the newest STARTUP_WINDOW count, whatever length a state brings: the work per tick is bounded.
    const before = Array.isArray(kept) ? kept.slice(-STARTUP_WINDOW).filter(usable) : [];
    const seen = own(observation.pools, pool.name)?.startupSeconds;
    const fresh = Array.isArray(seen) ? seen.slice(-STARTUP_WINDOW).filter(usable) : [];
    const all = before.length + fresh.length > STARTUP_WINDOW ? [...before, ...fresh].slice(-STARTUP_WINDOW) : [...before, ...fresh];
    if (all.length > 0) out[pool.name] = all;
  }
  return out;
}

export interface StartupResult {
  /** The spec with each pool's startupSeconds replaced by what was learned (the same object when nothing was). */
  spec: PolicySpec;
  /** Per pool: the value used and where it came from. */
  startup: Record<string, LearnedStartup>;
  /** For the next state. */
  samples: Record<string, number[]>;
}

/** Learn each pool's startup time and return the spec to plan with. */
export function withLearnedStartup(spec: PolicySpec, observation: Observation, state: PlannerState): StartupResult {
  const samples = startupSamples(spec, observation, state);
  const startup: Record<string, LearnedStartup> = {};
  let changed = false;
  for (const pool of spec.pools) {
    const learned = learnedStartup(pool.startupSeconds, own(samples, pool.name) ?? []);
    startup[pool.name] = learned;
    if (learned.seconds !== pool.startupSeconds) changed = true;
  }
  if (!changed) return { spec, startup, samples };
  const pools = spec.pools.map((p) => ({ ...p, startupSeconds: (startup[p.name] as LearnedStartup).seconds }));
  return { spec: { ...spec, pools }, startup, samples };
}
