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

interface ItlRow {
  ctx: number;
  kv: Float64Array;
  itl: Float64Array;
  /** ms per unit kv beyond the last point (last segment's slope, at least 0). */
  slope: number;
}

export class DecodeItl {
  private readonly rows: ItlRow[];
  private readonly ctxs: Float64Array;
  private lastRow = 0;

  constructor(profile: PerformanceProfile) {
    const rows = [...profile.decode.rows].sort((a, b) => a.ctx - b.ctx);
    if (rows.length === 0) throw new RangeError(`profile ${profile.name}: no decode rows`);
    this.rows = rows.map((r) => {
      const n = r.kv.length;
      if (n === 0 || r.itlMs.length !== n) throw new RangeError(`profile ${profile.name}: decode row at context ${r.ctx} is empty or uneven`);
      const slope = n >= 2 ? Math.max(0, (r.itlMs[n - 1]! - r.itlMs[n - 2]!) / (r.kv[n - 1]! - r.kv[n - 2]!)) : 0;
      return { ctx: r.ctx, kv: Float64Array.from(r.kv), itl: Float64Array.from(r.itlMs), slope };
    });
    this.ctxs = Float64Array.from(this.rows, (r) => r.ctx);
  }

  /** ITL in ms of one decode step at KV usage `kv` (0..1) and mean context `ctx` tokens. */
  ms(kv: number, ctx: number): number {
    const ctxs = this.ctxs;
    const last = ctxs.length - 1;
    if (last === 0 || ctx <= ctxs[0]!) return rowAt(this.rows[0]!, kv);
    if (ctx >= ctxs[last]!) return rowAt(this.rows[last]!, kv);
    let j = this.lastRow;
    if (!(ctxs[j]! <= ctx && ctx < ctxs[j + 1]!)) {
      let lo = 0;
      let hi = last;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (ctxs[mid]! <= ctx) lo = mid;
        else hi = mid;
      }
      j = lo;
      this.lastRow = j;
    }
    const c0 = ctxs[j]!;
    const t = (ctx - c0) / (ctxs[j + 1]! - c0);
    const a = rowAt(this.rows[j]!, kv);
    return a + t * (rowAt(this.rows[j + 1]!, kv) - a);
  }
}

function rowAt(row: ItlRow, kv: number): number {
  const xs = row.kv;
  const ys = row.itl;
  const n = xs.length;
  if (n === 1 || kv <= xs[0]!) return ys[0]!;
  const xl = xs[n - 1]!;
  if (kv >= xl) return ys[n - 1]! + (kv - xl) * row.slope;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! <= kv) lo = mid;
    else hi = mid;
  }
  const x0 = xs[lo]!;
  const y0 = ys[lo]!;
  return y0 + ((kv - x0) / (xs[lo + 1]! - x0)) * (ys[lo + 1]! - y0);
}
