/**
 * Moving average of the last `window` intervals. Smooths noise, lags trends by about window/2 intervals.
 * Example: window 3, series [600, 700, 800] -> (600 + 700 + 800) / 3 = 700.
 * With fewer than `window` points it falls back to the last value and says so.
 */
import type { ForecasterSpec } from '../config/schema.js';
import type { Forecaster } from './types.js';
import { coldStart, nonNegative } from './common.js';

export const movingAverageForecaster: Forecaster = (series, spec) => {
  const window = spec.window;
  const n = series.length;
  if (n < window) return coldStart(series, 'moving-average', `${n} of ${window} points`);
  let sum = 0;
  for (let i = n - window; i < n; i++) sum += (series[i] as { value: number }).value;
  return { value: nonNegative(sum / window), method: `moving-average(${window})` };
};

export function movingAveragePointsNeeded(spec: ForecasterSpec): number {
  return spec.window;
}
