/**
 * Role totals -> replicas per pool for the yardsticks (hindsight, Dynamo as it ships), which size roles, not pools:
 * the policy file's own Spot rule (src/constraints/spot.ts splitRole: Spot up to spot.maxShare, at least
 * spot.onDemandFloor on on-demand, each pool within its min/max), with every pool available. Splitting the same way
 * as the planner keeps the yardsticks' cost comparable; GPU-hours do not depend on the split.
 * Example (default policy, maxShare 0.6, floor 1): 10 prefill -> prefill-spot 6, prefill-od 4; 1 -> od 1, spot 0.
 */
import { ROLES, type PolicySpec, type Role } from '../../config/schema.js';
import { poolLayout, splitRole } from '../../constraints/index.js';
import { replicasToUnits } from '../../constraints/layout.js';

export function splitRoles(spec: PolicySpec, units: Record<Role, number>): Record<string, number> {
  const layout = poolLayout(spec);
  const pools = spec.pools;
  const mins = pools.map((p) => p.minReplicas);
  const caps = pools.map((p) => p.maxReplicas);
  const unavailable = pools.map(() => undefined);
  const out: number[] = pools.map(() => 0);
  for (const role of ROLES) {
    const rl = layout.roles[role];
    if (rl.all.length === 0) continue;
    splitRole({ role, layout: rl, pools, spot: spec.spot, mins, caps, unavailable }, Math.max(0, Math.round(units[role])), out, [], []);
  }
  return Object.fromEntries(pools.map((p, i) => [p.name, out[i] as number]));
}

/** Per-pool replicas -> role units (the inverse of splitRoles for counts it produced). */
export function roleUnits(spec: PolicySpec, replicas: Record<string, number>): Record<Role, number> {
  const layout = poolLayout(spec);
  const out = { prefill: 0, decode: 0 } as Record<Role, number>;
  for (const role of ROLES) {
    for (const i of layout.roles[role].all) {
      const pool = spec.pools[i]!;
      out[role] += replicasToUnits(replicas[pool.name] ?? 0, layout.roles[role].unitGpus, pool.gpusPerReplica);
    }
  }
  return out;
}

/** Role bounds in units: the sum of the role's pools' minReplicas and maxReplicas. */
export function roleBounds(spec: PolicySpec, role: Role): { min: number; max: number; unitGpus: number; startupSeconds: number } {
  const layout = poolLayout(spec);
  const rl = layout.roles[role];
  let min = 0;
  let max = 0;
  let startupSeconds = 0;
  for (const i of rl.all) {
    const pool = spec.pools[i]!;
    min += replicasToUnits(pool.minReplicas, rl.unitGpus, pool.gpusPerReplica);
    max += replicasToUnits(pool.maxReplicas, rl.unitGpus, pool.gpusPerReplica);
    startupSeconds = Math.max(startupSeconds, pool.startupSeconds);
  }
  return { min, max, unitGpus: rl.unitGpus, startupSeconds };
}

