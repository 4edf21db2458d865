/**
 * `percentile` (spec.sla.improvements.percentile): the SLO is a percentile, Dynamo sizes for means. Three parts:
 * 1. Prefill is sized as a queue (queue-model.ts): requests arrive at lambda = n / I, a replica serves
 *    mu = thptP(isl) x gpus / isl per second, and TTFT = wait + profiled prefill time at the SLO-percentile ISL.
 *    We take the smallest c whose q-quantile TTFT <= the TTFT target, and the larger of that and the throughput
 *    count. Worked example: n = 5400 / 180 s -> lambda = 30/s, isl 3000 -> mu = 7.388/s, prefill 135 ms;
 *    p95 TTFT is 488 ms at 5 replicas, 260 ms at 6. So a p95 500 ms SLO needs 5 (as throughput does), but a
 *    p95 300 ms SLO needs 6, where Dynamo would stay at 5 and miss it: at rho 0.81, 58% of requests queue.
 * 2. The prefill correction compares the observed pXX TTFT with the queue model's pXX TTFT at the current replicas
 *    and observed load (the model's error, about 1 when it is right), instead of observed mean / bare profile (which
 *    reads ordinary queueing as a slow engine). A window's tail is noisy, so the factor moves PCF_SMOOTHING (0.3) of
 *    the way to the window's value (1.06 then a bursty 2.17 -> 1.39); near saturation (modelled rho > 0.9) the
 *    model's wait is too sensitive to measure its error with, so the last factor is kept.
 *    `serviceTimeCorrection` (spec.sla.improvements.serviceTimeCorrection): sizing uses the factor as a multiplier of
 *    the prefill service time (the token demand and the queue model's service rate), so the window's value is the
 *    service-time factor f under which the model reproduces the observed TTFT (serviceTimeFactor), not the latency
 *    ratio. Near the queue's knee the wait grows much faster than the service time, so the ratio overstates the
 *    error: 30 req/s on 5 replicas (mu 7.388/s, 135 ms prefill) model p95 488 ms; observed 610 ms is a ratio of 1.25
 *    (25% more prefill), but f = 1.042 already gives 610 ms (4.2% more). Without it, the ratio.
 * 3. Decode: dCf uses the observed pXX ITL rather than the mean, so the kv target leaves room for the tail:
 *    observed p95 15 ms where the profile says 12.43 ms -> dCf 1.207 -> size for 50 / 1.207 = 41.4 ms.
 * Where a percentile was not observed, the mean is used and `missing` says so.
 */
import type { Observation, RoleNeed } from '../../planner/types.js';
import type { PerformanceProfile } from '../../profiles/types.js';
import { isUsable, prefillMs, r4, windowSeconds } from '../common.js';
import type { CorrectionStep, PrefillCorrectionDetail } from '../dynamo.js';
import { replicasForTtftQuantile, waitMean, waitQuantile } from '../queue-model.js';
import type { SlaContext } from './context.js';

/** Modelled prefill utilisation above which the TTFT correction is not updated (the model is too sensitive there). */
export const SATURATED_RHO = 0.9;
/**
 * Share of the way the prefill correction moves towards a new window's value. The pXX TTFT of one window jumps with
 * a burst inside it: azure-conv x4 minute 23 saw p95 1100 ms against 507 ms modelled (pCf 2.17) while the SLO was
 * 2000 ms; taken at once, that doubles prefill, and the scale-down window holds it for 5 minutes.
 * Smoothed: 1.06 + (2.17 - 1.06) x 0.3 = 1.39. Tuned on the bundled Azure traces (bench/quality.ts).
 */
export const PCF_SMOOTHING = 0.3;

export type PrefillQueueCorrection = CorrectionStep<PrefillCorrectionDetail> & { extraMissing?: [string, string] };

/** Range of the service-time factor searched (the bounds `correctionGuard` puts on pCf). */
export const SERVICE_FACTOR_MIN = 0.5;
export const SERVICE_FACTOR_MAX = 2;
/** Bisection steps of serviceTimeFactor: the range is under 2 wide, so 40 steps resolve it far below 1e-6. */
const SERVICE_FACTOR_STEPS = 40;

/**
 * The service-time factor f under which the queue model gives `observedMs`: prefill time x f + the model's wait
 * (quantile q, or the mean when q is undefined) at service rate mu / f. The modelled TTFT rises with f, so bisection
 * finds it; f stays within [SERVICE_FACTOR_MIN, SERVICE_FACTOR_MAX] and below the f at which the model's utilisation
 * reaches SATURATED_RHO (where its wait is too sensitive to read an error from): a TTFT beyond what that f explains
 * is left to the SLO loop and the backlog rule.
 * Example: c 5, lambda 30/s, mu 7.388/s, prefill 135 ms, q 0.95, observed 610 ms -> f = 1.042 (the ratio to the
 * modelled 488 ms is 1.25); observed 400 ms -> 0.957; observed 5000 ms -> 1.108, where the model reaches rho 0.9.
 */
export function serviceTimeFactor(observedMs: number, baseMs: number, replicas: number, lambda: number, mu: number, q: number | undefined): number {
  const modelled = (f: number) => baseMs * f + (q === undefined ? waitMean(replicas, lambda, mu / f) : waitQuantile(replicas, lambda, mu / f, q)) * 1000;
  let lo = SERVICE_FACTOR_MIN;
  let hi = lambda > 0 ? Math.min(SERVICE_FACTOR_MAX, (SATURATED_RHO * replicas * mu) / lambda) : SERVICE_FACTOR_MAX;
  if (hi <= lo) return lo;
  if (modelled(hi) <= observedMs) return hi;
  if (modelled(lo) >= observedMs) return lo;
  for (let i = 0; i < SERVICE_FACTOR_STEPS; i++) {
    const mid = (lo + hi) / 2;
    if (modelled(mid) < observedMs) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The prefill correction against the queue model: observed TTFT (at the SLO percentile if observed, else the mean)
 * over what the model predicts at the current replicas and the observed load; with `serviceTime`, the service-time
 * factor that explains the observed TTFT instead (serviceTimeFactor).
 * Example: 30 req/s at ISL 3000 on 5 replicas: modelled p95 = 135 + 353 = 488 ms; observed p95 610 ms -> pCf 1.25
 * (as a service-time factor: 1.042).
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
  serviceTime = false,
): PrefillQueueCorrection {
  const keep = (why: string, field?: string): PrefillQueueCorrection => ({
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
  const ratio = observed / modelled;
  const value = serviceTime ? serviceTimeFactor(observed, baseMs, replicas, lambda, mu, stat === 'mean' ? undefined : q) : ratio;
  const step: PrefillQueueCorrection = {
    value,
    detail: {
      pCf: r4(value),
      pCfRule: serviceTime
        ? 'the prefill service-time factor under which the queue model gives the observed TTFT at the current replicas'
        : 'observed TTFT / queue-model TTFT at the current replicas',
      ...(serviceTime ? { ttftRatio: r4(ratio) } : {}),
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

/** The ITL the decode correction compares with the profile: the SLO percentile with `percentile`, else the mean. */
export function observedItl(ctx: SlaContext): { itl: number | undefined; stat: string } {
  const { obs, itlKey } = ctx;
  const mean = obs.itlMs?.mean;
  if (!ctx.improvements.percentile) return { itl: mean, stat: 'mean' };
  const tail = obs.itlMs?.[itlKey];
  if (isUsable(tail)) return { itl: tail, stat: itlKey };
  if (isUsable(mean)) ctx.missing[`itlMs.${itlKey}`] = 'used the mean ITL for the decode correction';
  return { itl: mean, stat: 'mean' };
}

/** The observed ISL at the TTFT percentile, for the prefill time in the queue model (undefined when off or unseen). */
export function observedIslTail(ctx: SlaContext): number | undefined {
  if (!ctx.improvements.percentile) return undefined;
  const tail = ctx.obs.islPercentiles?.[ctx.ttftKey];
  if (!isUsable(tail)) ctx.missing[`islPercentiles.${ctx.ttftKey}`] = 'used the forecast mean ISL for the prefill time in the TTFT percentile';
  return tail;
}

/**
 * Raise `prefill` (sized for throughput) to the smallest count whose modelled pXX TTFT meets the target, in place.
 * Returns true when no count meets it (the prefill time alone is too long): then the throughput count stands.
 */
export function queueSizedPrefill(ctx: SlaContext, prefill: RoleNeed, n: number, isl: number, factor: number, islTail: number | undefined): boolean {
  const { profile, gpus, interval, ttftTargetS, q, ttftKey, spec } = ctx;
  const lambda = n / interval;
  const mu = (profile.prefillThptPerGpu(isl).value * gpus.prefill) / (isl * factor);
  const latencyIsl = isUsable(islTail) ? Math.max(isl, islTail) : isl;
  const serviceS = (prefillMs(profile, latencyIsl) * factor) / 1000;
  const c = isl > 0 && factor > 0 ? replicasForTtftQuantile(lambda, mu, serviceS, ttftTargetS, q) : 1;
  prefill.detail.queueModel = `smallest c with ${ttftKey} TTFT (M/M/c wait + prefill time) <= ${spec.slo.ttft.ms} ms`;
  prefill.detail.arrivalPerSecond = r4(lambda);
  prefill.detail.servicePerSecondPerReplica = r4(mu);
  prefill.detail.prefillMsAtPercentileIsl = r4(serviceS * 1000);
  prefill.detail.percentileIsl = r4(latencyIsl);
  if (c === undefined) {
    prefill.detail.queueReplicas = 'infeasible';
    return true;
  }
  prefill.detail.queueReplicas = c;
  prefill.detail.throughputReplicas = prefill.replicas;
  if (c > prefill.replicas) prefill.replicas = c;
  prefill.detail.replicas = prefill.replicas;
  return false;
}
