/**
 * Solve A x = b by Gaussian elimination with partial pivoting, for the small dense systems of the Dynamo port (a
 * spline's second derivatives: one row per profile point; an ARMA model's stationary covariance: (p or q+1)^2 rows).
 * A and b are not modified. A zero pivot (a singular system) leaves NaN or Infinity in x.
 * Example: [[2, 1], [1, 3]] x = [3, 5] -> x = [0.8, 1.4].
 */
export function solveLinear(a: readonly Float64Array[], b: Float64Array): Float64Array {
  const n = b.length;
  const A = a.map((row) => Float64Array.from(row));
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
    [A[c], A[p]] = [A[p]!, A[c]!];
    [x[c], x[p]] = [x[p]!, x[c]!];
    const pivot = A[c]![c]!;
    if (pivot === 0) continue;
    for (let r = c + 1; r < n; r++) {
      const f = A[r]![c]! / pivot;
      if (f === 0) continue;
      for (let k = c; k < n; k++) A[r]![k] = A[r]![k]! - f * A[c]![k]!;
      x[r] = x[r]! - f * x[c]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r]!;
    for (let k = r + 1; k < n; k++) s -= A[r]![k]! * x[k]!;
    x[r] = s / A[r]![r]!;
  }
  return x;
}
