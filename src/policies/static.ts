/**
 * Static policy: fixed replica counts from `spec.static.replicas` (per pool name).
 *
 * The need of a role is the sum over its pools of the listed count, or of the pool's `minReplicas`
 * when the pool is not listed. Example: pools prefill-spot (min 1, listed 3) and prefill-od (min 2,
 * not listed) give a prefill need of 3 + 2 = 5. Names in `spec.static.replicas` that match no pool
 * are reported as warnings (nothing the user gave us is silently dropped).
 */
import { ROLES, type Role } from '../config/schema.js';
import type { RoleNeed } from '../planner/types.js';
import type { Policy } from './types.js';
import { own } from '../config/records.js';

export const staticPolicy: Policy = (input) => {
  const { spec } = input;
  const listed = spec.static.replicas;
  const warnings: string[] = [];
  const poolNames = new Set(spec.pools.map((p) => p.name));
  for (const name of Object.keys(listed)) {
    if (!poolNames.has(name)) warnings.push(`spec.static.replicas.${name}: no pool of that name; ignored`);
  }
  const need = {} as Record<Role, RoleNeed>;
  for (const role of ROLES) {
    let replicas = 0;
    const detail: RoleNeed['detail'] = { formula: 'sum over pools of static.replicas[pool] (else minReplicas)' };
    for (const pool of spec.pools) {
      if (pool.role !== role) continue;
      const fixed = own(listed, pool.name);
      const count = fixed ?? pool.minReplicas;
      detail[pool.name] = fixed !== undefined ? `${count} (static.replicas)` : `${count} (minReplicas)`;
      replicas += count;
    }
    detail.replicas = replicas;
    need[role] = { replicas, detail };
  }
  return { need, correction: input.correction, warnings, missing: {} };
};
