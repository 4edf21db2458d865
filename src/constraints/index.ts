/**
 * Constraints: from the policy's raw need per role to desired replicas per pool.
 *
 * They are min/max, budget, step limits, stabilization, Spot, schedules and the readiness gate, and their order
 * matters: a per-pool min/max needs the role's need split into pools (Spot), and schedules change the minimums that
 * min/max applies. The order, in one place:
 *
 *   0. schedules          active schedules raise per-pool minimums (nothing changes yet)       schedules.ts
 *   1. Spot availability  evicted (cool-down) or long-pending Spot pools may not grow         spot.ts
 *   1b. uncertainty floor while something the decision needs is unknown, each pool's minimum is
 *                         raised to the highest count known for it (within maxReplicas; an
 *                         unavailable Spot pool to at most what it still has): every later step,
 *                         the budget included, treats it as a minimum                          here
 *   2. eviction headroom  role total + ceil(expected evictions during startup) of the Spot
 *                         part: what the on-demand pools' minimums leave (as 5 splits it)      spot.ts
 *   3. min/max (role)     total within [sum of effective mins, sum of maxReplicas]             bounds.ts
 *   4. GPU budget (role)  shrink the totals to fit (proportion / SLO pressure / Dynamo rule)   budget.ts
 *   5. Spot split         role total -> pools: Spot cap, on-demand floor, on-demand pools'
 *                         minimums part of the total (not extra), unavailable -> OD;
 *                         with spot.placement one-pool, from the second tick, an increase to
 *                         one side where it fits, none to a side the readiness gate holds      spot.ts
 *   6. min/max (pool)     each pool within [effective min, maxReplicas]: the recommendation     bounds.ts
 *   7. stabilization      scale down to the highest recommendation of the window (HPA)         stabilization.ts
 *   8. step limits        at most maxStepUp more / maxStepDown fewer than the previous desired step.ts
 *   9. min/max (pool)     again, as hard bounds: a minimum or schedule that needs a bigger jump
 *                         than the step limit wins over the step limit                          bounds.ts
 *  10. GPU budget trim    hard cap after 7-8 kept pools up (budget.ts explains what goes first) budget.ts
 *  10b. scale to zero     the roles the idle rule sends to zero go to their minimums at once,
 *                         past 7 and 8 (the idle time was the wait)                            planner/idle.ts
 *  11. readiness gate     no scale-up of a pool still becoming ready (until readinessTimeout),
 *                         nothing during a rolling update; a held pool keeps its current count
 *                         within its bounds                                                     readiness.ts
 *  11b. budget after 11   scale-ups the gate let through are taken back while its holds put the
 *                         counts over the budget and over what runs; then, still over the
 *                         budget, the scale-downs it deferred go ahead                          gate-budget.ts

 * Exceptions to the step limits, all deliberate: (a) 9 above; (b) an unavailable Spot pool drops to
 * its ready replicas at once (the capacity is gone already; holding the desired count up only keeps
 * pods pending) and steps from there, and the on-demand pools of its role may step up by that much
 * more than maxStepUp;
 * (c) 10 may go below previous - maxStepDown when the previous counts were themselves over budget;
 * (d) 10b. Going to zero is still a scale-down for 11: a graph rolling out or not Ready holds it like
 * any other, for readinessTimeout at most.
 *
 * A held role (metrics missing; the caller passes need undefined) skips 2-5 and 7-8: each pool keeps
 * its baseline, except that an unavailable Spot pool's replicas move to on-demand; 6, 9, 10 and 11 still
 * apply, so a schedule or minimum can raise a held pool and only a lowered maxReplicas or budget can
 * lower one.
 */
import { ROLES, type PolicySpec, type Role } from '../config/schema.js';
import type { PlannerState, PoolReadinessState } from '../planner/state.js';
import type { ConstraintEffect, Observation } from '../planner/types.js';
import { clampPool, clampRole, type Raise } from './bounds.js';
import { allocateBudget, budgetMode, sloPressure, trimToBudget, type TrimPool } from './budget.js';
import { poolLayout, replicasToUnits, unitsToReplicas } from './layout.js';
import { applyReadinessGate, scaleUpHeld } from './readiness.js';
import { budgetAfterGate } from './gate-budget.js';
import { own } from '../config/records.js';
import { observedReplicas } from '../planner/observed.js';
import { scheduledMins } from './schedules.js';
import { evictionHeadroom, moveFromUnavailableSpot, splitRole, spotAvailability, spotShare, type SplitInput } from './spot.js';
import { recentRecommendations, stabilize, type RecommendationEntry } from './stabilization.js';
import { stepLimit } from './step.js';

export { poolLayout, type PoolLayout, type RoleLayout } from './layout.js';
export { scheduledMins, scheduleActiveSince } from './schedules.js';
export { lastFiringWithin } from './cron.js';
export { allocateBudget, trimToBudget, sloPressure, budgetMode } from './budget.js';
export { evictionHeadroom, spotShare, splitRole, spotAvailability } from './spot.js';
export { stabilize } from './stabilization.js';
export { stepLimit } from './step.js';
export { applyReadinessGate } from './readiness.js';

/** Stabilization entries kept at most (a guard for very frequent ticks; windows are normally far shorter). */
const MAX_RECOMMENDATIONS = 1000;

export interface ConstraintInput {
  spec: PolicySpec;
  observation: Observation;
  state: PlannerState;
  now: number;
  /** Raw need per role in role units (see RoleLayout.unitGpus); undefined = the role is held. */
  need: Record<Role, number | undefined>;
  /** Per pool (spec.pools index): what a held role keeps (last desired, else observed desired, else minReplicas). */
  baseline: readonly number[];
  /** Per pool: the previous desired count, undefined on the very first tick (no step limit, no stabilization). */
  previous: readonly (number | undefined)[];
  /**
   * Set when something the decision needs is unknown: per pool the highest count known for it (undefined when none
   * is), which no pool may end below, and what was unknown (for the explanation).
   */
  floor?: { counts: readonly (number | undefined)[]; reason: string };
  /**
   * Per role whose need a hold raised (policies/sla/crowd-hold.ts, pause-hold.ts): the need without the hold over the
   * need with it. The recommendation the scale-down window remembers for the role's pools is scaled by it, so the window does
   * not keep the hold's level once the hold has let go: the hold has its own memory. Example: decode need 6 raised
   * from 2 -> 1/3; a pool recommended 4 is remembered as ceil(4 / 3) = 2 (at least its minimum).
   */
  unheldShare?: Partial<Record<Role, number>>;
  /**
   * Roles the scale-to-zero rule sends to zero at once (planner/idle.ts), with the reason for the explanation: their
   * pools go to their minimums after the budget trim, whatever the scale-down window and step limits did, and before
   * the readiness gate, which holds that scale-down as it holds any other.
   */
  toZero?: { roles: readonly Role[]; reason: string };
  /**
   * The policy's scale-down window for this tick, when shorter than stabilization.scaleDown (policies/sla/budget-window.ts),
   * and why. A longer one is ignored: the spec's window is the longest a recommendation is kept.
   */
  scaleDownWindow?: { seconds: number; reason: string };
}

export interface ConstraintOutput {
  /** Desired replicas per pool (spec.pools index). */
  desired: number[];
  effects: ConstraintEffect[];
  warnings: string[];
  budget: { maxGpus?: number; usedGpus: number; shortfallGpus: number };
  /** For the next state. */
  recommendations: RecommendationEntry[];
  lastEviction: Record<string, number>;
  /** Active schedules, described. */
  activeSchedules: string[];
  /** For the next state: the readiness gate's clocks. */
  readiness: Record<string, PoolReadinessState>;
}

/**
 * The recommendation the scale-down window keeps: scaled by `unheldShare` for the roles a hold raised; those
 * pools' recommendations themselves go in `held`, which the scale-up window reads (stabilization.ts).
 */
function rememberedRecommendation(spec: PolicySpec, recommendation: Record<string, number>, mins: readonly number[], share: ConstraintInput['unheldShare']): Pick<RecommendationEntry, 'desired' | 'held'> {
  if (!share) return { desired: recommendation };
  const out: Record<string, number> = { ...recommendation };
  const held: Record<string, number> = {};
  let raised = false;
  spec.pools.forEach((pool, i) => {
    const s = share[pool.role];
    const target = recommendation[pool.name];
    if (s === undefined || !(s >= 0 && s < 1) || target === undefined) return;
    out[pool.name] = Math.max(mins[i] as number, Math.ceil(target * s));
    if (out[pool.name] !== target) {
      held[pool.name] = target;
      raised = true;
    }
  });
  return raised ? { desired: out, held } : { desired: out };
}

export function applyConstraints(input: ConstraintInput): ConstraintOutput {
  const { spec, observation, state, now, need, baseline, previous } = input;
  const layout = poolLayout(spec);
  const pools = spec.pools;
  const n = pools.length;
  const effects: ConstraintEffect[] = [];
  const warnings: string[] = [];

  // 0-1. Schedules and Spot availability.
  const schedules = scheduledMins(spec, now);
  warnings.push(...schedules.warnings);
  const availability = spotAvailability(spec, observation, state, now, schedules.mins);
  // 1b. Uncertainty floor: the highest count known to run becomes a minimum, like a schedule's.
  const mins = schedules.mins.slice();
  const raised: (Raise | undefined)[] = schedules.raisedBy.map((label) => (label === undefined ? undefined : { kind: 'schedule', label }));
  if (input.floor) {
    for (let i = 0; i < n; i++) {
      const known = input.floor.counts[i];
      if (known === undefined) continue;
      // An unavailable Spot pool does not have what it lost: at most its cap (what it still has).
      const have = availability.unavailable[i] !== undefined ? Math.min(known, availability.caps[i]!) : known;
      const lowest = Math.min(pools[i]!.maxReplicas, have);
      if (lowest > mins[i]!) {
        mins[i] = lowest;
        raised[i] = { kind: 'hold', label: input.floor.reason };
      }
    }
  }

  const counts: number[] = new Array<number>(n).fill(0);
  const moved: Record<Role, number> = { prefill: 0, decode: 0 };
  const gross: Record<Role, number> = { prefill: 0, decode: 0 };
  const roleMins: Record<Role, number> = { prefill: 0, decode: 0 };
  const roleScheduled: Record<Role, number> = { prefill: 0, decode: 0 };
  const held: Record<Role, boolean> = { prefill: need.prefill === undefined, decode: need.decode === undefined };
  const splitInputs = {} as Record<Role, SplitInput>;
  let heldUp: boolean[] | undefined;

  for (const role of ROLES) {
    const rl = layout.roles[role];
    const units = (i: number, replicas: number) => replicasToUnits(replicas, rl.unitGpus, pools[i]!.gpusPerReplica);
    if (rl.all.length === 0) {
      const asked = need[role];
      // The count is in the policy's replicas, which have no size here: the GPU-sizing policies (sla, dynamo) say that
      // they sized such a role in replicas of 1 GPU (policies/common.ts roleReplicaGpus).
      if (asked !== undefined && asked > 0) warnings.push(`the policy asks for ${asked} ${role} replica(s) but no pool has role ${role}, so nothing serves that need; add a ${role} pool`);
      continue;
    }
    if (rl.mixedSizes) warnings.push(`${role} pools differ in gpusPerReplica; counted in replicas of ${rl.unitGpus} GPUs`);
    const split: SplitInput = { role, layout: rl, pools, spot: spec.spot, mins, raised, caps: availability.caps, unavailable: availability.unavailable };
    // 5b. Placement: from the second tick on, with pools on both sides.
    if (spec.spot.placement === 'one-pool' && rl.spot.length > 0 && rl.onDemand.length > 0 && rl.all.every((i) => previous[i] !== undefined)) {
      heldUp ??= scaleUpHeld({ spec, observation, state: state.readiness, now });
      split.placement = { previous: previous as number[], held: heldUp, maxStepUp: spec.limits.maxStepUp, maxStepDown: spec.limits.maxStepDown };
    }
    splitInputs[role] = split;
    let baseMin = 0;
    let max = 0;
    for (const i of rl.all) {
      baseMin += units(i, pools[i]!.minReplicas);
      roleScheduled[role] += units(i, schedules.mins[i]!);
      roleMins[role] += units(i, mins[i]!);
      max += units(i, pools[i]!.maxReplicas);
    }
    const asked = need[role];
    if (asked === undefined) {
      for (const i of rl.all) counts[i] = baseline[i]!;
      moved[role] = moveFromUnavailableSpot(split, counts, effects);
      for (const i of rl.all) gross[role] += units(i, counts[i]!);
      continue;
    }
    let total = Math.max(0, Math.ceil(asked));
    // 2. Eviction headroom, on the Spot part the split would give: what is left after the on-demand pools' minimums.
    // Example: need 12, on-demand minimums 10, maxShare 1 -> 2 on Spot -> ceil(2 x 0.05 x 180 / 3600) = +1.
    if (rl.spot.length > 0) {
      let spotLo = 0;
      let spotHi = 0;
      let onDemandLo = 0;
      let startup = 0;
      for (const i of rl.spot) {
        spotLo += units(i, mins[i]!);
        spotHi += units(i, pools[i]!.maxReplicas);
        startup = Math.max(startup, pools[i]!.startupSeconds);
      }
      for (const i of rl.onDemand) onDemandLo += units(i, mins[i]!);
      const spotPart = spotShare(total, spec.spot, { spotLo, spotHi, onDemandLo: rl.onDemand.length > 0 ? onDemandLo : undefined });
      const headroom = evictionHeadroom(spotPart, spec.spot, startup);
      if (headroom > 0) {
        effects.push({
          constraint: 'eviction-headroom', role, from: total, to: total + headroom,
          detail: `+${headroom} ${role}: ${spotPart} Spot replica(s) x ${spec.spot.evictionRatePerHour} evictions/h x ${startup}s startup / 3600 = ${((spotPart * spec.spot.evictionRatePerHour * startup) / 3600).toFixed(3)} expected missing, rounded up`,
        });
        total += headroom;
      }
    }
    // 3. Role min/max.
    gross[role] = clampRole(role, total, { baseMin, min: roleScheduled[role], held: roleMins[role], max }, effects, schedules.active);
  }

  // 4. GPU budget over the role totals.
  const maxGpus = spec.budget.maxGpus;
  const allowance = { ...gross };
  let shortfallGpus = 0;
  if (maxGpus !== undefined) {
    const mode = budgetMode(spec);
    const allocation = allocateBudget({
      maxGpus,
      mode,
      gross,
      mins: roleMins,
      gpus: { prefill: layout.roles.prefill.unitGpus, decode: layout.roles.decode.unitGpus },
      fixed: held,
      pressure: mode === 'pressure' ? sloPressure(spec, observation) : undefined,
    });
    Object.assign(allowance, allocation.allowance);
    shortfallGpus = allocation.shortfallGpus;
    effects.push(...allocation.effects);
    warnings.push(...allocation.warnings);
  }

  // 5. Spot split of each (not held) role's total.
  for (const role of ROLES) {
    const split = splitInputs[role];
    if (split === undefined || held[role]) continue;
    const result = splitRole(split, allowance[role], counts, effects, warnings);
    moved[role] = result.moved;
    if (result.placed < allowance[role]) {
      effects.push({ constraint: 'max', role, from: allowance[role], to: result.placed, detail: `only ${result.placed} ${role} replica(s) fit: Spot pools unavailable and on-demand pools at maxReplicas` });
    }
    // Each pool starts from its minimum, so a side whose share is below its pools' minimums holds more than the total.
    // The split gives each side at least its minimums, so only a total below the role's minimums does this (step 3
    // keeps totals above them); the effect keeps every replica explained whatever the total.
    // (What a pool of another replica size than the role's unit rounds up to is not a minimum: it is left unexplained.)
    if (result.overMinimums > 0) {
      const from = Math.min(result.placed, allowance[role]);
      const to = from + result.overMinimums;
      effects.push({ constraint: 'min', role, from, to, detail: `${role}: each pool kept at its minimum in the Spot split: ${to} replica(s), not ${from}` });
    }
  }

  // 6-9. Per pool: bounds, stabilization, step limits, hard bounds.
  const recommendation: Record<string, number> = {};
  // Entries are kept for the spec's windows whatever this tick reads, so a full window reads them again.
  const recent = recentRecommendations(state.recommendations, now, Math.max(spec.stabilization.scaleDown, spec.stabilization.scaleUp));
  const shorter = input.scaleDownWindow;
  const windows =
    shorter && shorter.seconds >= 0 && shorter.seconds < spec.stabilization.scaleDown ? { ...spec.stabilization, scaleDown: shorter.seconds } : spec.stabilization;
  const windowNote = windows !== spec.stabilization && shorter ? ` (not ${spec.stabilization.scaleDown}s: ${shorter.reason})` : '';
  const desired: number[] = new Array<number>(n).fill(0);
  const trimPools: TrimPool[] = [];
  const silent: ConstraintEffect[] = [];
  for (let i = 0; i < n; i++) {
    const pool = pools[i]!;
    const role = pool.role;
    const target = clampPool(pool, counts[i]!, mins[i]!, raised[i], effects);
    recommendation[pool.name] = target;
    let prev = previous[i];
    const cap = availability.caps[i]!;
    const reason = availability.unavailable[i];
    if (reason !== undefined && prev !== undefined && prev > cap) {
      // The replicas above the cap are not there (evicted or unschedulable): count from what is.
      if (!effects.some((e) => e.constraint === 'spot-unavailable' && e.pool === pool.name)) {
        effects.push({ constraint: 'spot-unavailable', pool: pool.name, role, from: prev, to: cap, detail: `${pool.name}: ${reason}; counting from its ${cap} available replica(s), not ${prev}` });
      }
      prev = cap;
    }
    let value = target;
    let stepped = target;
    if (prev !== undefined && !held[role]) {
      const rl = layout.roles[role];
      const extraUp = pool.capacity === 'on-demand' && moved[role] > 0 ? unitsToReplicas(moved[role], rl.unitGpus, pool.gpusPerReplica) : 0;
      const { maxStepUp, maxStepDown } = spec.limits;
      stepped = clampPool(pool, stepLimit(prev, target, maxStepUp, maxStepDown, extraUp).value, mins[i]!, undefined, silent);
      // 7. Stabilization.
      const stable = stabilize(pool.name, prev, target, recent, now, windows);
      if (stable.heldBy !== undefined) {
        const { direction, level } = stable.heldBy;
        const window = direction === 'down' ? windows.scaleDown : windows.scaleUp;
        effects.push({
          constraint: 'stabilization', pool: pool.name, role, from: target, to: stable.value,
          detail: direction === 'down'
            ? `${pool.name}: highest recommendation in the last ${window}s${windowNote} was ${level}; scale-down from ${prev} to ${target} deferred`
            : `${pool.name}: lowest recommendation in the last ${window}s was ${level}; scale-up from ${prev} to ${target} deferred`,
        });
      }
      // 8. Step limits.
      const step = stepLimit(prev, stable.value, maxStepUp, maxStepDown, extraUp);
      if (step.bound !== undefined) {
        effects.push({
          constraint: step.bound, pool: pool.name, role, from: stable.value, to: step.value,
          detail: step.bound === 'step-up'
            ? `${pool.name}: at most ${maxStepUp}${extraUp > 0 ? ` + ${extraUp} moved from Spot` : ''} more than ${prev} per tick`
            : `${pool.name}: at most ${maxStepDown} fewer than ${prev} per tick`,
        });
      }
      // 9. Hard bounds.
      value = clampPool(pool, step.value, mins[i]!, raised[i], effects);
    }
    desired[i] = value;
    trimPools.push({ name: pool.name, role, gpus: pool.gpusPerReplica, min: mins[i]!, previous: prev, target, stepped });
  }

  // 10. Budget trim.
  if (maxGpus !== undefined) {
    const over = trimToBudget(trimPools, desired, maxGpus, effects);
    if (over > 0) {
      const why = input.floor ? `pool minimums (with schedules, and the counts kept while ${input.floor.reason})` : 'pool minimums (with schedules)';
      warnings.push(`budget: ${over} GPU(s) over spec.budget.maxGpus ${maxGpus} because ${why} do not fit`);
    }
  }

  // 10b. Scale to zero at once: the idle time was the wait, so neither the scale-down window nor the step limit spreads it.
  if (input.toZero) {
    for (const role of input.toZero.roles) {
      for (const i of layout.roles[role].all) {
        const from = desired[i]!;
        const to = mins[i]!;
        if (from <= to) continue;
        desired[i] = to;
        effects.push({ constraint: 'scale-to-zero', pool: pools[i]!.name, role, from, to, detail: `${pools[i]!.name}: ${input.toZero.reason}; at once, not stepped` });
      }
    }
  }

  // 11. Readiness gate.
  const gate = applyReadinessGate({ spec, observation, state: state.readiness, now, desired, mins, unavailable: availability.unavailable });
  effects.push(...gate.effects);
  warnings.push(...gate.warnings);
  let gated = gate.desired;
  if (maxGpus !== undefined && gate.effects.length > 0) {
    // 11b. The gate's holds do not make room for scale-ups the budget paid for with them (gate-budget.ts).
    const current = pools.map((p) => observedReplicas(own(observation.pools, p.name)?.desired));
    const fitted = budgetAfterGate({ pools, gated, decided: desired, rolling: gate.rolling, current, mins, maxGpus });
    gated = fitted.desired;
    effects.push(...fitted.effects);
    let before = 0;
    let after = 0;
    for (let i = 0; i < n; i++) {
      before += desired[i]! * pools[i]!.gpusPerReplica;
      after += gated[i]! * pools[i]!.gpusPerReplica;
    }
    if (after > maxGpus && after > before) warnings.push(`budget: ${after - Math.max(before, maxGpus)} GPU(s) over spec.budget.maxGpus ${maxGpus} while the readiness gate holds pools at their current counts`);
  }

  let usedGpus = 0;
  let costPerHour = 0;
  for (let i = 0; i < n; i++) {
    usedGpus += gated[i]! * pools[i]!.gpusPerReplica;
    costPerHour += gated[i]! * pools[i]!.gpusPerReplica * pools[i]!.costPerGpuHour;
  }
  const maxCost = spec.budget.maxCostPerHour;
  if (maxCost !== undefined && costPerHour > maxCost) {
    warnings.push(`cost ${costPerHour.toFixed(2)}/h is over spec.budget.maxCostPerHour ${maxCost} (the cost ceiling is reported, not enforced)`);
  }

  const recommendations = [...recent, { time: now, ...rememberedRecommendation(spec, recommendation, mins, input.unheldShare) }];
  if (recommendations.length > MAX_RECOMMENDATIONS) recommendations.splice(0, recommendations.length - MAX_RECOMMENDATIONS);
  return {
    desired: gated,
    effects,
    warnings,
    budget: { maxGpus, usedGpus, shortfallGpus },
    recommendations,
    lastEviction: availability.lastEviction,
    activeSchedules: schedules.active,
    readiness: gate.state,
  };
}
