/**
 * Step limits (`spec.limits`): per pool and tick, at most maxStepUp replicas more and maxStepDown fewer
 * than the previous desired count. Knative's max scale-up/down rates, in replicas rather than ratios.
 * Example: previous 4, target 15, maxStepUp 8 -> 12; previous 12, target 3, maxStepDown 2 -> 10.
 * `extraUp` widens the step up (replicas moved from unavailable Spot pools must land at once).
 */
export interface Stepped {
  value: number;
  bound?: 'step-up' | 'step-down';
}

export function stepLimit(previous: number, target: number, maxStepUp: number, maxStepDown: number, extraUp = 0): Stepped {
  const up = previous + maxStepUp + extraUp;
  const down = previous - maxStepDown;
  if (target > up) return { value: up, bound: 'step-up' };
  if (target < down) return { value: down, bound: 'step-down' };
  return { value: target };
}
