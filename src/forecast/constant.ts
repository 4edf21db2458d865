/**
 * Constant forecaster: the next interval looks like the last one (Dynamo's default behaviour).
 * Example: series [..., 700, 720] -> 720 at any horizon.
 */
import type { Forecaster } from './types.js';
import { coldStart, nonNegative } from './common.js';

export const constantForecaster: Forecaster = (series) => {
  const last = series[series.length - 1];
  if (last === undefined) return coldStart(series, 'constant', 'no points');
  return { value: nonNegative(last.value), method: 'constant' };
};

/** Points of history the constant forecaster reads. */
export const constantPointsNeeded = 1;
