/**
 * decide(): the pure decision core. One call per tick:
 *
 *   observation -> history (bounded) -> forecast (next interval; and lead time ahead for `sla`)
 *   -> policy (raw need per role) -> constraints (src/constraints/index.ts, in its documented order)
 *   -> Decision with its Explanation, and the next PlannerState.
 *
 * No clock, no I/O: `now` comes in. The input state is not modified; the returned state shares
 * nothing mutable with it except history points, which are never changed once written.
 *
 * SAFE HOLD. A policy that sizes on requests (sla, dynamo, hpa) cannot size without them, so when the
 * request count is missing or not a number (or its forecast is), each role is held: every pool keeps the highest
 * count known for it (see below; minReplicas when nothing is known), `held: true` with the reason. Schedules and
 * minimums may still raise a held pool, and a Spot pool that was just evicted still hands its replicas to
 * on-demand. A policy may also hold one role (e.g. ISL missing): same treatment, for that role. Zero traffic
 * (requests = 0, a valid count) is NOT missing: the planner scales down to the minimums, which Dynamo never did
 * because its NaN check fired on the 0/0 mean ISL. When the request forecast is 0 and ISL/OSL have never been
 * seen, they are taken as 0 (nothing to size).
 *
 * NEVER BELOW WHAT RUNS ON UNCERTAINTY. When the request count, a pool's current count (neither desired nor ready
 * observed) or anything a policy needs (a held role) is unknown, no pool's desired count ends below the highest
 * count known for it: the last decision (state.last), the observed desired, the observed ready + pending (capped at
 * maxReplicas; an unavailable Spot pool at what it still has). Those pools are marked `hold: true`, so a connector
 * never writes a count below the one running; a pool of which nothing at all is known, while the request count is
 * unknown or its role's need could not be computed, is also `writable: false` (its desired is only a placeholder:
 * write nothing).
 * Example: cold start, requests missing, a pool with minReplicas 0 and 5 ready -> 5, whatever the policy.
 *
 * Current replicas per role (the policy's `current`): sum over the role's pools of ready, else the
 * observed desired, else the last decision, else minReplicas.
 *
 * STARTUP LEARNED. Each pool's startup time is the p90 of the pod startups measured so far (observation
 * `pools[].startupSeconds`, kept in the state), with the policy's startupSeconds as the prior (startup.ts): the spec
 * everything below plans with carries it.
 *
 * REPLICA SIZES. The per-pool counts the state carries (the last decision, the stabilization windows) are read in the
 * policy's replica sizes, the same GPUs rounded up (replica-sizes.ts): a pool reloaded from 4- to 8-GPU replicas reads a
 * window entry of 6 as 3, and the state records the sizes each tick decided in (`replicaGpus`).
 *
 * SCALE TO ZERO. A role whose pools all have minReplicas 0 goes to zero after spec.scaleToZero.idleSeconds without
 * demand (at once: no window, no step limit; the readiness gate holds it as any scale-down), keeps one replica until
 * then, and gets at least one replica (a minimum, which no budget split can take) at the first tick that sees a
 * request or a queued one (idle.ts). A poll of a graph at zero is decided like any tick but learns nothing: its window
 * is not recorded in the forecaster's history and the correction state (burst floor, crowd hold, the SLO loop's
 * record) is kept as it was. The service polls a graph at zero every pollInterval and the simulator only until one
 * sees demand, so a poll that aged or learned would make the two disagree.
 *
 * PANIC POLL. A single graph not at zero whose prefill queue is long between ticks is decided at once (panic.ts): a
 * poll, on the queue, the requests since the interval began and the pools only, that learns nothing (the correction
 * state is kept as it was).
 */
import { ROLES, type PolicySpec, type Role } from '../config/schema.js';
import { applyConstraints, poolLayout, scheduledMins } from '../constraints/index.js';
import { replicasToUnits } from '../constraints/layout.js';
import { forecastNext, historyLimit } from '../forecast/index.js';
import { policies } from '../policies/index.js';
import type { PolicyOutput } from '../policies/types.js';
import type { PerformanceProfile } from '../profiles/types.js';
import { own } from '../config/records.js';
import { boundByPool, heldNeed } from './explain.js';
import { demandSeen, scaleToZero, withWakeMinimums, type IdleResult } from './idle.js';
import { panicDetail, panicQueueThreshold, panicView, type PanicPoll } from './panic.js';
import { observedAmount, observedReplicas } from './observed.js';
import { inPolicySizes, nextReplicaGpus } from './replica-sizes.js';
import { withLearnedStartup } from './startup.js';
import type { HistoryPoint, PlannerState } from './state.js';
import type { Decision, Forecast, ForecastValue, Observation, PoolDecision, RoleNeed } from './types.js';
import { messageOf } from '../errors.js';

export interface DecideInput {
  spec: PolicySpec;
  profile: PerformanceProfile;
  observation: Observation;
  state: PlannerState;
  /** Epoch ms: the end of the observation window. */
  now: number;
  /** Perfect-foresight forecast (the simulator's oracle baseline) instead of the forecaster. */
  forecastOverride?: { next: Forecast; lead?: Forecast };
  /**
   * A poll tick of a graph at zero (planner/idle.ts nextTickSeconds): decided as any tick, but learning nothing: its
   * window is not recorded in the forecaster's history (the next full tick's window covers it) and the correction
   * state is kept as it was.
   */
  poll?: boolean;
  /**
   * A panic poll (planner/panic.ts; with `poll`): decided on the queue, the requests since the interval began and the
   * pools only (panicView), and learning nothing: the correction state (pCf, dCf, burst ratio and floor, crowd hold,
   * the SLO loop's record) is kept as it was. The explanation says so (`panicPoll`).
   */
  panic?: PanicPoll;
}

export interface DecideResult {
  decision: Decision;
  state: PlannerState;
}

/** Policies that size on the request count. */
const USES_REQUESTS: Record<PolicySpec['policy'], boolean> = { sla: true, dynamo: true, hpa: true, load: false, static: false };

/** The counts known for one pool this tick, and the highest of them (undefined when none is known). */
export interface KnownCounts {
  last?: number;
  desired?: number;
  ready?: number;
  /** Ready + pending pods (what exists), when either is observed. */
  running?: number;
  highest?: number;
}

/**
 * What is known of one pool's replica count: the last decision (state), the observed desired (spec replicas),
 * and the observed ready + pending pods. Example: last 4, desired 4, ready 5, pending 1 -> highest 6.
 */
export function knownCounts(observation: Observation, state: PlannerState, name: string): KnownCounts {
  const seen = own(observation.pools, name);
  const out: KnownCounts = {};
  const last = observedReplicas(own(state.last, name));
  const desired = observedReplicas(seen?.desired);
  const ready = observedReplicas(seen?.ready);
  const pending = observedReplicas(seen?.pending);
  if (last !== undefined) out.last = last;
  if (desired !== undefined) out.desired = desired;
  if (ready !== undefined) out.ready = ready;
  if (ready !== undefined || pending !== undefined) out.running = (ready ?? 0) + (pending ?? 0);
  const values = [last, desired, out.running].filter((v): v is number => v !== undefined);
  if (values.length > 0) out.highest = Math.max(...values);
  return out;
}

/** History with this tick's point appended (replacing any point at or after `now`), at most `limit` points. */
export function recordHistory(history: readonly HistoryPoint[], observation: Observation, now: number, limit: number): HistoryPoint[] {
  const requests = observedAmount(observation.requests);
  const isl = observedAmount(observation.isl);
  const osl = observedAmount(observation.osl);
  let end = history.length;
  while (end > 0 && (history[end - 1] as HistoryPoint).time >= now) end--;
  const hasPoint = requests !== undefined || isl !== undefined || osl !== undefined;
  const keep = Math.max(0, limit - (hasPoint ? 1 : 0));
  const out = history.slice(Math.max(0, end - keep), end);
  if (hasPoint) {
    const point: HistoryPoint = { time: now };
    if (requests !== undefined) point.requests = requests;
    if (isl !== undefined) point.isl = isl;
    if (osl !== undefined) point.osl = osl;
    out.push(point);
  }
  return out;
}

/** With no requests forecast, ISL/OSL never seen do not matter: use 0 rather than hold. */
function zeroTrafficLengths(forecast: Forecast): Forecast {
  if (forecast.requests.value !== 0) return forecast;
  const fix = (v: ForecastValue, what: string): ForecastValue =>
    Number.isFinite(v.value) ? v : { value: 0, method: v.method, note: `no requests forecast, so ${what} is not needed: taken as 0` };
  return { ...forecast, isl: fix(forecast.isl, 'ISL'), osl: fix(forecast.osl, 'OSL') };
}

export function decide(input: DecideInput): DecideResult {
  const { profile, now } = input;
  // The per-pool counts carried from the last tick, in this policy's replica sizes (a reload may have changed them).
  const state = inPolicySizes(input.state, input.spec);
  const panic = input.poll && input.panic ? input.panic : undefined;
  const observation = panic ? panicView(input.observation) : input.observation;
  // Each pool's startup time as measured (the policy's startupSeconds until then): the spec everything plans with.
  const learned = withLearnedStartup(input.spec, observation, state);
  const spec = learned.spec;
  const layout = poolLayout(spec);
  const pools = spec.pools;
  const warnings: string[] = [];
  const missing: Record<string, string> = {};

  // History and forecasts.
  const history = input.poll ? state.history : recordHistory(state.history, observation, now, historyLimit(spec.forecaster, spec.interval));
  const useLead = spec.policy === 'sla' && spec.sla.improvements.leadTime;
  // Replicas ordered at this tick start serving startupSeconds from now, and the next tick can order more: they must
  // carry the interval in which they become ready. Startup 180 s at 60 s: ready 3 intervals on, serving the 4th.
  const leadHorizon = Math.floor(layout.maxStartupSeconds / spec.interval) + 1;
  let next: Forecast;
  let lead: Forecast | undefined;
  if (input.forecastOverride) {
    next = input.forecastOverride.next;
    lead = useLead ? (input.forecastOverride.lead ?? next) : undefined;
  } else {
    next = forecastNext(history, spec.forecaster, spec.interval, 1);
    lead = useLead ? (leadHorizon === 1 ? next : forecastNext(history, spec.forecaster, spec.interval, leadHorizon)) : undefined;
  }
  next = zeroTrafficLengths(next);
  if (lead) lead = zeroTrafficLengths(lead);

  // Previous, known and current counts per pool.
  const previous: (number | undefined)[] = [];
  const known: (number | undefined)[] = [];
  const baseline: number[] = [];
  const current: Record<Role, number> = { prefill: 0, decode: 0 };
  // What each role has running or on its way, for the idle rule: a replica ordered by a wake is desired but not yet
  // ready, and still counts (else the next quiet window would send it back to zero before it serves).
  const running: Record<Role, number> = { prefill: 0, decode: 0 };
  // GPUs each role has running or on its way, for the pause hold: what a pause begins with includes replicas still
  // starting. Summed over the pools before it is turned into policy units, so pools of mixed sizes are not floored
  // one by one.
  const orderedGpus: Record<Role, number> = { prefill: 0, decode: 0 };
  const unknownPools: string[] = [];
  for (const pool of pools) {
    const counts = knownCounts(observation, state, pool.name);
    previous.push(counts.last ?? counts.desired);
    known.push(counts.highest);
    baseline.push(counts.highest ?? pool.minReplicas);
    if (counts.desired === undefined && counts.ready === undefined) unknownPools.push(pool.name);
    const present = counts.ready ?? counts.desired ?? counts.last ?? pool.minReplicas;
    current[pool.role] += replicasToUnits(present, layout.roles[pool.role].unitGpus, pool.gpusPerReplica);
    running[pool.role] += counts.highest ?? pool.minReplicas;
    orderedGpus[pool.role] += (counts.highest ?? pool.minReplicas) * pool.gpusPerReplica;
  }
  const requestsUnknown = !input.forecastOverride && observedAmount(observation.requests) === undefined;
  const idle: IdleResult = scaleToZero(spec, observation, state, now, running);
  const ordered: Record<Role, number> = { prefill: orderedGpus.prefill / layout.roles.prefill.unitGpus, decode: orderedGpus.decode / layout.roles.decode.unitGpus };
  const unitGpus: Record<Role, number> = { prefill: layout.roles.prefill.unitGpus, decode: layout.roles.decode.unitGpus };
  const pauseRunning = pauseStart(state, idle.idleSince, demandSeen(observation), ordered, unitGpus);

  // Hold on missing requests, else run the policy.
  let holdReason: string | undefined;
  if (USES_REQUESTS[spec.policy]) {
    if (requestsUnknown) {
      const why = own(observation.errors, 'requests') ?? (observation.requests === undefined ? 'not in the observation' : `not a count (${observation.requests})`);
      holdReason = `requests missing (${why}): holding the replica counts (the highest known per pool)`;
      missing.requests = 'held the replica counts (the highest known per pool)';
    } else if (!Number.isFinite(next.requests.value)) {
      holdReason = `no request forecast (${next.requests.note ?? 'not a number'}): holding the replica counts (the highest known per pool)`;
      missing.requests = 'held the replica counts (the highest known per pool)';
    }
  }
  let output: PolicyOutput | undefined;
  if (holdReason === undefined) {
    try {
      const idleForSeconds = idle.idleSince !== undefined ? (now - idle.idleSince) / 1000 : undefined;
      output = policies[spec.policy]({
        spec, profile, observation, forecast: next, leadForecast: lead, current, correction: state.correction,
        ...(idleForSeconds !== undefined ? { idleForSeconds } : {}),
        ...(pauseRunning !== undefined ? { pauseRunning } : {}),
      });
    } catch (error) {
      holdReason = `policy ${spec.policy} failed (${messageOf(error)}): holding the replica counts (the highest known per pool)`;
    }
  }
  if (output) {
    warnings.push(...output.warnings);
    Object.assign(missing, output.missing);
  }

  const need: Record<Role, number | undefined> = { prefill: undefined, decode: undefined };
  const explainedNeed: Partial<Record<Role, RoleNeed>> = {};
  const heldRoles: string[] = [];
  for (const role of ROLES) {
    if (layout.roles[role].all.length === 0) {
      const asked = output?.need[role]?.replicas;
      if (asked !== undefined && Number.isFinite(asked)) need[role] = asked;
      continue;
    }
    const act = idle.action[role];
    if (act === 'zero') {
      // Idle long enough (or at zero with no demand): nothing to size, whatever the forecaster's tail says.
      need[role] = 0;
      explainedNeed[role] = { replicas: 0, detail: { rule: 'scale to zero', reason: idle.explanation?.detail ?? 'idle', replicas: 0 } };
      continue;
    }
    const raw = output?.need[role];
    const usable = raw !== undefined && Number.isFinite(raw.replicas) && raw.replicas >= 0 && raw.detail.held !== true;
    if (usable) {
      need[role] = raw.replicas;
      explainedNeed[role] = raw;
      if ((act === 'wake' || act === 'keep') && raw.replicas < 1) {
        need[role] = 1;
        explainedNeed[role] = { replicas: 1, detail: { ...raw.detail, [act === 'wake' ? 'wake' : 'keepWarm']: idle.explanation?.detail ?? act, policyReplicas: raw.replicas, replicas: 1 } };
      }
      continue;
    }
    const reason = holdReason ?? (raw?.detail.reason !== undefined ? String(raw.detail.reason) : `policy gave no usable ${role} need (${raw?.replicas ?? 'none'})`);
    let kept = 0;
    for (const i of layout.roles[role].all) kept += replicasToUnits(baseline[i] as number, layout.roles[role].unitGpus, pools[i]!.gpusPerReplica);
    if (act === 'wake' && kept === 0) {
      // Demand while the role runs nothing: one replica serves it whatever the policy could not compute.
      need[role] = 1;
      explainedNeed[role] = { replicas: 1, detail: { wake: idle.explanation?.detail ?? 'demand seen', policyHeld: reason, replicas: 1 } };
      continue;
    }
    explainedNeed[role] = heldNeed(role, kept, reason);
    heldRoles.push(role);
  }
  const held = heldRoles.length > 0;
  if (held && holdReason === undefined) holdReason = heldRoles.map((r) => `${r}: ${String(explainedNeed[r as Role]?.detail.reason)}`).join('; ');

  // What the decision needed and did not know: while anything is, no pool goes below what is known to run.
  const unknown: string[] = [];
  if (requestsUnknown) unknown.push('the request count');
  else if (!input.forecastOverride && !Number.isFinite(next.requests.value) && USES_REQUESTS[spec.policy]) unknown.push('the request forecast');
  if (unknownPools.length > 0) unknown.push(`the current count of ${unknownPools.join(', ')}`);
  if (heldRoles.length > 0 && unknown.length === 0) unknown.push(`what the policy needs for ${heldRoles.join(' and ')}`);
  const floor = unknown.length > 0 ? { counts: known, reason: `${unknown.join('; ')} unknown` } : undefined;

  // Constraints.
  // A role woken (or kept warm) by the scale-to-zero rule has a minimum of one replica while it is, where the budget
  // holds it next to what stays anyway (minimums, schedules, counts held while something is unknown).
  const scheduled = scheduledMins(spec, now).mins;
  const committed = pools.map((p, i) => Math.max(scheduled[i] as number, floor ? Math.min(p.maxReplicas, known[i] ?? 0) : 0));
  const unheldShare = holdShares(explainedNeed);
  // Scale to zero at once (not while anything is unknown): the idle time was the wait, so neither the scale-down window
  // nor the step limit spreads it; the readiness gate still holds it as any scale-down.
  const zeroRoles = floor ? [] : ROLES.filter((role) => idle.action[role] === 'zero');
  const toZero = zeroRoles.length > 0 ? { roles: zeroRoles, reason: idle.explanation?.detail ?? 'idle' } : undefined;
  const constrained = applyConstraints({
    spec: withWakeMinimums(spec, idle, committed), observation, state, now, need, baseline, previous, floor,
    ...(unheldShare ? { unheldShare } : {}),
    ...(toZero ? { toZero } : {}),
    ...(output?.scaleDownWindow ? { scaleDownWindow: output.scaleDownWindow } : {}),
  });
  warnings.push(...constrained.warnings);
  if (observation.pools === undefined) {
    missing.pools = state.last !== undefined ? 'no pool state observed: the last decision taken as current' : 'no pool state observed: minReplicas taken as current';
  }
  for (const [field, reason] of Object.entries(observation.errors ?? {})) {
    if (!Object.hasOwn(missing, field)) missing[field] = reason;
  }

  const boundBy = boundByPool(spec, constrained.effects);
  const decidedPools: Record<string, PoolDecision> = {};
  const last: Record<string, number> = {};
  const floorRaised = constrained.effects.some((e) => e.constraint === 'hold');
  pools.forEach((pool, i) => {
    const desired = constrained.desired[i] as number;
    const decision: PoolDecision = { desired, role: pool.role, capacity: pool.capacity, gpus: desired * pool.gpusPerReplica, boundBy: boundBy[i] as string[] };
    const observedDesired = observedReplicas(own(observation.pools, pool.name)?.desired);
    if (observedDesired !== undefined) decision.current = observedDesired;
    if (floor) {
      decision.hold = true;
      if (known[i] === undefined && (requestsUnknown || need[pool.role] === undefined)) decision.writable = false;
    }
    // A placeholder is not a count: the state remembers only what may be written.
    if (decision.writable !== false) last[pool.name] = desired;
    decidedPools[pool.name] = decision;
  });
  const heldAll = held || floorRaised;
  if (heldAll && holdReason === undefined) holdReason = `${floor?.reason ?? 'inputs unknown'}: no pool below the highest count known for it`;

  const correction = !input.poll && output && Number.isFinite(output.correction.pCf) && Number.isFinite(output.correction.dCf) ? output.correction : state.correction;
  const decision: Decision = {
    time: new Date(now).toISOString(),
    pools: decidedPools,
    explanation: {
      policy: spec.policy,
      held: heldAll,
      ...(holdReason !== undefined && heldAll ? { holdReason } : {}),
      ...(unknown.length > 0 ? { unknown } : {}),
      ...(idle.explanation ? { scaleToZero: idle.explanation } : {}),
      ...(panic ? { panicPoll: panicDetail({ ...panic, threshold: panicQueueThreshold(spec, state) }) } : {}),
      startup: learned.startup,
      forecast: next,
      ...(lead ? { leadForecast: { ...lead, horizonIntervals: leadHorizon } } : {}),
      ...(constrained.activeSchedules.length > 0 ? { activeSchedules: constrained.activeSchedules } : {}),
      correction,
      need: explainedNeed,
      constraints: constrained.effects,
      budget: constrained.budget,
      warnings,
      missing,
    },
  };
  return {
    decision,
    state: {
      history,
      correction,
      recommendations: constrained.recommendations,
      last,
      replicaGpus: nextReplicaGpus(input.spec, state.replicaGpus, constrained.recommendations),
      lastEviction: constrained.lastEviction,
      ...(Object.keys(constrained.readiness).length > 0 ? { readiness: constrained.readiness } : {}),
      ...(Object.keys(learned.samples).length > 0 ? { startup: learned.samples } : {}),
      ...(idle.idleSince !== undefined ? { idleSince: idle.idleSince } : {}),
      ...(pauseRunning !== undefined ? { pauseRunning, pauseUnitGpus: unitGpus } : {}),
    },
  };
}

/**
 * What each role ran or had on its way (policy units) when the current pause was first seen, for the pause hold:
 * - demand seen: none;
 * - demand unknown (the request count missing, the queue's source failed): what was carried, kept as it is, since no
 *   demand is known to have been seen since it was taken;
 * - the same pause as the last tick (the same idleSince): what was carried;
 * - a pause that starts anew after an unknown or a lost tick: the larger of what was carried and `ordered`, per role,
 *   so that the hold's own level is never taken for the level the pause began with (else it would shrink by its share
 *   again at each restart);
 * - else `ordered` now, on the pause's first tick.
 * Example: demand stops with 1 prefill ready and 2 more starting, and 6 decode -> { prefill 3, decode 6 } for every
 * tick of that pause, whatever the hold then lets go; a tick with the request count unknown keeps { 3, 6 }.
 */
function pauseStart(
  state: PlannerState,
  idleSince: number | undefined,
  demand: boolean | undefined,
  ordered: Record<Role, number>,
  unitGpus: Record<Role, number>,
): Record<Role, number> | undefined {
  if (demand === true) return undefined;
  const raw = state.pauseRunning;
  const carried = raw !== undefined && Number.isFinite(raw.prefill) && Number.isFinite(raw.decode) ? { prefill: inUnits(raw, state.pauseUnitGpus, unitGpus, 'prefill'), decode: inUnits(raw, state.pauseUnitGpus, unitGpus, 'decode') } : undefined;
  if (idleSince === undefined) return carried;
  if (carried === undefined) return { prefill: ordered.prefill, decode: ordered.decode };
  if (state.idleSince === idleSince) return carried;
  return { prefill: Math.max(carried.prefill, ordered.prefill), decode: Math.max(carried.decode, ordered.decode) };
}

/**
 * A carried pause count in today's policy units: the GPUs it stood for over the GPUs of a unit now. Example: 4 prefill
 * replicas of 4 GPUs carried (16 GPUs) after a reload to 8-GPU replicas -> 2; to 2-GPU replicas -> 8.
 */
function inUnits(carried: Record<Role, number>, then: Record<Role, number> | undefined, now: Record<Role, number>, role: Role): number {
  const was = then?.[role];
  const is = now[role];
  if (!(was !== undefined && Number.isFinite(was) && was > 0 && Number.isFinite(is) && is > 0) || was === is) return carried[role];
  return (carried[role] * was) / is;
}

/**
 * Per role whose need a hold raised (policies/sla/crowd-hold.ts `crowdHeldFrom`, pause-hold.ts `pauseHeldFrom`): the
 * need without any hold over the need with it, for the scale-down window and a fleet's hard layer
 * (constraints/index.ts unheldShare). Example: need 6 held from 2 -> 1/3; crowd-held from 2 to 4, then paused-held to
 * 5 (pauseHeldFrom 4) -> 2/5.
 */
function holdShares(needs: Partial<Record<Role, RoleNeed>>): Partial<Record<Role, number>> | undefined {
  let out: Partial<Record<Role, number>> | undefined;
  for (const role of ROLES) {
    const need = needs[role];
    if (!need) continue;
    const froms = [need.detail.crowdHeldFrom, need.detail.pauseHeldFrom].filter((v): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0);
    if (froms.length === 0) continue;
    const before = Math.min(...froms);
    if (!(need.replicas > before)) continue;
    out = { ...out, [role]: before / need.replicas };
  }
  return out;
}
