/** What one policy's tick came to, as the loop records it. */
import type { TickResult } from '../planner/tick.js';

export interface TickOutcome {
  ok: boolean;
  /** Why the tick failed, when it did. */
  failure?: string;
  result?: TickResult;
  durationSeconds: number;
}

/**
 * The first line of each failure of a tick that returned, for logs and /readyz; undefined for a good tick.
 * Example: errors { requests: "prometheus down" } and apply errors { decode: "403" } give
 * "requests: prometheus down (and 1 more)".
 */
export function failureOf(result: TickResult): string | undefined {
  const problems = tickProblems(result);
  if (problems.length === 0) return undefined;
  return problems.length === 1 ? problems[0] : `${problems[0]} (and ${problems.length - 1} more)`;
}

/** Every source error (`field: why`) and connector error (`apply pool: why`) of a tick that returned. */
export function tickProblems(result: TickResult): string[] {
  return [
    ...Object.entries(result.observation.errors ?? {}).map(([field, why]) => `${field}: ${why}`),
    ...Object.entries(result.apply.errors).map(([pool, why]) => `apply ${pool}: ${why}`),
  ];
}
