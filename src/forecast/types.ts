import type { ForecasterSpec } from '../config/schema.js';
import type { ForecastValue } from '../planner/types.js';

/** One point of a series: time in epoch ms, value per interval. */
export interface SeriesPoint {
  time: number;
  value: number;
}

/**
 * A forecaster predicts the value `horizon` intervals after the last point of `series`.
 * Pure: same inputs, same output. Cold start (too few points) falls back to the last value and says so in `note`.
 */
export type Forecaster = (series: readonly SeriesPoint[], spec: ForecasterSpec, intervalSeconds: number, horizon: number) => ForecastValue;
