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
 */

/** Erlang C: probability that an arriving request waits, for c servers and offered load a (Infinity-safe: 1 if a >= c). */
export function erlangC(c: number, a: number): number {
  if (a <= 0) return 0;
  if (a >= c) return 1;
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

/**
 * Smallest replica count whose q-quantile TTFT (wait + `serviceSeconds`) is at most `targetSeconds`,
 * or undefined when no count can meet it (the prefill alone takes longer than the target).
 * Erlang B is carried up from k = 1 so the search is O(c) overall.
 */
export function replicasForTtftQuantile(lambda: number, mu: number, serviceSeconds: number, targetSeconds: number, q: number): number | undefined {
  if (serviceSeconds > targetSeconds) return undefined;
  if (lambda <= 0) return 1;
  const a = lambda / mu;
  const slack = targetSeconds - serviceSeconds;
  const limit = Math.ceil(a) + 100000;
  let b = 1;
  for (let c = 1; c <= limit; c++) {
    b = (a * b) / (c + a * b);
    if (a >= c) continue;
    const rho = a / c;
    const pWait = b / (1 - rho * (1 - b));
    const wait = pWait <= 1 - q ? 0 : Math.log(pWait / (1 - q)) / (c * mu - lambda);
    if (wait <= slack) return c;
  }
  return undefined;
}
