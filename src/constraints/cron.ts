/**
 * "Is this cron schedule active at time t?" as a pure function: a schedule with cron C and duration D
 * is active at t when C fired at some f with t - D < f <= t (active on [f, f + D)).
 *
 * node-cron's `parse` turns the expression (5 or 6 fields, names, ranges, steps, L, W, #) into value
 * lists; we match those lists ourselves, the way node-cron's own matcher does (day-of-month AND
 * day-of-week), and walk back over the candidate firing times from t, newest first, so the answer
 * costs a few dozen comparisons rather than one check per minute of D.
 *
 * Time zones: wall-clock candidates are turned into instants with the zone's UTC offset (Intl);
 * when the offset differs between t - D and t (a DST change inside the window) each candidate's
 * offset is checked on its own.
 *
 * Example: "0 8 * * 1-5", D = 10h, zone Europe/Paris. On Wednesday 2026-01-14 at 16:30 UTC
 * (17:30 in Paris) the last firing was 08:00 Paris = 07:00 UTC, 9.5 h ago < 10 h: active.
 * At 17:30 UTC (18:30 Paris) it is 10.5 h after the firing: inactive.
 */
import { parse, type ParsedFields } from 'node-cron';
import { messageOf } from '../errors.js';

const DAY_MS = 86_400_000;
/** Longest window walked back (a year and a day: longer schedules are refused when the policy is loaded). */
const MAX_WALK_MS = 367 * DAY_MS;

export interface CronMatcher {
  seconds: number[];
  minutes: number[];
  hours: number[];
  months: Set<number>;
  daysOfMonth: (number | string)[];
  daysOfWeek: (number | string)[];
}

const matchers = new Map<string, CronMatcher | Error>();

/** The parsed expression (memoised: expressions come from the policy file and do not change). */
function cronMatcher(expression: string): CronMatcher | Error {
  let matcher = matchers.get(expression);
  if (matcher === undefined) {
    try {
      const fields: ParsedFields = parse(expression);
      const descending = (values: number[]) => [...values].sort((a, b) => b - a);
      matcher = {
        seconds: descending(fields.second),
        minutes: descending(fields.minute),
        hours: descending(fields.hour),
        months: new Set(fields.month),
        daysOfMonth: fields.dayOfMonth,
        daysOfWeek: fields.dayOfWeek,
      };
    } catch (error) {
      matcher = new Error(`invalid cron expression "${expression}": ${messageOf(error)}`);
    }
    matchers.set(expression, matcher);
  }
  return matcher;
}

function lastDayOfMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function weekdayOf(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}

/** Day-of-month tokens: numbers, "L" (last), "L-3" (3 before last), "15W"/"LW" (nearest weekday). */
function matchesDayOfMonth(values: (number | string)[], year: number, month: number, day: number): boolean {
  const last = lastDayOfMonth(year, month);
  for (const value of values) {
    if (value === day) return true;
    if (typeof value !== 'string') continue;
    if (value === 'L' && day === last) return true;
    const offset = /^L-(\d{1,2})$/.exec(value);
    if (offset && last - Number(offset[1]) === day) return true;
    const weekday = /^(\d{1,2}|L)W$/.exec(value);
    if (weekday) {
      const target = weekday[1] === 'L' ? last : Number(weekday[1]);
      if (target < 1 || target > last) continue;
      const wd = weekdayOf(year, month, target);
      let nearest = target;
      if (wd === 6) nearest = target === 1 ? target + 2 : target - 1;
      else if (wd === 0) nearest = target === last ? target - 2 : target + 1;
      if (nearest === day) return true;
    }
  }
  return false;
}

/** Day-of-week tokens: numbers (0 = Sunday), "5L" (last Friday), "5#2" (second Friday). */
function matchesDayOfWeek(values: (number | string)[], year: number, month: number, day: number): boolean {
  const wd = weekdayOf(year, month, day);
  for (const value of values) {
    if (value === wd) return true;
    if (typeof value !== 'string') continue;
    const lastOf = /^([0-7])L$/i.exec(value);
    if (lastOf && Number(lastOf[1]) % 7 === wd && day + 7 > lastDayOfMonth(year, month)) return true;
    const nth = /^([0-7])#([1-5])$/.exec(value);
    if (nth && Number(nth[1]) % 7 === wd && Math.floor((day - 1) / 7) + 1 === Number(nth[2])) return true;
  }
  return false;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** UTC offset (ms, local = UTC + offset) of `timezone` at instant `time`. Throws RangeError on an unknown zone. */
function zoneOffset(time: number, timezone: string): number {
  if (timezone === 'UTC' || timezone === 'Etc/UTC') return 0;
  // Offsets only change on quarter-hour boundaries (DST switches, historic zones), so memoize per quarter hour:
  // formatToParts costs microseconds and every tick asks the same few instants again.
  const key = `${timezone}@${Math.floor(time / QUARTER_HOUR_MS)}`;
  const known = offsets.get(key);
  if (known !== undefined) return known;
  const offset = computeZoneOffset(time, timezone);
  if (offsets.size > 10_000) offsets.clear();
  offsets.set(key, offset);
  return offset;
}

const QUARTER_HOUR_MS = 15 * 60_000;
const offsets = new Map<string, number>();

function computeZoneOffset(time: number, timezone: string): number {
  let format = formatters.get(timezone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(time))) if (part.type !== 'literal') parts[part.type] = Number(part.value);
  const wall = Date.UTC(parts.year as number, (parts.month as number) - 1, parts.day, parts.hour, parts.minute, parts.second);
  return wall - Math.floor(time / 1000) * 1000;
}

/**
 * The most recent firing time f of `expression` with t - durationMs < f <= t, or undefined.
 * Throws on an invalid expression or time zone (the caller turns that into a warning).
 */
export function lastFiringWithin(expression: string, timezone: string, t: number, durationMs: number): number | undefined {
  const matcher = cronMatcher(expression);
  if (matcher instanceof Error) throw matcher;
  if (!(durationMs > 0) || !Number.isFinite(t)) return undefined;
  // The walk goes back one day per step over the duration: a year at most (the policy refuses longer schedules), so
  // a cron that never fires ("0 0 30 2 *") costs ~370 steps, not one per day of "99999999999d".
  durationMs = Math.min(durationMs, MAX_WALK_MS);
  const offsetNow = zoneOffset(t, timezone);
  const offsetStart = zoneOffset(t - durationMs, timezone);
  const steady = offsetNow === offsetStart;
  // Wall-clock window, widened by the offset change when a DST switch lies inside it.
  const wallNow = t + Math.max(offsetNow, offsetStart);
  const wallStart = t - durationMs + Math.min(offsetNow, offsetStart);
  const toInstant = (wall: number): number => {
    if (steady) return wall - offsetNow;
    const guess = wall - offsetNow;
    const offset = zoneOffset(guess, timezone);
    return offset === offsetNow ? guess : wall - offset;
  };
  for (let dayStart = Math.floor(wallNow / DAY_MS) * DAY_MS; dayStart + DAY_MS > wallStart; dayStart -= DAY_MS) {
    const date = new Date(dayStart);
    const year = date.getUTCFullYear();
    const month = date.getUTCMonth() + 1;
    const day = date.getUTCDate();
    if (!matcher.months.has(month)) continue;
    if (!matchesDayOfMonth(matcher.daysOfMonth, year, month, day)) continue;
    if (!matchesDayOfWeek(matcher.daysOfWeek, year, month, day)) continue;
    for (const hour of matcher.hours) {
      for (const minute of matcher.minutes) {
        for (const second of matcher.seconds) {
          const wall = dayStart + hour * 3_600_000 + minute * 60_000 + second * 1000;
          if (wall > wallNow) continue;
          if (wall <= wallStart) return undefined;
          const f = toInstant(wall);
          if (f <= t && f > t - durationMs) return f;
        }
      }
    }
  }
  return undefined;
}
