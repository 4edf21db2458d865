/** Small helpers shared by the forecasters. */
import type { ForecastValue } from '../planner/types.js';
import type { SeriesPoint } from './types.js';

/** Forecasts of counts and token lengths are never negative (a falling trend stops at zero). */
export function nonNegative(value: number): number {
  return value > 0 ? value : 0;
}

/**
 * What every forecaster does when it has too few points: the last value, and a note saying so.
 * No points at all gives NaN, which decide() treats as "metric missing" (it holds, never shrinks).
 */
export function coldStart(series: readonly SeriesPoint[], method: string, why: string): ForecastValue {
  const last = series[series.length - 1];
  if (last === undefined) return { value: NaN, method, note: 'no history: nothing to forecast from' };
  return { value: nonNegative(last.value), method, note: `cold start (${why}): using the last value` };
}
