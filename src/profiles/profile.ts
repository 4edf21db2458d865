/**
 * A performance profile built from Dynamo's profiler JSON, with fast piecewise-linear lookups.
 *
 * Interpolation (the rule Dynamo's planner interpolators use; test/unit/profiles checks it against Dynamo's numbers):
 * - prefill: linear in ISL between measured points, clamped to the measured range;
 * - decode: the scattered points form rows of one context length each; within a row, linear in KV usage;
 *   across rows, linear in context length between the two rows around the query; clamped at both ends.
 *
 * Worked example (dynamo-format-synthetic, ITL at kv 1, context 3075): row 2298 gives 12.7385 (its last point,
 * kv 0.9996), row 4346 gives 11.9183; t = (3075 - 2298) / (4346 - 2298) = 0.3794, so ITL = 12.7385 - 0.3794 x 0.8202
 * = 12.427 ms. Throughput the same way: 6829.68 - 0.3794 x 2970.07 = 5703 tok/s/GPU.
 *
 * Dynamo itself fits cubic splines on a 100 x 100 grid and takes the nearest cell; we use exact piecewise-linear
 * lookups so numbers are reproducible by hand and `bestDecode` can invert the ITL curve exactly (below).
 */
import { errorMap } from '../config/issues.js';
import { InputError } from '../errors.js';
import type { BestDecode, DecodeRow, Interpolated, PerformanceProfile } from './types.js';
import { decodeData, prefillData, type DecodeData, type PrefillData } from './data-schema.js';
import { lerpAt, segmentIndex } from './interpolate.js';

const PREFILL_FILE = 'prefill_raw_data.json';
const DECODE_FILE = 'decode_raw_data.json';
/**
 * A KV query this far beyond a row's last measured point is reported as clamped. Rows end where the profiler's
 * concurrency sweep ended (e.g. 0.9708 or 0.9996), so kv 1 there is not worth a warning; kv 0.9 on a row that ends
 * at 0.33 is. Queries below a row's first point (less than one request in flight) are never reported.
 */
const KV_CLAMP_TOLERANCE = 0.05;

interface Row {
  ctx: number;
  kv: Float64Array;
  itl: Float64Array;
  thpt: Float64Array;
}

/**
 * Two neighbouring rows sampled on the union of their KV points (plus 0 and 1). Between two breakpoints both rows are
 * linear in kv, so any blend (1 - t) x lo + t x hi is linear too: the blended ITL curve is exactly piecewise-linear
 * on `xs` and can be inverted segment by segment.
 */
interface RowPair {
  lo: Row;
  hi: Row;
  xs: Float64Array;
  itlLo: Float64Array;
  itlHi: Float64Array;
  thptLo: Float64Array;
  thptHi: Float64Array;
}

function fmt(x: number): string {
  return String(Math.round(x * 10000) / 10000);
}

function fail(problems: string[], source: string): never {
  throw new InputError(problems, `invalid performance profile ${source}:\n${problems.join('\n')}`);
}

function parseWith<T>(
  schema: {
    safeParse(v: unknown, params: { error: typeof errorMap }): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  json: unknown,
  file: string,
  source: string,
): T {
  const parsed = schema.safeParse(json, { error: errorMap });
  if (parsed.success) return parsed.data;
  fail(
    parsed.error.issues.map((issue) => {
      const path = issue.path.map(String).join('.');
      return `spec.profile: ${file}: ${path ? `${path}: ` : ''}${issue.message}`;
    }),
    source,
  );
}

/**
 * Physical ranges of a profile's numbers. Anything outside is a broken export, and some of it would make the
 * planner's arithmetic degenerate (a throughput of 1e-300 tokens/s means "infinitely many replicas"), so the file
 * is refused by name. The ranges are far wider than any engine: a TTFT of an hour, 1e9 tokens/s per GPU.
 */
const PROFILE_RANGES = {
  tokens: { min: 1, max: 1e8, what: 'tokens' },
  ms: { min: 1e-3, max: 3.6e6, what: 'ms' },
  thpt: { min: 1e-2, max: 1e9, what: 'tokens/s per GPU' },
  kv: { min: 0, max: 1.5, what: 'a fraction of max_kv_tokens' },
  kvTokens: { min: 1, max: 1e12, what: 'tokens' },
} as const;

/** Prefill TTFT may dip this much between neighbouring ISLs (measurement noise); more is not an engine. */
const TTFT_DIP_TOLERANCE = 0.1;

type Range = (typeof PROFILE_RANGES)[keyof typeof PROFILE_RANGES];

/** The first value of `values` outside `range`, as a problem line, or undefined. */
function outOfRange(key: string, values: readonly number[], range: Range): string | undefined {
  const i = values.findIndex((v) => !(v >= range.min && v <= range.max));
  if (i < 0) return undefined;
  return `${key}[${i}] is ${values[i]}, outside the physical range ${range.min}..${range.max} ${range.what}`;
}

function checkPrefill(d: PrefillData): string[] {
  const problems: string[] = [];
  const at = (msg: string) => problems.push(`spec.profile: ${PREFILL_FILE}: ${msg}`);
  const n = d.prefill_isl.length;
  if (d.prefill_ttft.length !== n) at(`prefill_ttft has ${d.prefill_ttft.length} points but prefill_isl has ${n}`);
  if (d.prefill_thpt_per_gpu.length !== n) at(`prefill_thpt_per_gpu has ${d.prefill_thpt_per_gpu.length} points but prefill_isl has ${n}`);
  for (let i = 1; i < n; i++) {
    if (!((d.prefill_isl[i] as number) > (d.prefill_isl[i - 1] as number))) {
      at(`prefill_isl must be ascending (point ${i}: ${d.prefill_isl[i]} after ${d.prefill_isl[i - 1]})`);
      break;
    }
  }
  const positive = (key: 'prefill_isl' | 'prefill_ttft' | 'prefill_thpt_per_gpu') => {
    const i = d[key].findIndex((v) => !(v > 0));
    if (i >= 0) at(`${key}[${i}] must be positive, got ${d[key][i]}`);
    return i < 0;
  };
  const ranges: [keyof PrefillData & string, Range][] = [
    ['prefill_isl', PROFILE_RANGES.tokens],
    ['prefill_ttft', PROFILE_RANGES.ms],
    ['prefill_thpt_per_gpu', PROFILE_RANGES.thpt],
  ];
  let usable = true;
  for (const [key, range] of ranges) {
    const problem = positive(key as 'prefill_isl') ? outOfRange(key, d[key] as number[], range) : 'not positive';
    if (problem === undefined) continue;
    usable = false;
    if (problem !== 'not positive') at(problem);
  }
  if (!usable) return problems;
  // A longer prompt cannot prefill faster: TTFT falling with ISL (beyond noise) is a broken export, and the
  // TTFT-percentile sizing would call the long prompts of the tail cheap.
  for (let i = 1; i < Math.min(n, d.prefill_ttft.length); i++) {
    const before = d.prefill_ttft[i - 1] as number;
    const now = d.prefill_ttft[i] as number;
    if (now < before * (1 - TTFT_DIP_TOLERANCE)) {
      at(`prefill_ttft[${i}] is ${now} ms at ISL ${d.prefill_isl[i]}, below ${before} ms at the shorter ISL ${d.prefill_isl[i - 1]}; TTFT must not fall as prompts get longer`);
      break;
    }
  }
  return problems;
}

function checkDecode(d: DecodeData): string[] {
  const problems: string[] = [];
  const at = (msg: string) => problems.push(`spec.profile: ${DECODE_FILE}: ${msg}`);
  const n = d.x_kv_usage.length;
  for (const key of ['y_context_length', 'z_itl', 'z_thpt_per_gpu'] as const) {
    if (d[key].length !== n) at(`${key} has ${d[key].length} points but x_kv_usage has ${n}`);
  }
  if (problems.length > 0) return problems;
  const check = (key: 'x_kv_usage' | 'y_context_length' | 'z_itl' | 'z_thpt_per_gpu', ok: (v: number) => boolean, what: string, range: Range) => {
    const i = d[key].findIndex((v) => !ok(v));
    if (i >= 0) {
      at(`${key}[${i}] must be ${what}, got ${d[key][i]}`);
      return;
    }
    const problem = outOfRange(key, d[key], range);
    if (problem) at(problem);
  };
  check('x_kv_usage', (v) => v >= 0, 'at least 0 (a fraction of max_kv_tokens)', PROFILE_RANGES.kv);
  check('y_context_length', (v) => v > 0, 'positive', PROFILE_RANGES.tokens);
  check('z_itl', (v) => v > 0, 'positive', PROFILE_RANGES.ms);
  check('z_thpt_per_gpu', (v) => v > 0, 'positive', PROFILE_RANGES.thpt);
  const maxKv = Array.isArray(d.max_kv_tokens) ? d.max_kv_tokens[0] : d.max_kv_tokens;
  const kvProblem = outOfRange('max_kv_tokens', [maxKv], PROFILE_RANGES.kvTokens);
  if (kvProblem) at(kvProblem.replace('max_kv_tokens[0]', 'max_kv_tokens'));
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const key = `${d.y_context_length[i]}/${d.x_kv_usage[i]}`;
    if (seen.has(key)) {
      at(`point ${i} repeats kv ${d.x_kv_usage[i]} at context ${d.y_context_length[i]}; each (context, kv) must be measured once`);
      break;
    }
    seen.add(key);
  }
  return problems;
}

function buildRows(d: DecodeData): Row[] {
  const byCtx = new Map<number, number[]>();
  d.y_context_length.forEach((ctx, i) => {
    const list = byCtx.get(ctx);
    if (list) list.push(i);
    else byCtx.set(ctx, [i]);
  });
  return [...byCtx.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([ctx, idx]) => {
      idx.sort((a, b) => (d.x_kv_usage[a] as number) - (d.x_kv_usage[b] as number));
      return {
        ctx,
        kv: Float64Array.from(idx, (i) => d.x_kv_usage[i] as number),
        itl: Float64Array.from(idx, (i) => d.z_itl[i] as number),
        thpt: Float64Array.from(idx, (i) => d.z_thpt_per_gpu[i] as number),
      };
    });
}

function buildPair(lo: Row, hi: Row): RowPair {
  const points = new Set<number>([0, 1]);
  for (const row of [lo, hi]) for (const kv of row.kv) if (kv > 0 && kv < 1) points.add(kv);
  const xs = Float64Array.from([...points].sort((a, b) => a - b));
  const sample = (row: Row, ys: Float64Array) => xs.map((x) => lerpAt(row.kv, ys, x));
  return { lo, hi, xs, itlLo: sample(lo, lo.itl), itlHi: sample(hi, hi.itl), thptLo: sample(lo, lo.thpt), thptHi: sample(hi, hi.thpt) };
}

/**
 * Build a profile from the parsed JSON of `prefill_raw_data.json` and `decode_raw_data.json`.
 * Throws InputError (one line per problem, `spec.profile: <file>: ...`) when the layout is malformed.
 */
export function profileFromData(prefillJson: unknown, decodeJson: unknown, name: string, source: string): PerformanceProfile {
  const pre = parseWith(prefillData, prefillJson, PREFILL_FILE, source);
  const dec = parseWith(decodeData, decodeJson, DECODE_FILE, source);
  const problems = [...checkPrefill(pre), ...checkDecode(dec)];
  if (problems.length > 0) fail(problems, source);

  const maxKvTokens = Array.isArray(dec.max_kv_tokens) ? dec.max_kv_tokens[0] : dec.max_kv_tokens;
  const pIsl = Float64Array.from(pre.prefill_isl);
  const pTtft = Float64Array.from(pre.prefill_ttft);
  const pThpt = Float64Array.from(pre.prefill_thpt_per_gpu);
  const islMin = pIsl[0] as number;
  const islMax = pIsl[pIsl.length - 1] as number;

  const rows = buildRows(dec);
  const pairs: RowPair[] = rows.length === 1 ? [buildPair(rows[0] as Row, rows[0] as Row)] : rows.slice(1).map((hi, i) => buildPair(rows[i] as Row, hi));
  const ctxs = Float64Array.from(rows, (r) => r.ctx);
  const ctxMin = ctxs[0] as number;
  const ctxMax = ctxs[ctxs.length - 1] as number;

  function islClamp(isl: number): string | undefined {
    if (Number.isNaN(isl)) return 'isl is not a number';
    if (isl < islMin) return `isl ${fmt(isl)} below the measured ${fmt(islMin)}; used ${fmt(islMin)}`;
    if (isl > islMax) return `isl ${fmt(isl)} above the measured ${fmt(islMax)}; used ${fmt(islMax)}`;
    return undefined;
  }
  function prefillLookup(ys: Float64Array, isl: number): Interpolated {
    const clamped = islClamp(isl);
    const value = lerpAt(pIsl, ys, isl);
    return clamped === undefined ? { value } : { value, clamped };
  }

  /** The row pair around ctx and the blend weight t of its upper row (0 or 1 when clamped). */
  let pairIndex = 0;
  let pairT = 0;
  function locate(ctx: number): void {
    if (rows.length === 1 || !(ctx > ctxMin)) {
      pairIndex = 0;
      pairT = 0;
      return;
    }
    if (ctx >= ctxMax) {
      pairIndex = pairs.length - 1;
      pairT = 1;
      return;
    }
    pairIndex = segmentIndex(ctxs, ctx);
    const p = pairs[pairIndex] as RowPair;
    pairT = (ctx - p.lo.ctx) / (p.hi.ctx - p.lo.ctx);
  }

  function ctxClamp(ctx: number): string | undefined {
    if (Number.isNaN(ctx)) return 'context is not a number';
    if (ctx < ctxMin) return `context ${fmt(ctx)} below the measured ${fmt(ctxMin)}; used ${fmt(ctxMin)}`;
    if (ctx > ctxMax) return `context ${fmt(ctx)} above the measured ${fmt(ctxMax)}; used ${fmt(ctxMax)}`;
    return undefined;
  }
  function kvClamp(kv: number, p: RowPair, t: number): string | undefined {
    // Rows that contribute: the lower unless t = 1, the upper unless t = 0. No allocation on the common path.
    if (t !== 1) {
      const top = p.lo.kv[p.lo.kv.length - 1] as number;
      if (kv > top + KV_CLAMP_TOLERANCE) return `kv ${fmt(kv)} above the measured ${fmt(top)} at context ${fmt(p.lo.ctx)}; used ${fmt(top)}`;
    }
    if (t !== 0) {
      const top = p.hi.kv[p.hi.kv.length - 1] as number;
      if (kv > top + KV_CLAMP_TOLERANCE) return `kv ${fmt(kv)} above the measured ${fmt(top)} at context ${fmt(p.hi.ctx)}; used ${fmt(top)}`;
    }
    return undefined;
  }
  function joinClamps(a: string | undefined, b: string | undefined): string | undefined {
    return a === undefined ? b : b === undefined ? a : `${a}; ${b}`;
  }

  function decodeLookup(kv: number, ctx: number, which: 'itl' | 'thpt'): Interpolated {
    locate(ctx);
    const p = pairs[pairIndex] as RowPair;
    const t = pairT;
    const lo = lerpAt(p.lo.kv, p.lo[which], kv);
    const value = t === 0 ? lo : lo + t * (lerpAt(p.hi.kv, p.hi[which], kv) - lo);
    const clamped = joinClamps(ctxClamp(ctx), Number.isNaN(kv) ? 'kv is not a number' : kvClamp(kv, p, t));
    return clamped === undefined ? { value } : { value, clamped };
  }

  /**
   * Dynamo's find_best_throughput_per_gpu: the largest kv in [0, 1] with itl(kv, ctx) <= target, scanning from kv 1
   * down (ITL need not be monotonic in kv). The blended curve is piecewise-linear on the pair's breakpoints, so we
   * walk segments from the right and solve the crossing exactly.
   *
   * Worked example (dynamo-format-synthetic, target 10 ms, ctx 3075 between rows 2298 and 4346, t = 0.3794):
   * at kv 1, ITL = 12.43 > 10; at breakpoint kv 0.5975, ITL = 0.6206 x 10.4299 + 0.3794 x 9.9401 = 10.2441 > 10;
   * at the next breakpoint down, kv 0.4129, ITL = 9.2416 <= 10. The crossing is
   * kv = 0.4129 + (10 - 9.2416) / (10.2441 - 9.2416) x (0.5975 - 0.4129) = 0.5526, throughput there 3906 tok/s/GPU
   * (a 100-point kv grid would give 0.545 and 3869).
   */
  function bestDecode(itlTargetMs: number, ctx: number): BestDecode {
    locate(ctx);
    const p = pairs[pairIndex] as RowPair;
    const t = pairT;
    const { xs, itlLo, itlHi, thptLo, thptHi } = p;
    let j = xs.length - 1;
    let fb = (itlLo[j] as number) + t * ((itlHi[j] as number) - (itlLo[j] as number));
    let kv = 0;
    let itlMs = 0;
    let thptPerGpu = 0;
    let feasible = false;
    if (fb <= itlTargetMs) {
      kv = xs[j] as number;
      itlMs = fb;
      thptPerGpu = (thptLo[j] as number) + t * ((thptHi[j] as number) - (thptLo[j] as number));
      feasible = true;
    } else {
      for (; j > 0; j--) {
        const fa = (itlLo[j - 1] as number) + t * ((itlHi[j - 1] as number) - (itlLo[j - 1] as number));
        if (fa <= itlTargetMs) {
          const f = (itlTargetMs - fa) / (fb - fa);
          const xa = xs[j - 1] as number;
          const ta = (thptLo[j - 1] as number) + t * ((thptHi[j - 1] as number) - (thptLo[j - 1] as number));
          const tb = (thptLo[j] as number) + t * ((thptHi[j] as number) - (thptLo[j] as number));
          kv = xa + f * ((xs[j] as number) - xa);
          itlMs = itlTargetMs;
          thptPerGpu = ta + f * (tb - ta);
          feasible = true;
          break;
        }
        fb = fa;
      }
      if (!feasible) {
        itlMs = fb;
        thptPerGpu = (thptLo[0] as number) + t * ((thptHi[0] as number) - (thptLo[0] as number));
      }
    }
    const clamped = joinClamps(ctxClamp(ctx), kvClamp(kv, p, t));
    return clamped === undefined ? { kv, itlMs, thptPerGpu, feasible } : { kv, itlMs, thptPerGpu, feasible, clamped };
  }

  const decodeRows: DecodeRow[] = rows.map((r) => ({ ctx: r.ctx, kv: [...r.kv], itlMs: [...r.itl], thptPerGpu: [...r.thpt] }));
  return {
    name,
    source,
    maxKvTokens,
    prefill: { isl: [...pIsl], ttftMs: [...pTtft], thptPerGpu: [...pThpt] },
    decode: { rows: decodeRows },
    prefillTtftMs: (isl) => prefillLookup(pTtft, isl),
    prefillThptPerGpu: (isl) => prefillLookup(pThpt, isl),
    decodeItlMs: (kv, ctx) => decodeLookup(kv, ctx, 'itl'),
    decodeThptPerGpu: (kv, ctx) => decodeLookup(kv, ctx, 'thpt'),
    bestDecode,
  };
}

/** A profile as the JSON it was built from (Dynamo's two files), to rebuild it elsewhere, e.g. in a worker thread. */
export interface ProfileData {
  name: string;
  source: string;
  prefill: PrefillData;
  decode: DecodeData;
}

/**
 * The data of a built profile, in the layout profileFromData reads: profileFromData(d.prefill, d.decode, d.name,
 * d.source) gives a profile with the same numbers. Example: rows [{ ctx 1024, kv [0.1, 0.5] }] -> y_context_length
 * [1024, 1024], x_kv_usage [0.1, 0.5].
 */
export function profileData(profile: PerformanceProfile): ProfileData {
  const decode: DecodeData = { x_kv_usage: [], y_context_length: [], z_itl: [], z_thpt_per_gpu: [], max_kv_tokens: profile.maxKvTokens };
  for (const row of profile.decode.rows) {
    row.kv.forEach((kv, i) => {
      decode.x_kv_usage.push(kv);
      decode.y_context_length.push(row.ctx);
      decode.z_itl.push(row.itlMs[i] as number);
      decode.z_thpt_per_gpu.push(row.thptPerGpu[i] as number);
    });
  }
  return {
    name: profile.name,
    source: profile.source,
    prefill: { prefill_isl: [...profile.prefill.isl], prefill_ttft: [...profile.prefill.ttftMs], prefill_thpt_per_gpu: [...profile.prefill.thptPerGpu] },
    decode,
  };
}
