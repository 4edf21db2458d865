/**
 * Dynamo's G1 SLA planner formulas, exactly (test/unit/policies/dynamo.test.ts checks them against Dynamo's own
 * reference rows): the baseline.
 * None of our improvements; `sla/` builds on these functions.
 *
 * Per interval I seconds, with n requests forecast for the next interval, mean isl/osl tokens:
 *
 *   correction   pCf = observed mean TTFT / ttftP(observed isl)
 *                dCf = observed mean ITL / itlD(kv, ctx), kv = concurrency x ctx / maxKv, ctx = isl + osl/2,
 *                concurrency = requests / decodeReplicas x requestDuration / window   (Little's law)
 *   prefill      ceil(n x isl / I x min(1, pCf) / thptP(isl) / gpusPerPrefillReplica)
 *   decode       kv* = largest kv with itlD(kv, ctx) <= itlSlo / dCf;  ceil(n x osl / I / thptD(kv*, ctx) / gpusPerDecodeReplica)
 *   floors       max(1, ...) for each role
 *
 * Worked example (dynamo-format-synthetic, I = 180, ITL SLO 50 ms, 1 GPU per replica, pCf = dCf = 1):
 *   n = 18000, isl = 3000, osl = 150:
 *   prefill: 18000 x 3000 / 180 = 300000 tok/s over thptP(3000) = 22163 tok/s/GPU = 13.54 -> 14 replicas;
 *   decode: ctx = 3075, ITL at kv 1 is 12.4 ms <= 50 so kv* = 1 with 5703 tok/s/GPU;
 *           18000 x 150 / 180 = 15000 tok/s / 5703 = 2.63 -> 3 replicas.
 */
import type { Role } from '../config/schema.js';
import type { Forecast, Observation, RoleNeed } from '../planner/types.js';
import type { PerformanceProfile } from '../profiles/types.js';
import { checkForecast, holdNeed, isUsable, MIN_ENDPOINT, r4, roleReplicaGpus, windowSeconds } from './common.js';
import type { Policy, PolicyInput, PolicyOutput } from './types.js';

/** Prefill need for a token demand. `factor` is Dynamo's min(1, pCf); `utilization` (1 in Dynamo) is our headroom. */
export function prefillReplicas(
  profile: PerformanceProfile,
  requests: number,
  isl: number,
  intervalSeconds: number,
  factor: number,
  gpusPerReplica: number,
  utilization = 1,
): RoleNeed {
  const tokensPerSecond = ((requests * isl) / intervalSeconds) * factor;
  const thpt = profile.prefillThptPerGpu(isl);
  const exact = tokensPerSecond / (thpt.value * utilization) / gpusPerReplica;
  const replicas = Math.max(MIN_ENDPOINT, Math.ceil(exact));
  const detail: RoleNeed['detail'] = {
    formula: 'ceil(requests x isl / interval x factor / thptPerGpu(isl)' + (utilization !== 1 ? ' / targetUtilization' : '') + ' / gpusPerReplica), at least 1',
    requests: r4(requests),
    isl: r4(isl),
    intervalSeconds,
    factor: r4(factor),
    prefillTokensPerSecond: r4(tokensPerSecond),
    thptPerGpu: r4(thpt.value),
  };
  if (utilization !== 1) detail.targetUtilization = utilization;
  detail.gpusPerReplica = gpusPerReplica;
  detail.exact = r4(exact);
  detail.replicas = replicas;
  if (thpt.clamped) detail.profileClamped = thpt.clamped;
  return { replicas, detail };
}

/** Decode need: best kv under `itlTargetMs` at ctx = isl + osl/2, then tokens over that throughput. */
export function decodeReplicas(
  profile: PerformanceProfile,
  requests: number,
  isl: number,
  osl: number,
  intervalSeconds: number,
  itlTargetMs: number,
  gpusPerReplica: number,
  utilization = 1,
): RoleNeed & { feasible: boolean } {
  const ctx = isl + osl / 2;
  const best = profile.bestDecode(itlTargetMs, ctx);
  const tokensPerSecond = (requests * osl) / intervalSeconds;
  const capacity = best.thptPerGpu * utilization;
  // Dynamo v0.9 guard: no throughput at all -> min_endpoint.
  const exact = capacity > 0 ? tokensPerSecond / capacity / gpusPerReplica : 0;
  const replicas = Math.max(MIN_ENDPOINT, Math.ceil(exact));
  const detail: RoleNeed['detail'] = {
    formula: 'ceil(requests x osl / interval / thptPerGpu(kv, ctx)' + (utilization !== 1 ? ' / targetUtilization' : '') + ' / gpusPerReplica), at least 1',
    requests: r4(requests),
    osl: r4(osl),
    ctx: r4(ctx),
    intervalSeconds,
    itlTargetMs: r4(itlTargetMs),
    kv: r4(best.kv),
    itlAtKvMs: r4(best.itlMs),
    thptPerGpu: r4(best.thptPerGpu),
    feasible: best.feasible,
    decodeTokensPerSecond: r4(tokensPerSecond),
  };
  if (utilization !== 1) detail.targetUtilization = utilization;
  detail.gpusPerReplica = gpusPerReplica;
  detail.exact = r4(exact);
  detail.replicas = replicas;
  if (best.clamped) detail.profileClamped = best.clamped;
  return { replicas, detail, feasible: best.feasible };
}

/** What the prefill correction says, for the prefill need's explanation. */
export interface PrefillCorrectionDetail {
  pCf: number;
  /** Set when the factor was kept: where it came from and why. */
  pCfSource?: string;
  pCfRule?: string;
  /** With `percentile`: this window's value before smoothing, and the smoothing rule. */
  pCfWindow?: number;
  pCfSmoothing?: string;
  /** With `correctionGuard`: why the factor was kept or bounded. */
  pCfGuard?: string;
  observedTtftMs?: number;
  observedTtftStat?: string;
  profiledTtftMs?: number;
  modelledTtftMs?: number;
  /** With `serviceTimeCorrection`: observed over modelled TTFT, beside the service-time factor taken as pCf. */
  ttftRatio?: number;
  observedIsl?: number;
  observedRequestsPerSecond?: number;
  currentPrefillReplicas?: number;
}

/** What the decode correction says, for the decode need's explanation. */
export interface DecodeCorrectionDetail {
  dCf: number;
  dCfSource?: string;
  dCfGuard?: string;
  dCfWindow?: number;
  dCfSmoothing?: string;
  observedItlMs?: number;
  observedItlStat?: string;
  profiledItlMs?: number;
  concurrencyPerDecodeReplica?: number;
  observedKv?: number;
  observedCtx?: number;
}

/** Both roles' detail when `spec.sla.correction` is false. */
export interface CorrectionOffDetail {
  correction: string;
}
export const CORRECTION_OFF: CorrectionOffDetail = { correction: 'off (spec.sla.correction false)' };

export interface CorrectionStep<D = PrefillCorrectionDetail | DecodeCorrectionDetail> {
  value: number;
  /** What was computed, for `detail`. */
  detail: D;
  /** Set when the factor was kept from the last tick: field -> what we did. */
  missing?: [string, string];
}

/**
 * Prefill correction: observed TTFT over profiled TTFT at the observed ISL (Dynamo compares means).
 * Example: observed 200 ms at ISL 3000 where the profile says 135.07 ms -> pCf = 1.4808.
 */
export function prefillCorrection(profile: PerformanceProfile, obs: Observation, observedTtftMs: number | undefined, stat: string, last: number): CorrectionStep<PrefillCorrectionDetail> {
  const field = `ttftMs.${stat}`;
  if (!isUsable(obs.requests)) return { value: last, detail: { pCf: r4(last), pCfSource: 'last tick' }, missing: ['requests', `kept prefill correction ${r4(last)} from the last tick`] };
  if (obs.requests <= 0) return { value: last, detail: { pCf: r4(last), pCfSource: 'last tick (no requests in the window)' } };
  if (!isUsable(observedTtftMs) || observedTtftMs <= 0) return { value: last, detail: { pCf: r4(last), pCfSource: 'last tick' }, missing: [field, `kept prefill correction ${r4(last)} from the last tick`] };
  if (!isUsable(obs.isl) || obs.isl <= 0) return { value: last, detail: { pCf: r4(last), pCfSource: 'last tick' }, missing: ['isl', `kept prefill correction ${r4(last)} from the last tick`] };
  const profiled = profile.prefillTtftMs(obs.isl).value;
  const value = observedTtftMs / profiled;
  return { value, detail: { pCf: r4(value), observedTtftMs: r4(observedTtftMs), observedTtftStat: stat, profiledTtftMs: r4(profiled), observedIsl: r4(obs.isl) } };
}

/**
 * Decode correction: observed ITL over profiled ITL at the observed load, with the concurrency per decode replica
 * from Little's law. Example: 3600 requests in 180 s, 4 replicas, 20 s each: concurrency = 3600 / 4 x 20 / 180 = 100;
 * ctx = 3000 + 150/2 = 3075, kv = 100 x 3075 / 200000 = 1.5375 (clamped to the row ends) -> profiled 12.43 ms;
 * observed 15 ms -> dCf = 1.207.
 */
export function decodeCorrection(
  profile: PerformanceProfile,
  obs: Observation,
  observedItlMs: number | undefined,
  stat: string,
  decodeReplicas: number,
  interval: number,
  last: number,
): CorrectionStep<DecodeCorrectionDetail> {
  const keep = (field: string): CorrectionStep<DecodeCorrectionDetail> => ({
    value: last,
    detail: { dCf: r4(last), dCfSource: 'last tick' },
    missing: [field, `kept decode correction ${r4(last)} from the last tick`],
  });
  if (!isUsable(obs.requests)) return keep('requests');
  if (obs.requests <= 0) return { value: last, detail: { dCf: r4(last), dCfSource: 'last tick (no requests in the window)' } };
  if (!isUsable(observedItlMs) || observedItlMs <= 0) return keep(`itlMs.${stat}`);
  if (!isUsable(obs.isl) || obs.isl <= 0) return keep('isl');
  if (!isUsable(obs.osl) || obs.osl < 0) return keep('osl');
  if (!isUsable(obs.requestDurationSeconds) || obs.requestDurationSeconds <= 0) return keep('requestDurationSeconds');
  if (!(decodeReplicas > 0)) return keep('pools (no decode replicas running)');
  const window = windowSeconds(obs.windowSeconds, interval);
  const ctx = obs.isl + obs.osl / 2;
  const concurrency = ((obs.requests / decodeReplicas) * obs.requestDurationSeconds) / window;
  const kv = (concurrency * ctx) / profile.maxKvTokens;
  const profiled = profile.decodeItlMs(kv, ctx).value;
  const value = observedItlMs / profiled;
  return {
    value,
    detail: {
      dCf: r4(value),
      observedItlMs: r4(observedItlMs),
      observedItlStat: stat,
      profiledItlMs: r4(profiled),
      concurrencyPerDecodeReplica: r4(concurrency),
      observedKv: r4(kv),
      observedCtx: r4(ctx),
    },
  };
}

/**
 * Dynamo v0.8+ global GPU budget (`_apply_global_gpu_budget`). budget < 0 turns it off; when even the minimum does
 * not fit, both are 0 (pd-planner reports that conflict at validate time instead).
 * Otherwise, over budget: s = budget / total, max_p = floor((budget - min x gd) / gp),
 *   p' = max(min, min(max_p, floor(p x s))),  d' = max(min, floor((budget - p' x gp) / gd)).
 * Example: (p, d) = (14, 3), 1 GPU each, budget 8: s = 8/17 = 0.4706, max_p = 7, p' = min(7, floor(6.59)) = 6,
 * d' = floor((8 - 6) / 1) = 2 -> (6, 2).
 */
export function dynamoGpuBudget(p: number, d: number, gp: number, gd: number, budget: number, minEndpoint: number): { p: number; d: number } {
  if (budget < 0) return { p, d };
  if (budget < minEndpoint * (gp + gd)) return { p: 0, d: 0 };
  const total = p * gp + d * gd;
  if (total <= budget) return { p, d };
  const s = budget / total;
  const maxP = Math.floor((budget - minEndpoint * gd) / gp);
  const p2 = Math.max(minEndpoint, Math.min(maxP, Math.floor(p * s)));
  const d2 = Math.max(minEndpoint, Math.floor((budget - p2 * gp) / gd));
  return { p: p2, d: d2 };
}

/** Inputs every SLA-style policy shares, or the reason they cannot be computed (then each role holds). */
export function heldOutput(input: PolicyInput, field: string, warnings: string[], missing: Record<string, string>): PolicyOutput {
  const reason = `${field} is unusable; holding the current replicas`;
  missing[field] = 'held the current replicas';
  const need = {} as Record<Role, RoleNeed>;
  for (const role of ['prefill', 'decode'] as const) need[role] = holdNeed(input.current[role], reason);
  return { need, correction: input.correction, warnings, missing };
}

/** Forecast fields for the formulas. */
function forecastValues(f: Forecast): { requests: number; isl: number; osl: number } {
  return { requests: f.requests.value, isl: f.isl.value, osl: f.osl.value };
}

export const dynamoPolicy: Policy = (input) => {
  const { spec, profile, observation: obs } = input;
  const warnings: string[] = [];
  const missing: Record<string, string> = {};
  const { gpus } = roleReplicaGpus(spec, warnings);
  const fc = checkForecast(input.forecast);
  if (!fc.ok) return heldOutput(input, fc.field, warnings, missing);

  let pCf = 1;
  let dCf = 1;
  let prefillDetail: PrefillCorrectionDetail | CorrectionOffDetail = CORRECTION_OFF;
  let decodeDetail: DecodeCorrectionDetail | CorrectionOffDetail = CORRECTION_OFF;
  let correction = input.correction;
  if (spec.sla.correction) {
    const p = prefillCorrection(profile, obs, obs.ttftMs?.mean, 'mean', input.correction.pCf);
    const d = decodeCorrection(profile, obs, obs.itlMs?.mean, 'mean', input.current.decode, spec.interval, input.correction.dCf);
    for (const step of [p, d]) if (step.missing) addMissing(missing, step.missing);
    pCf = p.value;
    dCf = d.value;
    correction = { pCf, dCf };
    prefillDetail = p.detail;
    decodeDetail = d.detail;
  }

  const { requests, isl, osl } = forecastValues(input.forecast);
  const prefill = prefillReplicas(profile, requests, isl, spec.interval, Math.min(1, pCf), gpus.prefill);
  prefill.detail = { ...prefill.detail, pCf: r4(pCf), factorRule: 'min(1, pCf)', ...prefillDetail };
  const itlSlo = spec.slo.itl.ms;
  const itlTarget = dCf > 0 ? itlSlo / dCf : itlSlo;
  const decode = decodeReplicas(profile, requests, isl, osl, spec.interval, itlTarget, gpus.decode);
  if (!decode.feasible) warnings.push(infeasibleItl(itlSlo, dCf, decode.detail));
  const decodeNeed: RoleNeed = { replicas: decode.replicas, detail: { itlSloMs: itlSlo, dCf: r4(dCf), ...decode.detail, ...decodeDetail } };
  return { need: { prefill, decode: decodeNeed }, correction, warnings, missing };
};

/** Record a missing field; a second note on the same field is appended. */
export function addMissing(missing: Record<string, string>, [field, note]: [string, string]): void {
  missing[field] = Object.hasOwn(missing, field) ? `${missing[field]}; ${note}` : note;
}

export function infeasibleItl(itlSlo: number, dCf: number, detail: RoleNeed['detail']): string {
  return (
    `ITL target ${r4(itlSlo / (dCf > 0 ? dCf : 1))} ms (SLO ${itlSlo} ms / dCf ${r4(dCf)}) is below the profiled ITL at kv 0 ` +
    `(${String(detail.itlAtKvMs)} ms at context ${String(detail.ctx)}): no decode count meets it; sized at kv 0`
  );
}
