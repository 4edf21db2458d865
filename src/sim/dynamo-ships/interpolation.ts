/**
 * NVIDIA Dynamo's performance interpolators as Dynamo ships them: a port of
 * `components/src/dynamo/planner/utils/perf_interpolation.py` (ai-dynamo/dynamo, Apache-2.0, Copyright NVIDIA
 * CORPORATION & AFFILIATES), with the two SciPy routines it calls ported from SciPy (BSD-3-Clause, Copyright the
 * SciPy Developers): `interp1d(kind="cubic")` (a not-a-knot cubic spline) and `griddata(method="cubic")`
 * (CloughTocher2DInterpolator: Clough-Tocher cubic patches on a Delaunay triangulation, gradients from the global
 * curvature-minimising estimate of `estimate_gradients_2d_global`, from scipy/interpolate/_interpnd.pyx).
 *
 * Our own policies keep the exact piecewise-linear lookups of src/profiles/profile.ts; this module exists only so
 * that the `dynamo` baseline sizes exactly as Dynamo does.
 *
 * Prefill: interp1d(prefill_isl, y, kind="cubic") of TTFT and of throughput per GPU; the query ISL is clamped to
 * the measured range.
 * Decode: a 100 x 100 grid, kv = linspace(0, 1, 100) x context = linspace(0, max context, 100), filled by the cubic
 * griddata of ITL and of throughput per GPU over the scattered (kv, context) points; cells outside the points'
 * convex hull (NaN in SciPy) take the value of the nearest point (griddata "nearest", Euclidean in raw units, so
 * the context dominates). Lookups read the NEAREST CELL (numpy's round-half-to-even of kv / dx and ctx / dy, clipped
 * to the grid), not an interpolation between cells.
 *   find_best_throughput_per_gpu(itl, ctx): in ctx's row, the first cell from kv = 1 downwards whose ITL <= itl
 *   gives (throughput, ITL, kv); none -> the kv = 0 cell.
 * Worked example (dynamo-format-synthetic, ITL target 10 ms, ctx 3075): row iy = round(3075 / 85.27) = 36; scanning
 * from ix = 99 down, the first cell with ITL <= 10 ms is ix = 54 (kv 0.5455, ITL 9.971 ms, 3755.5 tok/s/GPU), where
 * the linear profile says kv 0.5526 and 3906 tok/s/GPU.
 *
 * Where this port can differ from SciPy: Qhull (SciPy's triangulation) leaves out points it finds numerically
 * coplanar in its lifted space (emulated here: qhullVertices) and splits co-circular quadrilaterals from the vertex
 * it added last, an order that depends on Qhull's internals; delaunator (used here) splits them its own way. The
 * gradients (a global estimate) and the cells of those quads then differ. For profiles where that matters, the grids
 * SciPy itself computes can be shipped next to the profile (scripts/dynamo-grids.py writes dynamo_decode_grids.json)
 * and are used instead; the bundled llama2-70b-h100-tp4 ships them. docs/yardsticks.md has the measured agreement.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Delaunator from 'delaunator';
import { lerpAt } from '../../profiles/interpolate.js';
import { BUILTIN_PROFILES_DIR } from '../../profiles/load.js';
import { solveLinear } from './solve.js';
import type { PerformanceProfile } from '../../profiles/types.js';

/** Dynamo's grid resolution (DecodeInterpolator(resolution=100)). */
const GRID_RESOLUTION = 100;
/** SciPy's CloughTocher2DInterpolator defaults. */
const GRADIENT_TOL = 1e-6;
const GRADIENT_MAXITER = 400;
/** Qhull find_simplex tolerances in SciPy: 100 x machine epsilon, and sqrt(machine epsilon) on hull triangles. */
const EPS = 100 * Number.EPSILON;
const EPS_BROAD = Math.sqrt(Number.EPSILON);

/** numpy's round (half to even). Example: 2.5 -> 2, 3.5 -> 4, -0.5 -> -0. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * A not-a-knot cubic spline through (xs, ys), xs ascending, at least 4 points: SciPy's interp1d(kind="cubic").
 * Second derivatives M solve the usual continuity equations with the third derivative also continuous at the
 * second and the second-to-last point (not-a-knot).
 */
export class NotAKnotSpline {
  private readonly m: Float64Array;

  constructor(
    private readonly xs: readonly number[],
    private readonly ys: readonly number[],
  ) {
    const n = xs.length;
    if (n < 4 || ys.length !== n) throw new RangeError(`a cubic spline needs at least 4 points (got ${n})`);
    const h = Array.from({ length: n - 1 }, (_, i) => (xs[i + 1] as number) - (xs[i] as number));
    const a = Array.from({ length: n }, () => new Float64Array(n));
    const b = new Float64Array(n);
    const h0 = h[0] as number;
    const h1 = h[1] as number;
    const hl = h[n - 2] as number;
    const hm = h[n - 3] as number;
    // Not-a-knot at x1: (M1 - M0) / h0 = (M2 - M1) / h1.
    a[0]![0] = h1;
    a[0]![1] = -(h0 + h1);
    a[0]![2] = h0;
    for (let i = 1; i < n - 1; i++) {
      const hp = h[i - 1] as number;
      const hn = h[i] as number;
      a[i]![i - 1] = hp;
      a[i]![i] = 2 * (hp + hn);
      a[i]![i + 1] = hn;
      b[i] = 6 * (((ys[i + 1] as number) - (ys[i] as number)) / hn - ((ys[i] as number) - (ys[i - 1] as number)) / hp);
    }
    // Not-a-knot at x(n-2).
    a[n - 1]![n - 3] = hl;
    a[n - 1]![n - 2] = -(hm + hl);
    a[n - 1]![n - 1] = hm;
    this.m = solveLinear(a, b);
  }

  at(x: number): number {
    const xs = this.xs;
    const n = xs.length;
    let i = 0;
    while (i < n - 2 && x > (xs[i + 1] as number)) i++;
    const x0 = xs[i] as number;
    const x1 = xs[i + 1] as number;
    const hh = x1 - x0;
    const m0 = this.m[i] as number;
    const m1 = this.m[i + 1] as number;
    const y0 = this.ys[i] as number;
    const y1 = this.ys[i + 1] as number;
    const l = x1 - x;
    const r = x - x0;
    return (m0 * l * l * l + m1 * r * r * r) / (6 * hh) + (y0 / hh - (m0 * hh) / 6) * l + (y1 / hh - (m1 * hh) / 6) * r;
  }
}

/** A Delaunay triangulation with what Clough-Tocher needs: neighbours opposite each vertex, vertex adjacency. */
interface Triangulation {
  px: Float64Array;
  py: Float64Array;
  /** 3 vertex indices per triangle. */
  tri: Int32Array;
  /** 3 per triangle: the triangle across the edge opposite vertex k, -1 on the hull. */
  nbr: Int32Array;
  /** Per vertex, its neighbours (CSR). */
  adjStart: Int32Array;
  adj: Int32Array;
}

function triangulate(px: Float64Array, py: Float64Array, tieTolerance = 0): Triangulation {
  const coords = new Float64Array(px.length * 2);
  for (let i = 0; i < px.length; i++) {
    coords[2 * i] = px[i] as number;
    coords[2 * i + 1] = py[i] as number;
  }
  const d = new Delaunator(coords);
  let tris: number[][] = [];
  for (let t = 0; t < d.triangles.length / 3; t++) tris.push([d.triangles[3 * t] as number, d.triangles[3 * t + 1] as number, d.triangles[3 * t + 2] as number]);
  if (tieTolerance > 0) tris = breakTies(px, py, tris, tieTolerance);
  const count = tris.length;
  const tri = Int32Array.from(tris.flat());
  const nbr = new Int32Array(count * 3).fill(-1);
  const edges = new Map<string, [number, number]>();
  for (let t = 0; t < count; t++) {
    for (let k = 0; k < 3; k++) {
      // The edge opposite vertex k.
      const a = tri[3 * t + ((k + 1) % 3)] as number;
      const b = tri[3 * t + ((k + 2) % 3)] as number;
      const key = a < b ? `${a},${b}` : `${b},${a}`;
      const other = edges.get(key);
      if (other) {
        nbr[3 * t + k] = other[0];
        nbr[3 * other[0] + other[1]] = t;
      } else edges.set(key, [t, k]);
    }
  }
  const sets = Array.from({ length: px.length }, () => new Set<number>());
  for (let t = 0; t < count; t++) {
    for (let j = 0; j < 3; j++) {
      const a = tri[3 * t + j] as number;
      const b = tri[3 * t + ((j + 1) % 3)] as number;
      sets[a]!.add(b);
      sets[b]!.add(a);
    }
  }
  const adjStart = new Int32Array(px.length + 1);
  const adj: number[] = [];
  sets.forEach((set, i) => {
    adjStart[i] = adj.length;
    adj.push(...[...set].sort((x, y) => x - y));
  });
  adjStart[px.length] = adj.length;
  return { px, py, tri, nbr, adjStart, adj: Int32Array.from(adj) };
}

/**
 * Co-circular quadrilaterals (4 points on one circle within `tolerance` in Qhull's lifted space) have two valid
 * Delaunay triangulations. Qhull merges such a quad into one facet and splits it from its newest vertex; this picks
 * the diagonal from the quad's lowest point (smallest context, then kv) to its highest, which is Qhull's choice on
 * most quads of the bundled profiles (docs/yardsticks.md lists the exceptions and what they change).
 */
function breakTies(px: Float64Array, py: Float64Array, tris: number[][], tolerance: number): number[][] {
  const lifted = liftedCoordinates(px, py);
  const below = (i: number, j: number) => (py[i] as number) < (py[j] as number) || ((py[i] as number) === (py[j] as number) && (px[i] as number) < (px[j] as number));
  for (let pass = 0; pass < 4; pass++) {
    let flips = 0;
    const edges = new Map<string, number[]>();
    tris.forEach((t, ti) => {
      for (let k = 0; k < 3; k++) {
        const a = t[(k + 1) % 3] as number;
        const b = t[(k + 2) % 3] as number;
        const key = a < b ? `${a},${b}` : `${b},${a}`;
        const list = edges.get(key) ?? [];
        list.push(ti, k);
        edges.set(key, list);
      }
    });
    const done = new Set<number>();
    for (const [key, list] of edges) {
      if (list.length !== 4) continue;
      const [t1, k1, t2, k2] = list as [number, number, number, number];
      if (done.has(t1) || done.has(t2)) continue;
      const [a, b] = key.split(',').map(Number) as [number, number];
      const c = tris[t1]![k1] as number;
      const e = tris[t2]![k2] as number;
      if (liftedDistance(lifted, a, b, c, e) >= tolerance) continue;
      const quad = [a, b, c, e];
      const lo = quad.reduce((m, v) => (below(v, m) ? v : m));
      const hi = quad.reduce((m, v) => (below(m, v) ? v : m));
      if ((lo === c && hi === e) || (lo === e && hi === c)) {
        tris[t1] = [c, e, a];
        tris[t2] = [e, c, b];
        done.add(t1);
        done.add(t2);
        flips++;
      }
    }
    if (flips === 0) break;
  }
  return tris;
}

interface Lifted {
  px: Float64Array;
  py: Float64Array;
  zs: Float64Array;
  /** Qhull's round-off for these coordinates (qh_distround, 3 dimensions). */
  roundoff: number;
}

/** Points lifted to (x, y, x^2 + y^2), the last scaled to [0, max |x|, |y|] as Qhull's "Qbb" does. */
function liftedCoordinates(px: Float64Array, py: Float64Array): Lifted {
  const n = px.length;
  let zmin = Infinity;
  let zmax = -Infinity;
  let maxX = 0;
  let maxY = 0;
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    z[i] = (px[i] as number) ** 2 + (py[i] as number) ** 2;
    zmin = Math.min(zmin, z[i] as number);
    zmax = Math.max(zmax, z[i] as number);
    maxX = Math.max(maxX, Math.abs(px[i] as number));
    maxY = Math.max(maxY, Math.abs(py[i] as number));
  }
  const m = Math.max(maxX, maxY);
  const zs = Float64Array.from(z, (v) => (zmax > zmin ? ((v - zmin) / (zmax - zmin)) * m : 0));
  const maxDistSum = Math.min(Math.sqrt(3) * m, maxX + maxY + m);
  return { px, py, zs, roundoff: Number.EPSILON * (3 * maxDistSum * 1.01 + m) };
}

/** Distance of lifted point p from the plane through lifted a, b, c. */
function liftedDistance(L: Lifted, a: number, b: number, c: number, p: number): number {
  const { px, py, zs } = L;
  const ux = (px[b] as number) - (px[a] as number);
  const uy = (py[b] as number) - (py[a] as number);
  const uz = (zs[b] as number) - (zs[a] as number);
  const vx = (px[c] as number) - (px[a] as number);
  const vy = (py[c] as number) - (py[a] as number);
  const vz = (zs[c] as number) - (zs[a] as number);
  const nx = uy * vz - uz * vy;
  const ny = uz * vx - ux * vz;
  const nz = ux * vy - uy * vx;
  const norm = Math.hypot(nx, ny, nz);
  return Math.abs(nx * ((px[p] as number) - (px[a] as number)) + ny * ((py[p] as number) - (py[a] as number)) + nz * ((zs[p] as number) - (zs[a] as number))) / norm;
}

/** SciPy's estimate_gradients_2d_global: Gauss-Seidel on the per-vertex curvature minimisation (Nielson, Renka). */
function estimateGradients(t: Triangulation, f: Float64Array): Float64Array {
  const n = f.length;
  const y = new Float64Array(2 * n);
  for (let iter = 0; iter < GRADIENT_MAXITER; iter++) {
    let err = 0;
    for (let i = 0; i < n; i++) {
      let q0 = 0;
      let q1 = 0;
      let q3 = 0;
      let s0 = 0;
      let s1 = 0;
      for (let k = t.adjStart[i] as number; k < (t.adjStart[i + 1] as number); k++) {
        const j = t.adj[k] as number;
        const ex = (t.px[j] as number) - (t.px[i] as number);
        const ey = (t.py[j] as number) - (t.py[i] as number);
        const L = Math.sqrt(ex * ex + ey * ey);
        const L3 = L * L * L;
        const f1 = f[i] as number;
        const f2 = f[j] as number;
        const df2 = -ex * (y[2 * j] as number) - ey * (y[2 * j + 1] as number);
        q0 += (4 * ex * ex) / L3;
        q1 += (4 * ex * ey) / L3;
        q3 += (4 * ey * ey) / L3;
        s0 += ((6 * (f1 - f2) - 2 * df2) * ex) / L3;
        s1 += ((6 * (f1 - f2) - 2 * df2) * ey) / L3;
      }
      const det = q0 * q3 - q1 * q1;
      if (!(det !== 0)) continue; // a point in no triangle has no neighbours: no gradient to estimate
      const r0 = (q3 * s0 - q1 * s1) / det;
      const r1 = (-q1 * s0 + q0 * s1) / det;
      let change = Math.max(Math.abs((y[2 * i] as number) + r0), Math.abs((y[2 * i + 1] as number) + r1));
      y[2 * i] = -r0;
      y[2 * i + 1] = -r1;
      change /= Math.max(1, Math.max(Math.abs(r0), Math.abs(r1)));
      err = Math.max(err, change);
    }
    if (err < GRADIENT_TOL) break;
  }
  return y;
}

/** Barycentric coordinates of (x, y) in triangle t (SciPy's transform: relative to the last vertex). */
function barycentric(T: Triangulation, t: number, x: number, y: number, out: Float64Array): void {
  const a = T.tri[3 * t] as number;
  const b = T.tri[3 * t + 1] as number;
  const c = T.tri[3 * t + 2] as number;
  const x3 = T.px[c] as number;
  const y3 = T.py[c] as number;
  const m00 = (T.px[a] as number) - x3;
  const m01 = (T.px[b] as number) - x3;
  const m10 = (T.py[a] as number) - y3;
  const m11 = (T.py[b] as number) - y3;
  const det = m00 * m11 - m01 * m10;
  const dx = x - x3;
  const dy = y - y3;
  out[0] = (m11 * dx - m01 * dy) / det;
  out[1] = (-m10 * dx + m00 * dy) / det;
  out[2] = 1 - (out[0] as number) - (out[1] as number);
}

/** The triangle holding (x, y), or -1 outside the hull (SciPy's tolerances). Writes its barycentric coordinates. */
function findTriangle(T: Triangulation, x: number, y: number, c: Float64Array): number {
  const count = T.tri.length / 3;
  for (let t = 0; t < count; t++) {
    barycentric(T, t, x, y, c);
    if ((c[0] as number) >= -EPS && (c[1] as number) >= -EPS && (c[2] as number) >= -EPS) return t;
  }
  for (let t = 0; t < count; t++) {
    if ((T.nbr[3 * t] as number) >= 0 && (T.nbr[3 * t + 1] as number) >= 0 && (T.nbr[3 * t + 2] as number) >= 0) continue;
    barycentric(T, t, x, y, c);
    if ((c[0] as number) >= -EPS_BROAD && (c[1] as number) >= -EPS_BROAD && (c[2] as number) >= -EPS_BROAD) return t;
  }
  return -1;
}

/** SciPy's _clough_tocher_2d_single: the cubic Bezier patch of triangle t at barycentric b. */
function cloughTocher(T: Triangulation, t: number, b: Float64Array, f: Float64Array, grad: Float64Array): number {
  const v = [T.tri[3 * t] as number, T.tri[3 * t + 1] as number, T.tri[3 * t + 2] as number];
  const X = (i: number) => T.px[v[i] as number] as number;
  const Y = (i: number) => T.py[v[i] as number] as number;
  const gx = (i: number) => grad[2 * (v[i] as number)] as number;
  const gy = (i: number) => grad[2 * (v[i] as number) + 1] as number;
  const e12x = X(1) - X(0);
  const e12y = Y(1) - Y(0);
  const e23x = X(2) - X(1);
  const e23y = Y(2) - Y(1);
  const e31x = X(0) - X(2);
  const e31y = Y(0) - Y(2);
  const f1 = f[v[0] as number] as number;
  const f2 = f[v[1] as number] as number;
  const f3 = f[v[2] as number] as number;
  const df12 = +(gx(0) * e12x + gy(0) * e12y);
  const df21 = -(gx(1) * e12x + gy(1) * e12y);
  const df23 = +(gx(1) * e23x + gy(1) * e23y);
  const df32 = -(gx(2) * e23x + gy(2) * e23y);
  const df31 = +(gx(2) * e31x + gy(2) * e31y);
  const df13 = -(gx(0) * e31x + gy(0) * e31y);
  const c3000 = f1;
  const c2100 = (df12 + 3 * c3000) / 3;
  const c2010 = (df13 + 3 * c3000) / 3;
  const c0300 = f2;
  const c1200 = (df21 + 3 * c0300) / 3;
  const c0210 = (df23 + 3 * c0300) / 3;
  const c0030 = f3;
  const c1020 = (df31 + 3 * c0030) / 3;
  const c0120 = (df32 + 3 * c0030) / 3;
  const c2001 = (c2100 + c2010 + c3000) / 3;
  const c0201 = (c1200 + c0300 + c0210) / 3;
  const c0021 = (c1020 + c0120 + c0030) / 3;
  // Direction of the C1 condition across each edge: towards the neighbour's centroid (affine invariant).
  const g = [0, 0, 0];
  const c = new Float64Array(3);
  for (let k = 0; k < 3; k++) {
    const n = T.nbr[3 * t + k] as number;
    if (n < 0) {
      g[k] = -1 / 2;
      continue;
    }
    const a = T.tri[3 * n] as number;
    const bb = T.tri[3 * n + 1] as number;
    const cc = T.tri[3 * n + 2] as number;
    const cx = ((T.px[a] as number) + (T.px[bb] as number) + (T.px[cc] as number)) / 3;
    const cy = ((T.py[a] as number) + (T.py[bb] as number) + (T.py[cc] as number)) / 3;
    barycentric(T, t, cx, cy, c);
    const c0 = c[0] as number;
    const c1 = c[1] as number;
    const c2 = c[2] as number;
    if (k === 0) g[k] = (2 * c2 + c1 - 1) / (2 - 3 * c2 - 3 * c1);
    else if (k === 1) g[k] = (2 * c0 + c2 - 1) / (2 - 3 * c0 - 3 * c2);
    else g[k] = (2 * c1 + c0 - 1) / (2 - 3 * c1 - 3 * c0);
  }
  const c0111 = ((g[0] as number) * (-c0300 + 3 * c0210 - 3 * c0120 + c0030) + (-c0300 + 2 * c0210 - c0120 + c0021 + c0201)) / 2;
  const c1011 = ((g[1] as number) * (-c0030 + 3 * c1020 - 3 * c2010 + c3000) + (-c0030 + 2 * c1020 - c2010 + c2001 + c0021)) / 2;
  const c1101 = ((g[2] as number) * (-c3000 + 3 * c2100 - 3 * c1200 + c0300) + (-c3000 + 2 * c2100 - c1200 + c2001 + c0201)) / 2;
  const c1002 = (c1101 + c1011 + c2001) / 3;
  const c0102 = (c1101 + c0111 + c0201) / 3;
  const c0012 = (c1011 + c0111 + c0021) / 3;
  const c0003 = (c1002 + c0102 + c0012) / 3;
  const minval = Math.min(b[0] as number, b[1] as number, b[2] as number);
  const b1 = (b[0] as number) - minval;
  const b2 = (b[1] as number) - minval;
  const b3 = (b[2] as number) - minval;
  const b4 = 3 * minval;
  return (
    b1 ** 3 * c3000 + 3 * b1 ** 2 * b2 * c2100 + 3 * b1 ** 2 * b3 * c2010 + 3 * b1 ** 2 * b4 * c2001 + 3 * b1 * b2 ** 2 * c1200 +
    6 * b1 * b2 * b4 * c1101 + 3 * b1 * b3 ** 2 * c1020 + 6 * b1 * b3 * b4 * c1011 + 3 * b1 * b4 ** 2 * c1002 + b2 ** 3 * c0300 +
    3 * b2 ** 2 * b3 * c0210 + 3 * b2 ** 2 * b4 * c0201 + 3 * b2 * b3 ** 2 * c0120 + 6 * b2 * b3 * b4 * c0111 + 3 * b2 * b4 ** 2 * c0102 +
    b3 ** 3 * c0030 + 3 * b3 ** 2 * b4 * c0021 + 3 * b3 * b4 ** 2 * c0012 + b4 ** 3 * c0003
  );
}

/**
 * griddata((px, py), values, grid, method="cubic") with NaN cells filled by method="nearest", as Dynamo builds its
 * decode grids. Returns a row-major grid: cell (iy, ix) at iy * xs.length + ix.
 */
function cubicGrid(px: Float64Array, py: Float64Array, values: Float64Array, xs: Float64Array, ys: Float64Array): Float64Array {
  const kept = qhullVertices(px, py);
  const kx = Float64Array.from(kept, (i) => px[i] as number);
  const ky = Float64Array.from(kept, (i) => py[i] as number);
  const kv = Float64Array.from(kept, (i) => values[i] as number);
  const T = triangulate(kx, ky, qhullTieTolerance(kx, ky));
  const grad = estimateGradients(T, kv);
  const out = new Float64Array(xs.length * ys.length);
  const c = new Float64Array(3);
  for (let iy = 0; iy < ys.length; iy++) {
    for (let ix = 0; ix < xs.length; ix++) {
      const x = xs[ix] as number;
      const y = ys[iy] as number;
      const t = findTriangle(T, x, y, c);
      let v = t >= 0 ? cloughTocher(T, t, c, kv, grad) : NaN;
      if (Number.isNaN(v)) v = values[nearest(px, py, x, y)] as number;
      out[iy * xs.length + ix] = v;
    }
  }
  return out;
}

/**
 * The points Qhull keeps as vertices of the Delaunay triangulation. Qhull builds it as the lower hull of the points
 * lifted to (x, y, x^2 + y^2), the last coordinate scaled to [0, max |x|, |y|] ("Qbb"), and with "Qc" it leaves out a
 * point whose lifted distance to the hull is within its round-off (qh_distround for 3 dimensions): such a point
 * lies on a triangle of the others, numerically. This estimates that test: a point is left out when its lifted
 * distance to the plane of the triangle of the OTHER points that holds it is below 4 x that round-off. Profiles
 * whose rows put points at kv proportional to the context (concurrency 1, 2, 4, ...) at tiny kv are where it
 * matters: on llama2-70b-h100-tp4 it leaves out the same 3 points SciPy does (lifted distances 1.5e-10 to 3.0e-10,
 * round-off 9.1e-11; the nearest kept point is at 6.3e-10).
 */
function qhullVertices(px: Float64Array, py: Float64Array): number[] {
  const n = px.length;
  // One triangulation per point: bounded to profiles of a realistic size (Dynamo's profiler writes tens to hundreds).
  if (n > QHULL_EMULATION_MAX_POINTS) return [...Array(n).keys()];
  const lifted = liftedCoordinates(px, py);
  const kept: number[] = [];
  const c = new Float64Array(3);
  for (let i = 0; i < n; i++) {
    const others = [...Array(n).keys()].filter((j) => j !== i);
    if (others.length < 3) {
      kept.push(i);
      continue;
    }
    const T = triangulate(Float64Array.from(others, (j) => px[j] as number), Float64Array.from(others, (j) => py[j] as number));
    const t = T.tri.length > 0 ? findTriangle(T, px[i] as number, py[i] as number, c) : -1;
    if (t < 0) {
      kept.push(i);
      continue;
    }
    const [a, b, d] = [0, 1, 2].map((k) => others[T.tri[3 * t + k] as number] as number) as [number, number, number];
    if (!(liftedDistance(lifted, a, b, d, i) < QHULL_TOLERANCE * lifted.roundoff)) kept.push(i);
  }
  return kept;
}

/** Above this many decode points every point is kept (the coplanarity test costs one triangulation per point). */
const QHULL_EMULATION_MAX_POINTS = 2000;

/** Lifted distance, in units of Qhull's round-off, below which points count as coplanar (see qhullVertices). */
const QHULL_TOLERANCE = 4;

/** The tie tolerance for a point set (absolute, in lifted units). */
function qhullTieTolerance(px: Float64Array, py: Float64Array): number {
  return QHULL_TOLERANCE * liftedCoordinates(px, py).roundoff;
}

/** Index of the point nearest to (x, y), Euclidean in raw units (the first on a tie). */
function nearest(px: Float64Array, py: Float64Array, x: number, y: number): number {
  let best = 0;
  let bestD = Infinity;
  for (let i = 0; i < px.length; i++) {
    const dx = (px[i] as number) - x;
    const dy = (py[i] as number) - y;
    const d = dx * dx + dy * dy;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/** numpy.linspace(start, stop, num): i x step + start, the last exactly stop. */
function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/**
 * Dynamo's PrefillInterpolator. A cubic needs 4 measured ISLs: with fewer, Dynamo itself fails to start (SciPy raises);
 * the baseline then interpolates linearly and says so in `warning` (shown in the run's warnings).
 */
export class DynamoPrefillInterpolator {
  private readonly ttft: { at(x: number): number };
  private readonly thpt: { at(x: number): number };
  private readonly minIsl: number;
  private readonly maxIsl: number;
  readonly warning?: string;

  constructor(profile: PerformanceProfile) {
    const { isl, ttftMs, thptPerGpu } = profile.prefill;
    if (isl.length >= 4) {
      this.ttft = new NotAKnotSpline(isl, ttftMs);
      this.thpt = new NotAKnotSpline(isl, thptPerGpu);
    } else {
      this.ttft = { at: (x) => lerpAt(isl, ttftMs, x) };
      this.thpt = { at: (x) => lerpAt(isl, thptPerGpu, x) };
      this.warning = `profile ${profile.name} has ${isl.length} prefill points; Dynamo's cubic interpolation needs 4 (Dynamo would not start): the dynamo baseline interpolated prefill linearly`;
    }
    this.minIsl = Math.min(...isl);
    this.maxIsl = Math.max(...isl);
  }

  private clamp(isl: number): number {
    return Math.max(this.minIsl, Math.min(isl, this.maxIsl));
  }

  ttftMs(isl: number): number {
    return this.ttft.at(this.clamp(isl));
  }

  thptPerGpu(isl: number): number {
    return this.thpt.at(this.clamp(isl));
  }
}

/** Decode grids computed elsewhere (SciPy itself: scripts/dynamo-grids.py), row-major. */
export interface DecodeGrids {
  resolution: number;
  maxContext: number;
  itlMs: number[];
  thptPerGpu: number[];
}

/** Where a profile's shipped grids would be: next to its JSON files. */
function gridsFile(profile: PerformanceProfile): string {
  const dir = profile.source.startsWith('builtin:') ? join(BUILTIN_PROFILES_DIR, profile.source.slice('builtin:'.length)) : profile.source;
  return join(dir, DECODE_GRIDS_FILE);
}

const DECODE_GRIDS_FILE = 'dynamo_decode_grids.json';
/** A grids file is 20,000 numbers: ~300 kB. Anything far larger is not one. */
const GRIDS_FILE_MAX_BYTES = 4 << 20;

/**
 * The profile's shipped grids (dynamo_decode_grids.json next to its JSON files), when present and well-formed
 * for this profile; undefined otherwise (then the grids are computed by the port).
 */
export function shippedGrids(profile: PerformanceProfile): DecodeGrids | undefined {
  const file = gridsFile(profile);
  if (!existsSync(file) || statSync(file).size > GRIDS_FILE_MAX_BYTES) return undefined;
  let g: DecodeGrids;
  try {
    g = JSON.parse(readFileSync(file, 'utf8')) as DecodeGrids;
  } catch {
    return undefined;
  }
  const cells = g.resolution * g.resolution;
  let maxContext = 0;
  for (const row of profile.decode.rows) maxContext = Math.max(maxContext, row.ctx);
  const ok = Number.isInteger(g.resolution) && g.resolution >= 2 && g.maxContext === maxContext && Array.isArray(g.itlMs) && Array.isArray(g.thptPerGpu) && g.itlMs.length === cells && g.thptPerGpu.length === cells;
  return ok ? g : undefined;
}

/** Dynamo's DecodeInterpolator: nearest-cell lookups on the 100 x 100 cubic grids. */
export class DynamoDecodeInterpolator {
  readonly maxKvTokens: number;
  readonly xi: Float64Array;
  readonly yi: Float64Array;
  readonly itlGrid: Float64Array;
  readonly thptGrid: Float64Array;
  /** 'scipy' when the grids came from a shipped grids file, 'port' when computed here. */
  readonly gridSource: 'scipy' | 'port';

  constructor(profile: PerformanceProfile, options: { resolution?: number; grids?: DecodeGrids | null } = {}) {
    const resolution = options.grids?.resolution ?? options.resolution ?? GRID_RESOLUTION;
    const kv: number[] = [];
    const ctx: number[] = [];
    const itl: number[] = [];
    const thpt: number[] = [];
    for (const row of profile.decode.rows) {
      row.kv.forEach((x, i) => {
        kv.push(x);
        ctx.push(row.ctx);
        itl.push(row.itlMs[i] as number);
        thpt.push(row.thptPerGpu[i] as number);
      });
    }
    this.maxKvTokens = profile.maxKvTokens;
    this.xi = linspace(0, 1, resolution);
    this.yi = linspace(0, Math.max(...ctx), resolution);
    if (options.grids) {
      this.itlGrid = Float64Array.from(options.grids.itlMs);
      this.thptGrid = Float64Array.from(options.grids.thptPerGpu);
      this.gridSource = 'scipy';
      return;
    }
    const px = Float64Array.from(kv);
    const py = Float64Array.from(ctx);
    this.itlGrid = cubicGrid(px, py, Float64Array.from(itl), this.xi, this.yi);
    this.thptGrid = cubicGrid(px, py, Float64Array.from(thpt), this.xi, this.yi);
    this.gridSource = 'port';
  }

  private index(value: number, axis: Float64Array): number {
    const i = roundHalfEven((value - (axis[0] as number)) / ((axis[1] as number) - (axis[0] as number)));
    return Math.min(axis.length - 1, Math.max(0, Number.isNaN(i) ? 0 : i));
  }

  /** compute_idx: the cell of (concurrency x ctx / maxKv, ctx). */
  cell(concurrency: number, ctx: number): { ix: number; iy: number } {
    const kv = (concurrency * ctx) / this.maxKvTokens;
    return { ix: this.index(kv, this.xi), iy: this.index(ctx, this.yi) };
  }

  itlMs(concurrency: number, ctx: number): number {
    const { ix, iy } = this.cell(concurrency, ctx);
    return this.itlGrid[iy * this.xi.length + ix] as number;
  }

  thptPerGpu(concurrency: number, ctx: number): number {
    const { ix, iy } = this.cell(concurrency, ctx);
    return this.thptGrid[iy * this.xi.length + ix] as number;
  }

  /** find_best_throughput_per_gpu: scan ctx's row from kv = 1 down for the first cell with ITL <= itl. */
  findBestThroughputPerGpu(itl: number, ctx: number): { thptPerGpu: number; itlMs: number; kv: number } {
    const iy = this.index(ctx, this.yi);
    const w = this.xi.length;
    for (let ix = w - 1; ix >= 0; ix--) {
      const at = this.itlGrid[iy * w + ix] as number;
      if (at <= itl) return { thptPerGpu: this.thptGrid[iy * w + ix] as number, itlMs: at, kv: this.xi[ix] as number };
    }
    return { thptPerGpu: this.thptGrid[iy * w] as number, itlMs: this.itlGrid[iy * w] as number, kv: this.xi[0] as number };
  }
}
