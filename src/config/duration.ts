/**
 * Durations in the policy file are strings with a unit ("60s", "5m", "1h30m", "250ms").
 * A bare number is rejected on purpose for most fields: `interval: 60` is ambiguous (seconds? minutes?),
 * and a planner that guesses wrong scales 60x too often or too rarely. Fields whose name ends in `Seconds`
 * (`startupSeconds`, `noticeSeconds`) say their unit, as Kubernetes' `…Seconds` fields do, so they also take
 * a plain number of seconds.
 *
 * Example: parseDuration("1h30m") = 5400 (seconds); parseDuration("250ms") = 0.25.
 */
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
const DURATION_RE = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** One day: the longest interval or timeout (Node's timers hold at most 2^31 ms, about 24.8 days; a tick a day is already rare). */
export const MAX_TIMER_SECONDS = 86_400;
/**
 * The shortest planner interval: 100 ms, so a typo (`interval: 1ms`) cannot spin the loop at full CPU. Real intervals
 * are tens of seconds (Prometheus scrapes every 15-30 s; under 5 s is a warning); tests run the service at 250 ms.
 */
export const MIN_INTERVAL_SECONDS = 0.1;
/** The longest schedule duration: a year (a cron that fires yearly and lasts until the next firing). */
export const MAX_SCHEDULE_SECONDS = 366 * 86_400;
/** The longest forecaster season: a week (`168h`, the weekly pattern). */
export const MAX_SEASON_SECONDS = 7 * 86_400;

/**
 * Seconds for a duration string, or undefined when the string is not a duration. A spelling too long for a
 * number ("999...9s" with 400 nines) gives Infinity: callers bound the result and say so.
 */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION_RE.test(trimmed)) return undefined;
  let seconds = 0;
  for (const match of trimmed.matchAll(PART_RE)) {
    seconds += Number(match[1]) * (UNIT_SECONDS[match[2] as string] as number);
  }
  return seconds;
}

/** "90s" for 90, "5m" for 300, "1h30m" for 5400: the shortest exact spelling. Not-a-duration values print as given. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return `${seconds}s`;
  if (seconds < 1 && seconds > 0) return `${Math.round(seconds * 1000)}ms`;
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (rest >= size && Number.isInteger(rest / size) === false && rest % size !== 0) {
      const whole = Math.floor(rest / size);
      parts.push(`${whole}${unit}`);
      rest -= whole * size;
    } else if (rest >= size && rest % size === 0) {
      parts.push(`${rest / size}${unit}`);
      rest = 0;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${+rest.toFixed(3)}s`);
  return parts.join('');
}
