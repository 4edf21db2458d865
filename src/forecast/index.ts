/**
 * The forecasters by name (`spec.forecaster.kind`), and `forecastNext`, which forecasts the three
 * series a policy needs (requests per interval, mean ISL, mean OSL) from the planner's history.
 */
import type { ForecasterKind, ForecasterSpec } from '../config/schema.js';
import type { HistoryPoint } from '../planner/state.js';
import type { Forecast, ForecastValue } from '../planner/types.js';
import type { Forecaster, SeriesPoint } from './types.js';
import { constantForecaster, constantPointsNeeded } from './constant.js';
import { movingAverageForecaster, movingAveragePointsNeeded } from './moving-average.js';
import { holtForecaster, holtPointsNeeded } from './holt.js';
import { seasonalForecaster, seasonalPointsNeeded, seasonalWindows } from './seasonal.js';
import { kalmanForecaster, kalmanPointsNeeded } from './kalman.js';
import { trendForecaster, trendPointsNeeded } from './trend.js';

export const forecasters: Record<ForecasterKind, Forecaster> = {
  constant: constantForecaster,
  'moving-average': movingAverageForecaster,
  holt: holtForecaster,
  seasonal: seasonalForecaster,
  kalman: kalmanForecaster,
  trend: trendForecaster,
};

export { constantForecaster, movingAverageForecaster, holtForecaster, seasonalForecaster, kalmanForecaster, trendForecaster };

export type SeriesField = 'requests' | 'isl' | 'osl';
const FIELDS: readonly SeriesField[] = ['requests', 'isl', 'osl'];

/** How many trailing points (with a value) of one series the forecaster reads. */
function pointsNeeded(spec: ForecasterSpec, intervalSeconds: number): number {
  switch (spec.kind) {
    case 'constant':
      return constantPointsNeeded;
    case 'moving-average':
      return movingAveragePointsNeeded(spec);
    case 'holt':
      return holtPointsNeeded(spec);
    case 'kalman':
      return kalmanPointsNeeded;
    case 'seasonal':
      return seasonalPointsNeeded(spec, intervalSeconds);
    case 'trend':
      return trendPointsNeeded(spec);
  }
}

/**
 * How many history points decide() keeps: what the forecaster reads, plus slack for ticks where a
 * series was missing, and never fewer than 10 (so switching to a short forecaster has data).
 * Example: holt (alpha 0.5, beta 0.3) -> 30 + 10 = 40; seasonal daily at 60 s -> 3 * 1440 + 8 + 10 = 4338.
 */
export function historyLimit(spec: ForecasterSpec, intervalSeconds: number): number {
  return Math.max(10, pointsNeeded(spec, intervalSeconds) + 10);
}

function valueOf(point: HistoryPoint, field: SeriesField): number | undefined {
  const v = point[field];
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

/** The last `count` points of one series, oldest first, skipping points where it is missing. */
export function trailingSeries(history: readonly HistoryPoint[], field: SeriesField, count: number): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (let i = history.length - 1; i >= 0 && out.length < count; i--) {
    const point = history[i] as HistoryPoint;
    const value = valueOf(point, field);
    if (value !== undefined) out.push({ time: point.time, value });
  }
  return out.reverse();
}

function lowerBound(history: readonly HistoryPoint[], time: number): number {
  let lo = 0;
  let hi = history.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((history[mid] as HistoryPoint).time < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The points of one series inside the given sorted time ranges (each point once). */
function seriesInWindows(history: readonly HistoryPoint[], field: SeriesField, windows: [number, number][]): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  let next = 0;
  for (const [from, to] of windows) {
    for (let i = Math.max(next, lowerBound(history, from)); i < history.length; i++) {
      const point = history[i] as HistoryPoint;
      if (point.time > to) break;
      next = i + 1;
      const value = valueOf(point, field);
      if (value !== undefined) out.push({ time: point.time, value });
    }
  }
  return out;
}

function forecastSeries(history: readonly HistoryPoint[], field: SeriesField, spec: ForecasterSpec, intervalSeconds: number, horizon: number): ForecastValue {
  let series: SeriesPoint[];
  if (spec.kind === 'seasonal') {
    // Read only the windows the seasonal forecaster looks at, not weeks of points.
    const last = trailingSeries(history, field, 1)[0];
    series = last === undefined ? [] : seriesInWindows(history, field, seasonalWindows(last.time, spec, intervalSeconds, horizon));
  } else {
    series = trailingSeries(history, field, pointsNeeded(spec, intervalSeconds));
  }
  return forecasters[spec.kind](series, spec, intervalSeconds, horizon);
}

/**
 * Forecast requests, ISL and OSL `horizon` intervals after the last point of `history` (oldest first).
 * Each series is forecast on its own; points where it is missing are skipped. With no value at all
 * for a series, its forecast is NaN with a note.
 * An upper confidence bound (`confidence`, the trend forecaster) is put on the request count only: ISL and OSL are
 * means over a window's requests, whose tail the policy sizes for from the observed percentiles, and a bound on all
 * three would multiply (+15% on the count and +13% on ISL ask for +30% of prefill work, not +15%).
 * Example: constant forecaster, history [{requests: 700, isl: 3000}, {requests: 720}] ->
 * requests 720, isl 3000 (from the older point), osl NaN ("no history").
 */
export function forecastNext(history: HistoryPoint[], spec: ForecasterSpec, intervalSeconds: number, horizon: number): Forecast {
  const out = {} as Forecast;
  const lengths = spec.confidence > 0 ? { ...spec, confidence: 0 } : spec;
  for (const field of FIELDS) out[field] = forecastSeries(history, field, field === 'requests' ? spec : lengths, intervalSeconds, horizon);
  return out;
}
