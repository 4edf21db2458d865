/**
 * `budgetWindow` (spec.sla.improvements.budgetWindow): a shorter scale-down window while the SLO has room to spare.
 *
 * The scale-down window (stabilization.scaleDown, HPA's) keeps the highest recommendation of its last minutes, so
 * a dip is not followed by a scale-down that the next minute undoes. Each recommendation already carries the sla
 * margins for variation (burst, the forecast's bound, the learned headroom); on a load that moves a little every
 * minute, the window's maximum of them pays for that variation a second time, and where the SLO is far from binding
 * nothing is bought with it. Where the SLO binds (bursty loads, crowds that come back), the long window is what
 * keeps the capacity the next burst needs.
 *
 * So the window is read from the SLO's own record (slo-feedback.ts), under the conditions the loop trims headroom:
 *
 *   evidence >= TRIM_AFTER_SECONDS of windows for both roles, and
 *   budgetSpent < BUDGET_WINDOW_SPENT (less than a quarter of the SLO's miss budget remembered as spent; crowdHold
 *   starts keeping peaks at half)
 *   -> window = max(interval, floor(BUDGET_WINDOW_SHARE x stabilization.scaleDown))
 *
 * both as the last tick left them (as crowdHold reads them). Otherwise, and with sloFeedback off, the window is the
 * spec's. It is never longer than the spec's, and only the scale-down window changes.
 * Example: scaleDown 300 s, 60 s ticks, 1800 s of windows remembered with prefill missing 1% and decode 0.5% of
 * requests at p90 -> (0.01 + 0.005) / 0.1 = 0.15 spent -> window 180 s: the highest of the last 3 recommendations,
 * not 5. A crowd that spends 30% of the budget gives the full 300 s back at the next tick; the recommendations the
 * short window no longer read are still remembered, so the full window reads them again.
 * BUDGET_WINDOW_SHARE was chosen on tuning seeds 1-12 and the bundled traces (bench/tune.ts) and checked on seeds
 * 13-20: at 60 s ticks 0.5 and 0.6 keep the same entries; 0.4 (120 s) met the same rows on the held-out seeds at
 * about the same cost, but 3 fewer of 81 on the tuning rows (diurnal, idle).
 * BUDGET_WINDOW_SPENT was chosen on the fleet bench (bench/fleet.ts, p95 SLOs, startups 1.5x slower than the policy
 * assumes): at 0.5 the code graph missed its SLO on 2 of 6 seeds it meets with the full window, at 0.35 and 0.25 on
 * none; on the tuning rows 0.25 and 0.5 meet the same rows (60 of 81) at 1.042x and 1.037x the cheapest baseline.
 */
import type { SlaContext } from './context.js';
import { budgetSpent, TRIM_AFTER_SECONDS } from './slo-feedback.js';

export const BUDGET_WINDOW_SHARE = 0.6;
/** Share of the SLO's miss budget spent below which the short window applies. */
export const BUDGET_WINDOW_SPENT = 0.25;

export interface BudgetWindow {
  /** The scale-down window for this tick, seconds (below the spec's). */
  seconds: number;
  /** Why, for the explanation. */
  reason: string;
}

export function budgetWindowStep(ctx: SlaContext): BudgetWindow | undefined {
  const { spec, improvements, input } = ctx;
  const slo = input.correction.slo;
  if (!improvements.budgetWindow || !improvements.sloFeedback || !slo) return undefined;
  const evidence = Math.min(slo.prefill.seconds ?? 0, slo.decode.seconds ?? 0);
  if (evidence < TRIM_AFTER_SECONDS) return undefined;
  const spent = budgetSpent(spec, slo);
  if (!(spent < BUDGET_WINDOW_SPENT)) return undefined;
  const full = spec.stabilization.scaleDown;
  // Never under one interval: a shorter window would keep no past recommendation at all (scaleDown 90 s at 60 s ticks:
  // 0.6 x 90 = 54 s -> 60 s, the last tick's recommendation still counts).
  const seconds = Math.max(spec.interval, Math.floor(BUDGET_WINDOW_SHARE * full));
  if (!(seconds < full)) return undefined;
  return { seconds, reason: `budgetWindow: ${(spent * 100).toFixed(1)}% of the SLO's miss budget spent (under ${BUDGET_WINDOW_SPENT * 100}%)` };
}
