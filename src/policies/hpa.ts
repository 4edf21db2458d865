/**
 * The `hpa` policy: the Kubernetes HPA v2 algorithm on one metric per role, a baseline users know.
 *
 *   value   = requests per second per replica of the role (every request passes through both roles)
 *   desired = ceil(current x value / target)  = ceil(requests per second / target)
 *   no change while |value / target - 1| <= tolerance (0.1)
 *
 * Example (target 2 req/s per replica): 4 replicas, 10.5 req/s -> 2.625 per replica, ratio 1.3125 -> ceil(5.25) = 6.
 * At 8.6 req/s the ratio is 1.075, inside the 10% tolerance: stay at 4. At 7.2 req/s, ratio 0.9 exactly: still 4
 * (HPA acts only beyond the tolerance); at 7.0 req/s, ratio 0.875: ceil(3.5) = 4; at 6 req/s: ceil(3) = 3.
 * Like HPA, it reads what was observed (no forecast). Zero traffic gives 0; per-pool minimums apply afterwards.
 * With no replica running HPA is paused; we start from ceil(rate / target) instead.
 */
import { ROLES, type Role } from '../config/schema.js';
import type { RoleNeed } from '../planner/types.js';
import { holdNeed, isUsable, r4, windowSeconds } from './common.js';
import type { Policy } from './types.js';

/** HPA's replica calculation for one metric: returns the current count within tolerance. */
export function hpaDesired(current: number, value: number, target: number, tolerance: number): { replicas: number; ratio: number; withinTolerance: boolean } {
  const ratio = value / target;
  if (current > 0 && Math.abs(1 - ratio) <= tolerance) return { replicas: current, ratio, withinTolerance: true };
  return { replicas: Math.ceil(current * ratio), ratio, withinTolerance: false };
}

export const hpaPolicy: Policy = (input) => {
  const { spec, observation: obs, current } = input;
  const missing: Record<string, string> = {};
  const need = {} as Record<Role, RoleNeed>;
  const targets: Record<Role, number> = { prefill: spec.hpa.prefillRequestsPerReplica, decode: spec.hpa.decodeRequestsPerReplica };
  if (!isUsable(obs.requests) || obs.requests < 0) {
    missing.requests = 'held the current replicas (no request count)';
    for (const role of ROLES) need[role] = holdNeed(current[role], 'no request count observed');
    return { need, correction: input.correction, warnings: [], missing };
  }
  const window = windowSeconds(obs.windowSeconds, spec.interval);
  const rps = obs.requests / window;
  for (const role of ROLES) {
    const target = targets[role];
    const cur = current[role];
    const perReplica = cur > 0 ? rps / cur : rps;
    const r = cur > 0 ? hpaDesired(cur, perReplica, target, spec.hpa.tolerance) : { replicas: Math.ceil(rps / target), ratio: rps / target, withinTolerance: false };
    need[role] = {
      replicas: r.replicas,
      detail: {
        formula: 'ceil(current x value / target); unchanged within tolerance',
        requestsPerSecond: r4(rps),
        windowSeconds: window,
        current: cur,
        valuePerReplica: r4(perReplica),
        targetPerReplica: target,
        ratio: r4(r.ratio),
        tolerance: spec.hpa.tolerance,
        withinTolerance: r.withinTolerance,
        replicas: r.replicas,
      },
    };
  }
  return { need, correction: input.correction, warnings: [], missing };
};
