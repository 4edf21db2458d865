/**
 * Per-pool minReplicas/maxReplicas, with the minimums raised by active schedules.
 * `roleBounds` is the same rule on a role's total before it is split into pools:
 * total within [sum of the pools' effective minimums, sum of their maxReplicas].
 * Example: prefill-spot (min 0, max 12) and prefill-od (min 1, schedule-raised to 2, max 8):
 * a need of 0 becomes 2 ("schedule"), a need of 25 becomes 20 ("max").
 */
import type { PoolSpec, Role } from '../config/schema.js';
import type { ConstraintEffect } from '../planner/types.js';

export interface RoleRange {
  /** Sum of the pools' own minReplicas (role units). */
  baseMin: number;
  /** Sum of the effective (schedule-raised) minimums. */
  min: number;
  max: number;
}

export function clampRole(role: Role, total: number, range: RoleRange, effects: ConstraintEffect[], schedules: readonly string[]): number {
  if (total < range.baseMin) {
    effects.push({ constraint: 'min', role, from: total, to: range.baseMin, detail: `${role} raised to the sum of its pools' minReplicas, ${range.baseMin}` });
    total = range.baseMin;
  }
  if (total < range.min) {
    effects.push({ constraint: 'schedule', role, from: total, to: range.min, detail: `${role} raised to ${range.min} by active schedule(s) ${schedules.join(', ')}` });
    total = range.min;
  }
  if (total > range.max) {
    effects.push({ constraint: 'max', role, from: total, to: range.max, detail: `${role} capped at the sum of its pools' maxReplicas, ${range.max}` });
    total = range.max;
  }
  return total;
}

/** Clamp one pool's count into [effective min, max], noting which bound moved it. */
export function clampPool(pool: PoolSpec, value: number, min: number, raisedBy: string | undefined, effects: ConstraintEffect[]): number {
  if (value < min) {
    const bySchedule = raisedBy !== undefined && value >= pool.minReplicas;
    effects.push({
      constraint: bySchedule ? 'schedule' : 'min', pool: pool.name, role: pool.role, from: value, to: min,
      detail: bySchedule ? `${pool.name} raised to ${min} by schedule ${raisedBy}` : `${pool.name} raised to its minimum ${min}${raisedBy ? ` (schedule ${raisedBy})` : ''}`,
    });
    return min;
  }
  if (value > pool.maxReplicas) {
    effects.push({ constraint: 'max', pool: pool.name, role: pool.role, from: value, to: pool.maxReplicas, detail: `${pool.name} capped at maxReplicas ${pool.maxReplicas}` });
    return pool.maxReplicas;
  }
  return value;
}
