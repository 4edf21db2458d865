/**
 * The default forecaster: Holt's level and trend, a running estimate of its own one-step error, and an upper
 * confidence bound that widens with the horizon, so that capacity ordered now for `startupSeconds` ahead sees a ramp
 * coming and allows for what the next minutes may bring.
 *
 *   one-step forecast  f_t = level_{t-1} + trend_{t-1};   error e_t = x_t - f_t
 *   level_t = f_t + alpha x e_t                            (alpha 0.5: half of a surprise is believed at once)
 *   trend_t = trend_{t-1} + alpha x beta x e_t             (the error-correction form of Holt's two equations)
 *   sigma^2 = (1 - SIGMA_WEIGHT) x sigma^2 + SIGMA_WEIGHT x min(e_t, SHIFT_Z x sigma)^2, from sigma^2 = x_0 (Poisson)
 *   forecast(h) = level + h x trend + confidence x sigma x sqrt(h - 1)
 *
 * The next interval (h = 1) is the point forecast: variation within and between neighbouring intervals is what the
 * policy's queue model and burst ratio size for. Beyond it the bound grows with the square root of the horizon.
 * Level shift: a point more than SHIFT_Z sigma above the one-step forecast is a step, not noise (a flash crowd, a
 * batch job starting): the level jumps to it at once instead of half-way, and the error that sigma learns from is
 * clipped, so one step does not widen the bound for the next half hour. A second shift right after the first is a
 * steep ramp, not a step: the trend becomes the last rise per interval.
 * Ramp end (RAMP_END): a point more than SHIFT_Z sigma below the one-step forecast while the trend is rising says the
 * rise has stopped: the trend is dropped to 0 (the level moves as usual). Smoothing would unlearn a steep trend by
 * alpha x beta (15%) of each error, so the forecast 4 intervals ahead would keep climbing for several intervals after
 * the load levelled off, and the capacity ordered on it is held through the scale-down window.
 * Example (alpha 0.5, beta 0.3, confidence 1): a flat 1000 with sigma 30 -> next 1000, 4 ahead 1000 + 30 x sqrt(3) =
 * 1052. On the ramp 1000, 1100, 1200, ... the trend settles at 100 per interval: 4 ahead of 2000 is 2400 plus the bound.
 * A jump from a flat 1000 (sigma 32) to 1600 (18.8 sigma) puts the level at 1600 at once, trend unchanged; 40, 89,
 * 195 after a flat 45 (sigma 7): two shifts in a row, so the trend becomes 195 - 89 = 106 per interval.
 * Ramp end: 30 points of a flat 764 (sigma down to 6), then 1060 and 1314 (two shifts: trend 254), then 1413, 155
 * below the forecast 1568 where 4 sigma is 95: trend 0, level 1491, so 4 ahead is 1491 plus the bound rather than
 * 1491 + 4 x 231 = 2414. A ramp that levels off gently (1000 to 1800 in steps of 100, then 1800 twice) keeps its
 * trend: its errors stay within the sigma the ramp taught.
 * A falling forecast stops at 0.
 */
import type { ForecasterSpec } from '../config/schema.js';
import type { Forecaster, SeriesPoint } from './types.js';
import { coldStart, nonNegative } from './common.js';

/** Weight of the newest squared error in sigma^2 (an effective memory of about 10 intervals). */
export const SIGMA_WEIGHT = 0.1;
/** A surprise of more than SHIFT_Z standard deviations above the forecast is taken as a level shift. */
export const SHIFT_Z = 4;
/** Drop a rising trend when a point falls more than SHIFT_Z sigma below the forecast (see the module comment). */
export const RAMP_END = true;
const MIN_POINTS = 2;

export interface TrendState {
  level: number;
  trend: number;
  sigma: number;
  /** Index of the last point taken as a level shift, or -1. */
  lastShift: number;
  /** Index of the last point taken as the end of a ramp (its trend dropped), or -1. */
  lastRampEnd: number;
}

/** Run the filter over a series (oldest first). */
export function trendState(series: readonly SeriesPoint[], alpha: number, beta: number, rampEnd = RAMP_END): TrendState {
  const first = (series[0] as SeriesPoint).value;
  let level = first;
  let trend = 0;
  let variance = Math.max(1, first);
  let lastShift = -1;
  let lastRampEnd = -1;
  for (let i = 1; i < series.length; i++) {
    const x = (series[i] as SeriesPoint).value;
    const forecast = level + trend;
    const error = x - forecast;
    const sigma = Math.sqrt(variance);
    if (error > SHIFT_Z * sigma) {
      if (lastShift === i - 1) trend = Math.max(trend, x - level);
      level = x;
      lastShift = i;
    } else {
      level = forecast + alpha * error;
      if (rampEnd && trend > 0 && error < -SHIFT_Z * sigma) {
        trend = 0;
        lastRampEnd = i;
      } else {
        trend += alpha * beta * error;
      }
    }
    const clipped = Math.min(Math.abs(error), SHIFT_Z * sigma);
    variance = (1 - SIGMA_WEIGHT) * variance + SIGMA_WEIGHT * clipped * clipped;
  }
  return { level, trend, sigma: Math.sqrt(variance), lastShift, lastRampEnd };
}

export const trendForecaster: Forecaster = (series, spec, _intervalSeconds, horizon) => {
  const n = series.length;
  if (n < MIN_POINTS) return coldStart(series, 'trend', `${n} of ${MIN_POINTS} points`);
  const { alpha, beta, confidence } = spec;
  const s = trendState(series, alpha, beta);
  const bound = confidence * s.sigma * Math.sqrt(Math.max(0, horizon - 1));
  const point = nonNegative(s.level + horizon * s.trend);
  return {
    value: point + bound,
    method: `trend(alpha=${alpha},beta=${beta},confidence=${confidence})`,
    ...(s.lastShift === n - 1 ? { note: 'level shift: the last point is taken as the level' } : {}),
    ...(s.lastRampEnd === n - 1 ? { note: `ramp end: the last point fell more than ${SHIFT_Z} sigma below the forecast; trend dropped` } : {}),
    ...(bound > 0 ? { bound } : {}),
  };
};

/** Points read: as Holt's (the start fades to 1% of its weight), at least 30. */
export function trendPointsNeeded(spec: ForecasterSpec): number {
  const slowest = Math.min(spec.alpha, spec.alpha * spec.beta, SIGMA_WEIGHT);
  return Math.min(2000, Math.max(30, Math.ceil(Math.log(0.01) / Math.log(1 - slowest))));
}
