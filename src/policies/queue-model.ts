/**
 * The prefill pool as an M/M/c queue: c replicas, requests arriving at `lambda` per second, each replica serving
 * `mu` requests per second (its profiled prefill throughput over the ISL). TTFT = queueing wait + the profiled
 * single-request prefill time.
 *
 * With offered load a = lambda / mu and utilisation rho = a / c < 1, the probability that a request waits is Erlang C:
 *   C(c, a) = B / (1 - rho (1 - B)), with Erlang B from the stable recursion B_0 = 1, B_k = a B_{k-1} / (k + a B_{k-1}),
 * and the wait is exponential beyond that: P(W > w) = C e^{-(c mu - lambda) w}. So the q-quantile of the wait is
 *   w_q = 0 if C <= 1 - q, else ln(C / (1 - q)) / (c mu - lambda),   and the mean wait is C / (c mu - lambda).
 *
 * Worked example: lambda = 30 req/s, ISL 3000 at 22163 tok/s/GPU on 1 GPU, so mu = 7.388 req/s, a = 4.061.
 * c = 5: rho = 0.812, C = 0.5778, c mu - lambda = 6.94/s, p95 wait = ln(0.5778 / 0.05) / 6.94 = 0.353 s.
 * c = 6: C = 0.2998, decay 14.33/s, p95 wait = ln(0.2998 / 0.05) / 14.33 = 0.125 s. With a 135 ms prefill that is a
 * p95 TTFT of 0.488 s at 5 replicas and 0.260 s at 6: a 500 ms p95 SLO needs 5, a 300 ms one needs 6.
 *
 * Exponential service overstates the wait of near-constant prefill times (M/D/c waits about half as long), so the
 * model errs towards more replicas; the correction factor (observed / modelled TTFT) takes out what is left.
 *
 * Bounded work whatever the numbers (a request count of 1e13 from a broken exporter must not stall a tick):
 * - Past c = a + 12 sqrt(a) + 50 servers the wait probability is below 1e-30 (Halfin-Whitt: C ~ 1 / (1 + beta
 *   Phi(beta) / phi(beta)) with beta = 12, phi(12) = 2e-32), so it is taken as 0 there: the Erlang-B recursion never
 *   runs past that many steps, and the replica search never looks further.
 * - Offered loads above EXACT_LOAD_MAX (100,000 replicas' worth, ten times the largest pool) use the Halfin-Whitt
 *   approximation itself, and the search is a bisection: at most ~40 evaluations.
 * Example: a = 4.061 (the example above) -> the search stops by c = ceil(4.061 + 24.2) + 50 = 79 at the latest.
 */
import { errorFunction } from 'simple-statistics';

/** Offered load (lambda / mu, in replicas) up to which Erlang B is computed exactly by its recursion. */
export const EXACT_LOAD_MAX = 100_000;
const STAFFING_BETA = 12;
const STAFFING_SLACK = 50;

/** Servers beyond which the probability of waiting is below 1e-30 and taken as 0: a + 12 sqrt(a) + 50. */
export function staffingBound(a: number): number {
  return Math.ceil(a + STAFFING_BETA * Math.sqrt(a)) + STAFFING_SLACK;
}

/** Halfin-Whitt's probability of waiting for c servers and offered load a (a < c): 1 / (1 + beta Phi(beta) / phi(beta)). */
function halfinWhitt(c: number, a: number): number {
  const beta = (c - a) / Math.sqrt(a);
  const phi = Math.exp(-(beta * beta) / 2) / Math.sqrt(2 * Math.PI);
  const cdf = 0.5 * (1 + errorFunction(beta / Math.SQRT2));
  return phi / (phi + beta * cdf);
}


/**
 * Erlang C: probability that an arriving request waits, for c servers and offered load a (1 if a >= c; 0 past the
 * staffing bound; Halfin-Whitt above EXACT_LOAD_MAX; NaN in, NaN out).
 */
export function erlangC(c: number, a: number): number {
  if (Number.isNaN(a) || Number.isNaN(c)) return NaN;
  if (a <= 0) return 0;
  if (a >= c) return 1;
  if (c >= staffingBound(a)) return 0;
  if (a > EXACT_LOAD_MAX) return halfinWhitt(c, a);
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  const rho = a / c;
  return b / (1 - rho * (1 - b));
}

/** The q-quantile (0..1) of the queueing wait in seconds; Infinity when the queue is unstable. */
export function waitQuantile(c: number, lambda: number, mu: number, q: number): number {
  if (lambda <= 0) return 0;
  if (lambda >= c * mu) return Infinity;
  const pWait = erlangC(c, lambda / mu);
  if (pWait <= 1 - q) return 0;
  return Math.log(pWait / (1 - q)) / (c * mu - lambda);
}

/** Mean queueing wait in seconds; Infinity when unstable. */
export function waitMean(c: number, lambda: number, mu: number): number {
  if (lambda <= 0) return 0;
  if (lambda >= c * mu) return Infinity;
  return erlangC(c, lambda / mu) / (c * mu - lambda);
}

/** Expected number waiting (Little's law on the mean wait): L_q = lambda x W_q. Infinity when unstable. */
export function expectedQueue(c: number, lambda: number, mu: number): number {
  return lambda * waitMean(c, lambda, mu);
}

/** Bisection steps at most (the range is below 2^40 wide where it is used, so ~40 are enough). */
const MAX_BISECTION_STEPS = 64;

/**
 * Smallest replica count whose q-quantile TTFT (wait + `serviceSeconds`) is at most `targetSeconds`,
 * or undefined when no count can meet it (the prefill alone takes longer than the target, or the service rate is 0).
 * Up to EXACT_LOAD_MAX, Erlang B is carried up from k = 1, so the search costs at most staffingBound(a) steps; above,
 * a bisection over (a, staffingBound(a)] on the Halfin-Whitt wait. Past 2^53 replicas (no longer whole numbers)
 * the staffing bound itself is returned.
 */
export function replicasForTtftQuantile(lambda: number, mu: number, serviceSeconds: number, targetSeconds: number, q: number): number | undefined {
  if (!(serviceSeconds <= targetSeconds)) return undefined;
  if (lambda <= 0) return 1;
  const a = lambda / mu;
  if (!(a >= 0 && Number.isFinite(a))) return undefined;
  const slack = targetSeconds - serviceSeconds;
  const hi = staffingBound(a);
  const meets = (c: number, pWait: number): boolean => (pWait <= 1 - q ? 0 : Math.log(pWait / (1 - q)) / (c * mu - lambda)) <= slack;
  if (a > EXACT_LOAD_MAX) {
    if (hi > Number.MAX_SAFE_INTEGER) return hi;
    let lo = Math.floor(a) + 1;
    let top = hi;
    for (let step = 0; lo < top && step < MAX_BISECTION_STEPS; step++) {
      const mid = Math.floor((lo + top) / 2);
      if (meets(mid, erlangC(mid, a))) top = mid;
      else lo = mid + 1;
    }
    return top;
  }
  let b = 1;
  for (let c = 1; c <= hi; c++) {
    b = (a * b) / (c + a * b);
    if (a >= c) continue;
    const rho = a / c;
    if (meets(c, b / (1 - rho * (1 - b)))) return c;
  }
  // At the staffing bound the wait is 0 (probability below 1e-30): reached only through rounding.
  return hi;
}
