/**
 * The GPU budget after the readiness gate. The gate may hold a pool at its current count above what the budget trim
 * gave it (a scale-down it defers) while it lets another pool's scale-up go ahead, a scale-up the trim had paid for
 * with that scale-down: together they would set more GPUs than the budget allows, and in a fleet take GPUs granted to
 * another graph. So while the gated counts are over the budget and over what runs now, the scale-ups the gate let
 * through are taken back, a replica at a time from the last pool in spec order, never below the pool's current count
 * or its minimum (this first pass cuts nothing that runs: it only keeps the counts from growing).
 * Example: budget 16, 4-GPU replicas, 2 prefill and 2 decode running; the trim gives prefill 1 and decode 3 (16); the
 * gate keeps prefill at 2 (its graph is not Ready): 20 GPUs, over the budget and over the 16 running, so decode goes
 * back to 2: 16.
 * And the budget wins over the gate: while the counts are still over the budget (what runs is over it: a budget
 * lowered, or in a fleet a grant given to another graph), the scale-downs the gate deferred go ahead, from the last
 * pool, down to what the budget trim gave them. A graph that is not Ready (a replica still starting, say) would
 * otherwise keep GPUs its fleet granted to a graph of higher priority for as long as it stays not Ready.
 * Example: a grant of 16, 2 prefill (one starting) and 3 decode running (20), the trim gives prefill 1 and decode 3:
 * the gate keeps prefill at 2 (20); over the budget, so prefill goes to 1 (16). The two passes can end on another
 * split than the trim's (running 3 + 2 on 16, trim 1 + 3: decode back to 2, then prefill to 2): within the budget,
 * and no pool grows while another's scale-down is still being deferred. A graph rolling out is not moved:
 * nothing is scaled during a rollout, the budget included (it lasts `readinessTimeout` at most).
 */
import type { PoolSpec } from '../config/schema.js';
import type { ConstraintEffect } from '../planner/types.js';

export interface GateBudgetInput {
  pools: readonly PoolSpec[];
  /** Per pool: the count after the readiness gate. */
  gated: readonly number[];
  /** Per pool: the count before the gate (after the budget trim). */
  decided: readonly number[];
  /** Per pool: held because its graph is rolling out (readiness.ts): the budget does not move it. */
  rolling?: readonly boolean[];
  /** Per pool: the count running now (spec replicas observed), undefined when unknown (then never lowered). */
  current: readonly (number | undefined)[];
  /** Per pool: its effective minimum. */
  mins: readonly number[];
  maxGpus: number;
}

export function budgetAfterGate(input: GateBudgetInput): { desired: number[]; effects: ConstraintEffect[] } {
  const { pools, current, mins, maxGpus } = input;
  const desired = input.gated.slice();
  const effects: ConstraintEffect[] = [];
  let total = 0;
  let running = 0;
  pools.forEach((p, i) => {
    total += desired[i]! * p.gpusPerReplica;
    running += (current[i] ?? desired[i]!) * p.gpusPerReplica;
  });
  const limit = Math.max(maxGpus, running);
  // Each pass lowers a pool by at least one replica or ends: at most sum(desired) passes, bounded by maxReplicas.
  for (let i = pools.length - 1; i >= 0 && total > limit; i--) {
    const pool = pools[i]!;
    const lowest = Math.max(current[i] ?? desired[i]!, mins[i]!);
    const from = desired[i]!;
    while (total > limit && desired[i]! > lowest) {
      desired[i] = desired[i]! - 1;
      total -= pool.gpusPerReplica;
    }
    if (desired[i] !== from) {
      effects.push({
        constraint: 'budget', pool: pool.name, role: pool.role, from, to: desired[i]!,
        detail: `${pool.name}: GPU budget ${maxGpus}: the readiness gate holds other pools above what the budget gave them, so this scale-up waits (${from} -> ${desired[i]})`,
      });
    }
  }
  // The budget over the gate: deferred scale-downs go ahead while the counts are over the budget.
  for (let i = pools.length - 1; i >= 0 && total > maxGpus; i--) {
    const pool = pools[i]!;
    const from = desired[i]!;
    if (input.rolling?.[i] === true) continue;
    const lowest = Math.max(input.decided[i]!, mins[i]!);
    while (total > maxGpus && desired[i]! > lowest) {
      desired[i] = desired[i]! - 1;
      total -= pool.gpusPerReplica;
    }
    if (desired[i] !== from) {
      effects.push({
        constraint: 'budget', pool: pool.name, role: pool.role, from, to: desired[i]!,
        detail: `${pool.name}: GPU budget ${maxGpus}: the budget wins over the readiness gate; scale-down from ${from} to ${desired[i]} goes ahead`,
      });
    }
  }
  return { desired, effects };
}
