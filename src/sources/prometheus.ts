/**
 * Reads one window of Dynamo frontend metrics from the Prometheus HTTP API (`GET /api/v1/query`).
 *
 * Default queries use the metric names the Dynamo frontend exports:
 *   requests  sum(increase(dynamo_frontend_requests_total{$labels}[$window]))          a COUNT, as Dynamo uses it
 *   means     sum(increase(X_sum{$labels}[$window])) / sum(increase(X_count{$labels}[$window]))   count-weighted
 *   pXX       histogram_quantile(q, sum by (le) (increase(X_bucket{$labels}[$window])))
 * Latencies arrive in seconds and leave in ms: a mean TTFT of 0.42 s becomes ttftMs.mean = 420.
 *
 * Every outcome is told apart, because the core acts differently on each:
 *   - zero traffic: the request count is a valid 0 (increase over a counter that exists). The means are then
 *     0/0 = NaN and the percentiles NaN; that is NOT an error, they are simply absent and `requests: 0` lets the
 *     planner scale down (Dynamo G1 never did: issues #3131, #6985).
 *   - unreadable request count (empty result, NaN, HTTP error, timeout, refused): `requests` is left undefined so
 *     the planner holds (Dynamo issue #14765: a failed read must not look like an idle window).
 *   - a value that is not a decimal number ("", "   ", "0x10": Number() would read the first two as 0 and the third
 *     as 16), or one below 0 (no count, length, latency or usage is): the field is left out, with the reason.
 *   - an answer longer than MAX_QUERY_RESPONSE_BYTES: refused unread past the cap, with the reason.
 *   - an answer with `warnings` (a remote-read or Thanos store that did not answer, a PromQL warning): its value may
 *     be partial (a third of the requests looks like a third of the traffic), so the field is left out, with them.
 *   - a throttled answer (429 or 503 with a Retry-After): a short delay that fits in what is left of the query's
 *     timeout is waited and the query sent once more; a longer one (or a second throttled answer) leaves the field
 *     out, naming the delay, and the source sends nothing to that endpoint with those credentials until it has passed
 *     (at most MAX_BACKOFF_SECONDS): each query of those ticks fails at once, saying until when. Another tenant of
 *     the same endpoint (other credentials) is not held by it.
 *   - a query cut off by its caller (the planner stopping, the tick given up: the source's `signal`): the request is
 *     aborted at once, not waited out to its timeout, and the field is left out, saying why; so `requests` is unknown
 *     and the planner holds (a read cut short is never taken for an idle window).
 * Each failure lands in Observation.errors under the field it would have filled, naming the endpoint and query.
 */
import { setMaxListeners } from 'node:events';
import type { PolicySpec } from '../config/schema.js';
import { percentileKey } from '../planner/percentile-key.js';
import type { LatencySummary, Observation } from '../planner/types.js';
import { abortReason, messageOf } from '../errors.js';
import { EndpointBackoffs, parseRetryAfter, waitUnlessAborted, type Backoff } from '../http/retry-after.js';

export type PrometheusConfig = NonNullable<PolicySpec['sources']['prometheus']>;
export type QueryName = keyof PrometheusConfig['queries'];

/** The part of an Observation one source fills; `errors` says why a field is missing. */
export type ObservationPart = Omit<Partial<Observation>, 'time' | 'windowSeconds'>;

const FRONTEND = 'dynamo_frontend';

function meanQuery(histogram: string): string {
  return (
    `sum(increase(${FRONTEND}_${histogram}_sum{$labels}[$window]))` +
    ` / sum(increase(${FRONTEND}_${histogram}_count{$labels}[$window]))`
  );
}

function quantileQuery(histogram: string): string {
  return `histogram_quantile($quantile, sum by (le) (increase(${FRONTEND}_${histogram}_bucket{$labels}[$window])))`;
}

/**
 * The default query for each overridable name. Placeholders: `$window` (e.g. "60s"), `$labels` (the label
 * matchers without braces, e.g. `model="llama",dynamo_namespace="ns"`, empty when none) and, in the percentile
 * queries, `$quantile` (e.g. 0.95).
 */
export const DEFAULT_QUERIES: Record<QueryName, string | undefined> = {
  requests: `sum(increase(${FRONTEND}_requests_total{$labels}[$window]))`,
  isl: meanQuery('input_sequence_tokens'),
  osl: meanQuery('output_sequence_tokens'),
  ttftMean: meanQuery('time_to_first_token_seconds'),
  ttftPercentile: quantileQuery('time_to_first_token_seconds'),
  itlMean: meanQuery('inter_token_latency_seconds'),
  itlPercentile: quantileQuery('inter_token_latency_seconds'),
  requestDuration: meanQuery('request_duration_seconds'),
  // Dynamo's frontend has no KV-usage metric; set sources.prometheus.queries.kvUsage to read one from the workers.
  kvUsage: undefined,
  // The busiest 10 s of the window: a 10 s rate sampled every 5 s. Needs a scrape interval of 5 s or less; with a
  // slower scrape the result is empty, the field is left out and the sla policy keeps its last burst ratio.
  peakRequestsPerSecond: `max_over_time(sum(rate(${FRONTEND}_requests_total{$labels}[10s]))[$window:5s])`,
  islPercentile: quantileQuery('input_sequence_tokens'),
};

/** Fields the planner can do without: an empty or NaN result leaves them out quietly (the policy says so). */
const isOptionalField = (field: string): boolean => field === 'peakRequestsPerSecond' || field.startsWith('islPercentiles.');

/** Percentiles always read besides the SLO's own. */
const STANDARD_QUANTILES = [0.5, 0.95, 0.99];

export type PrometheusErrorKind =
  | 'empty'
  | 'nan'
  | 'infinite'
  | 'not-a-number'
  | 'negative'
  | 'multiple'
  | 'http'
  | 'timeout'
  | 'refused'
  | 'network'
  | 'bad-response'
  | 'too-large'
  | 'partial'
  | 'throttled'
  | 'aborted';

/**
 * The most one query's answer may hold. An instant query of the planner returns one series: a few hundred bytes. A
 * query that matches thousands of series (a custom query without sum(...), a label filter gone wrong) is refused
 * past this instead of being buffered: 14 queries x 10 MB each would otherwise take a 256 MiB pod down.
 */
export const MAX_QUERY_RESPONSE_BYTES = 1024 * 1024;

export class PrometheusQueryError extends Error {
  constructor(
    readonly kind: PrometheusErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'PrometheusQueryError';
  }
}

/** Escape a label value for a PromQL string literal. */
function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** { model: "llama", dynamo_namespace: "ns" } -> `model="llama",dynamo_namespace="ns"`. */
export function labelMatchers(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([name, value]) => `${name}=${promString(value)}`)
    .join(',');
}

/** A window in seconds as a PromQL range: 60 -> "60s"; fractional seconds are rounded up (59.5 -> "60s"). */
function promWindow(seconds: number): string {
  return `${Math.max(1, Math.ceil(seconds))}s`;
}

export function renderQuery(template: string, vars: { window: string; labels: string; quantile?: number }): string {
  let query = template.replaceAll('$window', vars.window).replaceAll('$labels', vars.labels);
  if (vars.quantile !== undefined) query = query.replaceAll('$quantile', String(vars.quantile));
  // `metric{}` is valid PromQL, but `{,le="1"}` (labels empty, user added more matchers) is not.
  return query.replace(/\{\s*,/g, '{');
}

export interface PrometheusClientOptions {
  /** Base URL, e.g. http://prometheus:9090 or http://host/prometheus. */
  url: string;
  timeoutSeconds: number;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  /**
   * The "not before" times of the endpoints the caller queries, per credentials (a source keeps one for all its
   * queries): a query to an endpoint that told these credentials to back off fails at once, without a request.
   * Without it a long Retry-After is reported only.
   */
  backoffs?: EndpointBackoffs;
  /**
   * The clock of the backoffs (epoch ms); default Date.now. What is left of the timeout is measured on the monotonic
   * clock, as the timer that ends the query is: a wall clock stepped during a query does not change it.
   */
  now?: () => number;
  /** Waits a short Retry-After, rejecting when `signal` aborts (the query's timeout); default a timer. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * The caller's stop (the planner stopping, the tick given up): the query is not sent once it has aborted, and one
   * under way (a request, a Retry-After wait) ends at once: PrometheusQueryError `aborted`, naming its reason.
   */
  signal?: AbortSignal;
}

/** The statuses a throttling server answers with, with a Retry-After: Too Many Requests, Service Unavailable. */
const THROTTLE_STATUSES = new Set([429, 503]);

/**
 * The longest Retry-After waited inside one query, and only when it is shorter than what is left of the query's
 * timeout. Example: timeout 10 s, a 429 after 0.2 s with Retry-After 2 -> waited (2 < 9.8), the query sent once more
 * with 7.8 s left; Retry-After 6 -> not waited (over this cap), the field is missing this tick.
 */
export const MAX_RETRY_WAIT_SECONDS = 5;

/**
 * The longest Retry-After honoured as a backoff. Rate limiters in front of Prometheus (Mimir's per-tenant limits,
 * Azure Monitor's query throttling, a proxy's token bucket) refill within a minute or so; a longer ask is a
 * misconfiguration or a maintenance window, and every tick of a backoff holds the replicas where they are (no scale-up
 * under a surge). Five minutes is five ticks at the default 60 s interval. Example: "Retry-After: 31536000" (a year)
 * at 10:00:00 -> not queried before 10:05:00, then asked again.
 */
export const MAX_BACKOFF_SECONDS = 300;

/** The endpoint a query goes to, for messages. */
function queryEndpoint(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/api/v1/query`;
}

interface PromResponse {
  status?: string;
  errorType?: string;
  error?: string;
  /** Set when the result may be incomplete or wrong: a remote-read or Thanos store that did not answer, a PromQL warning. */
  warnings?: unknown;
  data?: { resultType?: string; result?: unknown };
}

/**
 * `http://user:pass@host:9090` -> the URL without credentials (fetch refuses URLs that carry them, and they must
 * never reach a message) and an `Authorization: Basic base64(user:pass)` header.
 * Example: http://reader:s3cret@prom:9090 -> { url: "http://prom:9090", authorization: "Basic cmVhZGVyOnMzY3JldA==" }.
 */
export function splitUrlCredentials(url: string): { url: string; authorization?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url };
  }
  if (parsed.username === '' && parsed.password === '') return { url };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const bare = url.endsWith('/') ? parsed.toString() : parsed.toString().replace(/\/$/, '');
  return { url: bare, authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/**
 * Runs one instant query at `time` (epoch ms) and returns its single number; with `nonNegative`, a value below 0 is
 * refused too (a count, a length, a latency or a usage cannot be negative). Throws PrometheusQueryError whose message
 * names the endpoint and the query.
 */
export async function queryScalar(options: PrometheusClientOptions, query: string, time?: number, nonNegative = false): Promise<number> {
  const { url: baseUrl, authorization } = splitUrlCredentials(options.url);
  const endpoint = queryEndpoint(baseUrl);
  const where = `prometheus ${endpoint}`;
  const about = `for query \`${query}\``;
  const params = new URLSearchParams({ query });
  if (time !== undefined) params.set('time', (time / 1000).toFixed(3));
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? waitUnlessAborted;
  const timeoutMs = options.timeoutSeconds * 1000;
  const cancel = options.signal;
  if (cancel?.aborted) throw new PrometheusQueryError('aborted', `${where} not queried: ${abortReason(cancel)} ${about}`);
  // One timer for the whole query, a Retry-After wait and its second try included; the caller's stop ends it too.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const onCancel = () => controller.abort();
  cancel?.addEventListener('abort', onCancel, { once: true });
  const startedAt = performance.now();
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = { accept: 'application/json', ...(authorization ? { authorization } : {}) };
  const caller = callerIdentity(headers);
  let body: PromResponse = {};
  try {
    for (let attempt = 1; ; attempt += 1) {
      const held = options.backoffs?.active(endpoint, now(), caller);
      if (held) throw backingOff(where, held, now(), about);
      const response = await doFetch(`${endpoint}?${params.toString()}`, { signal: controller.signal, headers });
      const text = await readBody(response, MAX_QUERY_RESPONSE_BYTES);
      if (text === undefined) {
        controller.abort();
        throw new PrometheusQueryError(
          'too-large',
          `${where} answered more than ${MAX_QUERY_RESPONSE_BYTES / (1024 * 1024)} MB ${about} (read no further): the planner's queries return one number each; ` +
            'aggregate the query with sum(...) or narrow its label filters',
        );
      }
      const parsed = parseBody(text);
      if (parsed === undefined && response.ok) {
        throw new PrometheusQueryError(
          'bad-response',
          `${where} answered with something that is not JSON (${text.slice(0, 200).trim() || 'an empty body'}): ` +
            `is spec.sources.prometheus.url the Prometheus API itself (not a login page or a UI in front of it)? ${about}`,
        );
      }
      body = parsed ?? {};
      if (response.ok && body.status !== 'error') break;
      const detail = body.error ? ` (${body.errorType ?? 'error'}: ${body.error})` : text ? ` (${text.slice(0, 200).trim()})` : '';
      const asked = THROTTLE_STATUSES.has(response.status)
        ? parseRetryAfter(response.headers.get('retry-after'), now(), response.headers.get('date'))
        : undefined;
      if (asked?.kind === 'delay') {
        const waitMs = asked.seconds * 1000;
        const fits = waitMs < timeoutMs - (performance.now() - startedAt);
        if (attempt === 1 && asked.seconds <= MAX_RETRY_WAIT_SECONDS && fits) {
          await sleep(waitMs, controller.signal);
          continue;
        }
        const again = attempt > 1 ? ' again after the wait it asked for,' : '';
        const tooLong =
          attempt === 1 && asked.seconds <= MAX_RETRY_WAIT_SECONDS ? `, more than the ${options.timeoutSeconds}s query timeout (spec.sources.prometheus.timeout) leaves to wait` : '';
        const answer = `${where} answered HTTP ${response.status}${detail}${again} and asked to retry after ${askedFor(asked.seconds)}${tooLong}`;
        throw throttled(options.backoffs, { endpoint, caller, answer, about, status: response.status, askedSeconds: asked.seconds, at: now() });
      }
      const ignored =
        asked?.kind === 'junk' ? ` (its Retry-After ${JSON.stringify(asked.raw)} is neither a number of seconds nor an HTTP date: ignored)` : '';
      throw new PrometheusQueryError('http', `${where} answered HTTP ${response.status}${detail}${ignored} ${about}`);
    }
  } catch (error) {
    if (error instanceof PrometheusQueryError) throw error;
    if (cancel?.aborted) throw new PrometheusQueryError('aborted', `${where} query cut off: ${abortReason(cancel)} ${about}`);
    if (controller.signal.aborted) {
      throw new PrometheusQueryError('timeout', `${where} timed out after ${options.timeoutSeconds}s ${about}`);
    }
    const code = networkCode(error);
    if (code === 'ECONNREFUSED') {
      throw new PrometheusQueryError('refused', `${where} refused the connection (ECONNREFUSED: is Prometheus running at ${baseUrl}?) ${about}`);
    }
    const reason = code ?? messageOf(error);
    throw new PrometheusQueryError('network', `${where} could not be reached (${reason}) ${about}`);
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener('abort', onCancel);
  }
  const warnings = Array.isArray(body.warnings) ? body.warnings.map(String) : [];
  if (warnings.length > 0) {
    // A partial count looks like less traffic: the planner would scale down on a store outage.
    const said = warnings.join('; ');
    throw new PrometheusQueryError(
      'partial',
      `${where} answered with a warning, so its value may be partial or wrong (${said.length > 300 ? `${said.slice(0, 300)}...` : said}); ` +
        `see what it says, or query a Prometheus without the failing store, ${about}`,
    );
  }
  const value = extractNumber(body, where, about);
  if (nonNegative && value < 0) {
    throw new PrometheusQueryError('negative', `${where} returned ${value}, below 0, which no count, length, latency or usage can be ${about}`);
  }
  return value;
}

/**
 * Who a query asks as, for the backoffs (http/retry-after.ts EndpointBackoffs, which keep only an HMAC of it): every
 * request header but the content type asked for, i.e. the credentials (and any tenant header), in a stable order;
 * undefined for an anonymous query. Example: { accept, authorization: "Basic cmVhZGVyOnMzY3JldA==" } ->
 * '[["authorization","Basic cmVhZGVyOnMzY3JldA=="]]'. Never put in a message.
 */
function callerIdentity(headers: Record<string, string>): string | undefined {
  const who = Object.entries(headers)
    .map(([name, value]) => [name.toLowerCase(), value] as const)
    .filter(([name]) => name !== 'accept')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return who.length > 0 ? JSON.stringify(who) : undefined;
}

/** What to do about a Prometheus that keeps throttling the planner, for its messages. */
const THROTTLE_ADVICE = 'if it keeps asking, raise the query rate limit it applies to the planner or lengthen spec.interval';

/** "120 s", or "31536000 s (honoured up to 300 s)" past the cap. */
function askedFor(askedSeconds: number): string {
  return askedSeconds > MAX_BACKOFF_SECONDS ? `${askedSeconds} s (honoured up to ${MAX_BACKOFF_SECONDS} s)` : `${askedSeconds} s`;
}

/**
 * A throttled answer whose Retry-After is not waited: the error, after recording the endpoint's backoff. The end of
 * the backoff is rounded up to a whole second, so the queries of one tick, throttled a few ms apart, name the same
 * time (and their errors group into one log line).
 * Example: HTTP 429 at 10:00:00.004 with Retry-After 120 -> "... answered HTTP 429 (...) and asked to retry after
 * 120 s: not queried again before 2026-11-25T10:02:01.000Z; if it keeps asking, ... for query `...`".
 */
function throttled(
  backoffs: EndpointBackoffs | undefined,
  throttle: { endpoint: string; caller: string | undefined; answer: string; about: string; status: number; askedSeconds: number; at: number },
): PrometheusQueryError {
  const { answer, about, status, askedSeconds, at } = throttle;
  if (!backoffs) return new PrometheusQueryError('throttled', `${answer}; ${THROTTLE_ADVICE} ${about}`);
  const until = Math.ceil((at + Math.min(askedSeconds, MAX_BACKOFF_SECONDS) * 1000) / 1000) * 1000;
  const backoff = backoffs.record(throttle.endpoint, { until, status, askedSeconds, since: at }, throttle.caller);
  return new PrometheusQueryError('throttled', `${answer}: not queried again before ${new Date(backoff.until).toISOString()}; ${THROTTLE_ADVICE} ${about}`);
}

/**
 * A query not sent because its endpoint asked to back off.
 * Example: a 429 with Retry-After 120 at 10:00:00, asked again at 10:01:00 -> "... asked to retry after 120 s (HTTP
 * 429 at 2026-11-25T10:00:00.000Z): not queried before 2026-11-25T10:02:00.000Z, 60 s from now; if it keeps asking, ...
 * for query `...`".
 */
function backingOff(where: string, backoff: Backoff, nowMs: number, about: string): PrometheusQueryError {
  const left = Math.ceil((backoff.until - nowMs) / 1000);
  return new PrometheusQueryError(
    'throttled',
    `${where} asked to retry after ${askedFor(backoff.askedSeconds)} (HTTP ${backoff.status} at ${new Date(backoff.since).toISOString()}): ` +
      `not queried before ${new Date(backoff.until).toISOString()}, ${left} s from now; ${THROTTLE_ADVICE} ${about}`,
  );
}

/**
 * The response body as text, or undefined when it is longer than `maxBytes` (then the rest is not read: the stream is
 * cancelled and the connection dropped). A Content-Length over the cap is refused before reading anything.
 */
async function readBody(response: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/** The answer as the API's JSON object; undefined when it is not JSON at all. */
function parseBody(text: string): PromResponse | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as PromResponse) : {};
  } catch {
    return undefined;
  }
}

/** undici puts the socket error in `cause` (TypeError: fetch failed, cause: { code: 'ECONNREFUSED' }). */
function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    // AggregateError (IPv4 + IPv6 both refused) keeps them in `errors`.
    const errors = (current as { errors?: unknown[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) {
      current = errors[0];
      continue;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function extractNumber(body: PromResponse, where: string, about: string): number {
  const data = body.data;
  if (!data || body.status !== 'success') {
    throw new PrometheusQueryError('bad-response', `${where} sent a response without data ${about}`);
  }
  let raw: unknown;
  if (data.resultType === 'scalar') {
    raw = Array.isArray(data.result) ? data.result[1] : undefined;
  } else if (data.resultType === 'vector' && Array.isArray(data.result)) {
    if (data.result.length === 0) {
      throw new PrometheusQueryError(
        'empty',
        `${where} returned an empty result (no series matched: check the metric name and label filters) ${about}`,
      );
    }
    if (data.result.length > 1) {
      throw new PrometheusQueryError(
        'multiple',
        `${where} returned ${data.result.length} series where one was expected (aggregate with sum(...) or add label filters) ${about}`,
      );
    }
    const sample = data.result[0] as { value?: unknown[] };
    raw = Array.isArray(sample.value) ? sample.value[1] : undefined;
  } else {
    throw new PrometheusQueryError('bad-response', `${where} returned a ${String(data.resultType)} where an instant vector was expected ${about}`);
  }
  if (raw === undefined) throw new PrometheusQueryError('bad-response', `${where} sent a sample without a value ${about}`);
  const value = parsePromNumber(raw);
  if (value === undefined) {
    throw new PrometheusQueryError('not-a-number', `${where} returned ${shown(raw)}, which is not a decimal number ${about}`);
  }
  if (Number.isNaN(value)) throw new PrometheusQueryError('nan', `${where} returned NaN ${about}`);
  if (!Number.isFinite(value)) {
    // "+Inf" from histogram_quantile: beyond the top bucket. Anywhere else: a division by zero in a custom query, or a
    // number past what a double holds ("1e400").
    const said = raw === '+Inf' || raw === 'Inf' || raw === '-Inf' ? (value > 0 ? '+Inf' : '-Inf') : shown(raw);
    const why = /histogram_quantile/.test(about) ? 'the quantile lies beyond the highest histogram bucket' : 'no count, length, latency or usage is infinite: a division by zero in the query, or a number too large';
    throw new PrometheusQueryError('infinite', `${where} returned ${said} (${why}) ${about}`);
  }
  return value;
}

/** A value as it came, quoted and cut short for a message: `""`, `"0x10"`, `true`. */
function shown(raw: unknown): string {
  const text = JSON.stringify(raw) ?? String(raw);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/** A decimal number as Prometheus writes sample values: "42", "0.5", "-3", "1e+06", "1.5E-3". */
const PROM_DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A sample value: a decimal number, or Prometheus' "+Inf" / "-Inf" / "NaN"; undefined for anything else. Number()
 * alone would read "" and "   " as 0 (a failed read taken for an idle window) and "0x10" as 16.
 * A JSON number (some proxies and exporters send one) counts when finite.
 */
export function parsePromNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw + 0 : undefined;
  if (typeof raw !== 'string') return undefined;
  if (raw === '+Inf' || raw === 'Inf') return Number.POSITIVE_INFINITY;
  if (raw === '-Inf') return Number.NEGATIVE_INFINITY;
  if (raw === 'NaN') return Number.NaN;
  if (!PROM_DECIMAL.test(raw)) return undefined;
  const value = Number(raw);
  // "-0" is a zero like any other (and prints as 0).
  return value === 0 ? 0 : value;
}

/** What one planned query fills in. */
interface PlannedQuery {
  /** Observation field path, also the key in `errors`: "requests", "ttftMs.p95", ... */
  field: string;
  query: string;
  /** Multiply the result (seconds -> ms). */
  scale: number;
  /** A mean or percentile that is NaN at zero traffic (0/0) rather than broken. */
  zeroTrafficNaN: boolean;
}

/** The queries one window needs, rendered. Pure, so tests and `decide --explain` can show them. */
export function planQueries(config: PrometheusConfig, windowSeconds: number, slo: PolicySpec['slo']): PlannedQuery[] {
  const vars = { window: promWindow(windowSeconds), labels: labelMatchers(config.labels) };
  const template = (name: QueryName) => config.queries[name] ?? DEFAULT_QUERIES[name];
  const planned: PlannedQuery[] = [];
  const add = (field: string, name: QueryName, scale: number, zeroTrafficNaN: boolean, quantile?: number) => {
    const text = template(name);
    if (text === undefined) return;
    planned.push({ field, query: renderQuery(text, { ...vars, quantile }), scale, zeroTrafficNaN });
  };
  add('requests', 'requests', 1, false);
  add('isl', 'isl', 1, true);
  add('osl', 'osl', 1, true);
  add('ttftMs.mean', 'ttftMean', 1000, true);
  add('itlMs.mean', 'itlMean', 1000, true);
  add('requestDurationSeconds', 'requestDuration', 1, true);
  add('kvUsage', 'kvUsage', 1, false);
  add('peakRequestsPerSecond', 'peakRequestsPerSecond', 1, true);
  const quantilesFor = (percentile: number) => [...new Set([percentile / 100, ...STANDARD_QUANTILES])].sort((a, b) => a - b);
  add(`islPercentiles.${percentileKey(slo.ttft.percentile)}`, 'islPercentile', 1, true, slo.ttft.percentile / 100);
  for (const q of quantilesFor(slo.ttft.percentile)) add(`ttftMs.${percentileKey(q * 100)}`, 'ttftPercentile', 1000, true, q);
  for (const q of quantilesFor(slo.itl.percentile)) add(`itlMs.${percentileKey(q * 100)}`, 'itlPercentile', 1000, true, q);
  return planned;
}

export interface PrometheusSource {
  /** One window ending at `now` (epoch ms). Never throws: failures are in the returned `errors`. */
  observe(now: number, windowSeconds: number, spec: PolicySpec): Promise<ObservationPart>;
}

/** The policies that hold when the request count is missing (planner/decide.ts USES_REQUESTS). */
const POLICIES_USING_REQUESTS = new Set<PolicySpec['policy']>(['sla', 'dynamo', 'hpa']);

export interface PrometheusSourceOptions {
  fetch?: typeof fetch;
  /**
   * The signal the queries of a call run under, asked at the start of each observe() (the service's: the running
   * tick's, aborted when it is given up or the planner stops). Default: none (each query ends at its own timeout).
   */
  signal?: () => AbortSignal | undefined;
  /** The clock the Retry-After backoffs are kept on (epoch ms); default Date.now. */
  now?: () => number;
  /** Waits a short Retry-After; default a timer. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Reads `spec.sources.prometheus` on every call, so a reloaded policy takes effect on the next tick. The source keeps
 * the Retry-After backoff of each endpoint it queried per caller (the URL without credentials, and who asks:
 * http/retry-after.ts EndpointBackoffs): two policies on one Prometheus with other credentials (two tenants of a
 * Mimir or a gateway that limits each) back off each on its own, a policy reloaded with the same URL and credentials
 * keeps its backoff, and one reloaded with another URL or other credentials queries at once.
 */
export function createPrometheusSource(options: PrometheusSourceOptions = {}): PrometheusSource {
  const backoffs = new EndpointBackoffs();
  return {
    async observe(now, windowSeconds, spec) {
      const config = spec.sources.prometheus;
      if (!config) {
        // Not configured is only a problem for the policies that size from the request rate; a static (or load)
        // policy without Prometheus would otherwise fail every tick and turn /readyz 503 for good.
        if (!POLICIES_USING_REQUESTS.has(spec.policy)) return {};
        return { errors: { requests: 'no Prometheus configured (spec.sources.prometheus.url); request rate unknown' } };
      }
      const reads = readsOf(options.signal?.());
      const client = { url: config.url, timeoutSeconds: config.timeout, fetch: options.fetch, backoffs, now: options.now, sleep: options.sleep, ...(reads.signal ? { signal: reads.signal } : {}) };
      try {
        return await observePrometheus(client, config, now, windowSeconds, spec.slo);
      } finally {
        reads.release();
      }
    },
  };
}

/**
 * The signal the queries of one observe() listen to: aborted with the caller's, which gets one listener however many
 * queries there are (a dozen or more; an EventTarget warns past 10), dropped by `release()` once they are done.
 */
function readsOf(caller: AbortSignal | undefined): { signal?: AbortSignal; release: () => void } {
  if (!caller) return { release: () => undefined };
  const reads = new AbortController();
  // Every planned query listens to it (planQueries: 14 with the defaults and a p90 SLO).
  setMaxListeners(0, reads.signal);
  const onAbort = () => reads.abort(caller.reason);
  if (caller.aborted) onAbort();
  else caller.addEventListener('abort', onAbort, { once: true });
  return { signal: reads.signal, release: () => caller.removeEventListener('abort', onAbort) };
}

async function observePrometheus(
  client: PrometheusClientOptions,
  config: PrometheusConfig,
  now: number,
  windowSeconds: number,
  slo: PolicySpec['slo'],
): Promise<ObservationPart> {
  const planned = planQueries(config, windowSeconds, slo);
  // Every field the planner reads is a count, a length, a latency or a usage: none can be below 0.
  const settled = await Promise.allSettled(planned.map((p) => queryScalar(client, p.query, now, true)));
  const results = new Map<string, number>();
  const failures = new Map<string, PrometheusQueryError>();
  planned.forEach((p, index) => {
    const outcome = settled[index]!;
    if (outcome.status === 'fulfilled') results.set(p.field, outcome.value * p.scale);
    else {
      const error = outcome.reason;
      failures.set(p.field, error instanceof PrometheusQueryError ? error : new PrometheusQueryError('network', String(error)));
    }
  });

  const requests = results.get('requests');
  const zeroTraffic = requests === 0;
  const part: ObservationPart = {};
  const errors: Record<string, string> = {};
  const ttft: LatencySummary = {};
  const itl: LatencySummary = {};
  const islTail: LatencySummary = {};
  for (const p of planned) {
    const value = results.get(p.field);
    if (value === undefined) {
      const failure = failures.get(p.field)!;
      // 0 requests in the window: means are 0/0 and percentiles have no samples. Absent, not broken.
      if (zeroTraffic && p.zeroTrafficNaN && (failure.kind === 'nan' || failure.kind === 'empty')) continue;
      if (isOptionalField(p.field) && (failure.kind === 'nan' || failure.kind === 'empty')) continue;
      errors[p.field] = failure.message;
      continue;
    }
    const [head, key] = p.field.split('.') as [string, string | undefined];
    if (head === 'ttftMs' && key) ttft[key as keyof LatencySummary] = value;
    else if (head === 'itlMs' && key) itl[key as keyof LatencySummary] = value;
    else if (head === 'islPercentiles' && key) islTail[key as keyof LatencySummary] = value;
    else (part as Record<string, number>)[head] = value;
  }
  if (Object.keys(ttft).length > 0) part.ttftMs = ttft;
  if (Object.keys(itl).length > 0) part.itlMs = itl;
  if (Object.keys(islTail).length > 0) part.islPercentiles = islTail;
  if (Object.keys(errors).length > 0) part.errors = errors;
  return part;
}
