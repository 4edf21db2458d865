/**
 * `pauseHold` (spec.sla.improvements.pauseHold): a pause is not a trend. While the graph sees no demand at all (no
 * request in the window and an empty queue), for up to PAUSE_HOLD_SECONDS after the last demand, each role's need is
 * at least its PAUSE_KEEP share of the replicas it ran when the pause began, rounded up.
 *
 * A window without a single request says nothing about the load that comes back, and traffic that stops outright (a
 * batch client between runs, a caller failing over and back) tends to come back at about the level it left. Sized on
 * the forecast, the need drops to the minimum, the scale-down window lets the replicas go five minutes later, and the
 * load that returns meets one replica for a startup time: minutes of requests missed at each return, more than a 10%
 * miss budget allows when the busy spells last ten minutes. Kept replicas serve the first minutes of a return, and the
 * rise is then answered as any rise.
 *
 * Decode keeps more than prefill: a decode pool short of replicas when the load returns runs every request it serves
 * in one over-full batch, so each of them misses the ITL target until capacity arrives, while a short prefill pool
 * only queues, and a TTFT target of seconds absorbs part of that queue. With one share for both roles, every miss at a
 * return on the idle-gap family's tuning seeds was an ITL miss.
 *
 * The share is of what ran or was starting when the pause began (planner/decide.ts carries it in the state as
 * pauseRunning, and keeps through a tick whose demand is unknown), not of what runs now: it does not compound tick
 * after tick, and replicas ordered just before the requests stopped count. The scale-down window keeps the level of the last busy tick for its length, then the count
 * falls to the hold. The window remembers the need without the hold (planner/decide.ts holdShares), so the hold's
 * level is not kept a window longer once it lets go, and in a fleet it is a soft layer: within a priority, another
 * graph's load is served before it.
 * Example (scale-down window 300 s): 5 prefill and 6 decode replicas when the requests stop -> 5 and 6 for 300 s,
 * then ceil(0.6 x 5) = 3 prefill and ceil(0.7 x 6) = 5 decode until 1800 s after the last demand; from then on the
 * forecast's need alone, as for any quiet graph. With `scaleToZero`, a role idle for `idleSeconds` still goes to zero:
 * the idle rule decides after the policy (planner/idle.ts).
 *
 * PAUSE_KEEP and PAUSE_HOLD_SECONDS were chosen on tuning seeds 1-12 of the families with the bundled traces
 * (bench/tune.ts, which also ran each choice without Spot pools, `spot.evictionRatePerHour=0`) and checked on seeds
 * 13-20; only the idle-gap rows move. A share of 0.6 of what runs, compounding each tick, met 58 of 81 rows and 32 of
 * 48 at 1.047x and 1.056x the cheapest baseline's GPU-hours, and 3 of 20 idle rows without Spot pools (with them, their
 * eviction headroom, added after the hold, kept the compounded count from falling). 0.6 / 0.7 of what ran met 60 and
 * 32 at 1.049x and 1.058x, and 12 of 20 idle rows without Spot; 0.5 / 0.7 met the same with Spot at 1.047x and 1.055x
 * but 8 of 20 without; a decode share of 0.8 cost more and met no more rows. On the idle-gap rows alone (seeds 1-12),
 * compounding shares of 0.67 and 0.75 for both roles met every row but cost 10% more, above static peak on some, and
 * a memory of 900 s met one row fewer than 1200 s and 1800 s, which met the same.
 */
import type { Role } from '../../config/schema.js';
import type { RoleNeed } from '../../planner/types.js';
import type { SlaContext } from './context.js';

/** Share of the replicas each role ran when the pause began that it keeps while the graph sees no demand. */
export const PAUSE_KEEP: Readonly<Record<Role, number>> = { prefill: 0.6, decode: 0.7 };
/** How long after the last demand the hold lasts. */
export const PAUSE_HOLD_SECONDS = 1800;

/**
 * Per role: the replicas the hold keeps, or undefined when it does not apply (off, demand seen or unknown, or the
 * pause is older than PAUSE_HOLD_SECONDS).
 */
export function pauseHoldReplicas(ctx: SlaContext): Record<Role, number> | undefined {
  const idleFor = ctx.input.idleForSeconds;
  if (!ctx.improvements.pauseHold || idleFor === undefined || !(idleFor >= 0) || idleFor > PAUSE_HOLD_SECONDS) return undefined;
  const ran = ctx.input.pauseRunning ?? ctx.input.current;
  const keep = (role: Role) => {
    const running = ran[role];
    return Number.isFinite(running) && running > 0 ? Math.ceil(PAUSE_KEEP[role] * running - 1e-9) : 0;
  };
  return { prefill: keep('prefill'), decode: keep('decode') };
}

/** The hold as a floor of each role's need, with its explanation. */
export function applyPauseHold(chosen: Record<Role, RoleNeed>, kept: Record<Role, number> | undefined, idleForSeconds: number | undefined): void {
  if (!kept) return;
  for (const role of ['prefill', 'decode'] as const) {
    const need = chosen[role];
    Object.assign(need.detail, { pauseSeconds: Math.round(idleForSeconds ?? 0), pauseHoldReplicas: kept[role] });
    if (need.replicas < kept[role]) {
      need.detail.pauseHeldFrom = need.replicas;
      need.detail.pauseHoldRule = `no demand for ${Math.round(idleForSeconds ?? 0)} s of ${PAUSE_HOLD_SECONDS} s: keep ${PAUSE_KEEP[role]} of the ${role} replicas running when it began, rounded up`;
      need.replicas = kept[role];
      need.detail.replicas = need.replicas;
    }
  }
}
