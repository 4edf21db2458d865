/**
 * The shape of a policy's pools that every constraint needs (pool indices per role, replica sizes),
 * computed once per spec object and remembered, so decide() does not rebuild it every tick.
 */
import { ROLES, type PolicySpec, type PoolSpec, type Role } from '../config/schema.js';

export interface RoleLayout {
  /** Indices into spec.pools, in spec order (spec order is the fill preference). */
  all: number[];
  spot: number[];
  onDemand: number[];
  /**
   * GPUs of one "replica" of the role, the unit a policy's need is counted in: the first pool's
   * gpusPerReplica. A pool with a different size gets ceil(units * unitGpus / its gpusPerReplica).
   */
  unitGpus: number;
  /** True when the role's pools differ in gpusPerReplica (reported once as a warning). */
  mixedSizes: boolean;
}

export interface PoolLayout {
  pools: PoolSpec[];
  names: string[];
  roles: Record<Role, RoleLayout>;
  /** Longest startupSeconds over all pools (for the lead-time forecast). */
  maxStartupSeconds: number;
}

const layouts = new WeakMap<PolicySpec, PoolLayout>();

export function poolLayout(spec: PolicySpec): PoolLayout {
  let layout = layouts.get(spec);
  if (layout !== undefined) return layout;
  const roles = {} as Record<Role, RoleLayout>;
  for (const role of ROLES) {
    const members = spec.pools.flatMap((pool, index) => (pool.role === role ? [{ pool, index }] : []));
    roles[role] = {
      all: members.map((m) => m.index),
      spot: members.filter((m) => m.pool.capacity === 'spot').map((m) => m.index),
      onDemand: members.filter((m) => m.pool.capacity === 'on-demand').map((m) => m.index),
      unitGpus: members[0]?.pool.gpusPerReplica ?? 1,
      mixedSizes: new Set(members.map((m) => m.pool.gpusPerReplica)).size > 1,
    };
  }
  layout = {
    pools: spec.pools,
    names: spec.pools.map((p) => p.name),
    roles,
    maxStartupSeconds: spec.pools.reduce((m, p) => Math.max(m, p.startupSeconds), 0),
  };
  layouts.set(spec, layout);
  return layout;
}

/** Role units -> replicas of one pool. Example: 3 units of 4 GPUs on a pool of 8-GPU replicas -> ceil(12 / 8) = 2. */
export function unitsToReplicas(units: number, unitGpus: number, poolGpus: number): number {
  return unitGpus === poolGpus ? units : Math.ceil((units * unitGpus) / poolGpus);
}

/** Replicas of one pool -> role units (rounded down: what the pool surely provides). */
export function replicasToUnits(replicas: number, unitGpus: number, poolGpus: number): number {
  return unitGpus === poolGpus ? replicas : Math.floor((replicas * poolGpus) / unitGpus);
}
