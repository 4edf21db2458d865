/**
 * `ttftOvershoot` (spec.sla.improvements.ttftOvershoot): the prefill factor is min(max(pCf, 0.75), 2) instead of
 * Dynamo's min(1, pCf), so TTFT worse than expected adds prefill (Dynamo only ever removes), and TTFT better than the
 * queue model expects (mostly M/M/c overstating the wait of near-constant prefill times) removes at most a quarter.
 * Capped at 2x a tick; step limits bound it further.
 * pCf 1.5 at n 5400, ISL 3000, I 180 s: 90000 x 1.5 / 22163 = 6.09 -> 7 replicas (Dynamo: 5).
 */

/** Highest prefill correction applied when `ttftOvershoot` is on (at most doubles the prefill need in one tick). */
export const OVERSHOOT_CAP = 2;
/**
 * Lowest prefill correction applied with `ttftOvershoot`: a TTFT better than the queue model predicts is mostly the
 * model's M/M/c wait overstating near-constant prefill times, not faster prefill, so it may shave capacity only a little.
 */
export const PCF_FLOOR = 0.75;

/** The factor the prefill formula multiplies the token demand by, and its rule for the explanation. */
export function prefillFactor(pCf: number, overshoot: boolean): { factor: number; rule: string } {
  if (overshoot) return { factor: Math.min(Math.max(pCf, PCF_FLOOR), OVERSHOOT_CAP), rule: `min(max(pCf, ${PCF_FLOOR}), ${OVERSHOOT_CAP})` };
  return { factor: Math.min(1, pCf), rule: 'min(1, pCf)' };
}
