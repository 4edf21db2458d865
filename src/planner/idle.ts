/**
 * Scale to zero and back, for the roles whose pools may all reach zero (the sum of their minReplicas is 0).
 *
 * Demand is a request in the window or a request waiting in the prefill queue (NATS JetStream keeps work while
 * nothing serves it, and a frontend may count a request only once it is answered: the queue is what wakes a graph
 * whose frontend counter stays at 0). The idle clock starts at the beginning of the first window without demand
 * (now - windowSeconds) and stops at any demand.
 *
 *   demand seen                          -> wake: each such role needs at least one replica, at this tick
 *   no demand, idle < idleSeconds        -> keep: a role that runs keeps at least one replica (no flapping on a lull)
 *   no demand, idle >= idleSeconds       -> zero: need 0, and the role's pools go to their minimum at once (the
 *                                           scale-down window and step limits do not spread it: the idle time was
 *                                           the wait; the readiness gate still holds it while the graph rolls out
 *                                           or is not Ready, as any scale-down). A role already at zero without
 *                                           demand stays there.
 *   request count unknown (or the queue  -> nothing: the uncertainty rules hold what runs, and the idle clock
 *   depth, when its source failed)          restarts (an idle period we did not see is not counted)
 *
 * Example: interval 60 s, idleSeconds 300, last request at 10:00:20. The 10:01 tick sees it (demand); the 10:02 tick
 * sees none: idle since 10:01:00. Ticks 10:03 to 10:05 keep one replica per role; at 10:06 the graph has been idle
 * 300 s and goes to zero. A request at 10:31:05 is seen by the 10:32 tick, which orders one replica per role.
 *
 * Why 300 s by default: KEDA's cooldownPeriod and the scale-down stabilization window here are 5 minutes too. A
 * wake costs a startup (180 s of GPUs billed while nothing is served, and a cold-start TTFT of about the startup time
 * for the requests that wake it), so scaling to zero pays only when the gap is longer than the startup; quiet spells
 * of a minute or two are common in bursty traffic, and 300 s is well above both while a 30-minute idle hour still
 * spends most of it at zero.
 */
import { ROLES, type PolicySpec, type Role } from '../config/schema.js';
import { own } from '../config/records.js';
import type { PlannerState } from './state.js';
import { observedAmount } from './observed.js';
import type { IdleAction, Observation, ScaleToZeroExplanation } from './types.js';

export type { IdleAction, ScaleToZeroExplanation } from './types.js';

export interface IdleResult {
  /** Per role: what the rule does (undefined = nothing: the role cannot reach zero, or demand is unknown). */
  action: Record<Role, IdleAction | undefined>;
  /** For the next state: since when no demand has been seen (epoch ms); undefined while there is demand or it is unknown. */
  idleSince?: number;
  explanation?: ScaleToZeroExplanation;
}

/**
 * Roles whose pools' minReplicas add up to 0: they may be scaled to zero. Not under `policy: static`, whose counts are
 * fixed by the user whatever the traffic.
 */
function zeroCapableRoles(spec: PolicySpec): Role[] {
  if (spec.policy === 'static') return [];
  return ROLES.filter((role) => {
    const pools = spec.pools.filter((p) => p.role === role);
    return pools.length > 0 && pools.every((p) => p.minReplicas === 0);
  });
}

/**
 * Whether the observation shows demand: true (a request or a queued one), false (none, and the queue is empty or
 * not watched), undefined (the request count is unknown, or the queue's source failed while no request was seen).
 */
export function demandSeen(observation: Observation): boolean | undefined {
  const requests = observedAmount(observation.requests);
  const queue = observedAmount(observation.queueDepth);
  if ((requests ?? 0) > 0 || (queue ?? 0) > 0) return true;
  if (requests === undefined) return undefined;
  if (queue === undefined && own(observation.errors, 'queueDepth') !== undefined) return undefined;
  return false;
}

/**
 * Whether the state's last tick ended where this window begins (within half a window): only then does the idle clock
 * carry over. A tick that failed, timed out or was skipped in between left a window nobody saw, and a request in it
 * cannot be ruled out, so the clock restarts (missing metrics never count as idle time).
 * Example: window 60 s, last tick 10:04, now 10:05 -> carries over; last tick 10:02 (two ticks lost) -> restarts.
 */
function seamless(state: PlannerState, now: number, windowSeconds: number): boolean {
  const last = state.recommendations[state.recommendations.length - 1]?.time;
  return typeof last === 'number' && Number.isFinite(last) && last <= now && now - last <= windowSeconds * 1500;
}

/**
 * The rule at the top of this file. `running` is what each role runs now (replicas, any pool), `uncertain` whether
 * a pool's current count is unknown (then nothing goes to zero).
 */
export function scaleToZero(spec: PolicySpec, observation: Observation, state: PlannerState, now: number, running: Record<Role, number>): IdleResult {
  const action: Record<Role, IdleAction | undefined> = { prefill: undefined, decode: undefined };
  const roles = zeroCapableRoles(spec);
  const demand = demandSeen(observation);
  const window = observedAmount(observation.windowSeconds) ?? spec.interval;
  const previous = typeof state.idleSince === 'number' && Number.isFinite(state.idleSince) && state.idleSince <= now && seamless(state, now, window) ? state.idleSince : undefined;
  const idleSince = demand === false ? (previous ?? now - window * 1000) : undefined;
  if (roles.length === 0 || demand === undefined) return { action, ...(idleSince !== undefined ? { idleSince } : {}) };
  const idleSeconds = spec.scaleToZero.idleSeconds;
  const idleFor = idleSince !== undefined ? (now - idleSince) / 1000 : undefined;
  let summary: IdleAction;
  let detail: string;
  if (demand) {
    summary = 'wake';
    for (const role of roles) action[role] = 'wake';
    const seen = [observedAmount(observation.requests) ? `${observation.requests} request(s)` : '', observedAmount(observation.queueDepth) ? `${observation.queueDepth} queued` : ''].filter(Boolean).join(', ');
    detail = `demand seen (${seen}): ${roles.join(' and ')} at least one replica each`;
  } else if ((idleFor as number) >= idleSeconds) {
    summary = 'zero';
    for (const role of roles) action[role] = 'zero';
    detail = `no request and an empty queue for ${Math.round(idleFor as number)}s (>= idleSeconds ${idleSeconds}s): ${roles.join(' and ')} scaled to zero`;
  } else {
    summary = 'keep';
    const kept: Role[] = [];
    for (const role of roles) {
      action[role] = running[role] > 0 ? 'keep' : 'zero';
      if (running[role] > 0) kept.push(role);
    }
    detail =
      kept.length > 0
        ? `idle for ${Math.round(idleFor as number)}s of idleSeconds ${idleSeconds}s: ${kept.join(' and ')} keep at least one replica`
        : `idle, at zero: ${roles.join(' and ')} stay at zero until demand is seen`;
    if (kept.length === 0) summary = 'zero';
  }
  return {
    action,
    ...(idleSince !== undefined ? { idleSince } : {}),
    explanation: { action: summary, roles, ...(idleFor !== undefined ? { idleForSeconds: Math.round(idleFor) } : {}), idleSeconds, detail },
  };
}

/**
 * The spec the constraints apply with: while a role that may reach zero is woken or kept, one of its pools (its first
 * on-demand pool, else its first pool) has a minimum of one replica, so no budget split or Spot rule can leave a
 * role with demand at zero, as long as the GPU budget holds it next to what must stay anyway (`committed`: per pool the
 * replicas kept by minimums, schedules and counts held while something is unknown). A budget that cannot hold one
 * replica of the role more leaves it to the budget split. Example: prefill-od and prefill-spot both min 0, demand
 * seen -> prefill-od min 1.
 */
export function withWakeMinimums(spec: PolicySpec, result: IdleResult, committed: readonly number[] = spec.pools.map((p) => p.minReplicas)): PolicySpec {
  const raise = new Set<number>();
  let minGpus = spec.pools.reduce((s, p, i) => s + (committed[i] ?? p.minReplicas) * p.gpusPerReplica, 0);
  for (const role of ROLES) {
    const act = result.action[role];
    if (act !== 'wake' && act !== 'keep') continue;
    const pools = spec.pools.map((p, i) => ({ p, i })).filter(({ p }) => p.role === role && p.maxReplicas >= 1);
    if (pools.some(({ p, i }) => Math.max(p.minReplicas, committed[i] ?? 0) >= 1)) continue;
    const pick = pools.find(({ p }) => p.capacity === 'on-demand') ?? pools[0];
    if (!pick) continue;
    if (spec.budget.maxGpus !== undefined && minGpus + pick.p.gpusPerReplica > spec.budget.maxGpus) continue;
    minGpus += pick.p.gpusPerReplica;
    raise.add(pick.i);
  }
  if (raise.size === 0) return spec;
  return { ...spec, pools: spec.pools.map((p, i) => (raise.has(i) ? { ...p, minReplicas: Math.max(1, p.minReplicas) } : p)) };
}

/** Whether the last decision put every pool at zero. */
export function atZero(state: PlannerState, spec: PolicySpec): boolean {
  const last = state.last;
  if (last === undefined) return false;
  return spec.pools.every((p) => own(last, p.name) === 0);
}

/**
 * How long until a graph's next tick: `spec.scaleToZero.pollInterval` while its last decision put every pool at
 * zero (a wake then waits at most that long), else `spec.interval`.
 * Example: interval 60 s, pollInterval 10 s: at zero the planner looks for demand every 10 s.
 */
export function nextTickSeconds(spec: PolicySpec, state: PlannerState): number {
  const poll = spec.scaleToZero.pollInterval;
  return poll !== undefined && poll < spec.interval && atZero(state, spec) ? poll : spec.interval;
}
