/**
 * Durations in the policy file are strings with a unit ("60s", "5m", "1h30m", "250ms").
 * A bare number is rejected on purpose: `interval: 60` is ambiguous (seconds? minutes?),
 * and a planner that guesses wrong scales 60x too often or too rarely.
 *
 * Example: parseDuration("1h30m") = 5400 (seconds); parseDuration("250ms") = 0.25.
 */
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
const DURATION_RE = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Seconds for a duration string, or undefined when the string is not a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION_RE.test(trimmed)) return undefined;
  let seconds = 0;
  for (const match of trimmed.matchAll(PART_RE)) {
    seconds += Number(match[1]) * (UNIT_SECONDS[match[2] as string] as number);
  }
  return seconds;
}

/** "90s" for 90, "5m" for 300, "1h30m" for 5400: the shortest exact spelling. */
export function formatDuration(seconds: number): string {
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
