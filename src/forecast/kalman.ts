/**
 * Kalman filter on a local linear trend model: the series is a level that drifts, plus a slowly
 * changing trend, seen through measurement noise.
 *
 *   state  [level, trend],  level_t = level_{t-1} + trend_{t-1} + w_l,  trend_t = trend_{t-1} + w_b
 *   seen   x_t = level_t + v
 *   noise  sd(w_l) = processNoise * s,  sd(w_b) = processNoise * s / 10,  sd(v) = measurementNoise * s
 *
 * where s is the mean absolute value of the points read, so the noise settings are relative to the
 * level and one setting suits 10 req/interval and 10 000 req/interval alike. forecast(h) = level + h * trend.
 *
 * Example: processNoise 0.05, measurementNoise 0.2 give q/r = (0.05/0.2)^2 = 0.0625, a steady-state
 * level gain of about 0.22: after a step from 1000 to 1200 the level moves ~44 per interval at first,
 * and on a constant 1000 with noise sd 100 the level wanders with sd ~35 (3.5%) instead of 100.
 */
import type { Forecaster } from './types.js';
import { coldStart, nonNegative } from './common.js';

/** The trend is assumed to change this much more slowly than the level (as a standard deviation). */
const TREND_NOISE_SHARE = 0.1;
const MIN_POINTS = 3;

export const kalmanForecaster: Forecaster = (series, spec, _intervalSeconds, horizon) => {
  const n = series.length;
  if (n < MIN_POINTS) return coldStart(series, 'kalman', `${n} of ${MIN_POINTS} points`);
  let scale = 0;
  for (let i = 0; i < n; i++) scale += Math.abs((series[i] as { value: number }).value);
  scale = scale / n || 1;
  const qLevel = (spec.processNoise * scale) ** 2;
  const qTrend = (spec.processNoise * TREND_NOISE_SHARE * scale) ** 2;
  const r = (spec.measurementNoise * scale) ** 2;

  // State and covariance [[p00, p01], [p01, p11]] (symmetric).
  let level = (series[0] as { value: number }).value;
  let trend = 0;
  let p00 = r;
  let p01 = 0;
  let p11 = qTrend * 100;
  for (let i = 1; i < n; i++) {
    // Predict: x' = F x, P' = F P F^T + Q with F = [[1, 1], [0, 1]].
    level += trend;
    const a00 = p00 + 2 * p01 + p11 + qLevel;
    const a01 = p01 + p11;
    const a11 = p11 + qTrend;
    // Update with the measurement of the level.
    const innovation = (series[i] as { value: number }).value - level;
    const s = a00 + r;
    const k0 = a00 / s;
    const k1 = a01 / s;
    level += k0 * innovation;
    trend += k1 * innovation;
    p00 = (1 - k0) * a00;
    p01 = (1 - k0) * a01;
    p11 = a11 - k1 * a01;
  }
  return {
    value: nonNegative(level + horizon * trend),
    method: `kalman(q=${spec.processNoise},r=${spec.measurementNoise})`,
  };
};

/** Points the filter reads: it forgets its start within a few dozen steps at the default noise; 200 is ample. */
export const kalmanPointsNeeded = 200;
