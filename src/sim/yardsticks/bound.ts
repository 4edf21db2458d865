/**
 * The fluid lower bound on GPU-hours: what no schedule can go below on this trace, profile and SLO, in the cluster
 * model's own physics (src/sim/cluster/latency.ts), whatever its planner.
 *
 * Variant reported: STRICT. Replicas are treated as divisible (no whole replicas, no startup, no queueing, no
 * interval boundaries), so every request is served at the best efficiency the model allows it:
 *
 *   prefill GPU-s of request i  = prefillTime(isl_i) x gpusPerReplica(prefill)
 *                                 (a prefill replica serves one request at a time; prefillTime is the profile's TTFT
 *                                 at that ISL, extrapolated above the largest measured ISL as the model does; this is
 *                                 isl_i / the profile's prefill throughput per GPU at isl_i)
 *   decode GPU-s of request i   = (osl_i - 1) x gpusPerReplica(decode) x ITL(b*) / b*
 *                                 with ctx = isl_i + osl_i / 2 and b* the largest batch of such requests whose step
 *                                 time ITL(b x ctx / maxKv, ctx) meets the ITL SLO and whose reserved KV
 *                                 b x (isl_i + osl_i) fits maxKvTokens (b* = 1 when even one misses the SLO: such a
 *                                 request misses anyway). The first output token comes from prefill, hence osl - 1.
 *   sacrificed requests         the SLO is met when a share q = max(TTFT, ITL percentile) of requests meets it, so up
 *                                 to floor((1 - q) x N) requests may be served at no cost: per role, the costliest
 *                                 that many are left out (each role may leave out different ones, which only lowers
 *                                 the bound);
 *   pool minimums               a role never holds fewer GPUs than its pools' minReplicas x gpusPerReplica over the
 *                                 trace's duration, so each role's bound is the larger of that floor and its work.
 *
 *   bound = sum over roles of max(minimum GPUs x duration, work)
 *
 * Worked example (llama2-70b-h100-tp4, 4 GPUs per replica, ITL SLO 60 ms, maxKv 450000), one request isl 2048,
 * osl 129: prefill 200.681 ms x 4 GPUs = 0.8027 GPU-s. Decode: ctx 2112.5, reservation 2177 tokens so at most
 * 206 fit, but the step time passes 60 ms at 69 requests (60.03 ms); b* = 68 (59.57 ms), so each token costs
 * 4 x 0.05957 / 68 = 3.504 GPU-ms and the 128 decode tokens 0.4485 GPU-s.
 * A 1-hour trace of 10,000 such requests with a 95% SLO leaves out 500: prefill 9500 x 0.8027 = 7626 GPU-s =
 * 2.12 GPU-h, decode 9500 x 0.4485 = 4261 GPU-s = 1.18 GPU-h; with one 4-GPU replica minimum per role (4 GPU-h
 * each) the bound is 4 + 4 = 8 GPU-h: this trace is too light to fill the minimum replicas.
 *
 * Why it is a lower bound (in the model): any schedule serves every request it does not sacrifice through one
 * prefill (at least prefillTime x GPUs) and (osl - 1) decode steps shared by at most b* requests each within the SLO
 * (mixing contexts in one batch is charged at the mean context, which the model's step time treats the same way);
 * it never holds fewer than the minimum replicas. It ignores startup, whole replicas and queueing, all of which only
 * add, which is why real schedules sit well above it (hindsight.ts measures how far).
 */
import type { PolicySpec, Role } from '../../config/schema.js';
import type { PerformanceProfile } from '../../profiles/types.js';
import { DecodeItl, PrefillTimes } from '../cluster/latency.js';
import { kthSmallest } from '../cluster/percentiles.js';
import type { Trace } from '../types.js';

export interface FluidBound {
  gpuHours: number;
  prefillGpuHours: number;
  decodeGpuHours: number;
  method: string;
}

export const BOUND_METHOD =
  'fluid-strict: per request, prefill time x GPUs and (osl - 1) decode tokens at the best batch within the ITL SLO; ' +
  'the costliest (1 - SLO percentile) share of requests left out per role; each role at least its minimum replicas over the trace';

/** The SLO's attainment target as a share: the stricter of the TTFT and ITL percentiles (95 -> 0.95). */
export function sloTarget(spec: PolicySpec): number {
  return Math.max(spec.slo.ttft.percentile, spec.slo.itl.percentile) / 100;
}

/** Smallest gpusPerReplica among the role's pools (0 when the role has none). */
function roleGpus(spec: PolicySpec, role: Role): number {
  let g = Infinity;
  for (const p of spec.pools) if (p.role === role) g = Math.min(g, p.gpusPerReplica);
  return Number.isFinite(g) ? g : 0;
}

/** GPUs a role always holds: its pools' minReplicas x gpusPerReplica. */
function minimumGpus(spec: PolicySpec, role: Role): number {
  let sum = 0;
  for (const p of spec.pools) if (p.role === role) sum += p.minReplicas * p.gpusPerReplica;
  return sum;
}

/**
 * Decode GPU-seconds per output token of a request (isl, osl) on replicas of `gpus` GPUs: gpus x ITL(b*) / b*.
 * ITL grows with the batch, so b* is found by bisection over 1..(requests whose reserved KV fits).
 */
export function decodeSecondsPerToken(itl: DecodeItl, maxKv: number, itlSloMs: number, gpus: number, isl: number, osl: number): number {
  const ctx = isl + osl / 2;
  const fit = Math.max(1, Math.floor(maxKv / Math.max(1, isl + osl)));
  const stepMs = (b: number) => itl.ms((b * ctx) / maxKv, ctx);
  let lo = 1;
  if (stepMs(fit) <= itlSloMs) lo = fit;
  else if (stepMs(1) <= itlSloMs) {
    let hi = fit; // stepMs(lo) <= SLO < stepMs(hi)
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (stepMs(mid) <= itlSloMs) lo = mid;
      else hi = mid;
    }
  }
  return (gpus * stepMs(lo)) / 1000 / lo;
}

/**
 * Sum of `values` without its `drop` largest entries, in O(n): t = the largest value kept (a selection on a copy);
 * every value below t is kept, and t fills the kept places left. Example: [5, 1, 9, 3], drop 1 -> t = 5, 1 + 3 + 5 = 9.
 */
export function sumWithoutLargest(values: Float64Array, drop: number): number {
  const n = values.length;
  const keep = n - drop;
  if (keep <= 0) return 0;
  let total = 0;
  for (let i = 0; i < n; i++) total += values[i] as number;
  if (drop <= 0) return total;
  const t = kthSmallest(Float64Array.from(values), n, keep - 1);
  let below = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (v < t) {
      below += v;
      count++;
    }
  }
  return below + (keep - count) * t;
}

export function fluidBound(spec: PolicySpec, profile: PerformanceProfile, trace: Trace): FluidBound {
  const n = trace.arrival.length;
  const gp = roleGpus(spec, 'prefill');
  const gd = roleGpus(spec, 'decode');
  let maxTokens = 0;
  for (let i = 0; i < n; i++) maxTokens = Math.max(maxTokens, (trace.isl[i] as number) + (trace.osl[i] as number));
  const maxKv = profile.maxKvTokens;
  const prefill = new PrefillTimes(profile, Math.min(maxTokens, maxKv));
  const itl = new DecodeItl(profile);
  const prefillWork = new Float64Array(n);
  const decodeWork = new Float64Array(n);
  const perToken = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const isl = trace.isl[i] as number;
    const osl = trace.osl[i] as number;
    // Requests that can never fit the KV cache are dropped by the model at arrival: no work, and they miss.
    if (isl + osl > maxKv) continue;
    prefillWork[i] = (prefill.ms(isl) / 1000) * gp;
    if (osl > 1) {
      const key = isl * 4194304 + osl;
      let cost = perToken.get(key);
      if (cost === undefined) {
        cost = decodeSecondsPerToken(itl, maxKv, spec.slo.itl.ms, gd, isl, osl);
        perToken.set(key, cost);
      }
      decodeWork[i] = (osl - 1) * cost;
    }
  }
  const drop = Math.floor((1 - sloTarget(spec)) * n + 1e-9);
  const duration = trace.durationSeconds;
  const prefillSeconds = Math.max(minimumGpus(spec, 'prefill') * duration, sumWithoutLargest(prefillWork, drop));
  const decodeSeconds = Math.max(minimumGpus(spec, 'decode') * duration, sumWithoutLargest(decodeWork, drop));
  return {
    gpuHours: (prefillSeconds + decodeSeconds) / 3600,
    prefillGpuHours: prefillSeconds / 3600,
    decodeGpuHours: decodeSeconds / 3600,
    method: BOUND_METHOD,
  };
}
