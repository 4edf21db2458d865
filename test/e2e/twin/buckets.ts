/**
 * Histogram bucket boundaries of the Dynamo frontend (`lib/llm/src/http/service/metrics.rs` in ai-dynamo/dynamo):
 * every histogram uses `generate_log_buckets(min, max, count)`, log-spaced and rounded to 2 significant figures,
 * with defaults that `DYN_METRICS_<NAME>_{MIN,MAX,COUNT}` can override:
 *
 *   request_duration_seconds   min 1      max 512     count 10
 *   input_sequence_tokens      min 50     max 128000  count 12
 *   output_sequence_tokens     min 50     max 32000   count 10
 *   time_to_first_token_seconds min 0.001 max 480     count 18
 *   inter_token_latency_seconds min 0.001 max 2       count 13
 *
 * generate_log_buckets: [0, then for i = 1 .. count-1: round2(exp(ln min + (ln max - ln min) x i / (count - 1)))],
 * consecutive duplicates removed. `min` itself is never a boundary (i starts at 1).
 * Example, TTFT: step ratio (480 / 0.001)^(1/17) = 2.1588 -> 0, 0.0022, 0.0047, 0.01, 0.022, 0.047, 0.1, 0.22, 0.47,
 * 1, 2.2, 4.7, 10, 22, 47, 100, 220, 480 (18 boundaries; +Inf is implied). A p95 TTFT that Prometheus interpolates
 * inside (0.47, 1] can be anywhere in that bucket: the resolution the planner gets from a real Dynamo frontend.
 */

/** Rust's round_to_sig_figs: 0.0021588 -> 0.0022, 466.4 -> 470. */
export function roundToSigFigs(value: number, sigFigs: number): number {
  if (value === 0) return 0;
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const scale = 10 ** (sigFigs - 1 - magnitude);
  // Scale and unscale like the Rust code, then strip float noise (0.0022000000000000001 -> 0.0022).
  return Number(((Math.round(value * scale) as number) / scale).toPrecision(12));
}

/** Port of Dynamo's generate_log_buckets(min, max, count). */
export function generateLogBuckets(min: number, max: number, count: number): number[] {
  if (count === 0) return [];
  if (count === 1) return [0];
  const buckets = [0];
  const logMin = Math.log(min);
  const logMax = Math.log(max);
  for (let i = 1; i < count; i++) {
    buckets.push(roundToSigFigs(Math.exp(logMin + ((logMax - logMin) * i) / (count - 1)), 2));
  }
  return buckets.filter((b, i) => i === 0 || b !== buckets[i - 1]);
}

/** The frontend histograms the planner reads, with Dynamo's default boundaries. */
export const DYNAMO_FRONTEND_BUCKETS = {
  request_duration_seconds: generateLogBuckets(1, 512, 10),
  input_sequence_tokens: generateLogBuckets(50, 128000, 12),
  output_sequence_tokens: generateLogBuckets(50, 32000, 10),
  time_to_first_token_seconds: generateLogBuckets(0.001, 480, 18),
  inter_token_latency_seconds: generateLogBuckets(0.001, 2, 13),
} as const;

export type FrontendHistogram = keyof typeof DYNAMO_FRONTEND_BUCKETS;
