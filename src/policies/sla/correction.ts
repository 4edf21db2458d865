/**
 * Correction factors (spec.sla.correction): how far the engine is from its profile, as Dynamo's pCf (TTFT) and dCf
 * (ITL). Dynamo's own ratios (dynamo.ts) unless `percentile` is on, which compares the TTFT tail with the queue model
 * and the ITL tail with the profile (percentile.ts), and smooths the prefill factor.
 *
 * A window in which a role lost replicas to evictions says nothing about the engine: its latencies were measured on
 * the replicas it had before, while Little's law divides by the few left at the end. (A storm that takes 8 of 12
 * decode replicas reads as dCf 0.59 and would cut the need from 12 to 9.) Such a window keeps the last factors.
 *
 * `correctionGuard` (spec.sla.improvements.correctionGuard): overload inflates the observed latencies, and a factor
 * learned from them sizes for an engine far slower than the real one. So a factor is kept from the last tick while
 * its role is saturated or still starting, and is bounded whatever it reads:
 * - still starting: the role's pools have fewer ready replicas than desired (capacity ordered has not arrived; the
 *   window measured the shortfall, not the engine);
 * - saturated: prefill at a modelled utilisation above SATURATED_RHO at the observed load; decode at a KV use (Little's
 *   law) above what the profile allows at the ITL SLO, or a reserved KV share (kvUsage) of KV_SATURATED or more (new
 *   requests wait for KV, which shows in their ITL);
 * - smoothing: the decode factor moves DCF_SMOOTHING of the way to each window's value (the prefill factor already
 *   does with `percentile`), since a window right after new replicas arrive still measures the backlog they drain;
 * - bounds: pCf in [PCF_MIN, PCF_MAX]; dCf in [DCF_MIN, the value whose ITL target still allows DCF_MIN_BATCH_SHARE of
 *   the profile's KV use at the SLO]. Example (llama2-70b-h100-tp4, ITL SLO 45 ms, context 1700): the SLO allows kv
 *   0.134; a quarter of it, kv 0.034, runs at 32.6 ms, so dCf is at most 45 / 32.6 = 1.38 (a correction of 2.44
 *   learned during an overload would ask for kv 0 and 20 times the replicas).
 */
import type { Observation } from '../../planner/types.js';
import type { PerformanceProfile } from '../../profiles/types.js';
import { isUsable, r4, windowSeconds } from '../common.js';
import {
  addMissing,
  CORRECTION_OFF,
  decodeCorrection,
  prefillCorrection,
  type CorrectionOffDetail,
  type CorrectionStep,
  type DecodeCorrectionDetail,
  type PrefillCorrectionDetail,
} from '../dynamo.js';
import type { PolicyInput } from '../types.js';
import type { SlaContext } from './context.js';
import { observedItl, PCF_SMOOTHING, prefillQueueCorrection, SATURATED_RHO } from './percentile.js';

/** Bounds of the prefill correction with `correctionGuard`. */
export const PCF_MIN = 0.5;
export const PCF_MAX = 2;
/** Lower bound of the decode correction, and the least share of the SLO's KV use its ITL target must allow. */
export const DCF_MIN = 0.75;
export const DCF_MIN_BATCH_SHARE = 0.25;
/** Reserved KV share at which decode is saturated (new requests wait for KV). */
export const KV_SATURATED = 0.9;
/**
 * Share of the way the decode factor moves towards a window's value with `correctionGuard`. The first window after
 * new decode replicas become ready still carries the backlog they arrived to drain, and its ITL tail reads as a slow
 * engine: on a step from 250 to 800 requests a minute (scenario step #1002) that window read dCf 2.07, bounded at
 * 1.65, which sized decode for ITL 27 ms: 22 replicas where 8 serve the load. Moved 0.3 of the way, as the prefill
 * factor is (PCF_SMOOTHING): 1 + (1.65 - 1) x 0.3 = 1.2, and a slower engine is still learned within a few windows.
 * Chosen on the tuning seeds (1-5) of the scenario families with the bundled traces (bench/tune.ts): 0.2 and 0.5 cost
 * within 1% of it, 0.1 met the SLO on one fewer row.
 */
export const DCF_SMOOTHING = 0.3;

export interface Corrections {
  pCf: number;
  dCf: number;
  prefill: PrefillCorrectionDetail | CorrectionOffDetail;
  decode: DecodeCorrectionDetail | CorrectionOffDetail;
  /** What is carried to the next tick (the input's factors, unchanged, when correction is off). */
  carry: PolicyInput['correction'];
}

/** `burstNow`: this window's own burst ratio, the arrival rate multiplier of the queue model (1 without `burst`). */
export function correctionStep(ctx: SlaContext, burstNow: number): Corrections {
  const { input, spec, profile, obs, interval, improvements: imp } = ctx;
  if (!spec.sla.correction) return { pCf: 1, dCf: 1, prefill: CORRECTION_OFF, decode: CORRECTION_OFF, carry: input.correction };
  let p: CorrectionStep<PrefillCorrectionDetail>;
  if (imp.percentile) {
    const queued = prefillQueueCorrection(profile, obs, ctx.ttftKey, ctx.q, input.current.prefill, ctx.gpus.prefill, interval, input.correction.pCf, burstNow, imp.serviceTimeCorrection);
    if (queued.extraMissing) ctx.missing[queued.extraMissing[0]] = queued.extraMissing[1];
    p = queued;
  } else {
    p = prefillCorrection(profile, obs, obs.ttftMs?.mean, 'mean', input.correction.pCf);
  }
  const { itl, stat } = observedItl(ctx);
  const d = decodeCorrection(profile, obs, itl, stat, input.current.decode, interval, input.correction.dCf);
  for (const step of [p, d]) if (step.missing) addMissing(ctx.missing, step.missing);
  // With `percentile`, one window's TTFT tail is noisy (a 10 s burst doubles it): move part of the way there.
  let pCf = imp.percentile ? input.correction.pCf + (p.value - input.correction.pCf) * PCF_SMOOTHING : p.value;
  if (imp.percentile) p.detail = { ...p.detail, pCfWindow: r4(p.value), pCf: r4(pCf), pCfSmoothing: `last + (window - last) x ${PCF_SMOOTHING}` };
  // With `correctionGuard`, one window's ITL tail moves the decode factor part of the way (see DCF_SMOOTHING).
  let dCf = imp.correctionGuard ? input.correction.dCf + (d.value - input.correction.dCf) * DCF_SMOOTHING : d.value;
  if (imp.correctionGuard) d.detail = { ...d.detail, dCfWindow: r4(d.value), dCf: r4(dCf), dCfSmoothing: `last + (window - last) x ${DCF_SMOOTHING}` };
  if (disrupted(spec, obs, 'prefill')) {
    pCf = input.correction.pCf;
    p.detail = { ...p.detail, pCf: r4(pCf), pCfSource: 'last tick (prefill replicas evicted in this window)' };
  }
  if (disrupted(spec, obs, 'decode')) {
    dCf = input.correction.dCf;
    d.detail = { ...d.detail, dCf: r4(dCf), dCfSource: 'last tick (decode replicas evicted in this window)' };
  }
  if (imp.correctionGuard) {
    const pGuard = guardPrefill(ctx, pCf);
    if (pGuard.why) p.detail = { ...p.detail, pCf: r4(pGuard.value), pCfGuard: pGuard.why };
    pCf = pGuard.value;
    const dGuard = guardDecode(ctx, dCf);
    if (dGuard.why) d.detail = { ...d.detail, dCf: r4(dGuard.value), dCfGuard: dGuard.why };
    dCf = dGuard.value;
  }
  return { pCf, dCf, prefill: p.detail, decode: d.detail, carry: { pCf, dCf } };
}

/** Pools of `role` with fewer ready replicas than desired: the shortfall, or 0 when unknown. */
export function startingShortfall(spec: PolicyInput['spec'], obs: Observation, role: 'prefill' | 'decode'): number {
  let short = 0;
  for (const pool of spec.pools) {
    if (pool.role !== role) continue;
    const seen = obs.pools?.[pool.name];
    if (isUsable(seen?.desired) && isUsable(seen?.ready) && seen.ready < seen.desired) short += seen.desired - seen.ready;
  }
  return short;
}

interface Guarded {
  value: number;
  /** Why the factor was kept or bounded (undefined: taken as computed). */
  why?: string;
}

function clamp(value: number, lo: number, hi: number): Guarded {
  if (value < lo) return { value: lo, why: `bounded below at ${r4(lo)} (read ${r4(value)})` };
  if (value > hi) return { value: hi, why: `bounded above at ${r4(hi)} (read ${r4(value)})` };
  return { value };
}

function guardPrefill(ctx: SlaContext, pCf: number): Guarded {
  const { input, spec, obs, profile, gpus, interval } = ctx;
  const last = input.correction.pCf;
  const keep = (why: string): Guarded => ({ ...clamp(last, PCF_MIN, PCF_MAX), why: `kept from the last tick: ${why}` });
  const short = startingShortfall(spec, obs, 'prefill');
  if (short > 0) return keep(`${short} prefill replica(s) still starting`);
  const rho = modelledPrefillRho(profile, obs, input.current.prefill, gpus.prefill, interval);
  if (rho !== undefined && rho > SATURATED_RHO) return keep(`prefill saturated (modelled utilisation ${r4(rho)} above ${SATURATED_RHO})`);
  return clamp(pCf, PCF_MIN, PCF_MAX);
}

function guardDecode(ctx: SlaContext, dCf: number): Guarded {
  const { input, spec, obs, profile } = ctx;
  const itlSlo = spec.slo.itl.ms;
  const context = input.forecast.isl.value + input.forecast.osl.value / 2;
  const hi = Math.max(DCF_MIN, dCfCeiling(profile, itlSlo, context));
  const last = input.correction.dCf;
  const keep = (why: string): Guarded => ({ ...clamp(last, DCF_MIN, hi), why: `kept from the last tick: ${why}` });
  const short = startingShortfall(spec, obs, 'decode');
  if (short > 0) return keep(`${short} decode replica(s) still starting`);
  if (isUsable(obs.kvUsage) && obs.kvUsage >= KV_SATURATED) return keep(`decode saturated (reserved KV ${r4(obs.kvUsage)} of capacity)`);
  const kv = observedDecodeKv(profile, obs, input.current.decode, ctx.interval);
  if (kv !== undefined) {
    const allowed = profile.bestDecode(itlSlo, kv.ctx).kv;
    if (kv.kv > allowed) return keep(`decode saturated (KV use ${r4(kv.kv)} above the ${r4(allowed)} the profile allows at ${itlSlo} ms)`);
  }
  return clamp(dCf, DCF_MIN, hi);
}

/**
 * The highest dCf whose ITL target itlSlo / dCf still allows DCF_MIN_BATCH_SHARE of the KV use the profile allows at
 * the SLO (see the module comment for a worked example).
 */
export function dCfCeiling(profile: PerformanceProfile, itlSlo: number, context: number): number {
  const best = profile.bestDecode(itlSlo, context);
  if (!best.feasible) return 1;
  const itl = profile.decodeItlMs(best.kv * DCF_MIN_BATCH_SHARE, context).value;
  return itl > 0 ? itlSlo / itl : 1;
}

/** Modelled prefill utilisation at the observed load and the current replicas, when it can be computed. */
function modelledPrefillRho(profile: PerformanceProfile, obs: Observation, replicas: number, gpus: number, interval: number): number | undefined {
  if (!isUsable(obs.requests) || !isUsable(obs.isl) || obs.isl <= 0 || !(replicas > 0)) return undefined;
  const lambda = obs.requests / windowSeconds(obs.windowSeconds, interval);
  const mu = (profile.prefillThptPerGpu(obs.isl).value * gpus) / obs.isl;
  return lambda / (mu * replicas);
}

/** Mean KV use per decode replica by Little's law (as the decode correction computes it), when it can be. */
function observedDecodeKv(profile: PerformanceProfile, obs: Observation, replicas: number, interval: number): { kv: number; ctx: number } | undefined {
  if (!isUsable(obs.requests) || !isUsable(obs.isl) || !isUsable(obs.osl) || !isUsable(obs.requestDurationSeconds) || !(replicas > 0)) return undefined;
  const ctx = obs.isl + obs.osl / 2;
  const concurrency = ((obs.requests / replicas) * obs.requestDurationSeconds) / windowSeconds(obs.windowSeconds, interval);
  return { kv: (concurrency * ctx) / profile.maxKvTokens, ctx };
}

/** Did any pool of `role` lose replicas (eviction or eviction notice) during the window? */
export function disrupted(spec: PolicyInput['spec'], obs: Observation, role: 'prefill' | 'decode'): boolean {
  for (const pool of spec.pools) {
    if (pool.role !== role) continue;
    const seen = obs.pools?.[pool.name];
    if ((seen?.evicted ?? 0) > 0 || (seen?.evictionNotices ?? 0) > 0) return true;
  }
  return false;
}
