/**
 * `sloFeedback` (spec.sla.improvements.sloFeedback): close the loop on the SLO itself. Each role has a headroom H, a
 * multiplier of the demand it is sized for, learned online from how many requests miss the role's latency target:
 * TTFT for prefill, ITL for decode. Fixed margins (target utilisation, burst ratio, the forecast's upper bound) are
 * right for some load and wrong for the next; the loop trims them where they leave the SLO far from binding, and
 * adds to them where requests miss.
 *
 * 1. Misses per window, estimated from the latency summary (estimateMissFraction): the share of requests above the
 *    target, interpolated between the observed percentiles. Example: TTFT target 2000 ms with p90 1500 and p95 2500
 *    -> 1 - (0.90 + 0.05 x 500 / 1000) = 7.5% above. With only the SLO's own percentile (what Prometheus is asked
 *    for), it says whether more or fewer than 1 - p missed and by about how much.
 * 2. The role's miss rate m = missed / served, both decayed with a time constant of MISS_MEMORY_SECONDS: the state
 *    of its share of the miss budget, remembered long enough that a flash crowd is not forgotten before the next.
 * 3. Allowed: both roles must meet their targets for a request to count, so they share the SLO's miss budget 1 - p:
 *    a role may use what the other's remembered misses leave, and at least MIN_BUDGET_SHARE of it (p90, decode
 *    missing 1% -> prefill may miss 9%; decode missing 9% -> prefill still 2.5%).
 * 4. Each tick, from this window's miss share f:
 *    - while the role's new replicas are still starting, H stays: what they change is not measured yet, and misses
 *      in the meantime are the startup lag, which more headroom ordered now would not shorten;
 *    - f above the allowance: H x e^(GAIN_UP x min((f - allowed) / allowed, E_MAX)), at once (a window with 40%
 *      missing at p90 is 7 allowances over: capped at 4 allowances, x e^0.4 = 1.49);
 *    - else, while the budget is healthy (m below the allowance) and the window's latency at the SLO percentile has
 *      used less than TRIM_BELOW of the room between the role's no-load latency and the target (trimShare):
 *      H x e^(-GAIN_DOWN x (1 - m / allowed)): no misses at all -> 4% less a tick, less as m nears the allowance.
 *      Latency rises steeply near saturation (the queue's knee), so trimming stops while there is still room; and
 *      only after TRIM_AFTER_SECONDS of windows, so that margins are not cut before the load has shown its variation;
 *    - else H stays. It never leaves [HEADROOM_MIN, HEADROOM_MAX] and moves on no window of fewer than MIN_REQUESTS.
 *    Raising on the window rather than on m, and not while capacity is on its way, keeps the loop from winding up:
 *    one bad episode raises H once, and the budget it burned only stops H from falling until the misses have aged.
 * 5. The sized demand is multiplied by H; the need never goes below the bare need (sizing.ts bareNeed: profiled
 *    throughput, the queue model's count for the TTFT percentile, ITL exactly at the SLO) for the next interval and,
 *    with `leadTime`, for the lead time: trimming cannot ask for less than the load physically needs when the
 *    replicas ordered now arrive.
 *
 * Example: no misses for ten ticks at H 1 -> 0.96^10 = 0.66; HEADROOM_MIN 0.5 after 17.
 * The constants were chosen on the tuning seeds of the scenario families and the bundled traces (bench/matrix.ts).
 */
import type { Role } from '../../config/schema.js';
import { percentileKey } from '../../planner/percentile-key.js';
import type { CorrectionState, RoleSloState } from '../../planner/state.js';
import type { LatencySummary } from '../../planner/types.js';
import { isUsable, prefillMs, r4 } from '../common.js';
import type { SlaContext } from './context.js';
import { startingShortfall } from './correction.js';

export const HEADROOM_MIN = 0.5;
export const HEADROOM_MAX = 1;
/** Least share of the SLO's miss budget a role may use, whatever the other role uses. */
export const MIN_BUDGET_SHARE = 0.25;
/** Time constant of the remembered misses. */
export const MISS_MEMORY_SECONDS = 1800;
export const GAIN_DOWN = 0.04;
export const GAIN_UP = 0.1;
export const E_MAX = 4;
export const MIN_REQUESTS = 30;
/**
 * Headroom is trimmed only while the window's latency at the SLO percentile has used less than this share of the room
 * between the role's no-load latency and the target (trimShare). For decode at a 60 ms ITL target that is 28.9 + 0.6 x
 * 31.1 = 47.6 ms; at 45 ms, 38.6 ms. Chosen on tuning seeds 1-12 and the bundled traces (bench/tune.ts), checked on
 * seeds 13-20: 0.6, 0.7 and 0.8 met the same rows at the same cost there (on seeds 1-12, 0.9% fewer GPU-hours over the
 * cheapest baseline than with the share of the target), but at 0.7 and above a fleet graph with a chat load that swings 36% from one minute to the
 * next (bench/fleet.ts, seed 1) trimmed decode to where the swing missed its p95 ITL for two minutes.
 */
export const TRIM_BELOW = 0.6;
/**
 * Evidence before trimming: the loop lowers headroom only after this long of windows with requests. Margins exist for
 * variation the first minutes may not have shown. Chosen on the bundled Mooncake trace at x2, whose prompt lengths
 * swing at minute 10: trimming from the first minute had cut prefill just before the swing.
 */
export const TRIM_AFTER_SECONDS = 900;

export const INITIAL_ROLE_SLO: RoleSloState = { headroom: 1, missed: 0, served: 0 };

/**
 * Share of requests above `targetMs`, from the percentiles of a latency summary (keys pNN; the mean is not used).
 * Between two percentiles: linear. Above the highest observed percentile q at value v: (1 - q) x how close v is to the
 * target (v <= target / 2 -> 0, v = target -> 1 - q). Below the lowest (q, v) with v > target: 1 - q x target / v.
 * Example: p50 400, p95 1800, p99 2600 at target 2000 -> 1 - (0.95 + 0.04 x 200 / 800) = 4%.
 * Undefined when no percentile was observed.
 */
export function estimateMissFraction(summary: LatencySummary | undefined, targetMs: number): number | undefined {
  if (!summary) return undefined;
  const points: [number, number][] = [];
  for (const [key, value] of Object.entries(summary)) {
    if (!key.startsWith('p') || !isUsable(value)) continue;
    const q = Number(key.slice(1)) / 100;
    if (q > 0 && q < 1) points.push([q, value]);
  }
  if (points.length === 0) return undefined;
  points.sort((a, b) => a[0] - b[0]);
  const [qLow, vLow] = points[0] as [number, number];
  if (vLow > targetMs) return 1 - (qLow * targetMs) / vLow;
  for (let i = 1; i < points.length; i++) {
    const [q1, v1] = points[i - 1] as [number, number];
    const [q2, v2] = points[i] as [number, number];
    if (v2 > targetMs) return 1 - (q1 + ((q2 - q1) * (targetMs - v1)) / Math.max(1e-9, v2 - v1));
  }
  const [qHigh, vHigh] = points[points.length - 1] as [number, number];
  const closeness = Math.min(1, Math.max(0, (vHigh / targetMs - 0.5) / 0.5));
  return (1 - qHigh) * closeness;
}

/**
 * Share of the SLO's miss budget spent over the loop's memory: the roles' remembered miss rates summed (a request
 * missing both is counted twice, so this errs high) over 1 - p. 0 without a record (sloFeedback off, or no window yet).
 * Example: p90, prefill missing 6% and decode 2% of the requests remembered -> (0.06 + 0.02) / 0.1 = 0.8.
 */
export function budgetSpent(spec: SlaContext['spec'], slo: CorrectionState['slo']): number {
  if (!slo) return 0;
  const budget = 1 - Math.max(spec.slo.ttft.percentile, spec.slo.itl.percentile) / 100;
  const rate = (r: RoleSloState) => (r.served > 0 ? r.missed / r.served : 0);
  return budget > 0 ? (rate(slo.prefill) + rate(slo.decode)) / budget : 0;
}

/**
 * The latency a role shows with no load, which no headroom can lower: for decode the profile's ITL at KV use 0 at the
 * observed context (ISL + OSL / 2), for prefill the profiled prefill time of the prompt at the TTFT percentile (the
 * observed ISL there, else the mean ISL). Undefined when what it needs was not observed.
 * Example (llama2-70b-h100-tp4): ISL 3000, OSL 150 -> ITL at kv 0 and context 3075 = 28.9 ms.
 */
export function noLoadLatencyMs(ctx: SlaContext, role: Role): number | undefined {
  const { obs, profile } = ctx;
  if (!isUsable(obs.isl) || obs.isl <= 0) return undefined;
  if (role === 'decode') return isUsable(obs.osl) && obs.osl >= 0 ? profile.decodeItlMs(0, obs.isl + obs.osl / 2).value : undefined;
  const tail = obs.islPercentiles?.[ctx.ttftKey];
  return prefillMs(profile, isUsable(tail) ? Math.max(tail, obs.isl) : obs.isl);
}

/**
 * How much of the room between the no-load latency L0 (noLoadLatencyMs) and the target T the window's latency v at the
 * SLO percentile has used: (v - L0) / (T - L0), at least 0; v / T when L0 is unknown or not below T (the room taken
 * to start at 0 ms, which trims less); NaN when v was not observed.
 * The room is what extra load can spend: an ITL of 38 ms against 45 ms looks close at 0.84 of the target, but with
 * 28.9 ms at no load it has used (38 - 28.9) / (45 - 28.9) = 0.57 of the room, and decode that runs there can still be
 * trimmed; 43 ms (0.88 of the room) cannot.
 * Example (prefill): Mooncake's prompts at p95 take 5.7 s, SLO 8 s: TTFT p95 7.6 s has used 0.83 of the room (no
 * trimming), 6.5 s 0.35 (trimming). With a 323 ms prefill and a 2 s target, 1400 ms has used 0.64: no trimming, where
 * 0.7 of the target would have trimmed (a queue's wait rises steeply once it forms).
 */
export function trimShare(ctx: SlaContext, role: Role, summary: LatencySummary | undefined, percentile: number, targetMs: number): number {
  const value = summary?.[percentileKey(percentile)];
  if (!isUsable(value)) return NaN;
  const floor = noLoadLatencyMs(ctx, role);
  if (floor === undefined || !(floor >= 0 && floor < targetMs)) return value / targetMs;
  return Math.max(0, (value - floor) / (targetMs - floor));
}

export interface RoleFeedback {
  state: RoleSloState;
  detail: Record<string, number | string>;
}

export interface SloFeedback {
  on: boolean;
  prefill: RoleFeedback;
  decode: RoleFeedback;
}

const OFF: SloFeedback = { on: false, prefill: { state: INITIAL_ROLE_SLO, detail: {} }, decode: { state: INITIAL_ROLE_SLO, detail: {} } };

export function sloFeedbackStep(ctx: SlaContext): SloFeedback {
  if (!ctx.improvements.sloFeedback) return OFF;
  return { on: true, prefill: roleFeedback(ctx, 'prefill'), decode: roleFeedback(ctx, 'decode') };
}

function roleFeedback(ctx: SlaContext, role: Role): RoleFeedback {
  const { input, obs, spec, interval } = ctx;
  const last = input.correction.slo?.[role] ?? INITIAL_ROLE_SLO;
  const slo = role === 'prefill' ? spec.slo.ttft : spec.slo.itl;
  const summary = role === 'prefill' ? obs.ttftMs : obs.itlMs;
  const other = input.correction.slo?.[role === 'prefill' ? 'decode' : 'prefill'];
  const budget = 1 - slo.percentile / 100;
  const otherRate = other && other.served > 0 ? other.missed / other.served : 0;
  const allowed = Math.max(MIN_BUDGET_SHARE * budget, budget - otherRate);
  const decay = Math.exp(-interval / MISS_MEMORY_SECONDS);
  const requests = isUsable(obs.requests) && obs.requests > 0 ? obs.requests : 0;
  const fraction = requests >= MIN_REQUESTS ? estimateMissFraction(summary, slo.ms) : undefined;
  const detail: Record<string, number | string> = {};
  if (fraction === undefined) {
    detail.headroom = r4(last.headroom);
    detail.headroomRule = requests < MIN_REQUESTS ? `kept (fewer than ${MIN_REQUESTS} requests in the window)` : `kept (no ${role === 'prefill' ? 'TTFT' : 'ITL'} percentile observed)`;
    return { state: last, detail };
  }
  const missed = last.missed * decay + fraction * requests;
  const served = last.served * decay + requests;
  const seconds = Math.min(TRIM_AFTER_SECONDS, (last.seconds ?? 0) + interval);
  const rate = missed / served;
  let headroom = last.headroom;
  let rule: string;
  const starting = startingShortfall(spec, obs, role);
  if (starting > 0) {
    rule = `kept (${starting} ${role} replica(s) still starting)`;
  } else if (fraction > allowed) {
    headroom *= Math.exp(GAIN_UP * Math.min(E_MAX, (fraction - allowed) / allowed));
    rule = 'raised: this window missed more than the allowance';
  } else if (rate >= allowed) {
    rule = 'kept: the remembered misses use the whole allowance';
  } else if (seconds < TRIM_AFTER_SECONDS) {
    rule = `kept: ${seconds} s of ${TRIM_AFTER_SECONDS} s of evidence before trimming`;
  } else if (!(trimShare(ctx, role, summary, slo.percentile, slo.ms) < TRIM_BELOW)) {
    rule = `kept: latency at the SLO percentile has used ${TRIM_BELOW} or more of the room between no load and the target`;
  } else {
    headroom *= Math.exp(-GAIN_DOWN * (1 - rate / allowed));
    rule = 'lowered: misses below the allowance';
  }
  headroom = Math.min(HEADROOM_MAX, Math.max(HEADROOM_MIN, headroom));
  Object.assign(detail, {
    headroom: r4(headroom),
    headroomRule: rule,
    windowMissShare: r4(fraction),
    missRate: r4(rate),
    allowedMissRate: r4(allowed),
  });
  return { state: { headroom, missed, served, seconds }, detail };
}
