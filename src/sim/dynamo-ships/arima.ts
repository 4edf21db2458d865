/**
 * The ARIMA load predictor Dynamo ships as its default (`load_predictor: arima`, ai-dynamo/dynamo
 * `planner/utils/load_predictor.py`, Apache-2.0), which calls pmdarima's `auto_arima` (MIT) with its defaults.
 * pmdarima and statsmodels are not reimplemented line for line here; this follows the same procedure:
 *   1. d = the number of differences the KPSS test asks for (level stationarity, alpha 0.05, short lag
 *      trunc(4 (n / 100)^(1/4)), at most 2) -- pmdarima's ndiffs, exactly;
 *   2. a constant (mean, or drift after one difference) when d is 0 or 1 (pmdarima's with_intercept="auto");
 *   3. ARMA(p, q) on the differenced series by exact Gaussian maximum likelihood (Kalman filter, stationary start),
 *      parameters kept stationary and invertible (the partial-autocorrelation transform statsmodels uses), fitted
 *      by Nelder-Mead (statsmodels uses L-BFGS with at most 50 iterations: optima agree, stopping points may not);
 *   4. pmdarima's stepwise search over (p, q) from (2, 2), (0, 0), (1, 0), (0, 1) and neighbours, p, q <= 5, by AIC,
 *      a model with an inverse root within 0.01 of the unit circle scoring infinity;
 *   5. Dynamo's fallback: a model of order (0, d, 0) on the raw series is replaced by the same search on log1p(y);
 *   6. the one-step forecast, undifferenced (expm1 in log mode), at least 0.
 * As in Dynamo, the order is chosen once, at the first prediction with 5 points, and later predictions refit the
 * parameters on all points with that order (pmdarima's update()).
 * Example: 10, 12, 11, 13, 12, 14 -> KPSS stat 0.46296 (1 lag at n = 6), p-value 0.05002, not below 0.05, so d = 0
 * with a mean; the raw
 * search gives (0, 0, 0), Dynamo refits on log1p(y), and the forecast stays near the level (11.9).
 */
import { solveLinear } from './solve.js';

export interface ArimaOrder {
  p: number;
  d: number;
  q: number;
  intercept: boolean;
  log: boolean;
}

const MAX_P = 5;
const MAX_Q = 5;
const MAX_D = 2;
/** pmdarima's KPSS table (level null): critical values and their p-values. */
const KPSS_CRIT = [0.347, 0.463, 0.574, 0.739];
const KPSS_P = [0.1, 0.05, 0.025, 0.01];

function diff(y: readonly number[]): number[] {
  return y.slice(1).map((v, i) => v - (y[i] as number));
}

function isConstant(y: readonly number[]): boolean {
  return y.every((v) => v === y[0]);
}

/** pmdarima KPSSTest(alpha, null="level", lshort=True).should_diff: [p-value, difference?]. */
export function kpss(y: readonly number[], alpha = 0.05): [number, boolean] {
  const n = y.length;
  const mean = y.reduce((a, b) => a + b, 0) / n;
  const e = y.map((v) => v - mean);
  let s = 0;
  let eta = 0;
  for (const v of e) {
    s += v;
    eta += s * s;
  }
  eta /= n * n;
  let s2 = e.reduce((a, v) => a + v * v, 0) / n;
  const lags = Math.trunc(4 * (n / 100) ** 0.25);
  let extra = 0;
  for (let i = 1; i <= lags; i++) {
    let t = 0;
    for (let j = i; j < n; j++) t += (e[j] as number) * (e[j - i] as number);
    extra += t * (1 - i / (lags + 1));
  }
  s2 += (2 * extra) / n;
  const stat = eta / s2;
  let p: number;
  if (!Number.isFinite(stat)) p = NaN;
  else if (stat <= KPSS_CRIT[0]!) p = KPSS_P[0]!;
  else if (stat >= KPSS_CRIT[3]!) p = KPSS_P[3]!;
  else {
    let i = 0;
    while (stat > KPSS_CRIT[i + 1]!) i++;
    const t = (stat - KPSS_CRIT[i]!) / (KPSS_CRIT[i + 1]! - KPSS_CRIT[i]!);
    p = KPSS_P[i]! + t * (KPSS_P[i + 1]! - KPSS_P[i]!);
  }
  return [p, p < alpha];
}

/** pmdarima ndiffs(test="kpss", max_d=2). */
export function ndiffs(y: readonly number[]): number {
  let x = [...y];
  if (isConstant(x)) return 0;
  let d = 0;
  let [p, doDiff] = kpss(x);
  if (Number.isNaN(p)) return 0;
  while (doDiff && d < MAX_D) {
    d++;
    x = diff(x);
    if (isConstant(x)) return d;
    [p, doDiff] = kpss(x);
    if (Number.isNaN(p)) return d - 1;
  }
  return d;
}

/** Partial autocorrelations (any reals mapped into (-1, 1)) -> stationary AR coefficients (Durbin-Levinson). */
function pacfToAr(r: readonly number[]): number[] {
  let phi: number[] = [];
  for (let k = 0; k < r.length; k++) {
    const rk = r[k] as number;
    const next = phi.map((v, j) => v - rk * (phi[k - 1 - j] as number));
    next.push(rk);
    phi = next;
  }
  return phi;
}

/** Whether every inverse root of 1 - c1 z - ... - ck z^k lies within radius `rho` (step-down recursion). */
function rootsWithin(c: readonly number[], rho: number): boolean {
  let a = c.map((v, k) => v / rho ** (k + 1));
  while (a.length > 0) {
    const k = a.length;
    const rk = a[k - 1] as number;
    if (!(Math.abs(rk) < 1)) return false;
    const den = 1 - rk * rk;
    a = a.slice(0, k - 1).map((v, j) => (v + rk * (a[k - 2 - j] as number)) / den);
  }
  return true;
}

interface Fit {
  phi: number[];
  theta: number[];
  mu: number;
  sigma2: number;
  llf: number;
  aic: number;
}

/** Exact Gaussian log-likelihood of ARMA(phi, theta) around mu via the Kalman filter; sigma2 concentrated out. */
function armaFilter(w: readonly number[], phi: readonly number[], theta: readonly number[], mu: number): { llf: number; sigma2: number; next: number } {
  const p = phi.length;
  const q = theta.length;
  const r = Math.max(p, q + 1);
  const T = new Float64Array(r);
  for (let i = 0; i < p; i++) T[i] = phi[i] as number;
  const R = new Float64Array(r);
  R[0] = 1;
  for (let i = 1; i < r; i++) R[i] = i - 1 < q ? (theta[i - 1] as number) : 0;
  const P = stationaryCov(T, R, r);
  const a = new Float64Array(r);
  const K = new Float64Array(r);
  const TP = new Float64Array(r * r);
  let sumLogF = 0;
  let sumV2F = 0;
  for (const y of w) {
    const v = y - mu - (a[0] as number);
    const F = P[0] as number;
    if (!(F > 0)) return { llf: -Infinity, sigma2: NaN, next: NaN };
    sumLogF += Math.log(F);
    sumV2F += (v * v) / F;
    for (let i = 0; i < r; i++) K[i] = (P[i * r] as number) / F;
    for (let i = 0; i < r; i++) a[i] = (a[i] as number) + (K[i] as number) * v;
    for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) P[i * r + j] = (P[i * r + j] as number) - (K[i] as number) * (P[j] as number);
    // Predict: a = T a (companion form), P = T P T' + R R'.
    const a0 = a[0] as number;
    for (let i = 0; i < r; i++) a[i] = (T[i] as number) * a0 + (i + 1 < r ? (a[i + 1] as number) : 0);
    predictCov(P, TP, T, R, r);
  }
  const n = w.length;
  const sigma2 = sumV2F / n;
  const llf = -0.5 * n * (Math.log(2 * Math.PI) + 1 + Math.log(sigma2)) - 0.5 * sumLogF;
  return { llf, sigma2, next: mu + (a[0] as number) };
}

/** P <- T P T' + R R' in place (T in companion form: row i is T[i] e1' + e(i+1)'). */
function predictCov(P: Float64Array, TP: Float64Array, T: Float64Array, R: Float64Array, r: number): void {
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < r; j++) TP[i * r + j] = (T[i] as number) * (P[j] as number) + (i + 1 < r ? (P[(i + 1) * r + j] as number) : 0);
  }
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < r; j++) P[i * r + j] = (T[j] as number) * (TP[i * r] as number) + (j + 1 < r ? (TP[i * r + j + 1] as number) : 0) + (R[i] as number) * (R[j] as number);
  }
}

/** The stationary state covariance: P = T P T' + R R', solved as (I - T (x) T) vec P = vec(R R'). */
function stationaryCov(T: Float64Array, R: Float64Array, r: number): Float64Array {
  const n = r * r;
  const A = Array.from({ length: n }, () => new Float64Array(n));
  const b = new Float64Array(n);
  const t = (i: number, k: number) => (k === 0 ? (T[i] as number) : 0) + (k === i + 1 ? 1 : 0);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < r; j++) {
      const row = i * r + j;
      A[row]![row] = 1;
      for (let k = 0; k < r; k++) {
        const tik = t(i, k);
        if (tik === 0) continue;
        for (let l = 0; l < r; l++) {
          const tjl = t(j, l);
          if (tjl !== 0) A[row]![k * r + l] = (A[row]![k * r + l] as number) - tik * tjl;
        }
      }
      b[row] = (R[i] as number) * (R[j] as number);
    }
  }
  return solveLinear(A, b);
}

/** Nelder-Mead minimisation (small problems: at most 11 parameters). */
function nelderMead(f: (x: number[]) => number, x0: number[], maxEvals = 600): number[] {
  const n = x0.length;
  if (n === 0) return [];
  let simplex = [x0, ...x0.map((_, i) => x0.map((v, j) => (i === j ? v + (Math.abs(v) > 1e-3 ? 0.1 * v : 0.1) : v)))];
  let values = simplex.map(f);
  let evals = n + 1;
  while (evals < maxEvals) {
    const order = values.map((v, i) => i).sort((a, b) => (values[a] as number) - (values[b] as number));
    simplex = order.map((i) => simplex[i] as number[]);
    values = order.map((i) => values[i] as number);
    if (Math.abs((values[n] as number) - (values[0] as number)) < 1e-10 * (1 + Math.abs(values[0] as number))) break;
    const centroid = x0.map((_, j) => simplex.slice(0, n).reduce((s, x) => s + (x[j] as number), 0) / n);
    const worst = simplex[n] as number[];
    const towards = (t: number) => centroid.map((c, j) => c + t * (c - (worst[j] as number)));
    const xr = towards(1);
    const fr = f(xr);
    evals++;
    if (fr < (values[0] as number)) {
      const xe = towards(2);
      const fe = f(xe);
      evals++;
      [simplex[n], values[n]] = fe < fr ? [xe, fe] : [xr, fr];
    } else if (fr < (values[n - 1] as number)) {
      [simplex[n], values[n]] = [xr, fr];
    } else {
      const xc = towards(fr < (values[n] as number) ? 0.5 : -0.5);
      const fc = f(xc);
      evals++;
      if (fc < Math.min(fr, values[n] as number)) [simplex[n], values[n]] = [xc, fc];
      else {
        const best = simplex[0] as number[];
        simplex = simplex.map((x, i) => (i === 0 ? x : x.map((v, j) => (best[j] as number) + 0.5 * (v - (best[j] as number)))));
        values = simplex.map((x, i) => (i === 0 ? (values[0] as number) : f(x)));
        evals += n;
      }
    }
  }
  return simplex[values.indexOf(Math.min(...values))] as number[];
}

/** ARMA(p, q) (with a constant or not) on w by maximum likelihood; undefined when it cannot be fitted. */
function fitArma(w: readonly number[], p: number, q: number, intercept: boolean): Fit | undefined {
  const k = p + q + (intercept ? 1 : 0) + 1;
  if (w.length < k + 1) return undefined;
  const mean = intercept ? w.reduce((a, b) => a + b, 0) / w.length : 0;
  const scale = Math.max(1e-9, Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length));
  const unpack = (x: number[]) => ({
    phi: pacfToAr(x.slice(0, p).map((v) => v / Math.sqrt(1 + v * v))),
    theta: pacfToAr(x.slice(p, p + q).map((v) => v / Math.sqrt(1 + v * v))).map((v) => -v),
    mu: intercept ? mean + (x[p + q] as number) * scale : 0,
  });
  const objective = (x: number[]) => {
    const m = unpack(x);
    const r = armaFilter(w, m.phi, m.theta, m.mu);
    return Number.isFinite(r.llf) ? -r.llf : 1e300;
  };
  const best = unpack(nelderMead(objective, new Array<number>(p + q + (intercept ? 1 : 0)).fill(0)));
  const r = armaFilter(w, best.phi, best.theta, best.mu);
  if (!Number.isFinite(r.llf)) return undefined;
  return { ...best, sigma2: r.sigma2, llf: r.llf, aic: -2 * r.llf + 2 * k };
}

/** AIC with pmdarima's root test: an inverse root within 0.01 of the unit circle scores infinity. */
function score(fit: Fit | undefined): number {
  if (!fit) return Infinity;
  if (fit.phi.length > 0 && !rootsWithin(fit.phi, 0.99)) return Infinity;
  if (fit.theta.length > 0 && !rootsWithin(fit.theta.map((v) => -v), 0.99)) return Infinity;
  return fit.aic;
}

function differenced(y: readonly number[], d: number): number[] {
  let w = [...y];
  for (let i = 0; i < d; i++) w = diff(w);
  return w;
}

/** pmdarima's stepwise search (non-seasonal) for the series y at d differences. */
function stepwise(y: readonly number[], d: number): { p: number; q: number; intercept: boolean } {
  const w = differenced(y, d);
  const withIntercept = d === 0 || d === 1;
  const seen = new Map<string, number>();
  let best: { p: number; q: number; intercept: boolean; ic: number } | undefined;
  const tryFit = (p: number, q: number, intercept = withIntercept): boolean => {
    const key = `${p},${q},${intercept}`;
    if (seen.has(key)) return false;
    const ic = score(fitArma(w, p, q, intercept));
    seen.set(key, ic);
    if (!best || ic < best.ic) {
      const first = best === undefined;
      best = { p, q, intercept, ic };
      return first || Number.isFinite(ic);
    }
    return false;
  };
  let p = 2;
  let q = 2;
  tryFit(2, 2);
  if (tryFit(0, 0)) p = q = 0;
  if (tryFit(1, 0)) [p, q] = [1, 0];
  if (tryFit(0, 1)) [p, q] = [0, 1];
  if (withIntercept && tryFit(0, 0, false)) p = q = 0;
  for (let guard = 0; guard < 100; guard++) {
    const before = seen.size;
    const moves: [number, number][] = [[p - 1, q], [p, q - 1], [p + 1, q], [p, q + 1], [p - 1, q - 1], [p - 1, q + 1], [p + 1, q - 1], [p + 1, q + 1]];
    let moved = false;
    for (const [np, nq] of moves) {
      if (np < 0 || nq < 0 || np > MAX_P || nq > MAX_Q) continue;
      if (tryFit(np, nq, best?.intercept ?? withIntercept)) {
        [p, q] = [np, nq];
        moved = true;
        break;
      }
    }
    if (!moved || seen.size === before) break;
  }
  const b = best as unknown as { p: number; q: number; intercept: boolean };
  return { p: b.p, q: b.q, intercept: b.intercept };
}

/** The order auto_arima picks for y, with Dynamo's log1p fallback when the raw series gives (0, d, 0). */
export function chooseOrder(y: readonly number[]): ArimaOrder {
  const d = ndiffs(y);
  const raw = stepwise(y, d);
  if (raw.p > 0 || raw.q > 0) return { ...raw, d, log: false };
  const logged = y.map((v) => Math.log1p(v));
  const dl = ndiffs(logged);
  return { ...stepwise(logged, dl), d: dl, log: true };
}

/** One-step forecast of y with a fixed order (parameters fitted on all of y). */
export function forecastWithOrder(y: readonly number[], order: ArimaOrder): number {
  const series = order.log ? y.map((v) => Math.log1p(v)) : [...y];
  const w = differenced(series, order.d);
  const fit = fitArma(w, order.p, order.q, order.intercept);
  let next: number;
  if (!fit) next = w.length > 0 ? (w[w.length - 1] as number) : 0;
  else next = armaFilter(w, fit.phi, fit.theta, fit.mu).next;
  // Undifference: add back the last value of each differenced level.
  for (let k = order.d - 1; k >= 0; k--) {
    const level = differenced(series, k);
    next += level[level.length - 1] as number;
  }
  return order.log ? Math.expm1(next) : next;
}
