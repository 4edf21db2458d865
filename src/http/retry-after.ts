/**
 * Retry-After (RFC 9110, HTTP semantics) as a throttled Prometheus sends it with 429 Too Many Requests or 503
 * Service Unavailable (Azure Monitor managed Prometheus, Grafana Mimir, Thanos query-frontend, a rate-limiting
 * proxy), and the per-endpoint, per-caller "not before" times a source keeps from it.
 *
 * The header is either a number of seconds or an HTTP date:
 *   Retry-After: 120                               -> 120 s
 *   Retry-After: Wed, 25 Nov 2026 10:02:00 GMT     -> 120 s when the answer's Date says 10:00:00 GMT
 * Anything else ("soon", "-5", "1.5", "NaN", a date that does not exist) is not a Retry-After and is ignored.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

/** What a Retry-After header asked for. */
export type RetryAfter =
  | { kind: 'delay'; seconds: number }
  /** The header was present but is neither delta-seconds nor an HTTP date; `raw` is what came, cut short. */
  | { kind: 'junk'; raw: string };

/** delta-seconds = 1*DIGIT. */
const DELTA_SECONDS = /^\d+$/;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)';
const LONG_DAY = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ([a-z]{3}) (\\d{4}) ${TIME} GMT$`, 'i');
/** Obsolete RFC 850 form: "Sunday, 06-Nov-94 08:49:37 GMT". */
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-([a-z]{3})-(\\d{2}) ${TIME} GMT$`, 'i');
/** Obsolete asctime form: "Sun Nov  6 08:49:37 1994". */
const ASCTIME_DATE = new RegExp(`^${DAY} ([a-z]{3}) ([ \\d]\\d) ${TIME} (\\d{4})$`, 'i');

/**
 * An HTTP date (any of the three forms a recipient must accept) as epoch ms; undefined when it is not one or names a
 * day that does not exist (31 Feb, 25:00:00). Date.parse alone is not used: it reads "1" as the year 2001.
 * `nowMs` places an RFC 850 two-digit year: "94" is 1994 and "26" 2026 as long as that is at most 50 years ahead.
 */
export function parseHttpDate(text: string, nowMs: number): number | undefined {
  const parts = dateParts(text, nowMs);
  if (!parts) return undefined;
  const month = MONTHS.indexOf(parts.month.toLowerCase());
  const [day, hour, minute, second] = [Number(parts.day.trim()), Number(parts.hour), Number(parts.minute), Number(parts.second)];
  if (month < 0 || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  // Date.UTC rolls 31 Feb over to 3 Mar: such a day does not exist. A leap second (:60) reads as the next second.
  if (new Date(utc(parts.year, month, day, 0, 0, 0)).getUTCDate() !== day) return undefined;
  return utc(parts.year, month, day, hour, minute, second);
}

/** Date.UTC for any year: Date.UTC alone reads the years 0 to 99 as 1900 to 1999 ("Wed, 25 Nov 0026" as 1926). */
function utc(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

interface DateParts {
  day: string;
  month: string;
  year: number;
  hour: string;
  minute: string;
  second: string;
}

function dateParts(text: string, nowMs: number): DateParts | undefined {
  const imf = IMF_FIXDATE.exec(text);
  if (imf) {
    const [, day = '', month = '', year = '', hour = '', minute = '', second = ''] = imf;
    return { day, month, year: Number(year), hour, minute, second };
  }
  const rfc850 = RFC850_DATE.exec(text);
  if (rfc850) {
    const [, day = '', month = '', yy = '', hour = '', minute = '', second = ''] = rfc850;
    // Example: "26" at a clock in 2026 -> 2026; "94" -> 2094 is more than 50 years ahead -> 1994.
    const latest = new Date(nowMs).getUTCFullYear() + 50;
    let year = 2000 + Number(yy);
    while (year > latest) year -= 100;
    return { day, month, year, hour, minute, second };
  }
  const asctime = ASCTIME_DATE.exec(text);
  if (asctime) {
    const [, month = '', day = '', hour = '', minute = '', second = '', year = ''] = asctime;
    return { day, month, year: Number(year), hour, minute, second };
  }
  return undefined;
}

/**
 * The delay a Retry-After header asks for, in whole seconds, or undefined when there is no header.
 * An HTTP date is measured from the answer's own Date header when it has a valid one (the two come from the same
 * clock, so a skewed local clock does not stretch the wait), else from `nowMs`; a date already past asks for 0 s.
 * Example: Retry-After "Wed, 25 Nov 2026 10:02:00 GMT", Date "Wed, 25 Nov 2026 10:00:00 GMT" -> 120 s, whatever the
 * local clock says; without Date and a local clock at 10:01:30.400 -> ceil(29.6) = 30 s.
 * A number of seconds beyond 2^53 is not a delay any server means and counts as junk.
 */
export function parseRetryAfter(header: string | null | undefined, nowMs: number, dateHeader?: string | null): RetryAfter | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (DELTA_SECONDS.test(text)) {
    const seconds = Number(text);
    if (seconds <= Number.MAX_SAFE_INTEGER) return { kind: 'delay', seconds };
    return { kind: 'junk', raw: shorten(text) };
  }
  const at = parseHttpDate(text, nowMs);
  if (at === undefined) return { kind: 'junk', raw: shorten(text) };
  const reference = (dateHeader ? parseHttpDate(dateHeader.trim(), nowMs) : undefined) ?? nowMs;
  return { kind: 'delay', seconds: Math.max(0, Math.ceil((at - reference) / 1000)) };
}

/**
 * The wait a Retry-After (or a backoff) asks for: resolves after `ms`, or rejects as soon as `signal` aborts (the
 * caller's timeout, its tick given up, the planner stopping); its timer is then cleared, so an abandoned wait keeps
 * neither the caller nor the process alive.
 */
export function waitUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : undefined);
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/** Why an endpoint is not queried until `until`. */
export interface Backoff {
  /** Epoch ms (on the source's clock) before which no query goes to the endpoint. */
  until: number;
  /** The HTTP status that asked for it (429, 503). */
  status: number;
  /** The delay the server asked for, in seconds, before the cap. */
  askedSeconds: number;
  /** When the answer came (epoch ms). */
  since: number;
}

/**
 * The "not before" time of each endpoint one source queries, per caller: keyed by the endpoint URL without
 * credentials and by who asks it (`identity`: the credentials and tenant headers the requests carry). A rate limiter
 * in front of a shared Prometheus (Mimir's per-tenant limits, a gateway's per-token bucket) throttles one tenant, not
 * the others: two policies on one URL with other credentials each have their own backoff, and a policy reloaded with
 * the same URL and credentials keeps its own. A reloaded policy that names another URL is another endpoint.
 * The identity is never kept as given: the key holds an HMAC-SHA256 of it (truncated to 128 bits) under a key drawn at
 * random for each instance, so neither the map nor anything that prints it holds a secret, nor a hash one could test
 * guessed passwords against. Example: "http://prom:9090/api/v1/query" asked with "Basic cmVhZGVyOnMzY3JldA==" is kept
 * under "http://prom:9090/api/v1/query " and 32 hex digits, the same for the life of the instance; asked without
 * credentials, under the endpoint alone.
 * Expired entries are dropped whenever one is added, so the map holds only endpoints told to back off in the last few
 * minutes.
 */
export class EndpointBackoffs {
  readonly #entries = new Map<string, Backoff>();
  readonly #hmacKey = randomBytes(32);

  /**
   * The backoff in force for `endpoint`, as `identity` asks it (none: anonymous), at `nowMs`, if any. A clock now
   * earlier than the answer that asked for it has been stepped back, and how much of the wait is left is not known:
   * the backoff is dropped (the next query asks the server again, which repeats its Retry-After if it still throttles)
   * rather than held for the step on top of the cap. Example: 120 s asked at 10:00:00, the clock set back an hour ->
   * queried at 09:00:30, not held until 10:02.
   */
  active(endpoint: string, nowMs: number, identity?: string): Backoff | undefined {
    const key = this.#key(endpoint, identity);
    const entry = this.#entries.get(key);
    if (entry && entry.since <= nowMs && nowMs < entry.until) return entry;
    if (entry) this.#entries.delete(key);
    return undefined;
  }

  /** Records a backoff; the later `until` wins when several queries of one tick are told different delays. */
  record(endpoint: string, backoff: Backoff, identity?: string): Backoff {
    for (const [key, entry] of this.#entries) if (entry.until <= backoff.since) this.#entries.delete(key);
    const key = this.#key(endpoint, identity);
    const known = this.#entries.get(key);
    if (known && known.until >= backoff.until) return known;
    this.#entries.set(key, backoff);
    return backoff;
  }

  /** The map key: the endpoint, and the HMAC of the identity when there is one. */
  #key(endpoint: string, identity: string | undefined): string {
    if (identity === undefined || identity === '') return endpoint;
    return `${endpoint} ${createHmac('sha256', this.#hmacKey).update(identity).digest('hex').slice(0, 32)}`;
  }

  get size(): number {
    return this.#entries.size;
  }
}
