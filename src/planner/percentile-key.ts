/**
 * The key of a percentile in a latency summary, an observation and a report: "p" and the percent with at most six
 * significant digits, so that a percent computed from a quantile (0.95 x 100 = 95.00000000000001) names the same key
 * as the one written in the policy. Example: 95 -> "p95", 99.9 -> "p99.9", 0.975 x 100 -> "p97.5".
 */
export function percentileKey(percent: number): `p${number}` {
  return `p${Number(percent.toPrecision(6))}`;
}
