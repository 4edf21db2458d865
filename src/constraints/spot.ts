/**
 * Spot rules: how one role's replicas are split between its Spot and on-demand pools.
 *
 * 1. Availability. A Spot pool is unavailable when it lost replicas (evictions or eviction notices)
 *    within `spot.evictionCooldown`, or when its pods have been pending longer than `spot.pendingGrace`.
 *    An unavailable pool may keep the replicas it has ready but gets no new ones; the rest of its
 *    share moves to on-demand at once ("eviction storms: need moves to on-demand within one tick").
 * 2. Eviction headroom. While an evicted Spot replica is being replaced (startupSeconds), the role is
 *    one short. By Little's law the expected number missing at any moment is
 *      spotReplicas * evictionRatePerHour * startupSeconds / 3600,
 *    and we add ceil() of it as extra replicas. Example: 7 Spot replicas, 0.05/h, 240 s ->
 *    7 * 0.05 * 240 / 3600 = 0.023 -> 1 extra replica; 40 replicas at 0.5/h, 600 s -> 3.33 -> 4.
 *    The ceil means "N + 1" whenever Spot is used and the rate is not 0: a single eviction is the
 *    likely event and one spare covers it. The notice (30-120 s) does not shorten the gap: our
 *    reaction is bound to the next tick and the replacement still has to start. Correlated
 *    evictions (a whole pool) are not headroom's job; rule 1 handles them.
 *    The Spot replicas counted are those the split (rule 3) places, after the on-demand pools'
 *    minimums. The headroom is added to the role's total before the split, so the Spot cap and
 *    on-demand floor apply to it too, and under a GPU budget it is the first thing given up (it is part of the
 *    total the budget shrinks).
 * 3. Split. Spot is preferred (cheaper) up to
 *      min(floor(maxShare * total), total - max(onDemandFloor, onDemandLo)),
 *    never below the Spot pools' minimums, where onDemandLo is what the on-demand pools' minimums
 *    (minReplicas, raised by schedules and holds) run whatever the split gives them: Spot has what
 *    is left after them, so they are part of the total, not extra. Example: total 10, maxShare 0.7,
 *    floor 1 -> Spot 7, on-demand 3; total 2 -> Spot min(1, 1) = 1, on-demand 1; total 12,
 *    maxShare 1, on-demand minimums 10 -> Spot min(12, 12 - 10) = 2, on-demand 10 (12 replicas,
 *    not 11 on Spot beside the 10). If the on-demand pools are full the excess goes back to Spot
 *    (with a warning) rather than being dropped.
 *    Within Spot the replicas are spread evenly over the pools (separate failure domains, as SkyServe
 *    does); within on-demand they fill the pools in spec order (the order is the preference).
 * 5. Placement (spot.placement `one-pool`, an opt-in; from the second tick on). The readiness gate
 *    holds a pool that is becoming ready, so capacity ordered on both sides at once leaves no side
 *    free for the next order: a load still rising waits a whole startup for it. With `one-pool` a
 *    scale-up goes to one side alone where it fits (Spot first, within what rule 3 allows, then
 *    on-demand), a side the gate holds takes no increase (Spot's share then goes to on-demand), and
 *    a scale-down comes off on-demand first while Spot is within its share, so that replicas do not
 *    move between sides while the total stays. The price: more of the role runs on on-demand than
 *    the share split puts there. See placeSides for the numbers.
 */
import type { PolicySpec, PoolSpec, Role, SpotSpec } from '../config/schema.js';
import type { PlannerState } from '../planner/state.js';
import { observedReplicas } from '../planner/observed.js';
import type { ConstraintEffect, Observation } from '../planner/types.js';
import { own } from '../config/records.js';
import type { Raise } from './bounds.js';
import { replicasToUnits, unitsToReplicas, type RoleLayout } from './layout.js';

export interface SpotAvailability {
  /** Per pool (spec index): why it is unavailable, or undefined when it may grow. */
  unavailable: (string | undefined)[];
  /** Per pool: the most replicas it may have now (maxReplicas, or its ready count when unavailable, >= min). */
  caps: number[];
  /** Updated pool -> last eviction time (epoch ms), entries older than the cool-down dropped. */
  lastEviction: Record<string, number>;
}

export function spotAvailability(spec: PolicySpec, observation: Observation, state: PlannerState, now: number, mins: readonly number[]): SpotAvailability {
  const cooldownMs = spec.spot.evictionCooldown * 1000;
  const lastEviction: Record<string, number> = {};
  for (const [name, time] of Object.entries(state.lastEviction)) if (now - time < cooldownMs) lastEviction[name] = time;
  const unavailable: (string | undefined)[] = [];
  const caps: number[] = [];
  spec.pools.forEach((pool, i) => {
    const seen = own(observation.pools, pool.name);
    const lost = (observedReplicas(seen?.evicted) ?? 0) + (observedReplicas(seen?.evictionNotices) ?? 0);
    if (lost > 0) lastEviction[pool.name] = now;
    let reason: string | undefined;
    if (pool.capacity === 'spot') {
      const evictedAt = own(lastEviction, pool.name);
      const pending = observedReplicas(seen?.pending) ?? 0;
      const pendingSeconds = seen?.pendingSeconds !== undefined && Number.isFinite(seen.pendingSeconds) && seen.pendingSeconds >= 0 ? seen.pendingSeconds : 0;
      if (lost > 0) {
        reason = `${lost} eviction(s) or notice(s) this tick`;
      } else if (evictedAt !== undefined) {
        reason = `evicted ${Math.round((now - evictedAt) / 1000)}s ago (cool-down ${spec.spot.evictionCooldown}s)`;
      } else if (pending > 0 && pendingSeconds > spec.spot.pendingGrace) {
        reason = `${pending} replica(s) pending for ${Math.round(pendingSeconds)}s (grace ${spec.spot.pendingGrace}s)`;
      }
    }
    unavailable.push(reason);
    const min = mins[i] ?? 0;
    if (reason === undefined) {
      caps.push(pool.maxReplicas);
    } else {
      const desired = observedReplicas(seen?.desired) ?? observedReplicas(own(state.last, pool.name)) ?? 0;
      // The target's ready count may lag the pod informers: a replica lost this tick is not ready, whatever the
      // status still says. Example: desired 3, status ready 3 (not yet updated), 3 evicted -> min(3, 3 - 3) = 0;
      // once the status has caught up (ready 0) the same rule gives min(0, 0) = 0, never a double subtraction.
      const statusReady = observedReplicas(seen?.ready);
      const ready =
        statusReady !== undefined ? Math.min(statusReady, Math.max(0, desired - lost)) : Math.max(0, desired - (observedReplicas(seen?.pending) ?? 0) - lost);
      caps.push(Math.max(min, Math.min(ready, pool.maxReplicas)));
    }
  });
  return { unavailable, caps, lastEviction };
}

/** Expected Spot replicas missing while replacements start, rounded up (see rule 2 above). */
export function evictionHeadroom(spotReplicas: number, spot: SpotSpec, startupSeconds: number): number {
  if (spotReplicas <= 0 || spot.evictionRatePerHour <= 0) return 0;
  return Math.ceil((spotReplicas * spot.evictionRatePerHour * startupSeconds) / 3600);
}

/** A role's pools as the Spot share sees them, in role units. */
export interface ShareRange {
  /** The Spot pools' minimums and maxReplicas, summed. */
  spotLo: number;
  spotHi: number;
  /** The on-demand pools' minimums (minReplicas, schedules, holds), summed; undefined when the role has no on-demand pool. */
  onDemandLo: number | undefined;
}

/** The three bounds of rule 3 on Spot's share of `total`: by maxShare, by onDemandFloor, by the on-demand pools' minimums. */
export function shareBounds(total: number, spot: SpotSpec, onDemandLo: number): { byShare: number; byFloor: number; byMinimums: number } {
  return { byShare: Math.floor(spot.maxShare * total), byFloor: total - spot.onDemandFloor, byMinimums: total - onDemandLo };
}

/**
 * Spot's share of a role total before availability (rule 3): min(floor(maxShare * total), total - onDemandFloor,
 * total - onDemandLo), within the Spot pools' range. Example: total 12, maxShare 1, floor 1, on-demand minimums 10 ->
 * min(12, 11, 2) = 2; the same with minimums 1 -> 11.
 */
export function spotShare(total: number, spot: SpotSpec, range: ShareRange): number {
  if (range.onDemandLo === undefined) return Math.max(range.spotLo, Math.min(total, range.spotHi));
  const { byShare, byFloor, byMinimums } = shareBounds(total, spot, range.onDemandLo);
  return Math.max(range.spotLo, Math.min(byShare, byFloor, byMinimums, range.spotHi));
}

export interface SplitInput {
  role: Role;
  layout: RoleLayout;
  pools: readonly PoolSpec[];
  spot: SpotSpec;
  /** Effective minimum / current cap / maxReplicas per pool (spec index). */
  mins: readonly number[];
  /** Per pool: why its minimum is above its minReplicas (a schedule or a hold), for the explanation. */
  raised?: readonly (Raise | undefined)[];
  caps: readonly number[];
  unavailable: readonly (string | undefined)[];
  /** Rule 5, when spot.placement is `one-pool` and every pool of the role has a previous count. */
  placement?: {
    /** Per pool: the previous desired count. */
    previous: readonly number[];
    /** Per pool: the readiness gate would hold a scale-up now (readiness.ts scaleUpHeld). */
    held: readonly boolean[];
    maxStepUp: number;
    maxStepDown: number;
  };
}

export interface SplitResult {
  /** Role units placed (less than asked only when every pool is at its cap). */
  placed: number;
  /** Units moved from unavailable Spot pools to on-demand. */
  moved: number;
  /**
   * Role units the pools' minimums hold above what the split gives their side, rounded down (a side's share below
   * the sum of its pools' minimums): the split places that much more than `placed`. Rule 3 gives each side at least
   * its pools' minimums, so this needs a total below the role's minimums. Example: total 8 over on-demand pools of
   * minimums 6 and 4 (Spot none) -> 2.
   */
  overMinimums: number;
}

/** One pool of the role as the split sees it; `count` is what the split has given it so far. */
interface Slot {
  /** Index in spec.pools: where the count is written. */
  index: number;
  pool: PoolSpec;
  min: number;
  cap: number;
  unavailable?: string;
  count: number;
}

/** The pools at `indices` (from the role's layout) with their minimum, cap and availability. */
function slotsOf(input: SplitInput, indices: readonly number[]): Slot[] {
  return indices.flatMap((index) => {
    const pool = input.pools[index];
    if (pool === undefined) return [];
    return [{ index, pool, min: input.mins[index] ?? 0, cap: input.caps[index] ?? 0, unavailable: input.unavailable[index], count: 0 }];
  });
}

/** Role units of `replicas` of a pool. */
function units(input: SplitInput, pool: PoolSpec, replicas: number): number {
  return replicasToUnits(replicas, input.layout.unitGpus, pool.gpusPerReplica);
}

/**
 * Give each pool its minimum, then `amount - sum of minimums` more; `spread` evens out, else spec order. Writes replicas
 * into out; returns the role units placed. What is left to place is counted in GPUs, so a pool whose replicas are
 * smaller than the role's unit takes as many as the GPUs ask for. Example: 1 unit of 8 GPUs over a Spot pool of 4-GPU
 * replicas -> 2 replicas (8 GPUs), not every replica up to its cap (one of 4 GPUs is 0 whole units).
 */
function fill(input: SplitInput, slots: Slot[], amount: number, useCaps: boolean, spread: boolean, out: number[]): { placed: number; overMinimums: number } {
  const hi = (s: Slot) => (useCaps ? s.cap : s.pool.maxReplicas);
  const unit = input.layout.unitGpus;
  let left = amount * unit;
  for (const s of slots) {
    s.count = s.min;
    left -= s.count * s.pool.gpusPerReplica;
  }
  const overMinimums = left < 0 ? Math.floor(-left / unit) : 0;
  if (spread) {
    while (left > 0) {
      let pick: Slot | undefined;
      for (const s of slots) {
        if (s.count >= hi(s)) continue;
        if (pick === undefined || s.count < pick.count) pick = s;
      }
      if (pick === undefined) break;
      pick.count += 1;
      left -= pick.pool.gpusPerReplica;
    }
  } else {
    for (const s of slots) {
      if (left <= 0) break;
      const room = hi(s) - s.count;
      const add = Math.max(0, Math.min(room, Math.ceil(left / s.pool.gpusPerReplica)));
      s.count += add;
      left -= add * s.pool.gpusPerReplica;
    }
  }
  for (const s of slots) out[s.index] = s.count;
  // GPUs not placed (every pool at its cap), as whole units short.
  return { placed: amount - Math.max(0, Math.ceil(left / unit)), overMinimums };
}

/** Why a pool's minimum is what it is, for the explanation: ` (schedule LABEL)`, ` (held: REASON)` or nothing (its minReplicas). */
function minimumReason(raised: Raise | undefined): string {
  if (raised === undefined) return '';
  return raised.kind === 'schedule' ? ` (schedule ${raised.label})` : ` (held: ${raised.label})`;
}

function sumUnits(input: SplitInput, slots: readonly Slot[], perPool: (s: Slot) => number): number {
  let sum = 0;
  for (const s of slots) sum += units(input, s.pool, perPool(s));
  return sum;
}

/**
 * Split `total` role units over the role's pools (rule 3), writing replicas per pool into `out`.
 * Effects (spot-cap, on-demand-floor, spot-unavailable) are appended to `effects`.
 */
export function splitRole(input: SplitInput, total: number, out: number[], effects: ConstraintEffect[], warnings: string[]): SplitResult {
  const { layout, spot, role } = input;
  const spotSlots = slotsOf(input, layout.spot);
  const odSlots = slotsOf(input, layout.onDemand);
  const spotLo = sumUnits(input, spotSlots, (s) => s.min);
  const spotHi = sumUnits(input, spotSlots, (s) => s.pool.maxReplicas);
  const spotAvail = sumUnits(input, spotSlots, (s) => s.cap);
  const odLo = sumUnits(input, odSlots, (s) => s.min);
  const odHi = sumUnits(input, odSlots, (s) => s.pool.maxReplicas);
  const hasOnDemand = odSlots.length > 0;
  const hasSpot = spotSlots.length > 0;

  const spotWanted = hasSpot ? spotShare(total, spot, { spotLo, spotHi, onDemandLo: hasOnDemand ? odLo : undefined }) : 0;
  if (hasSpot && hasOnDemand) {
    const uncapped = Math.min(total, spotHi);
    const { byShare, byFloor, byMinimums } = shareBounds(total, spot, odLo);
    // The bound that binds is named; between equals, the share, then the floor (the minimums are named only where they
    // hold more than both).
    if (spotWanted < uncapped) {
      if (byShare <= byFloor && byShare <= byMinimums) {
        effects.push({
          constraint: 'spot-cap', role, from: uncapped, to: spotWanted,
          detail: `Spot share capped at ${Math.round(spot.maxShare * 100)}% of ${total} ${role} replicas: ${spotWanted} on Spot, ${total - spotWanted} on on-demand`,
        });
      } else if (byFloor <= byMinimums) {
        effects.push({
          constraint: 'on-demand-floor', role, from: uncapped, to: spotWanted,
          detail: `${spot.onDemandFloor} ${role} replica(s) kept on on-demand whatever Spot holds: ${spotWanted} on Spot`,
        });
      } else {
        const held = odSlots.filter((s) => s.min > 0).map((s) => `${s.pool.name} ${s.min}${minimumReason(input.raised?.[s.index])}`);
        effects.push({
          constraint: 'on-demand-floor', role, from: uncapped, to: spotWanted,
          detail: `${odLo} of ${total} ${role} replica(s) run on on-demand at its pools' minimums (${held.join(', ')}), so Spot has the rest: ${spotWanted} on Spot, not ${uncapped}`,
        });
      }
    }
  }
  let spotGot = Math.min(spotWanted, spotAvail);
  const moved = spotWanted - spotGot;
  if (moved > 0) {
    const unavailable = spotSlots.filter((s) => s.unavailable !== undefined);
    const reasons = unavailable.map((s) => `${s.pool.name}: ${s.unavailable}`);
    effects.push({
      constraint: 'spot-unavailable', role, pool: unavailable.length === 1 ? unavailable[0]?.pool.name : undefined,
      from: spotWanted, to: spotGot,
      detail: `${moved} ${role} replica(s) moved from Spot to on-demand (${reasons.join('; ')})`,
    });
  }
  let odWanted = total - spotGot;
  if (odWanted > odHi && hasOnDemand) {
    const back = Math.min(odWanted - odHi, spotAvail - spotGot);
    if (back > 0) {
      spotGot += back;
      odWanted -= back;
      warnings.push(`${role}: on-demand pools are full (${odHi}); ${back} replica(s) over the Spot cap placed on Spot`);
    }
  }
  if (!hasOnDemand && hasSpot && spot.maxShare < 1) {
    warnings.push(`${role}: no on-demand pool, so spot.maxShare ${spot.maxShare} and onDemandFloor cannot apply`);
  }
  if (input.placement !== undefined && hasSpot && hasOnDemand) {
    const p = input.placement;
    const placed = placeSides({
      total,
      spotAllowed: spotGot,
      prevSpot: sumUnits(input, spotSlots, (s) => Math.min(p.previous[s.index] ?? 0, s.cap)),
      prevOnDemand: sumUnits(input, odSlots, (s) => p.previous[s.index] ?? 0),
      spotHeld: spotSlots.every((s) => p.held[s.index] === true || (p.previous[s.index] ?? 0) >= s.cap),
      onDemandHeld: odSlots.every((s) => p.held[s.index] === true),
      spotLo,
      onDemandLo: sumUnits(input, odSlots, (s) => s.min),
      onDemandHi: odHi,
      maxStepUp: p.maxStepUp,
      maxStepDown: p.maxStepDown,
    });
    if (placed.spot !== spotGot) {
      effects.push({ constraint: 'placement', role, from: spotGot, to: placed.spot, detail: `${role}: ${placed.why}: ${placed.spot} on Spot, ${total - placed.spot} on on-demand` });
      spotGot = placed.spot;
      odWanted = total - spotGot;
    }
  }
  const none = { placed: 0, overMinimums: 0 };
  const onSpot = hasSpot ? fill(input, spotSlots, spotGot, true, true, out) : none;
  const onDemand = hasOnDemand ? fill(input, odSlots, odWanted, false, false, out) : none;
  return { placed: onSpot.placed + onDemand.placed, moved, overMinimums: onSpot.overMinimums + onDemand.overMinimums };
}

export interface SidesInput {
  /** Role units to place. */
  total: number;
  /** The most Spot may hold: the share rules and availability (rule 3 and rule 1). */
  spotAllowed: number;
  /** Role units each side held last tick. */
  prevSpot: number;
  prevOnDemand: number;
  /** The readiness gate would hold a scale-up of every pool on the side (or it is at its cap). */
  spotHeld: boolean;
  onDemandHeld: boolean;
  spotLo: number;
  onDemandLo: number;
  onDemandHi: number;
  /** Per-pool step limits (spec.limits), in role units. */
  maxStepUp: number;
  maxStepDown: number;
}

/**
 * Rule 5: the Spot side's units for `total`, and why, given last tick's placement. With d = total - prevSpot -
 * prevOnDemand:
 *   d > 0: to Spot alone if it fits (prevSpot + d <= spotAllowed, d <= maxStepUp, Spot not held); else to on-demand
 *          alone if it fits; else, while Spot is held, Spot keeps what it has and on-demand takes the rest; else to
 *          both sides, Spot first up to spotAllowed, neither giving up replicas.
 *   d <= 0: Spot keeps min(prevSpot, spotAllowed) and on-demand gives up the rest, at most maxStepDown of it: beyond
 *          that Spot gives up the remainder, so the role comes down as fast as the share split would bring it.
 * Examples (maxShare 0.7, floor 1, both sides settled): 2 Spot + 2 on-demand -> 6: Spot may hold 4, so 4 + 2 (the
 * share split gives the same). -> 10: Spot may hold 7; Spot alone would need 8, so on-demand alone takes the 6: 2 + 8,
 * where the share split's 7 + 3 adds to both sides and leaves neither free for the next order. 1 on-demand -> 4: Spot
 * may hold 2; it cannot take the 3, on-demand can: 0 + 4. 4 + 4 -> 7: 4 + 3; -> 3: on-demand gives up 2 (maxStepDown),
 * Spot the other 3: 1 + 2.
 */
export function placeSides(x: SidesInput): { spot: number; why: string } {
  const d = x.total - x.prevSpot - x.prevOnDemand;
  const within = (spot: number) => Math.max(x.spotLo, Math.min(spot, x.spotAllowed, x.total - x.onDemandLo), x.total - x.onDemandHi);
  if (d > 0) {
    if (!x.spotHeld && x.prevSpot + d <= x.spotAllowed && d <= x.maxStepUp) {
      const why = x.onDemandHeld ? `on-demand is still becoming ready: the ${d} more go to Spot` : `the ${d} more go to Spot alone, on-demand stays free for the next order`;
      return { spot: within(x.prevSpot + d), why };
    }
    if (!x.onDemandHeld && x.prevSpot <= x.spotAllowed && x.prevOnDemand + d <= x.onDemandHi && d <= x.maxStepUp) {
      const why = x.spotHeld ? `Spot is still becoming ready: the ${d} more go to on-demand` : `the ${d} more go to on-demand alone, Spot stays free for the next order`;
      return { spot: within(x.prevSpot), why };
    }
    if (x.spotHeld && !x.onDemandHeld) return { spot: within(Math.min(x.prevSpot, x.spotAllowed)), why: `Spot is still becoming ready: the ${d} more go to on-demand` };
    const spot = within(Math.max(x.prevSpot, Math.min(x.spotAllowed, x.prevSpot + d)));
    return { spot, why: `the ${d} more go to both sides, Spot first up to its share; neither gives up replicas` };
  }
  let spot = Math.min(x.prevSpot, x.spotAllowed);
  const onDemandDown = x.prevOnDemand - (x.total - spot);
  if (onDemandDown > x.maxStepDown) spot -= onDemandDown - x.maxStepDown;
  return { spot: within(spot), why: d < 0 ? 'the scale-down comes off on-demand first' : 'the total stays: each side keeps its replicas' };
}

/**
 * For a held role: keep each pool's count, except that an unavailable Spot pool drops to its cap
 * and the difference goes to the role's on-demand pools (up to their maxReplicas). Writes into `counts`.
 * Returns the units moved.
 */
export function moveFromUnavailableSpot(input: SplitInput, counts: number[], effects: ConstraintEffect[]): number {
  const { layout, role } = input;
  const onDemand = slotsOf(input, layout.onDemand);
  let moved = 0;
  for (const s of slotsOf(input, layout.spot)) {
    const from = counts[s.index] ?? 0;
    if (s.unavailable === undefined || from <= s.cap) continue;
    counts[s.index] = s.cap;
    const lost = units(input, s.pool, from) - units(input, s.pool, s.cap);
    let left = lost;
    for (const od of onDemand) {
      if (left <= 0) break;
      const current = counts[od.index] ?? 0;
      const add = Math.min(od.pool.maxReplicas - current, unitsToReplicas(left, layout.unitGpus, od.pool.gpusPerReplica));
      if (add <= 0) continue;
      counts[od.index] = current + add;
      left -= units(input, od.pool, add);
    }
    moved += lost - Math.max(left, 0);
    effects.push({
      constraint: 'spot-unavailable', role, pool: s.pool.name, from, to: s.cap,
      detail: `held ${role}: ${s.pool.name} ${s.unavailable}; ${lost - Math.max(left, 0)} replica(s) moved to on-demand`,
    });
  }
  return moved;
}
