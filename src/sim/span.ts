/**
 * The simulator ticks once per planner interval over the trace's whole span, and keeps a record per interval for the
 * report, so its time and memory follow the span divided by the interval, not the request count. A two-line trace
 * from 2000 to 2010 at 60 s would be 5.3 million ticks per run: it is refused, with what to change, before anything
 * is allocated. Example: 100,000 intervals are 69 days at 60 s.
 */
import { formatDuration } from '../config/duration.js';
import { InputError } from '../errors.js';
import type { Trace } from './types.js';

/** Most planner intervals one simulated run covers. */
export const MAX_SIM_INTERVALS = 100_000;

export function checkSimulationSpan(trace: Trace, intervalSeconds: number): void {
  const intervals = trace.durationSeconds / intervalSeconds;
  if (intervals <= MAX_SIM_INTERVALS) return;
  const longest = formatDuration(MAX_SIM_INTERVALS * intervalSeconds);
  // Digits past 1e15 say nothing (a BurstGPT Timestamp of 1e308 s is 1.667e+306 intervals, not 300 digits).
  const span = trace.durationSeconds < 1e15 ? formatDuration(Math.round(trace.durationSeconds)) : `${trace.durationSeconds.toPrecision(4)} s`;
  const count = intervals < 1e15 ? Math.ceil(intervals).toLocaleString('en-US') : intervals.toPrecision(4);
  throw new InputError([
    `${trace.name}: spans ${span}, ${count} intervals of ${formatDuration(intervalSeconds)}; ` +
      `a simulation covers at most ${MAX_SIM_INTERVALS.toLocaleString('en-US')} intervals (${longest} at this interval): cut the trace to the span you want, replay it faster (--speedup), or use a longer spec.interval`,
  ]);
}
