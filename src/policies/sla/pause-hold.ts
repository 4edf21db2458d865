/**
 * `pauseHold` (spec.sla.improvements.pauseHold): a pause is not a trend. While the graph sees no demand at all (no
 * request in the window and an empty queue), for up to PAUSE_HOLD_SECONDS after the last demand, each role's need is
 * at least PAUSE_KEEP of the replicas it runs, rounded up.
 *
 * A window without a single request says nothing about the load that comes back, and traffic that stops outright (a
 * batch client between runs, a caller failing over and back) tends to come back at about the level it left. Sized on
 * the forecast, the need drops to the minimum, the scale-down window lets the replicas go five minutes later, and the
 * load that returns meets one replica for a startup time: minutes of requests missed at each return, more than a 10%
 * miss budget allows when the busy spells last ten minutes. Kept replicas serve the first minutes of a return, and the
 * rise is then answered as any rise.
 *
 * The hold decays with what runs: the scale-down window keeps the level of the last busy tick for its length, then
 * the count falls to the hold, PAUSE_KEEP of what runs, and the next tick to PAUSE_KEEP of that, down to where rounding
 * up keeps it. The window remembers the need without the hold (planner/decide.ts holdShares), so the hold's level is
 * not kept a window longer once it lets go, and in a fleet it is a soft layer: within a priority, another graph's load
 * is served before it.
 * Example (scale-down window 300 s): 5 prefill replicas when the requests stop -> 5 for 300 s, then ceil(0.6 x 5) = 3,
 * then ceil(0.6 x 3) = 2, which holds (ceil(0.6 x 2) = 2) until 1800 s after the last demand; from then on the
 * forecast's need alone, as for any quiet graph. With `scaleToZero`, a role idle for `idleSeconds` still goes to zero:
 * the idle rule decides after the policy (planner/idle.ts).
 *
 * PAUSE_KEEP and PAUSE_HOLD_SECONDS were chosen on tuning seeds 1-12 of the idle-gap family (bench/tune.ts) and checked
 * on seeds 13-20 (2 -> 7 of 8 idle rows), the other families and the bundled traces unchanged: keeping 0.5 met 6 of 12
 * idle rows, 0.6 met 9-10 at 1-2% more GPU-hours than no hold, 0.67 and 0.75 met 12 but cost 10% more, above static
 * peak on some; a memory of 900 s met one row fewer than 1200 s and 1800 s, which met the same.
 */
import type { Role } from '../../config/schema.js';
import type { RoleNeed } from '../../planner/types.js';
import type { SlaContext } from './context.js';

/** Share of the replicas a role runs that it keeps while the graph sees no demand. */
export const PAUSE_KEEP = 0.6;
/** How long after the last demand the hold lasts. */
export const PAUSE_HOLD_SECONDS = 1800;

/**
 * Per role: the replicas the hold keeps, or undefined when it does not apply (off, demand seen or unknown, or the
 * pause is older than PAUSE_HOLD_SECONDS).
 */
export function pauseHoldReplicas(ctx: SlaContext): Record<Role, number> | undefined {
  const idleFor = ctx.input.idleForSeconds;
  if (!ctx.improvements.pauseHold || idleFor === undefined || !(idleFor >= 0) || idleFor > PAUSE_HOLD_SECONDS) return undefined;
  const keep = (running: number) => (Number.isFinite(running) && running > 0 ? Math.ceil(PAUSE_KEEP * running - 1e-9) : 0);
  return { prefill: keep(ctx.input.current.prefill), decode: keep(ctx.input.current.decode) };
}

/** The hold as a floor of each role's need, with its explanation. */
export function applyPauseHold(chosen: Record<Role, RoleNeed>, kept: Record<Role, number> | undefined, idleForSeconds: number | undefined): void {
  if (!kept) return;
  for (const role of ['prefill', 'decode'] as const) {
    const need = chosen[role];
    Object.assign(need.detail, { pauseSeconds: Math.round(idleForSeconds ?? 0), pauseHoldReplicas: kept[role] });
    if (need.replicas < kept[role]) {
      need.detail.pauseHeldFrom = need.replicas;
      need.detail.pauseHoldRule = `no demand for ${Math.round(idleForSeconds ?? 0)} s of ${PAUSE_HOLD_SECONDS} s: keep ${PAUSE_KEEP} of the replicas running, rounded up`;
      need.replicas = kept[role];
      need.detail.replicas = need.replicas;
    }
  }
}
