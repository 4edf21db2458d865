import { policyFile, type PolicySpec } from '../../../src/config/schema.js';
import { initialState, type PlannerState } from '../../../src/planner/state.js';

/** A policy spec parsed through the real schema (so every default applies). */
export function makeSpec(spec: Record<string, unknown>): PolicySpec {
  return policyFile.parse({
    apiVersion: 'pd-planner/v1',
    kind: 'PlannerPolicy',
    metadata: { name: 'test' },
    spec: { slo: { ttft: { ms: 500 }, itl: { ms: 50 } }, ...spec },
  }).spec;
}

/** Four pools: a Spot and an on-demand pool per role, 1 GPU per replica. */
export const FOUR_POOLS = [
  { name: 'prefill-spot', role: 'prefill', capacity: 'spot', minReplicas: 0, maxReplicas: 12 },
  { name: 'prefill-od', role: 'prefill', capacity: 'on-demand', minReplicas: 1, maxReplicas: 8 },
  { name: 'decode-spot', role: 'decode', capacity: 'spot', minReplicas: 0, maxReplicas: 12 },
  { name: 'decode-od', role: 'decode', capacity: 'on-demand', minReplicas: 1, maxReplicas: 8 },
];

/** Two on-demand pools, one per role. */
export const TWO_POOLS = [
  { name: 'prefill', role: 'prefill', minReplicas: 1, maxReplicas: 20 },
  { name: 'decode', role: 'decode', minReplicas: 1, maxReplicas: 20 },
];

export function stateWith(fields: Partial<PlannerState>): PlannerState {
  return { ...initialState(), ...fields };
}

export const T0 = Date.UTC(2026, 0, 14, 12, 0, 0);
