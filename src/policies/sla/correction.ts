/**
 * Correction factors (spec.sla.correction): how far the engine is from its profile, as Dynamo's pCf (TTFT) and dCf
 * (ITL). Dynamo's own ratios (dynamo.ts) unless `percentile` is on, which compares the TTFT tail with the queue model
 * and the ITL tail with the profile (percentile.ts), and smooths the prefill factor.
 *
 * A window in which a role lost replicas to evictions says nothing about the engine: its latencies were measured on
 * the replicas it had before, while Little's law divides by the few left at the end. (A storm that takes 8 of 12
 * decode replicas reads as dCf 0.59 and would cut the need from 12 to 9.) Such a window keeps the last factors.
 */
import type { Observation } from '../../planner/types.js';
import { r4 } from '../common.js';
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
import { observedItl, PCF_SMOOTHING, prefillQueueCorrection } from './percentile.js';

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
    const queued = prefillQueueCorrection(profile, obs, ctx.ttftKey, ctx.q, input.current.prefill, ctx.gpus.prefill, interval, input.correction.pCf, burstNow);
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
  let dCf = d.value;
  if (disrupted(spec, obs, 'prefill')) {
    pCf = input.correction.pCf;
    p.detail = { ...p.detail, pCf: r4(pCf), pCfSource: 'last tick (prefill replicas evicted in this window)' };
  }
  if (disrupted(spec, obs, 'decode')) {
    dCf = input.correction.dCf;
    d.detail = { ...d.detail, dCf: r4(dCf), dCfSource: 'last tick (decode replicas evicted in this window)' };
  }
  return { pCf, dCf, prefill: p.detail, decode: d.detail, carry: { pCf, dCf } };
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
