/**
 * Holt's linear (double exponential) smoothing: a level and a trend, each smoothed.
 *
 *   level_t = alpha * x_t + (1 - alpha) * (level_{t-1} + trend_{t-1})
 *   trend_t = beta * (level_t - level_{t-1}) + (1 - beta) * trend_{t-1}
 *   forecast(h) = level_n + h * trend_n
 *
 * Initialised with level = x_0 and trend = x_1 - x_0. Points are taken as one interval apart.
 * Example (alpha 0.5, beta 0.3) on the ramp 100, 110, 120, 130: the trend stays 10 and the level
 * 130, so the next interval is 140 and four intervals ahead 170. A falling forecast stops at 0.
 */
import type { ForecasterSpec } from '../config/schema.js';
import type { Forecaster } from './types.js';
import { coldStart, nonNegative } from './common.js';

/** Holt needs three points: two to start the trend, one to update it. */
const MIN_POINTS = 3;

export const holtForecaster: Forecaster = (series, spec, _intervalSeconds, horizon) => {
  const n = series.length;
  if (n < MIN_POINTS) return coldStart(series, 'holt', `${n} of ${MIN_POINTS} points`);
  const { alpha, beta } = spec;
  const first = (series[0] as { value: number }).value;
  let level = first;
  let trend = (series[1] as { value: number }).value - first;
  for (let i = 1; i < n; i++) {
    const x = (series[i] as { value: number }).value;
    const previous = level;
    level = alpha * x + (1 - alpha) * (level + trend);
    trend = beta * (level - previous) + (1 - beta) * trend;
  }
  return { value: nonNegative(level + horizon * trend), method: `holt(alpha=${alpha},beta=${beta})` };
};

/**
 * Points Holt reads: enough for the starting guess to fade to 1% of its weight,
 * (1 - min(alpha, beta))^k <= 0.01, at least 30 and at most 2000.
 * Example: alpha 0.5, beta 0.3 -> k = ln(0.01)/ln(0.7) = 12.9 -> 30 points.
 */
export function holtPointsNeeded(spec: ForecasterSpec): number {
  const slowest = Math.min(spec.alpha, spec.beta);
  const fade = slowest >= 1 ? 1 : Math.ceil(Math.log(0.01) / Math.log(1 - slowest));
  return Math.min(2000, Math.max(30, fade));
}
