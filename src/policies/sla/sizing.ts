/**
 * Sizing for one forecast: Dynamo's formulas (dynamo.ts) with the improvements that change them.
 *
 * Prefill, the Dynamo core:  ceil(n x isl / I x factor / thptP(isl) / targetUtilization / gpusPerReplica)
 *   e.g. n = 5400 requests in I = 180 s at isl 3000: 90000 tok/s; thptP(3000) = 22163 tok/s/GPU; factor 1;
 *   targetUtilization 0.85: 90000 / (22163 x 0.85) = 4.78 -> 5 replicas (4.06 -> 5 at utilisation 1).
 *   `factor` comes from the prefill correction (overshoot.ts); with `percentile` the count is raised to what the
 *   queue model needs for the TTFT percentile (percentile.ts); with `burst` n is the burst-sized count (burst.ts).
 * Decode, the Dynamo core: kv* = largest kv with itlD(kv, isl + osl/2) <= itlSlo / dCf;
 *   ceil(n x osl / I / thptD(kv*, ctx) / targetUtilization / gpusPerReplica).
 * With `sloFeedback` each role's n is multiplied by its learned headroom (slo-feedback.ts).
 */

import type { Role } from '../../config/schema.js';
import type { Forecast, RoleNeed } from '../../planner/types.js';
import { r4 } from '../common.js';
import { decodeReplicas, prefillReplicas } from '../dynamo.js';
import { BURST_OFF, burstDemand, burstDetail, type BurstState } from './burst.js';
import type { SlaContext } from './context.js';
import { queueSizedPrefill } from './percentile.js';

export interface Sized {
  prefill: RoleNeed;
  decode: RoleNeed;
  decodeFeasible: boolean;
  queueInfeasible: boolean;
}

/** What sizing takes from the steps before it. */
export interface SizingInputs {
  burst: BurstState;
  pCf: number;
  dCf: number;
  /** Prefill factor and its rule (overshoot.ts). */
  factor: number;
  factorRule: string;
  /** ITL target the decode kv is chosen under: itlSlo / dCf. */
  itlTargetMs: number;
  /** Observed ISL at the TTFT percentile (percentile.ts), if any. */
  islTail: number | undefined;
  /** Multiplier of the demand per role (slo-feedback.ts; 1 without it). */
  headroom: Record<Role, number>;
}

export function sizeFor(ctx: SlaContext, f: Forecast, s: SizingInputs): Sized {
  const { profile, interval, gpus, utilization, improvements: imp, spec } = ctx;
  const demand = burstDemand(f, s.burst);
  const nPrefill = demand.n * s.headroom.prefill;
  const nDecode = demand.n * s.headroom.decode;
  const isl = f.isl.value;
  const osl = f.osl.value;
  const prefill = prefillReplicas(profile, nPrefill, isl, interval, s.factor, gpus.prefill, utilization);
  // Details are built fresh in this call: extend them in place (a spread of a 30-key object per step was the
  // policy's main cost).
  prefill.detail.pCf = r4(s.pCf);
  prefill.detail.factorRule = s.factorRule;
  const queueInfeasible = imp.percentile ? queueSizedPrefill(ctx, prefill, nPrefill, isl, s.factor, s.islTail) : false;
  const d = decodeReplicas(profile, nDecode, isl, osl, interval, s.itlTargetMs, gpus.decode, utilization);
  const decode: RoleNeed = { replicas: d.replicas, detail: { itlSloMs: spec.slo.itl.ms, dCf: r4(s.dCf), ...d.detail } };
  if (s.burst.on) {
    const extra = burstDetail(s.burst, demand);
    for (const need of [prefill, decode]) Object.assign(need.detail, extra);
  }
  if (s.headroom.prefill !== 1) prefill.detail.headroomSizedRequests = r4(nPrefill);
  if (s.headroom.decode !== 1) decode.detail.headroomSizedRequests = r4(nDecode);
  return { prefill, decode, decodeFeasible: d.feasible, queueInfeasible };
}

/**
 * The bare need for forecast f: every replica at its profiled throughput (utilisation 1, no correction, no burst, no
 * headroom), prefill raised to what the queue model needs for the TTFT percentile (with `percentile`), decode at the
 * largest KV use whose ITL meets the SLO. What the load physically needs: the SLO loop may trim the sized need down
 * to this, never below (a prefill pool at utilisation 1 has an unbounded queue).
 * Example: 5400 requests in 180 s at ISL 3000 / OSL 150 (dynamo-format-synthetic), TTFT p95 500 ms: prefill
 * 90000 / 22163 = 4.06 -> 5, and the queue model agrees (p95 TTFT 488 ms at 5).
 */
export function bareNeed(ctx: SlaContext, f: Forecast, islTail: number | undefined): Record<Role, number> {
  const bare: SizingInputs = {
    burst: BURST_OFF,
    pCf: 1,
    dCf: 1,
    factor: 1,
    factorRule: 'bare',
    itlTargetMs: ctx.spec.slo.itl.ms,
    islTail,
    headroom: { prefill: 1, decode: 1 },
  };
  const sized = sizeFor({ ...ctx, utilization: 1 }, f, bare);
  return { prefill: sized.prefill.replicas, decode: sized.decode.replicas };
}
