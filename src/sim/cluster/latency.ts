/**
 * Service times the cluster model takes from the performance profile, in a form that is cheap to call millions of
 * times: prefill time per request (memoised by token count) and decode ITL as a function of (KV usage, context).
 *
 * Prefill (one request at a time on a replica, as the profile measured it at batch 1):
 *   time(tokens) = profile TTFT at `tokens` within the measured ISL range (the profile clamps below its smallest ISL,
 *   which over-estimates tiny prompts a little; that is the profile's own rule);
 *   beyond the largest measured ISL we EXTRAPOLATE, never clamp: time at the largest ISL plus the extra tokens at
 *   the rate measured there (largest ISL / its TTFT, i.e. throughput per GPU x the engine's GPUs).
 *   Example (llama2-70b-h100-tp4, largest ISL 8192 at 953.582 ms, 8.591 tok/ms): 16384 tokens →
 *   953.582 + 8192 / 8.591 = 1907.16 ms. Clamping would have said 953.582 ms and hidden half the work.
 *
 * Decode ITL(kv, ctx): the same interpolation as the profile (linear in kv within a measured context row, linear in
 * context between the two rows around it, context clamped to the measured rows, kv below a row's first point clamped),
 * with one deliberate difference: ABOVE a row's last measured kv we extrapolate along the row's last segment instead
 * of clamping, so an over-full batch gets slower as it would on the engine.
 *   Example (llama2-70b-h100-tp4, context row 576 measured up to 256 requests = kv 0.3277 at 117.98 ms, previous
 *   point 192 requests = kv 0.2458 at 95.58 ms): 512 requests at context 576 is kv 0.6554; the profile clamps to
 *   117.98 ms, we give 117.98 + (0.6554 - 0.3277) x (117.98 - 95.58) / 0.0819 = 207.6 ms
 *   (its step-time model, 28.38 + 0.350 x 512 = 207.6 ms, agrees).
 */
import type { PerformanceProfile } from '../../profiles/types.js';

/** Largest token count we memoise prefill times for (32 MiB of Float64); longer prompts are computed each time. */
const PREFILL_MEMO_LIMIT = 1 << 22;

export class PrefillTimes {
  private readonly memo: Float64Array;
  private readonly islMax: number;
  private readonly ttftAtMax: number;

  /** `maxTokens`: the largest prompt we expect (ISL plus tokens generated before a re-queue), for the memo size. */
  constructor(
    private readonly profile: PerformanceProfile,
    maxTokens: number,
  ) {
    const isl = profile.prefill.isl;
    const ttft = profile.prefill.ttftMs;
    if (isl.length === 0 || ttft.length !== isl.length) throw new RangeError(`profile ${profile.name}: prefill data is empty or uneven`);
    this.islMax = isl[isl.length - 1]!;
    this.ttftAtMax = ttft[ttft.length - 1]!;
    this.memo = new Float64Array(Math.min(PREFILL_MEMO_LIMIT, Math.max(0, Math.ceil(maxTokens)) + 1)).fill(-1);
  }

  /** Prefill time in ms of a prompt of `tokens` tokens. */
  ms(tokens: number): number {
    if (tokens < this.memo.length) {
      const m = this.memo[tokens]!;
      if (m >= 0) return m;
      const v = this.compute(tokens);
      this.memo[tokens] = v;
      return v;
    }
    return this.compute(tokens);
  }

  private compute(tokens: number): number {
    if (tokens <= this.islMax) return this.profile.prefillTtftMs(tokens).value;
    return this.ttftAtMax + (tokens - this.islMax) * (this.ttftAtMax / this.islMax);
  }
}

/** KV-usage cells per row in the segment lookup table (kv in [0, 1]). */
const KV_CELLS = 1024;
/** Context tokens per cell in the row lookup table. */
const CTX_CELL = 64;

/**
 * Exact piecewise-linear lookups without searching: per row, a table from kv cell to the segment at the cell's left
 * edge (a breakpoint inside the cell moves it on by one), and a table from context cell to the row below it. The
 * lookup is loop-free in the common case (it runs twice per simulated request).
 * Example (row 576 of llama2-70b-h100-tp4): kv 0.2 is cell 204, whose left edge 0.1992 lies in the segment
 * [0.16384, 0.24576]; 0.2 is below 0.24576, so the segment stands: ITL = 73.23 + (0.2 - 0.16384) x 273.77 = 83.13 ms.
 */
export class DecodeItl {
  /** All rows' points, concatenated: kv, ITL, and slope of the segment starting at each point. */
  private readonly x: Float64Array;
  private readonly y: Float64Array;
  private readonly slope: Float64Array;
  /** Per row: index of its first and last point in x/y, and ms per unit kv beyond the last point. */
  private readonly first: Int32Array;
  private readonly last: Int32Array;
  private readonly beyond: Float64Array;
  /** Per row, KV_CELLS + 1 entries: the segment (index into x) at the left edge of each kv cell. */
  private readonly segOfCell: Int32Array;
  private readonly ctxs: Float64Array;
  private readonly invGap: Float64Array;
  /** Row at or below the left edge of each context cell (contexts between the first and last row). */
  private readonly rowOfCtx: Int32Array;

  constructor(profile: PerformanceProfile) {
    const rows = [...profile.decode.rows].sort((a, b) => a.ctx - b.ctx);
    if (rows.length === 0) throw new RangeError(`profile ${profile.name}: no decode rows`);
    const total = rows.reduce((sum, r) => sum + r.kv.length, 0);
    this.x = new Float64Array(total);
    this.y = new Float64Array(total);
    this.slope = new Float64Array(total);
    this.first = new Int32Array(rows.length);
    this.last = new Int32Array(rows.length);
    this.beyond = new Float64Array(rows.length);
    this.segOfCell = new Int32Array(rows.length * (KV_CELLS + 1));
    let at = 0;
    rows.forEach((r, j) => {
      const n = r.kv.length;
      if (n === 0 || r.itlMs.length !== n) throw new RangeError(`profile ${profile.name}: decode row at context ${r.ctx} is empty or uneven`);
      this.first[j] = at;
      this.last[j] = at + n - 1;
      for (let k = 0; k < n; k++) {
        this.x[at + k] = r.kv[k]!;
        this.y[at + k] = r.itlMs[k]!;
      }
      for (let k = 0; k + 1 < n; k++) this.slope[at + k] = (r.itlMs[k + 1]! - r.itlMs[k]!) / (r.kv[k + 1]! - r.kv[k]!);
      this.beyond[j] = n >= 2 ? Math.max(0, this.slope[at + n - 2]!) : 0;
      let seg = at;
      for (let c = 0; c <= KV_CELLS; c++) {
        const edge = c / KV_CELLS;
        while (seg + 1 < at + n - 1 && this.x[seg + 1]! <= edge) seg++;
        this.segOfCell[j * (KV_CELLS + 1) + c] = seg;
      }
      at += n;
    });
    this.ctxs = Float64Array.from(rows, (r) => r.ctx);
    this.invGap = Float64Array.from(rows, (r, j) => (j + 1 < rows.length ? 1 / (rows[j + 1]!.ctx - r.ctx) : 0));
    const lastCtx = this.ctxs[rows.length - 1]!;
    this.rowOfCtx = new Int32Array(Math.floor(lastCtx / CTX_CELL) + 2);
    let row = 0;
    for (let c = 0; c < this.rowOfCtx.length; c++) {
      while (row + 1 < rows.length - 1 && this.ctxs[row + 1]! <= c * CTX_CELL) row++;
      this.rowOfCtx[c] = row;
    }
  }

  /** ITL in ms of one decode step at KV usage `kv` (0..1) and mean context `ctx` tokens. */
  ms(kv: number, ctx: number): number {
    const ctxs = this.ctxs;
    const lastRow = ctxs.length - 1;
    let j = 0;
    let t = 0;
    if (ctx >= ctxs[lastRow]!) j = lastRow;
    else if (ctx > ctxs[0]!) {
      j = this.rowOfCtx[(ctx / CTX_CELL) | 0]!;
      while (ctx >= ctxs[j + 1]!) j++;
      t = (ctx - ctxs[j]!) * this.invGap[j]!;
    }
    const cell = kv >= 1 ? KV_CELLS : kv > 0 ? (kv * KV_CELLS) | 0 : 0;
    const x = this.x;
    const y = this.y;
    // Row j at kv.
    let lo: number;
    let i = this.first[j]!;
    let e = this.last[j]!;
    if (kv <= x[i]!) lo = y[i]!;
    else if (kv >= x[e]!) lo = y[e]! + (kv - x[e]!) * this.beyond[j]!;
    else {
      i = this.segOfCell[j * (KV_CELLS + 1) + cell]!;
      while (kv >= x[i + 1]!) i++;
      lo = y[i]! + (kv - x[i]!) * this.slope[i]!;
    }
    if (t === 0) return lo;
    // Row j + 1 at kv, blended.
    const k = j + 1;
    let hi: number;
    i = this.first[k]!;
    e = this.last[k]!;
    if (kv <= x[i]!) hi = y[i]!;
    else if (kv >= x[e]!) hi = y[e]! + (kv - x[e]!) * this.beyond[k]!;
    else {
      i = this.segOfCell[k * (KV_CELLS + 1) + cell]!;
      while (kv >= x[i + 1]!) i++;
      hi = y[i]! + (kv - x[i]!) * this.slope[i]!;
    }
    return lo + t * (hi - lo);
  }
}
