/**
 * Piecewise-linear interpolation on ascending, precomputed arrays. No allocation per call.
 *
 * Example: xs = [2048, 4096], ys = [22028.2664, 22318.385]; at x = 3000,
 * t = (3000 - 2048) / 2048 = 0.4648 and y = 22028.2664 + 0.4648 x 290.1186 = 22163.1.
 * Outside [xs[0], xs[last]] the end value is returned (clamped); callers say so.
 */

/** Index i of the segment [xs[i], xs[i+1]] holding x (binary search); assumes xs[0] <= x <= xs[last], length >= 2. */
export function segmentIndex(xs: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) <= x) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** y at x, linear between points, clamped to the end values outside the range. */
export function lerpAt(xs: ArrayLike<number>, ys: ArrayLike<number>, x: number): number {
  const n = xs.length;
  if (n === 1 || x <= (xs[0] as number)) return ys[0] as number;
  if (x >= (xs[n - 1] as number)) return ys[n - 1] as number;
  const i = segmentIndex(xs, x);
  const x0 = xs[i] as number;
  const x1 = xs[i + 1] as number;
  const y0 = ys[i] as number;
  return y0 + ((x - x0) / (x1 - x0)) * ((ys[i + 1] as number) - y0);
}
