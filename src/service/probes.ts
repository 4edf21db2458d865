/**
 * The service's probes, computed from the loop's state:
 *   - /healthz fails when the loop made no progress (no tick started or finished) for max(3 x interval, 120 s);
 *     Example: interval 60 s -> fails after 180 s without progress; interval 15 s -> after 120 s.
 *   - /readyz turns not-ready only when EVERY policy is failing (with one policy: when it is), because a pod that is
 *     not ready drops out of the Service and its /metrics for the healthy graphs would be lost too. A failing policy
 *     shows in the /readyz text.
 */
import { isReady, type PolicyEntry } from './policy-registry.js';

export interface Probe {
  ok: boolean;
  detail: string;
}

export interface LoopProgress {
  /** ms since the loop last started or finished a tick. */
  idleMs: number;
  /** The loop interval (ms). */
  periodMs: number;
  /** A round is running. */
  running: boolean;
  rounds: number;
}

export function healthProbe(p: LoopProgress): Probe {
  const stuckAfter = Math.max(3 * p.periodMs, 120_000);
  if (p.idleMs > stuckAfter) {
    return { ok: false, detail: `the planner loop made no progress for ${Math.round(p.idleMs / 1000)}s (limit ${stuckAfter / 1000}s)${p.running ? '; a tick is still running' : ''}` };
  }
  return { ok: true, detail: p.running ? 'tick running' : `idle, ${p.rounds} ticks so far` };
}

const failingLine = (e: PolicyEntry) =>
  `${e.consecutiveFailures} failed ticks in a row (threshold ${e.plan.spec.failureThreshold}); last: ${e.lastOutcome?.failure ?? 'unknown'}`;

/** `dirs`: the policy directories, named when no policy is loaded. */
export function readyProbe(all: readonly PolicyEntry[], rounds: number, dirs: readonly string[]): Probe {
  if (all.length === 0) return { ok: false, detail: `no policy loaded (no *.yaml in ${dirs.join(', ') || 'the policy paths'})` };
  if (all.length === 1) {
    const e = all[0] as PolicyEntry;
    const threshold = e.plan.spec.failureThreshold;
    if (!isReady(e)) return { ok: false, detail: failingLine(e) };
    const last = e.lastOutcome;
    return { ok: true, detail: last ? (last.ok ? 'last tick ok' : `last tick failed (${e.consecutiveFailures}/${threshold}): ${last.failure}`) : 'no tick yet' };
  }
  const failing = all.filter((e) => !isReady(e));
  if (failing.length === all.length) {
    const shown = failing.slice(0, 5).map((e) => `${e.plan.name}: ${failingLine(e)}`);
    return { ok: false, detail: `all ${all.length} policies are failing: ${shown.join('; ')}${failing.length > 5 ? `; and ${failing.length - 5} more` : ''}` };
  }
  if (failing.length > 0) {
    const names = failing.slice(0, 10).map((e) => e.plan.name);
    return { ok: true, detail: `${all.length - failing.length} of ${all.length} policies ready; failing: ${names.join(', ')}${failing.length > 10 ? ` and ${failing.length - 10} more` : ''}` };
  }
  return { ok: true, detail: rounds === 0 ? 'no tick yet' : `all ${all.length} policies ready` };
}
