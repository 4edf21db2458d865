/**
 * `crowdHold` (spec.sla.improvements.crowdHold): once half the SLO's miss budget is spent, keep what the highest peak
 * of the last minutes physically needs, whatever the SLO loop trims.
 *
 * The burst floor (burst.ts) decays and is sized through the learned headroom, which the SLO loop trims while the
 * load is calm: 16 minutes after a crowd the floor holds 59% of it, times a headroom that may be 0.5. When the crowd
 * comes back, capacity takes a startup time to arrive, and those minutes are missed again. A planner that has
 * already spent half its budget cannot afford that, so:
 *
 *   while spent >= CROWD_HOLD_SPENT (slo-feedback.ts budgetSpent, as the last tick left it), the hold is the highest
 *   peak demand seen since it started (the window's busiest 10 s scaled to the interval, burst.ts), for at most
 *   `memory` (burst.ts floorMemory: 6 to 10 startup times at that spending, 3 without budgetHold), undecayed; it
 *   starts from the window in which half the budget is first found spent (starting it from the decayed burst floor
 *   instead, which still carries the crowd that spent it, met one row fewer of 81 on the tuning seeds at 0.2% more
 *   GPU-hours); the need of each role is at least the bare need of that demand
 *   (sizing.ts bareNeed: profiled throughput at utilisation 1, the queue model's count for the TTFT percentile, decode
 *   at the SLO's ITL), never trimmed by the headroom.
 *   A peak older than the memory gives way to the highest one since; with the budget back under CROWD_HOLD_SPENT the
 *   hold is dropped and the next one starts from the next peak.
 *
 * Example (startup 180 s, 60 s ticks, dynamo-format-synthetic at ISL 3000 / OSL 150, TTFT p90 2 s, utilisation
 * 0.85): a crowd peaks at 910 requests per interval and misses enough to spend the budget three times over -> memory
 * 10 startups (1800 s). Ten minutes later the load is back at 230 and the floor has decayed to 910 x e^(-600/1800) =
 * 652, sized at headroom 0.7 as 456: 2 prefill replicas. The hold still sizes 910 bare: 3 prefill, and the next crowd
 * of 850 meets ready replicas. Half an hour after the peak, or as soon as fewer than half the allowed misses remain
 * remembered, the hold lets go.
 * The scale-down window remembers the need without the hold (planner/decide.ts holdShares, constraints/index.ts
 * unheldShare): the hold has its own memory, and once it lets go its level is not kept five minutes more. In a fleet
 * that matters: what one graph's window keeps is served before another graph of lower priority.
 * It is a floor, not a multiplier: sized bare, a hold of a calm trace's ordinary peak asks for no more than the need
 * already does, and while the budget is healthy it is off.
 */
import type { Role } from '../../config/schema.js';
import type { CrowdHoldState } from '../../planner/state.js';
import { r4 } from '../common.js';
import type { BurstState } from './burst.js';
import type { SlaContext } from './context.js';
import { budgetSpent } from './slo-feedback.js';

/**
 * Share of the SLO's miss budget spent (remembered misses) from which the hold is kept. Chosen on tuning seeds 1-4 of
 * the scenario families with the bundled traces (bench/tune.ts), checked on seeds 5-12: 0.25 cost 1% more GPU-hours
 * for the same rows meeting the SLO; 1 met 2 fewer rows of 33; a hold at any spending cost the diurnal rows 6% more
 * GPU-hours at the same attainment.
 */
export const CROWD_HOLD_SPENT = 0.5;

export interface CrowdHold {
  /** The hold carried to the next tick; undefined when off or nothing is held. */
  state?: CrowdHoldState;
  detail: Record<string, number | string>;
}

export function crowdHoldStep(ctx: SlaContext, burst: BurstState): CrowdHold {
  const { improvements, input, spec, interval } = ctx;
  // The misses are sloFeedback's record: without it the state's record is an older run's, not this one's.
  if (!improvements.crowdHold || !improvements.sloFeedback || !burst.on) return { detail: {} };
  const spent = budgetSpent(spec, input.correction.slo);
  if (spent < CROWD_HOLD_SPENT) return { detail: {} };
  const startup = Math.max(0, ...spec.pools.map((p) => p.startupSeconds));
  const holdSeconds = startup * burst.memoryStartups;
  const peak = burst.peakDemand;
  const last = input.correction.crowdHold;
  let state: CrowdHoldState | undefined;
  if (last && last.requests > peak && last.seconds + interval <= holdSeconds) state = { requests: last.requests, seconds: last.seconds + interval };
  else if (peak > 0) state = { requests: peak, seconds: 0 };
  if (!state) return { detail: {} };
  return {
    state,
    detail: { crowdHoldRequests: r4(state.requests), crowdHoldAgeSeconds: state.seconds, crowdHoldSeconds: r4(holdSeconds), crowdHoldBudgetSpent: r4(spent) },
  };
}

/** The bare need of the held demand per role, or zeros without a hold. */
export function crowdHoldNeed(hold: CrowdHold, bare: (requests: number) => Record<Role, number>): Record<Role, number> {
  return hold.state ? bare(hold.state.requests) : { prefill: 0, decode: 0 };
}
