/**
 * Percentiles as the report uses them: linear interpolation between closest ranks (rank = q x (n - 1), the "type 7"
 * definition of R and numpy's default).
 * Example: [100, 200, 300, 400], q = 0.95 → rank 2.85 → 300 + 0.85 x 100 = 385.
 *
 * Computed by selection (quickselect, expected O(n)) rather than sorting: a 1M-request run needs p50/p95/p99 of two
 * columns, and sorting them cost more than the whole event loop of a decode-heavy window.
 */
import { percentileKey } from '../../planner/percentile-key.js';
import type { Percentiles } from '../types.js';
import type { LatencyStats } from './types.js';

/** q-quantile (0..1) of the first n entries of an ascending array; NaN when n is 0. */
export function quantileSorted(sorted: ArrayLike<number>, n: number, q: number): number {
  if (n <= 0) return NaN;
  const rank = Math.min(Math.max(q, 0), 1) * (n - 1);
  const lo = Math.floor(rank);
  const a = sorted[lo]!;
  if (lo + 1 >= n) return a;
  return a + (rank - lo) * (sorted[lo + 1]! - a);
}

/**
 * Rearrange a[left..right] so that a[k] is the value a sort would put there, smaller before, larger after.
 * Floyd-Rivest selection: on a large range it first selects k within a small sample-sized window around where k is
 * expected, so the partition that follows uses an excellent pivot and the range shrinks to that window at once.
 * Example: the p99 of 1,000,000 values costs about one pass over the array (a median-of-three quickselect: about
 * three).
 */
function select(a: Float32Array, left: number, right: number, k: number): void {
  while (right > left) {
    if (right - left > 600) {
      // Window of ~n^(2/3) values around k's expected rank, by the sampling rule of Floyd and Rivest (1975).
      const n = right - left + 1;
      const m = k - left + 1;
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (m - n / 2 < 0 ? -1 : 1);
      const newLeft = Math.max(left, Math.floor(k - (m * s) / n + sd));
      const newRight = Math.min(right, Math.floor(k + ((n - m) * s) / n + sd));
      select(a, newLeft, newRight, k);
    }
    const t = a[k]!;
    let i = left;
    let j = right;
    swap(a, left, k);
    if (a[right]! > t) swap(a, left, right);
    while (i < j) {
      swap(a, i, j);
      i++;
      j--;
      while (a[i]! < t) i++;
      while (a[j]! > t) j--;
    }
    if (a[left] === t) swap(a, left, j);
    else {
      j++;
      swap(a, j, right);
    }
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
}

function swap(a: Float32Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

/**
 * The k-th smallest (0-based) of a[0..n), by the same selection on a Float64Array (reorders a).
 * Example: [5, 1, 4, 2], k 1 → 2.
 */
export function kthSmallest(a: Float64Array, n: number, k: number): number {
  let left = 0;
  let right = n - 1;
  while (right > left) {
    const mid = (left + right) >>> 1;
    const x = a[left]!;
    const y = a[mid]!;
    const z = a[right]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return a[k]!;
}

/**
 * Quantiles `qs` (0..1, any order) of a[0..n), by selection; reorders a. NaN for every q when n is 0.
 * Values must not be NaN.
 *
 * All selections first, in ascending rank, each over what lies strictly above the previous one; then each rank's next order
 * statistic (for the interpolation) is the smallest value between it and the following selected rank, a scan of that
 * gap only (everything beyond the following rank is at least as large). A rank asked twice is selected once.
 * Example: n 17,000, q 0.5 / 0.9 / 0.95 / 0.99: scans cover the 8,500 values above the median once, not 12,000.
 */
export function quantilesInPlace(a: Float32Array, n: number, qs: readonly number[]): number[] {
  if (n <= 0) return qs.map(() => NaN);
  const order = qs.map((q, idx) => ({ q: Math.min(Math.max(q, 0), 1), idx })).sort((x, y) => x.q - y.q);
  const los = order.map(({ q }) => Math.floor(q * (n - 1)));
  let from = 0;
  for (let k = 0; k < los.length; k++) {
    const lo = los[k]!;
    if (k > 0 && lo === los[k - 1]) continue;
    select(a, from, n - 1, lo);
    // The next selection works strictly above lo, so a[lo] and the gaps below it stay as they are.
    from = lo + 1;
  }
  const out = new Array<number>(qs.length).fill(NaN);
  for (let k = 0; k < order.length; k++) {
    const { q, idx } = order[k]!;
    const rank = q * (n - 1);
    const lo = los[k]!;
    const v = a[lo]!;
    if (lo + 1 >= n || rank === lo) {
      out[idx] = v;
      continue;
    }
    // The next order statistic: the smallest of a[lo + 1 .. the next larger selected rank] (or .. n - 1).
    let end = n - 1;
    for (let j = k + 1; j < los.length; j++) {
      if (los[j]! > lo) {
        end = los[j]!;
        break;
      }
    }
    let next = Infinity;
    for (let i = lo + 1; i <= end; i++) if (a[i]! < next) next = a[i]!;
    out[idx] = v + (rank - lo) * (next - v);
  }
  return out;
}

/** Summarise samples[0..n) (reordered in place); `sloPercentile` is 0..100 (95 = p95). */
export function latencyStats(samples: Float32Array, n: number, sloPercentile: number): LatencyStats {
  if (n === 0) return { count: 0, mean: NaN, p50: NaN, p90: NaN, p95: NaN, p99: NaN, slo: { percentile: sloPercentile, value: NaN } };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += samples[i]!;
  const [p50, p90, p95, p99, atSlo] = quantilesInPlace(samples, n, [0.5, 0.9, 0.95, 0.99, sloPercentile / 100]) as [number, number, number, number, number];
  return { count: n, mean: sum / n, p50, p90, p95, p99, slo: { percentile: sloPercentile, value: atSlo } };
}

/**
 * The report's percentiles of a window's stats: p50, p90, p95, p99, and the SLO's own under its name.
 * Example: stats of an SLO on 97.5 -> { p50, p90, p95, p99, "p97.5": stats.slo.value }.
 */
export function reportPercentiles(stats: LatencyStats): Percentiles {
  const out: Percentiles = { p50: stats.p50, p90: stats.p90, p95: stats.p95, p99: stats.p99 };
  const own = percentileKey(stats.slo.percentile);
  if (out[own] === undefined) out[own] = stats.slo.value;
  return out;
}
