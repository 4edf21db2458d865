/**
 * The `sla` policy: Dynamo's SLA formulas (see dynamo.ts) plus our improvements, each switchable by
 * `spec.sla.improvements.*` so the simulator can show what each buys. With every improvement off and
 * `targetUtilization: 1` it gives exactly the `dynamo` policy's numbers.
 *
 * Prefill, the Dynamo core:  ceil(n x isl / I x factor / thptP(isl) / targetUtilization / gpusPerReplica)
 *   e.g. n = 5400 requests in I = 180 s at isl 3000: 90000 tok/s; thptP(3000) = 22163 tok/s/GPU; factor 1;
 *   targetUtilization 0.85: 90000 / (22163 x 0.85) = 4.78 -> 5 replicas (4.06 -> 5 at utilisation 1).
 * Decode, the Dynamo core: kv* = largest kv with itlD(kv, isl + osl/2) <= itlSlo / dCf;
 *   ceil(n x osl / I / thptD(kv*, ctx) / targetUtilization / gpusPerReplica).
 *
 * Improvements:
 * - `percentile` (the SLO is a percentile, Dynamo sizes for means). Two parts:
 *   1. Prefill is sized as a queue (queue-model.ts): requests arrive at lambda = n / I, a replica serves
 *      mu = thptP(isl) x gpus / isl per second, and TTFT = wait + profiled prefill time at the SLO-percentile ISL.
 *      We take the smallest c whose q-quantile TTFT <= the TTFT target, and the larger of that and the throughput
 *      count. Worked example: n = 5400 / 180 s -> lambda = 30/s, isl 3000 -> mu = 7.388/s, prefill 135 ms;
 *      p95 TTFT is 488 ms at 5 replicas, 260 ms at 6. So a p95 500 ms SLO needs 5 (as throughput does), but a
 *      p95 300 ms SLO needs 6, where Dynamo would stay at 5 and miss it: at rho 0.81, 58% of requests queue.
 *      The prefill correction becomes observed pXX TTFT / modelled pXX TTFT at the current replicas and observed
 *      load (the model's error, about 1 when it is right), instead of observed mean / bare profile (which reads
 *      ordinary queueing as a slow engine). A window's tail is noisy, so the factor moves PCF_SMOOTHING (0.3) of the
 *      way to the window's value (1.06 then a bursty 2.17 -> 1.39); near saturation (modelled rho > 0.9) the model's
 *      wait is too sensitive to measure its error with, so the last factor is kept.
 *   2. Decode: dCf uses the observed pXX ITL rather than the mean, so the kv target leaves room for the tail:
 *      observed p95 15 ms where the profile says 12.43 ms -> dCf 1.207 -> size for 50 / 1.207 = 41.4 ms.
 *   Where a percentile was not observed, the mean is used and `missing` says so.
 * - `ttftOvershoot`: factor = min(max(pCf, 0.75), 2) instead of min(1, pCf), so TTFT worse than expected adds prefill
 *   (Dynamo only ever removes), and TTFT better than the queue model expects (mostly M/M/c overstating the wait of
 *   near-constant prefill times) removes at most a quarter. Capped at 2x a tick; step limits bound it further. pCf 1.5 at n 5400: 90000 x 1.5 /
 *   22163 = 6.09 -> 7 replicas (Dynamo: 5).
 * - `leadTime`: new replicas help only after `startupSeconds`, so we also size for `leadForecast` (the load expected
 *   then) and take the larger need per role. Load rising from 5400 to 9000 per interval: 5 -> 7 prefill replicas.
 * - `queueAware`: a backlog beyond what the queue model expects at the current replicas (Little's law,
 *   L_q = lambda x W_q) is cleared within the TTFT target: extra = ceil(excess x serviceSeconds / ttftTarget),
 *   at most the base need (a backlog is a symptom; it clears once capacity arrives). 20 queued at 5 replicas,
 *   lambda 30/s, L_q = 2.5: excess 17.5 x 0.1354 s / 0.5 s = 4.74 -> 5 extra.
 * - `burst`: size both roles for the busiest 10 s of the interval rather than its mean. A prefill queue that must
 *   drain within a 2 s TTFT cannot average a 10 s burst away, and decode receives what prefill emits. The burst ratio
 *   b = observed peak 10 s rate / mean rate of the window (burstRatio below) is carried across ticks, rising at once
 *   and falling by BURST_DECAY of the gap per tick, so a quiet minute does not forget the bursts of the one before;
 *   the forecast count is multiplied by b. A forecast that knows its own peak (the simulator's oracle) is used as is.
 *   600 requests forecast, b = 2.37 (250 of the last window's 600 arrivals came in one 10 s, less the Poisson
 *   allowance of 13): sized for 1422. A burst floor (the last peak demand, decaying with time constant 3 x
 *   startupSeconds) also holds through silent minutes, because bursty traffic comes back and new capacity takes
 *   startupSeconds to arrive: 1422 at the peak, then a silent minute at startup 180 s -> still 1422 x e^(-1/9) = 1272.
 * - `targetUtilization`: sizing aims at this fraction of profiled throughput (headroom for bursts), both roles.
 * Prefill time beyond the profile's largest ISL is extrapolated at the rate measured there (common.ts prefillMs), not
 * clamped: on Mooncake (p95 ISL 48.8k) the clamped lookup says 954 ms where the prompt takes 5.7 s.
 * TTFT feasibility: when the profiled TTFT at the forecast ISL already exceeds the SLO, no replica count fixes it;
 * we warn.
 */
import type { Role } from '../config/schema.js';
import type { Forecast, Observation, RoleNeed } from '../planner/types.js';
import type { PerformanceProfile } from '../profiles/types.js';
import { checkForecast, isUsable, prefillMs, r4, roleReplicaGpus, windowSeconds } from './common.js';
import {
  addMissing,
  decodeCorrection,
  decodeReplicas,
  heldOutput,
  infeasibleItl,
  pick,
  prefillCorrection,
  prefillReplicas,
  type CorrectionStep,
} from './dynamo.js';
import { expectedQueue, replicasForTtftQuantile, waitMean, waitQuantile } from './queue-model.js';
import type { Policy, PolicyInput } from './types.js';

/** Highest prefill correction applied when `ttftOvershoot` is on (at most doubles the prefill need in one tick). */
export const OVERSHOOT_CAP = 2;

/** Modelled prefill utilisation above which the TTFT correction is not updated (the model is too sensitive there). */
export const SATURATED_RHO = 0.9;
/**
 * Lowest prefill correction applied with `ttftOvershoot`: a TTFT better than the queue model predicts is mostly the
 * model's M/M/c wait overstating near-constant prefill times, not faster prefill, so it may shave capacity only a little.
 */
export const PCF_FLOOR = 0.75;
/**
 * Share of the way the prefill correction moves towards a new window's value (with `percentile`). The pXX TTFT of one
 * window jumps with a burst inside it: azure-conv x4 minute 23 saw p95 1100 ms against 507 ms modelled (pCf 2.17)
 * while the SLO was 2000 ms; taken at once, that doubles prefill, and the scale-down window holds it for 5 minutes.
 * Smoothed: 1.06 + (2.17 - 1.06) x 0.3 = 1.39. Measured: azure-conv x4 63.0 -> 61.3 GPU-h, azure-code x2 62.9 ->
 * 58.4 GPU-h at 95.1 -> 95.7% attainment.
 */
export const PCF_SMOOTHING = 0.3;

/** Burst ratio bounds and memory (see `burst` above). */
export const BURST_CAP = 4;
export const BURST_DECAY = 0.25;
/**
 * Memory of the burst floor, in startup times: capacity let go now takes startupSeconds to come back, and on the
 * Azure code trace bursts recur after silent gaps of up to 6 minutes (2 startup times at 180 s). With 3 the floor
 * keeps 72% of a burst's demand after a 3-minute gap and 51% after 6 (1 startup time: 37% and 14%). Measured
 * (bench/quality.ts): azure-code x2 94.6% attainment with 1, 95.2% with 2, 95.7% with 3, for +0.3 GPU-h (58.2 ->
 * 58.4); azure-conv x4 60.6 -> 61.3 GPU-h at 100% either way. Tuned on the code trace: say so when quoting it.
 */
export const BURST_MEMORY_STARTUPS = 3;
/** A window with fewer arrivals says nothing reliable about burstiness (its 10 s counts are mostly noise). */
export const BURST_MIN_REQUESTS = 30;

/**
 * Sub-window of the peak rate (the metric's; the simulator measures 10 s) and the Poisson allowance: even steady
 * Poisson arrivals have a busiest sub-window above the mean, by about 1.27 standard deviations for the busiest of 6,
 * and the queue model already absorbs that. Only the excess is burstiness.
 */
export const BURST_SUBWINDOW_SECONDS = 10;
export const POISSON_PEAK_Z = 1.3;

/**
 * The burst ratio carried to the next tick: the peak sub-window count less the Poisson allowance, over the mean
 * sub-window count; at least 1 and at most BURST_CAP; a higher ratio is taken at once, a lower one approached by
 * BURST_DECAY of the gap per tick.
 * Example: 600 arrivals in 60 s (mean 100 per 10 s) with a peak of 25 req/s (250 in 10 s):
 * (250 - 1.3 x sqrt(100)) / 100 = 2.37; steady 1300/min (216.7 per 10 s) with a peak of 235: (235 - 19.1) / 216.7
 * -> 1. Last 3.0, observed 2.37 -> 3.0 + (2.37 - 3.0) x 0.25 = 2.84.
 */
export function burstRatio(
  obs: Observation,
  interval: number,
  last: number,
): { value: number; detail: Record<string, number | string>; missing?: string; peakDemand?: number; observed?: number } {
  const keep = (why: string, missing?: string) => ({ value: last, detail: { burstRatio: r4(last), burstSource: `last tick (${why})` }, ...(missing ? { missing } : {}) });
  if (!isUsable(obs.requests) || obs.requests < BURST_MIN_REQUESTS) return keep(`fewer than ${BURST_MIN_REQUESTS} arrivals in the window`);
  if (!isUsable(obs.peakRequestsPerSecond) || obs.peakRequestsPerSecond < 0) return keep('no peak rate observed', 'kept the burst ratio from the last tick');
  const window = windowSeconds(obs.windowSeconds, interval);
  const meanCount = (obs.requests * BURST_SUBWINDOW_SECONDS) / window;
  const excessPeak = obs.peakRequestsPerSecond * BURST_SUBWINDOW_SECONDS - POISSON_PEAK_Z * Math.sqrt(meanCount);
  const observed = Math.min(BURST_CAP, Math.max(1, excessPeak / meanCount));
  const value = observed >= last ? observed : last + (observed - last) * BURST_DECAY;
  const peakDemand = (observed * obs.requests * interval) / window;
  return { value, peakDemand, observed, detail: { burstRatio: r4(value), observedBurstRatio: r4(observed), observedPeakRequestsPerSecond: r4(obs.peakRequestsPerSecond) } };
}

/** `p95` for 95, `p99.9` for 99.9: the key of a LatencySummary. */
export function percentileKey(percentile: number): `p${number}` {
  return `p${percentile}`;
}

/**
 * The prefill correction against the queue model: observed TTFT (at the SLO percentile if observed, else the mean)
 * over what the model predicts at the current replicas and the observed load.
 * Example: 30 req/s at ISL 3000 on 5 replicas: modelled p95 = 135 + 353 = 488 ms; observed p95 610 ms -> pCf 1.25.
 */
export function prefillQueueCorrection(
  profile: PerformanceProfile,
  obs: Observation,
  key: `p${number}`,
  q: number,
  replicas: number,
  gpus: number,
  interval: number,
  last: number,
  burstFactor = 1,
): CorrectionStep & { extraMissing?: [string, string] } {
  const keep = (why: string, field?: string): CorrectionStep => ({
    value: last,
    detail: { pCf: r4(last), pCfSource: `last tick (${why})` },
    ...(field ? { missing: [field, `kept prefill correction ${r4(last)} from the last tick`] as [string, string] } : {}),
  });
  if (!isUsable(obs.requests)) return keep('no request count', 'requests');
  if (obs.requests <= 0) return keep('no requests in the window');
  let stat: string = key;
  let observed = obs.ttftMs?.[key];
  let extraMissing: [string, string] | undefined;
  if (!isUsable(observed)) {
    observed = obs.ttftMs?.mean;
    stat = 'mean';
    if (!isUsable(observed)) return keep('no TTFT observed', `ttftMs.${key}`);
    extraMissing = [`ttftMs.${key}`, 'used the mean TTFT against the modelled mean for the prefill correction'];
  }
  if (!(observed > 0)) return keep('observed TTFT is 0', `ttftMs.${stat}`);
  if (!isUsable(obs.isl) || obs.isl <= 0) return keep('no ISL observed', 'isl');
  if (!(replicas > 0)) return keep('no prefill replicas running');
  const lambda = (obs.requests / windowSeconds(obs.windowSeconds, interval)) * burstFactor;
  const mu = (profile.prefillThptPerGpu(obs.isl).value * gpus) / obs.isl;
  const latencyIsl = stat === 'mean' ? obs.isl : Math.max(obs.isl, obs.islPercentiles?.[key] ?? obs.isl);
  const baseMs = prefillMs(profile, latencyIsl);
  const waitS = stat === 'mean' ? waitMean(replicas, lambda, mu) : waitQuantile(replicas, lambda, mu, q);
  if (!Number.isFinite(waitS)) return keep(`the observed ${r4(lambda)} req/s overloads ${replicas} prefill replicas in the model`);
  // Near saturation the modelled wait swings wildly with the load (it is infinite at rho 1), so observed / modelled
  // measures the model's sensitivity, not its error: keep the last factor rather than cut capacity on it.
  const rho = lambda / (mu * replicas);
  if (rho > SATURATED_RHO) return keep(`prefill utilisation ${r4(rho)} in the model is above ${SATURATED_RHO}`);
  const modelled = baseMs + waitS * 1000;
  const value = observed / modelled;
  const step: CorrectionStep & { extraMissing?: [string, string] } = {
    value,
    detail: {
      pCf: r4(value),
      pCfRule: 'observed TTFT / queue-model TTFT at the current replicas',
      observedTtftMs: r4(observed),
      observedTtftStat: stat,
      modelledTtftMs: r4(modelled),
      observedIsl: r4(obs.isl),
      observedRequestsPerSecond: r4(lambda),
      currentPrefillReplicas: replicas,
    },
  };
  if (extraMissing) step.extraMissing = extraMissing;
  return step;
}

interface Sized {
  prefill: RoleNeed;
  decode: RoleNeed;
  decodeFeasible: boolean;
  queueInfeasible: boolean;
}

export const slaPolicy: Policy = (input: PolicyInput) => {
  const { spec, profile, observation: obs } = input;
  const imp = spec.sla.improvements;
  const utilization = spec.sla.targetUtilization;
  const warnings: string[] = [];
  const missing: Record<string, string> = {};
  const { gpus } = roleReplicaGpus(spec, warnings);
  const fc = checkForecast(input.forecast);
  if (!fc.ok) return heldOutput(input, fc.field, warnings, missing);

  const ttftKey = percentileKey(spec.slo.ttft.percentile);
  const itlKey = percentileKey(spec.slo.itl.percentile);
  const q = spec.slo.ttft.percentile / 100;
  const ttftTargetS = spec.slo.ttft.ms / 1000;
  const I = spec.interval;

  // --- burst ratio
  const lastBurst = isUsable(input.correction.burst) && input.correction.burst >= 1 ? input.correction.burst : 1;
  let burst = 1;
  let burstFloor = 0;
  /** This window's own burst ratio (1 when not measured): the queue model's arrival rate in the prefill correction. */
  let burstNow = 1;
  let burstDetail: Record<string, number | string> = {};
  if (imp.burst) {
    const b = burstRatio(obs, I, lastBurst);
    if (b.missing) missing.peakRequestsPerSecond = b.missing;
    burst = b.value;
    burstNow = b.observed ?? 1;
    // The burst floor: the peak demand last seen, decaying with time constant BURST_MEMORY_STARTUPS x startupSeconds.
    // 1500 requests at the peak rate, then a silent minute, startup 180 s: 1500 x e^(-60/540) = 1342 still sized for.
    const startup = Math.max(0, ...spec.pools.map((p) => p.startupSeconds));
    const keep = startup > 0 ? Math.exp(-I / (startup * BURST_MEMORY_STARTUPS)) : 0;
    const lastFloor = isUsable(input.correction.burstFloor) && input.correction.burstFloor > 0 ? input.correction.burstFloor : 0;
    burstFloor = Math.max(b.peakDemand ?? 0, lastFloor * keep);
    burstDetail = { ...b.detail, burstFloorRequests: r4(burstFloor) };
  }

  // --- correction factors
  let pCf = 1;
  let dCf = 1;
  let correction = input.correction;
  let correctionDetail: Record<string, number | string> = { correction: 'off (spec.sla.correction false)' };
  if (spec.sla.correction) {
    let p: CorrectionStep & { extraMissing?: [string, string] };
    if (imp.percentile) {
      p = prefillQueueCorrection(profile, obs, ttftKey, q, input.current.prefill, gpus.prefill, I, input.correction.pCf, burstNow);
      if (p.extraMissing) missing[p.extraMissing[0]] = p.extraMissing[1];
    } else {
      p = prefillCorrection(profile, obs, obs.ttftMs?.mean, 'mean', input.correction.pCf);
    }
    let itl = obs.itlMs?.mean;
    let itlStat = 'mean';
    if (imp.percentile) {
      const tail = obs.itlMs?.[itlKey];
      if (isUsable(tail)) {
        itl = tail;
        itlStat = itlKey;
      } else if (isUsable(itl)) {
        missing[`itlMs.${itlKey}`] = 'used the mean ITL for the decode correction';
      }
    }
    const d = decodeCorrection(profile, obs, itl, itlStat, input.current.decode, I, input.correction.dCf);
    for (const step of [p, d]) if (step.missing) addMissing(missing, step.missing);
    // With `percentile`, one window's TTFT tail is noisy (a 10 s burst doubles it): move part of the way there.
    pCf = imp.percentile ? input.correction.pCf + (p.value - input.correction.pCf) * PCF_SMOOTHING : p.value;
    if (imp.percentile) p.detail = { ...p.detail, pCfWindow: r4(p.value), pCf: r4(pCf), pCfSmoothing: `last + (window - last) x ${PCF_SMOOTHING}` };
    dCf = d.value;
    // A window in which the role lost replicas to evictions says nothing about the engine: its latencies were
    // measured on the replicas it had before, while Little's law divides by the few left at the end. (A storm
    // that takes 8 of 12 decode replicas reads as dCf 0.59 and would cut the need from 12 to 9.) Keep the factors.
    if (disrupted(spec, obs, 'prefill')) {
      pCf = input.correction.pCf;
      p.detail = { ...p.detail, pCf: r4(pCf), pCfSource: 'last tick (prefill replicas evicted in this window)' };
    }
    if (disrupted(spec, obs, 'decode')) {
      dCf = input.correction.dCf;
      d.detail = { ...d.detail, dCf: r4(dCf), dCfSource: 'last tick (decode replicas evicted in this window)' };
    }
    correction = { pCf, dCf };
    correctionDetail = { ...p.detail, ...d.detail };
  }
  if (imp.burst) correction = { ...correction, burst, burstFloor };
  const factor = imp.ttftOvershoot ? Math.min(Math.max(pCf, PCF_FLOOR), OVERSHOOT_CAP) : Math.min(1, pCf);
  const factorRule = imp.ttftOvershoot ? `min(max(pCf, ${PCF_FLOOR}), ${OVERSHOOT_CAP})` : 'min(1, pCf)';
  const itlSlo = spec.slo.itl.ms;
  const itlTarget = dCf > 0 ? itlSlo / dCf : itlSlo;
  const observedIslTail = imp.percentile ? obs.islPercentiles?.[ttftKey] : undefined;
  if (imp.percentile && !isUsable(observedIslTail)) missing[`islPercentiles.${ttftKey}`] = 'used the forecast mean ISL for the prefill time in the TTFT percentile';

  // --- sizing for one forecast
  const size = (f: Forecast): Sized => {
    const mean = f.requests.value;
    const known = imp.burst && f.requestsPeak !== undefined && isUsable(f.requestsPeak.value) ? f.requestsPeak.value : undefined;
    const n = !imp.burst ? mean : known !== undefined ? Math.max(mean, known) : Math.max(mean * burst, burstFloor);
    const isl = f.isl.value;
    const osl = f.osl.value;
    const prefill = prefillReplicas(profile, n, isl, I, factor, gpus.prefill, utilization);
    // Details are built fresh in this call: extend them in place (a spread of a 30-key object per step was the
    // policy's main cost).
    prefill.detail.pCf = r4(pCf);
    prefill.detail.factorRule = factorRule;
    let queueInfeasible = false;
    if (imp.percentile) {
      const lambda = n / I;
      const mu = (profile.prefillThptPerGpu(isl).value * gpus.prefill) / (isl * factor);
      const latencyIsl = isUsable(observedIslTail) ? Math.max(isl, observedIslTail) : isl;
      const serviceS = (prefillMs(profile, latencyIsl) * factor) / 1000;
      const c = isl > 0 && factor > 0 ? replicasForTtftQuantile(lambda, mu, serviceS, ttftTargetS, q) : 1;
      prefill.detail.queueModel = `smallest c with ${ttftKey} TTFT (M/M/c wait + prefill time) <= ${spec.slo.ttft.ms} ms`;
      prefill.detail.arrivalPerSecond = r4(lambda);
      prefill.detail.servicePerSecondPerReplica = r4(mu);
      prefill.detail.prefillMsAtPercentileIsl = r4(serviceS * 1000);
      prefill.detail.percentileIsl = r4(latencyIsl);
      if (c === undefined) {
        queueInfeasible = true;
        prefill.detail.queueReplicas = 'infeasible';
      } else {
        prefill.detail.queueReplicas = c;
        prefill.detail.throughputReplicas = prefill.replicas;
        if (c > prefill.replicas) prefill.replicas = c;
        prefill.detail.replicas = prefill.replicas;
      }
    }
    const d = decodeReplicas(profile, n, isl, osl, I, itlTarget, gpus.decode, utilization);
    const decode: RoleNeed = { replicas: d.replicas, detail: { itlSloMs: itlSlo, dCf: r4(dCf), ...d.detail } };
    if (imp.burst) {
      const sizedFor = known !== undefined ? 'forecast peak' : `forecast x burst ratio ${r4(burst)}`;
      for (const need of [prefill, decode]) Object.assign(need.detail, burstDetail, { meanRequests: r4(mean), burstSizedRequests: r4(n), burstSizedFor: sizedFor });
    }
    return { prefill, decode, decodeFeasible: d.feasible, queueInfeasible };
  };

  const next = size(input.forecast);
  const chosen: Record<Role, RoleNeed> = { prefill: next.prefill, decode: next.decode };
  let decodeFeasible = next.decodeFeasible;
  let queueInfeasible = next.queueInfeasible;

  // --- lead time: also size for the load when new replicas would be ready
  if (imp.leadTime) {
    const lf = checkForecast(input.leadForecast, 'leadForecast');
    if (!lf.ok || !input.leadForecast) {
      missing[lf.ok ? 'leadForecast' : lf.field] = 'no usable lead-time forecast; sized for the next interval only';
    } else {
      const lead = size(input.leadForecast);
      for (const role of ['prefill', 'decode'] as const) {
        const useLead = lead[role].replicas > next[role].replicas;
        const base = useLead ? lead[role] : next[role];
        Object.assign(base.detail, {
          sizedFor: useLead ? 'lead-time forecast' : 'next-interval forecast',
          nextReplicas: next[role].replicas,
          leadReplicas: lead[role].replicas,
          leadRequests: r4(input.leadForecast.requests.value),
        });
        chosen[role] = base;
      }
      decodeFeasible = decodeFeasible && lead.decodeFeasible;
      queueInfeasible = queueInfeasible || lead.queueInfeasible;
    }
  }

  // --- queue-aware: clear the unexpected backlog within the TTFT target
  if (imp.queueAware) {
    if (!isUsable(obs.queueDepth) || obs.queueDepth < 0) {
      missing.queueDepth = 'no queue depth; queue-aware prefill skipped';
    } else {
      const f = input.forecast;
      const isl = f.isl.value;
      const mu = isl > 0 ? (profile.prefillThptPerGpu(isl).value * gpus.prefill) / (isl * factor) : Infinity;
      const lambda = isUsable(obs.requests) ? obs.requests / windowSeconds(obs.windowSeconds, I) : f.requests.value / I;
      const c0 = input.current.prefill;
      const lq = c0 > 0 ? expectedQueue(c0, lambda, mu) : 0;
      const expected = Number.isFinite(lq) ? lq : 0;
      const excess = Math.max(0, obs.queueDepth - expected);
      const serviceS = Number.isFinite(mu) && mu > 0 ? 1 / mu : 0;
      const base = chosen.prefill.replicas;
      const extra = Math.min(base, Math.ceil((excess * serviceS) / ttftTargetS));
      chosen.prefill = {
        replicas: base + extra,
        detail: Object.assign(chosen.prefill.detail, {
          queueDepth: obs.queueDepth,
          expectedQueue: r4(expected),
          backlogExcess: r4(excess),
          backlogServiceSeconds: r4(serviceS),
          backlogExtraReplicas: extra,
          replicas: base + extra,
        }),
      };
    }
  }

  Object.assign(chosen.prefill.detail, pick(correctionDetail, 'p'));
  Object.assign(chosen.decode.detail, pick(correctionDetail, 'd'));

  // --- warnings
  const islNext = input.forecast.isl.value;
  const profiledTtft = prefillMs(profile, islNext);
  if (profiledTtft > spec.slo.ttft.ms) {
    warnings.push(
      `profiled TTFT at ISL ${r4(islNext)} is ${r4(profiledTtft)} ms, above the TTFT SLO ${spec.slo.ttft.ms} ms: ` +
        'no prefill replica count meets it (a faster engine or shorter prompts would)',
    );
  } else if (queueInfeasible) {
    warnings.push(
      `prefill time at the ${ttftKey} ISL times pCf ${r4(pCf)} exceeds the TTFT SLO ${spec.slo.ttft.ms} ms: ` +
        'no replica count meets the percentile; sized for throughput',
    );
  }
  if (!decodeFeasible) warnings.push(infeasibleItl(itlSlo, dCf, chosen.decode.detail));
  return { need: chosen, correction, warnings, missing };
};

/** Did any pool of `role` lose replicas (eviction or eviction notice) during the window? */
function disrupted(spec: PolicyInput['spec'], obs: Observation, role: 'prefill' | 'decode'): boolean {
  for (const pool of spec.pools) {
    if (pool.role !== role) continue;
    const seen = obs.pools?.[pool.name];
    if ((seen?.evicted ?? 0) > 0 || (seen?.evictionNotices ?? 0) > 0) return true;
  }
  return false;
}
