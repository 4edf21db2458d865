/** What one policy's tick came to, as the loop records it. */
import type { TickResult } from '../planner/tick.js';
import { sourceProblems, unknownFields } from './tick-log.js';

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

/**
 * Every source problem and connector error (`apply pool: why`) of a tick that returned. A problem of one field keeps
 * its whole message (`requests: prometheus ... returned "" ... for query ...`); one that many fields share (a source
 * that cannot be reached) is one line naming them, without the queries. Example: Prometheus refused for 15 fields ->
 * "prometheus http://p:9090/api/v1/query could not be reached (fetch failed): requests, isl, osl, ttftMs.mean,
 * itlMs.mean, requestDurationSeconds and 9 more unknown this tick".
 */
export function tickProblems(result: TickResult): string[] {
  const errors = result.observation.errors ?? {};
  return [
    ...sourceProblems(errors).map((p) => (p.fields.length === 1 ? `${p.fields[0]}: ${errors[p.fields[0] as string]}` : `${p.problem}: ${unknownFields(p.fields)}`)),
    ...Object.entries(result.apply.errors).map(([pool, why]) => `apply ${pool}: ${why}`),
  ];
}
