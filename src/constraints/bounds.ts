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
  /** Sum of the schedule-raised minimums. */
  min: number;
  /** Sum of the minimums raised further by the uncertainty floor (counts known to run); `min` when there is none. */
  held?: number;
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
  if (range.held !== undefined && total < range.held) {
    effects.push({ constraint: 'hold', role, from: total, to: range.held, detail: `${role} kept at ${range.held}, the counts known to run, while something the decision needs is unknown` });
    total = range.held;
  }
  if (total > range.max) {
    effects.push({ constraint: 'max', role, from: total, to: range.max, detail: `${role} capped at the sum of its pools' maxReplicas, ${range.max}` });
    total = range.max;
  }
  return total;
}

/** Why a pool's minimum is above its minReplicas: an active schedule, or the uncertainty floor (a count known to run). */
export interface Raise {
  kind: 'schedule' | 'hold';
  /** The schedule, described; or why the floor applies ("the request count unknown"). */
  label: string;
}

/** Clamp one pool's count into [effective min, max], noting which bound moved it. */
export function clampPool(pool: PoolSpec, value: number, min: number, raised: Raise | undefined, effects: ConstraintEffect[]): number {
  if (value < min) {
    if (raised?.kind === 'hold') {
      effects.push({
        constraint: 'hold', pool: pool.name, role: pool.role, from: value, to: min,
        detail: `${pool.name}: ${raised.label}, so not below ${min}, the highest count known for it`,
      });
      return min;
    }
    const raisedBy = raised?.label;
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
