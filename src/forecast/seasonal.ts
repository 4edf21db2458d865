/**
 * Seasonal forecaster: the same phase of previous seasons (yesterday at this hour, or last week),
 * moved to today's level.
 *
 * For each of the last SEASONS seasons k (1 = the previous one) whose target phase is already observed:
 *   profile_k = mean of the points near (target - k*S) - I, (target - k*S), (target - k*S) + I
 *   shift_k   = mean over o in {0, I, 2I} of x(last - o) - x(last - o - k*S)   (today's level vs then)
 *   estimate_k = profile_k + shift_k
 * forecast = mean of the estimates; never negative.
 *
 * S is `spec.forecaster.season`, I the interval, target = last + horizon * I. The shift is additive
 * (not a ratio) so a quiet night with 3 requests does not turn into a x10 multiplier.
 *
 * Example: daily season, I = 60 s, traffic 500 + 100 sin(2 pi t / 24h). At 05:59 the point one day
 * back at 06:00 reads 600, yesterday's 05:57-05:59 equal today's, so the shift is 0 and the forecast
 * for 06:00 is 600. If today runs 50 higher everywhere, the shift is +50 and the forecast 650.
 *
 * Cold start: until one season + 2 intervals of history exist, the last value, with a note.
 * Points are found by time (within I/2), so gaps in the history cost only the missing points.
 */
import { formatDuration } from '../config/duration.js';
import type { ForecasterSpec } from '../config/schema.js';
import type { Forecaster, SeriesPoint } from './types.js';
import { coldStart, nonNegative } from './common.js';

/** How many previous seasons are averaged (and kept in history). */
export const SEASONS = 3;
/** Offsets (in intervals) of the trailing window that measures today's level. */
const LEVEL_OFFSETS = [0, 1, 2];
/** Offsets (in intervals) of the centred window read at the target phase. */
const PHASE_OFFSETS = [-1, 0, 1];

/** Index of the point nearest `time`, if within `tolerance` ms. `series` is sorted by time. */
export function indexNear(series: readonly { time: number }[], time: number, tolerance: number): number {
  let lo = 0;
  let hi = series.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((series[mid] as { time: number }).time < time) lo = mid + 1;
    else hi = mid;
  }
  let best = -1;
  let bestDistance = Infinity;
  for (const i of [lo - 1, lo]) {
    const point = series[i];
    if (point === undefined) continue;
    const distance = Math.abs(point.time - time);
    if (distance <= tolerance && distance < bestDistance) {
      best = i;
      bestDistance = distance;
    }
  }
  return best;
}

function valueNear(series: readonly SeriesPoint[], time: number, tolerance: number): number {
  const i = indexNear(series, time, tolerance);
  return i < 0 ? NaN : (series[i] as SeriesPoint).value;
}

/** The seasons k = 1, 2, ... whose target phase window lies in the past (a horizon over a season skips k = 1). */
function usableSeasons(lastTime: number, target: number, seasonMs: number, intervalMs: number): number[] {
  const ks: number[] = [];
  for (let k = 1; ks.length < SEASONS && k <= SEASONS + Math.ceil((target - lastTime) / seasonMs); k++) {
    if (target - k * seasonMs + intervalMs <= lastTime + intervalMs / 2) ks.push(k);
  }
  return ks;
}

export const seasonalForecaster: Forecaster = (series, spec, intervalSeconds, horizon) => {
  const last = series[series.length - 1];
  const method = `seasonal(${formatDuration(spec.season)})`;
  if (last === undefined) return coldStart(series, method, 'no points');
  const intervalMs = intervalSeconds * 1000;
  const seasonMs = spec.season * 1000;
  const tolerance = intervalMs / 2;
  const target = last.time + horizon * intervalMs;
  let sum = 0;
  let used = 0;
  for (const k of usableSeasons(last.time, target, seasonMs, intervalMs)) {
    let profile = 0;
    let profileCount = 0;
    for (const o of PHASE_OFFSETS) {
      const v = valueNear(series, target - k * seasonMs + o * intervalMs, tolerance);
      if (Number.isFinite(v)) {
        profile += v;
        profileCount++;
      }
    }
    let shift = 0;
    let shiftCount = 0;
    for (const o of LEVEL_OFFSETS) {
      const now = valueNear(series, last.time - o * intervalMs, tolerance);
      const then = valueNear(series, last.time - o * intervalMs - k * seasonMs, tolerance);
      if (Number.isFinite(now) && Number.isFinite(then)) {
        shift += now - then;
        shiftCount++;
      }
    }
    if (profileCount === 0 || shiftCount === 0) continue;
    sum += profile / profileCount + shift / shiftCount;
    used++;
  }
  if (used === 0) {
    return coldStart(series, method, `history shorter than one season (${formatDuration(spec.season)}) + 2 intervals`);
  }
  return { value: nonNegative(sum / used), method: used < SEASONS ? `${method}, ${used} of ${SEASONS} seasons` : method };
};

/**
 * The time ranges [from, to] (epoch ms) the seasonal forecaster reads for a forecast made after `lastTime`,
 * so a caller can hand it those points only instead of weeks of history.
 */
export function seasonalWindows(lastTime: number, spec: ForecasterSpec, intervalSeconds: number, horizon: number): [number, number][] {
  const intervalMs = intervalSeconds * 1000;
  const seasonMs = spec.season * 1000;
  const tolerance = intervalMs / 2;
  const target = lastTime + horizon * intervalMs;
  const levelSpan = (LEVEL_OFFSETS.length - 1) * intervalMs;
  const windows: [number, number][] = [[lastTime - levelSpan - tolerance, lastTime + tolerance]];
  for (const k of usableSeasons(lastTime, target, seasonMs, intervalMs)) {
    const then = lastTime - k * seasonMs;
    windows.push([then - levelSpan - tolerance, then + tolerance]);
    const phase = target - k * seasonMs;
    windows.push([phase - intervalMs - tolerance, phase + intervalMs + tolerance]);
  }
  return windows.sort((a, b) => a[0] - b[0]);
}

/** Points of history kept for the seasonal forecaster: SEASONS seasons plus a few intervals. */
export function seasonalPointsNeeded(spec: ForecasterSpec, intervalSeconds: number): number {
  return Math.ceil((SEASONS * spec.season) / intervalSeconds) + 8;
}
