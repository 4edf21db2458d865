/**
 * A performance profile of one engine configuration, in Dynamo's profiler layout
 * (prefill_raw_data.json, decode_raw_data.json). Times in ms, throughput in tokens/s per GPU.
 */

/** An interpolated value; `clamped` says why the query left the measured range (and what was used instead). */
export interface Interpolated {
  value: number;
  clamped?: string;
}

export interface DecodeRow {
  /** Context length (tokens) of this measured row. */
  ctx: number;
  /** KV-cache usage points (0..1), ascending. */
  kv: number[];
  itlMs: number[];
  thptPerGpu: number[];
}

export interface BestDecode {
  /** Highest KV usage (0..1) at which ITL stays within the target. */
  kv: number;
  itlMs: number;
  thptPerGpu: number;
  /** False when even kv = 0 misses the target (the kv = 0 point is returned, as Dynamo does). */
  feasible: boolean;
  clamped?: string;
}

export interface PerformanceProfile {
  name: string;
  /** Where it was loaded from (path or builtin:NAME). */
  source: string;
  maxKvTokens: number;
  prefill: { isl: number[]; ttftMs: number[]; thptPerGpu: number[] };
  decode: { rows: DecodeRow[] };
  prefillTtftMs(isl: number): Interpolated;
  prefillThptPerGpu(isl: number): Interpolated;
  decodeItlMs(kv: number, ctx: number): Interpolated;
  decodeThptPerGpu(kv: number, ctx: number): Interpolated;
  /** Dynamo's find_best_throughput_per_gpu: the largest kv with ITL <= target at this context. */
  bestDecode(itlTargetMs: number, ctx: number): BestDecode;
}
