/**
 * One tick of NVIDIA Dynamo's SLA planner as it ships (the G1 "classic" planner, throughput scaling only, disagg
 * mode), ported from ai-dynamo/dynamo `components/src/dynamo/planner/utils/{disagg_planner,planner_core,
 * prefill_planner,decode_planner}.py` (Apache-2.0, Copyright NVIDIA CORPORATION & AFFILIATES), commit
 * 0ff5001282458c8804ee72c78a9658e3bf27a011. The operations run in Dynamo's order, with its operand order, so the
 * floating-point results (and hence every ceil()) match its own.
 *
 * Per tick (DisaggPlanner._throughput_loop):
 *   1. observe: the window's request count, mean ISL/OSL, mean TTFT/ITL (ms) and mean request duration (s); each
 *      predictor (requests, ISL, OSL) gets one point (NaN counts as 0; leading zeros are skipped).
 *   2. hold: if any of the six is missing or NaN (e.g. no request completed: 0/0 means), the tick is skipped and
 *      nothing is scaled (Metrics.is_valid). This is why Dynamo never scales down when traffic stops.
 *   3. correction (unless no_correction): pCf = TTFT / ttft(isl); dCf = ITL / itl(concurrency, isl + osl/2),
 *      concurrency = requests / decode workers x duration / interval (skipped when there are no decode workers).
 *   4. prefill = max(min_endpoint, ceil(n x isl / interval x min(1, pCf) / thpt(isl) / prefill GPUs));
 *      decode  = max(min_endpoint, ceil(n x osl / interval / best_thpt(itl SLO / dCf, isl + osl/2) / decode GPUs)),
 *      with n, isl, osl the predictions; a throughput <= 0 gives min_endpoint.
 *   5. budget (_apply_global_gpu_budget): over budget, s = budget / total GPUs,
 *      p = max(min, min(floor((budget - min x gd) / gp), floor(p x s))), d = max(min, floor((budget - p x gp) / gd)):
 *      decode gets every GPU prefill leaves, even more than it asked for; budget < min x (gp + gd) gives (0, 0).
 * Worked example (vector 0 of the differential test: dynamo-format-synthetic, interval 120 s, ITL SLO 161.41 ms,
 * 4 GPUs per prefill and 1 per decode replica, no correction, 45382 requests of ISL 7204, OSL 1010.02, budget 406):
 * prefill thpt(7204) = 20870.73 tok/s/GPU: 45382 x 7204 / 120 / 20870.73 / 4 = 32.63 -> 33;
 * decode best throughput at ctx 7709 within 161.41 ms is the kv = 1 cell, 2027.63 tok/s/GPU:
 * 45382 x 1010.02 / 120 / 2027.63 = 188.38 -> 189; 33 x 4 + 189 = 321 GPUs fit the budget: (33, 189).
 */
import type { DynamoDecodeInterpolator, DynamoPrefillInterpolator } from './interpolation.js';
import type { DynamoPredictor } from './predictors.js';

export interface DynamoConfig {
  /** adjustment_interval (s); Dynamo's default is 180. */
  intervalSeconds: number;
  /** ITL target (ms); the TTFT target is not read by the throughput planner. */
  itlMs: number;
  prefillGpus: number;
  decodeGpus: number;
  /** max_gpu_budget; -1 = no budget. */
  maxGpuBudget: number;
  /** min_endpoint (Dynamo: 1). */
  minEndpoint: number;
  /** false = --no-correction. */
  correction: boolean;
}

/** What Dynamo reads from Prometheus for one window: the request count and the means (NaN when undefined). */
export interface DynamoMetrics {
  numReq: number;
  isl: number;
  osl: number;
  ttftMs: number;
  itlMs: number;
  requestDurationSeconds: number;
}

export interface DynamoInterpolators {
  prefill: DynamoPrefillInterpolator;
  decode: DynamoDecodeInterpolator;
}

export interface DynamoState {
  pCf: number;
  dCf: number;
  numReq: DynamoPredictor;
  isl: DynamoPredictor;
  osl: DynamoPredictor;
}

export interface DynamoTick {
  /** True when the tick was skipped (invalid metrics): nothing is scaled. */
  held: boolean;
  reason?: string;
  /** Replicas after the budget (what set_component_replicas gets). */
  prefill?: number;
  decode?: number;
  /** Before the budget. */
  needPrefill?: number;
  needDecode?: number;
  predicted?: { numReq: number; isl: number; osl: number };
}

function invalid(v: number | undefined): boolean {
  return v === undefined || Number.isNaN(v);
}

/** _apply_global_gpu_budget. Example: (14, 3), 1 GPU each, budget 8: s = 0.47, p = 6, d = 8 - 6 = 2. */
export function dynamoBudget(p: number, d: number, config: DynamoConfig): { p: number; d: number } {
  const budget = config.maxGpuBudget;
  if (budget < 0) return { p, d };
  const gp = config.prefillGpus;
  const gd = config.decodeGpus;
  const total = p * gp + d * gd;
  if (total <= budget) return { p, d };
  const min = config.minEndpoint;
  if (budget < min * gp + min * gd) return { p: 0, d: 0 };
  const scale = budget / total;
  const maxPrefill = Math.floor((budget - min * gd) / gp);
  const p2 = Math.max(min, Math.min(maxPrefill, Math.floor(p * scale)));
  const remaining = budget - p2 * gp;
  return { p: p2, d: Math.max(min, Math.floor(remaining / gd)) };
}

/** One tick; `state` is updated in place (predictors, correction factors), as Dynamo's planner objects are. */
export function dynamoTick(interp: DynamoInterpolators, config: DynamoConfig, state: DynamoState, m: DynamoMetrics, workers: { prefill: number; decode: number }): DynamoTick {
  // 1. observe_traffic_stats -> update_predictors_from_metrics.
  state.numReq.add(m.numReq);
  state.isl.add(m.isl);
  state.osl.add(m.osl);
  // 2. plan_adjustment: skip when any metric is invalid.
  const fields: [string, number][] = [['ttft', m.ttftMs], ['itl', m.itlMs], ['isl', m.isl], ['osl', m.osl], ['num_req', m.numReq], ['request_duration', m.requestDurationSeconds]];
  const bad = fields.filter(([, v]) => invalid(v)).map(([k]) => k);
  if (bad.length > 0) return { held: true, reason: `metrics contain NaN (${bad.join(', ')}): Dynamo skips the adjustment` };
  // 3. correction factors.
  if (config.correction) {
    state.pCf = m.ttftMs / interp.prefill.ttftMs(m.isl);
    if (workers.decode !== 0) {
      const concurrency = ((m.numReq / workers.decode) * m.requestDurationSeconds) / config.intervalSeconds;
      state.dCf = m.itlMs / interp.decode.itlMs(concurrency, m.isl + m.osl / 2);
    }
  }
  const predicted = { numReq: state.numReq.predict(), isl: state.isl.predict(), osl: state.osl.predict() };
  // 4. replica requirements.
  const needPrefill = prefillReplicas(interp, config, state.pCf, predicted);
  const needDecode = decodeReplicas(interp, config, state.dCf, predicted);
  // 5. budget.
  const { p, d } = dynamoBudget(needPrefill, needDecode, config);
  return { held: false, prefill: p, decode: d, needPrefill, needDecode, predicted };
}

function prefillReplicas(interp: DynamoInterpolators, config: DynamoConfig, pCf: number, f: { numReq: number; isl: number }): number {
  // Python min(1, pCf): 1 unless pCf < 1 (also when pCf is NaN).
  const demand = ((f.numReq * f.isl) / config.intervalSeconds) * (pCf < 1 ? pCf : 1);
  const thpt = interp.prefill.thptPerGpu(f.isl);
  if (thpt <= 0) return config.minEndpoint;
  return Math.max(Math.ceil(demand / thpt / config.prefillGpus), config.minEndpoint);
}

function decodeReplicas(interp: DynamoInterpolators, config: DynamoConfig, dCf: number, f: { numReq: number; isl: number; osl: number }): number {
  const itl = dCf <= 0 ? config.itlMs : config.itlMs / dCf;
  const { thptPerGpu } = interp.decode.findBestThroughputPerGpu(itl, f.isl + f.osl / 2);
  if (thptPerGpu <= 0) return config.minEndpoint;
  const demand = (f.numReq * f.osl) / config.intervalSeconds;
  return Math.max(Math.ceil(demand / thptPerGpu / config.decodeGpus), config.minEndpoint);
}
