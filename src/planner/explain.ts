/** Small pieces of the Explanation that decide() assembles. */
import type { PolicySpec, Role } from '../config/schema.js';
import type { ConstraintEffect, RoleNeed } from './types.js';

/**
 * Per pool, the names of the constraints that changed its number, in order: effects naming the pool,
 * and role-wide effects (budget, Spot cap, ...) of its role. Example: ["eviction-headroom", "spot-cap", "step-up"].
 */
export function boundByPool(spec: PolicySpec, effects: readonly ConstraintEffect[]): string[][] {
  return spec.pools.map((pool) => {
    const names: string[] = [];
    for (const effect of effects) {
      const applies = effect.pool === undefined ? effect.role === pool.role : effect.pool === pool.name;
      if (applies && !names.includes(effect.constraint)) names.push(effect.constraint);
    }
    return names;
  });
}

/** The need reported for a held role: what it keeps, and why. */
export function heldNeed(role: Role, replicas: number, reason: string): RoleNeed {
  return { replicas, detail: { held: true, reason, role, replicas } };
}
