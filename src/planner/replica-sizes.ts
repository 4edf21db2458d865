/**
 * The per-pool replica counts the planner state carries from tick to tick (`last`, and each stabilization window
 * entry's `desired` and `held`) are counts of replicas of the size the pool had when they were decided; the state
 * records that size per pool (`replicaGpus`). A policy reloaded with another gpusPerReplica for a pool reads those
 * counts, at its next tick, as the replicas of the new size that hold the same GPUs, rounded up: the GPUs that run are
 * what the windows and the step limits protect, and the reload alone must never read as a scale-down.
 *
 *   count now = ceil(count x GPUs per replica then / GPUs per replica now)
 *
 * Example: a pool of 4-GPU replicas with window entries of 6 (24 GPUs), reloaded with 8-GPU replicas -> 3 (24 GPUs),
 * not 6 (48: twice the GPUs for a whole scale-down window, over the budget until the trim); 5 (20 GPUs) -> 3 (24).
 * The other way, 6 replicas of 8 GPUs (48) reloaded with 4-GPU replicas -> 12 (48), not 6 (24: half the capacity the
 * need asked for, and a step down from 6 that nobody decided).
 * A state without `replicaGpus` (written before it was recorded), or a pool missing from it or with an unusable size,
 * is taken as measured in the sizes the policy has now. Pools the policy no longer has are left as they are, and the
 * state keeps their sizes while the window carries their counts (nextReplicaGpus).
 * (The pause hold's per-role count has its own record, `pauseUnitGpus`: planner/decide.ts inUnits.)
 */
import type { PolicySpec } from '../config/schema.js';
import { own } from '../config/records.js';
import type { PlannerState } from './state.js';
import type { RecommendationEntry } from '../constraints/stabilization.js';

/** GPUs per replica of each pool of the policy, as the state records them. Example: { "prefill-od": 4, "decode-od": 8 }. */
export function replicaGpusOf(spec: PolicySpec): Record<string, number> {
  return Object.fromEntries(spec.pools.map((pool) => [pool.name, pool.gpusPerReplica]));
}

const usableSize = (gpus: unknown): gpus is number => typeof gpus === 'number' && Number.isFinite(gpus) && gpus > 0;

/**
 * The sizes the next state records: the policy's, and for a pool the policy no longer has whose counts the
 * stabilization window still carries, the size those counts were decided in, so that a pool removed and added back
 * within the window (with another size) reads them as the GPUs they were. Example: `p` of 4-GPU replicas with window
 * entries of 6, removed at one reload, added back with 8-GPU replicas at the next -> its entries read 3, not 6; with
 * 2-GPU replicas -> 12, not 6 (half the GPUs, a scale-down nobody decided). Work: O(window entries x pools).
 */
export function nextReplicaGpus(spec: PolicySpec, carried: Record<string, number> | undefined, recommendations: readonly RecommendationEntry[]): Record<string, number> {
  const sizes = replicaGpusOf(spec);
  if (carried === undefined) return sizes;
  const kept = new Map<string, number>();
  for (const entry of recommendations) {
    for (const counts of [entry.desired, entry.held ?? {}]) {
      for (const name of Object.keys(counts)) {
        if (Object.hasOwn(sizes, name) || kept.has(name)) continue;
        const was = own(carried, name);
        if (usableSize(was)) kept.set(name, was);
      }
    }
  }
  return kept.size === 0 ? sizes : Object.fromEntries([...kept, ...Object.entries(sizes)]);
}

/**
 * A count of replicas of `was` GPUs as replicas of `is` GPUs holding at least the same GPUs (at most
 * Number.MAX_SAFE_INTEGER). Example: 6 of 4 -> 3 of 8; 5 of 4 (20 GPUs) -> 3 of 8 (24); 6 of 8 -> 12 of 4; 0 -> 0.
 */
export function resizedCount(count: number, was: number, is: number): number {
  if (was === is || !Number.isFinite(count)) return count;
  return Math.min(Number.MAX_SAFE_INTEGER, Math.ceil((count * was) / is));
}

/**
 * The state with its per-pool replica counts in the policy's replica sizes (the rule at the top of this file), and
 * `replicaGpus` set to those sizes. The same object when no pool's size differs (no copy on an ordinary tick); else a
 * copy, the input left unchanged. Work: O(pools) to compare, O(window entries x pools) to convert.
 */
export function inPolicySizes(state: PlannerState, spec: PolicySpec): PlannerState {
  const then = state.replicaGpus;
  if (then === undefined) return state;
  const changed = new Map<string, { was: number; is: number }>();
  for (const pool of spec.pools) {
    const was = own(then, pool.name);
    if (usableSize(was) && was !== pool.gpusPerReplica) changed.set(pool.name, { was, is: pool.gpusPerReplica });
  }
  if (changed.size === 0) return state;
  const convert = (counts: Record<string, number>): Record<string, number> => {
    const out = { ...counts };
    for (const [name, size] of changed) {
      const count = own(counts, name);
      if (count !== undefined) out[name] = resizedCount(count, size.was, size.is);
    }
    return out;
  };
  const recommendations = state.recommendations.map((entry): RecommendationEntry => ({
    ...entry,
    desired: convert(entry.desired),
    ...(entry.held !== undefined ? { held: convert(entry.held) } : {}),
  }));
  return {
    ...state,
    recommendations,
    ...(state.last !== undefined ? { last: convert(state.last) } : {}),
    replicaGpus: { ...then, ...Object.fromEntries([...changed].map(([name, size]) => [name, size.is])) },
  };
}
