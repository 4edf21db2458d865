import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createPrometheusSource,
  DEFAULT_QUERIES,
  labelMatchers,
  MAX_QUERY_RESPONSE_BYTES,
  parsePromNumber,
  planQueries,
  queryScalar,
  PrometheusQueryError,
  renderQuery,
} from '../../../src/sources/prometheus.js';
import { dynamoAnswers, freePort, startFakePrometheus, type FakeAnswer, type FakePrometheus } from '../../fixtures/servers.js';
import { testSpec } from './spec-fixture.js';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const labels = { model: 'llama', dynamo_namespace: 'prod' };
const busy = { requests: 720, isl: 3000, osl: 150, ttftSeconds: 0.42, itlSeconds: 0.031, durationSeconds: 5.1, ttftQuantileSeconds: 0.61, itlQuantileSeconds: 0.044 };

let fake: FakePrometheus | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function specFor(url: string, extra: Record<string, unknown> = {}) {
  return testSpec({}, { url, timeout: '2s', labels, ...extra });
}

describe('prometheus source: a busy window', () => {
  it('reads the request count, count-weighted means and percentiles, with seconds turned into ms', async () => {
    fake = await startFakePrometheus(dynamoAnswers(busy));
    const part = await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
    expect(part.errors).toBeUndefined();
    expect(part.requests).toBe(720);
    expect(part.isl).toBe(3000);
    expect(part.osl).toBe(150);
    expect(part.requestDurationSeconds).toBe(5.1);
    expect(part.ttftMs?.mean).toBeCloseTo(420, 9);
    // SLO percentile p95 plus p50/p99: the fake answers every TTFT quantile with 0.61 s.
    expect(part.ttftMs?.p95).toBeCloseTo(610, 9);
    expect(part.ttftMs?.p50).toBeCloseTo(610, 9);
    expect(part.ttftMs?.p99).toBeCloseTo(610, 9);
    expect(part.itlMs?.mean).toBeCloseTo(31, 9);
    expect(part.itlMs?.p95).toBeCloseTo(44, 9);
    expect(part.kvUsage).toBeUndefined();
  });

  it('sends Dynamo metric names with the label filter, the window and the evaluation time', async () => {
    fake = await startFakePrometheus(dynamoAnswers(busy));
    await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
    const queries = fake.received.map((r) => r.query);
    expect(queries).toContain('sum(increase(dynamo_frontend_requests_total{model="llama",dynamo_namespace="prod"}[60s]))');
    expect(queries).toContain(
      'sum(increase(dynamo_frontend_time_to_first_token_seconds_sum{model="llama",dynamo_namespace="prod"}[60s]))' +
        ' / sum(increase(dynamo_frontend_time_to_first_token_seconds_count{model="llama",dynamo_namespace="prod"}[60s]))',
    );
    expect(queries).toContain(
      'histogram_quantile(0.95, sum by (le) (increase(dynamo_frontend_inter_token_latency_seconds_bucket{model="llama",dynamo_namespace="prod"}[60s])))',
    );
    expect(queries).toContain('max_over_time(sum(rate(dynamo_frontend_requests_total{model="llama",dynamo_namespace="prod"}[10s]))[60s:5s])');
    expect(queries).toContain(
      'histogram_quantile(0.95, sum by (le) (increase(dynamo_frontend_input_sequence_tokens_bucket{model="llama",dynamo_namespace="prod"}[60s])))',
    );
    // 1 count + 5 means + 3 TTFT + 3 ITL quantiles (0.5, 0.95, 0.99; the SLO's 0.95 is among them)
    // + the busiest 10 s rate + the ISL at the TTFT percentile.
    expect(queries).toHaveLength(14);
    expect(new Set(fake.received.map((r) => r.time))).toEqual(new Set([(NOW / 1000).toFixed(3)]));
  });

  it('adds the SLO percentile when it is not one of p50/p95/p99', () => {
    const spec = testSpec({ slo: { ttft: { percentile: 90, ms: 800 }, itl: { percentile: 99.9, ms: 60 } } }, { url: 'http://p:9090' });
    const fields = planQueries(spec.sources.prometheus!, 60, spec.slo).map((p) => p.field);
    expect(fields).toContain('ttftMs.p90');
    expect(fields).toContain('itlMs.p99.9');
    expect(fields.filter((f) => f.startsWith('ttftMs.p'))).toEqual(['ttftMs.p50', 'ttftMs.p90', 'ttftMs.p95', 'ttftMs.p99']);
  });
});

describe('prometheus source: zero traffic and unreadable counts', () => {
  it('zero traffic gives requests 0 and no errors, though the means are 0/0 = NaN', async () => {
    fake = await startFakePrometheus(dynamoAnswers({ ...busy, requests: 0 }));
    const part = await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
    expect(part.requests).toBe(0);
    expect(part.errors).toBeUndefined();
    expect(part.isl).toBeUndefined();
    expect(part.ttftMs).toBeUndefined();
  });

  it('an empty request count leaves requests undefined and names endpoint and query', async () => {
    fake = await startFakePrometheus((q) => (q.includes('requests_total') ? { empty: true } : dynamoAnswers(busy)(q)));
    const part = await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
    expect(part.requests).toBeUndefined();
    expect(part.errors?.requests).toContain('empty result');
    expect(part.errors?.requests).toContain(`${fake.url}/api/v1/query`);
    expect(part.errors?.requests).toContain('dynamo_frontend_requests_total{model="llama"');
    // The rest of the window still reads.
    expect(part.isl).toBe(3000);
  });

  it('a NaN request count is an error, not zero traffic', async () => {
    fake = await startFakePrometheus((q) => (q.includes('requests_total') ? 'NaN' : 'NaN'));
    const part = await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
    expect(part.requests).toBeUndefined();
    expect(part.errors?.requests).toMatch(/returned NaN/);
    // Count unknown: NaN means are reported, not excused as idle.
    expect(part.errors?.isl).toMatch(/returned NaN/);
  });

  it('a NaN mean while requests flowed is reported', async () => {
    fake = await startFakePrometheus((q) => (q.includes('input_sequence') ? 'NaN' : dynamoAnswers(busy)(q)));
    const part = await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
    expect(part.requests).toBe(720);
    expect(part.isl).toBeUndefined();
    expect(part.errors?.isl).toMatch(/returned NaN for query `sum\(increase\(dynamo_frontend_input_sequence_tokens_sum/);
  });

  it('a quantile beyond the top bucket (+Inf) is reported, not used', async () => {
    fake = await startFakePrometheus((q) => (q.includes('histogram_quantile(0.99') ? '+Inf' : dynamoAnswers(busy)(q)));
    const part = await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
    expect(part.ttftMs?.p99).toBeUndefined();
    expect(part.errors?.['ttftMs.p99']).toContain('returned +Inf (the quantile lies beyond the highest histogram bucket)');
    expect(part.ttftMs?.p95).toBeCloseTo(610, 9);
  });

  it('several series where one was expected is an error that says how to fix it', async () => {
    fake = await startFakePrometheus((q) => (q.includes('requests_total') ? { series: [300, 420] } : dynamoAnswers(busy)(q)));
    const part = await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
    expect(part.requests).toBeUndefined();
    expect(part.errors?.requests).toContain('returned 2 series where one was expected');
  });
});

describe('prometheus source: only finite decimal numbers are values', () => {
  it('parsePromNumber reads decimals and Prometheus infinities; empty, blank, hex, words and other types are not numbers', () => {
    expect(parsePromNumber('42')).toBe(42);
    expect(parsePromNumber('0.5')).toBe(0.5);
    expect(parsePromNumber('-3')).toBe(-3);
    expect(parsePromNumber('1e+06')).toBe(1e6);
    expect(parsePromNumber('.5E-3')).toBe(0.0005);
    expect(parsePromNumber('+Inf')).toBe(Number.POSITIVE_INFINITY);
    expect(parsePromNumber('-Inf')).toBe(Number.NEGATIVE_INFINITY);
    expect(parsePromNumber('NaN')).toBeNaN();
    expect(parsePromNumber(7)).toBe(7);
    for (const bad of ['', '   ', ' 5', '5 ', '0x10', '0b1', '0o7', '1_000', 'Infinity', 'nan', '1,5', '5m', null, true, {}, [], Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(parsePromNumber(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  // Number("") and Number("   ") are 0: read that way, a broken answer would look like an idle window and scale down.
  const invalid: { value: unknown; says: string }[] = [
    { value: '', says: 'returned "", which is not a decimal number' },
    { value: '   ', says: 'returned "   ", which is not a decimal number' },
    { value: '0x10', says: 'returned "0x10", which is not a decimal number' },
    { value: 'Infinity', says: 'returned "Infinity", which is not a decimal number' },
    { value: null, says: 'returned null, which is not a decimal number' },
    { value: '-5', says: 'returned -5, below 0, which no count, length, latency or usage can be' },
    { value: '+Inf', says: 'returned +Inf (no count, length, latency or usage is infinite: a division by zero in the query, or a number too large)' },
    { value: '1e400', says: 'returned "1e400" (no count, length, latency or usage is infinite' },
    { value: 'NaN', says: 'returned NaN' },
  ];
  for (const { value, says } of invalid) {
    it(`a request count of ${JSON.stringify(value)} is missing, with the reason in errors naming the query`, async () => {
      fake = await startFakePrometheus((q) => (q.includes('requests_total') && !q.includes('rate(') ? { value } : dynamoAnswers(busy)(q)));
      const part = await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
      expect(part.requests).toBeUndefined();
      expect(part.errors?.requests).toContain(says);
      expect(part.errors?.requests).toContain('for query `sum(increase(dynamo_frontend_requests_total{');
      // The other fields are read as usual.
      expect(part.isl).toBe(3000);
      expect(Object.keys(part.errors ?? {})).toEqual(['requests']);
    });
  }

  it('a negative latency or length is refused too; "-0" is a zero', async () => {
    fake = await startFakePrometheus((q) =>
      q.includes('input_sequence_tokens_sum') ? { value: '-3000' } : q.includes('time_to_first_token_seconds_sum') ? { value: '-0' } : dynamoAnswers(busy)(q),
    );
    const part = await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
    expect(part.isl).toBeUndefined();
    expect(part.errors?.isl).toContain('returned -3000, below 0');
    expect(part.ttftMs?.mean).toBe(0);
    expect(part.requests).toBe(720);
  });

  it('at zero traffic an empty string for a mean is still an error (it is not the 0/0 NaN of an idle window)', async () => {
    const idle = dynamoAnswers({ ...busy, requests: 0 });
    fake = await startFakePrometheus((q) => (q.includes('input_sequence_tokens_sum') ? { value: '' } : idle(q)));
    const part = await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
    expect(part.requests).toBe(0);
    expect(Object.keys(part.errors ?? {})).toEqual(['isl']);
  });
});

describe('prometheus source: each answer is read up to a byte cap', () => {
  it('an answer over the cap is refused with a message naming the query, and the rest is not read', async () => {
    fake = await startFakePrometheus((q) => (q.includes('requests_total') && !q.includes('rate(') ? { bytes: 3 * MAX_QUERY_RESPONSE_BYTES } : dynamoAnswers(busy)(q)));
    const part = await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
    expect(part.requests).toBeUndefined();
    expect(part.errors?.requests).toMatch(/answered more than 1 MB for query `sum\(increase\(dynamo_frontend_requests_total\{.*\}\[60s\]\)\)` \(read no further\)/);
    expect(part.errors?.requests).toContain('aggregate the query with sum(...)');
    expect(part.isl).toBe(3000);
  });

  it('an answer just under the cap is read (and is several series, so refused for that)', async () => {
    fake = await startFakePrometheus(() => ({ bytes: MAX_QUERY_RESPONSE_BYTES - 4096 }));
    const error = await queryScalar({ url: fake.url, timeoutSeconds: 5 }, 'up').catch((e: unknown) => e);
    expect((error as PrometheusQueryError).kind).toBe('multiple');
  });

  it('an answer that declares a Content-Length over the cap is refused before its body is read', async () => {
    const big = JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1, '1'] } }).padEnd(MAX_QUERY_RESPONSE_BYTES + 10, ' ');
    const fetchBig: typeof fetch = async () => new Response(big, { status: 200, headers: { 'content-length': String(big.length) } });
    const error = await queryScalar({ url: 'http://prom.invalid', timeoutSeconds: 5, fetch: fetchBig }, 'up').catch((e: unknown) => e);
    expect((error as PrometheusQueryError).kind).toBe('too-large');
    expect((error as PrometheusQueryError).message).toContain('prometheus http://prom.invalid/api/v1/query answered more than 1 MB for query `up`');
  });
});

describe('prometheus source: transport errors are told apart', () => {
  it('HTTP 400 carries Prometheus error type and message', async () => {
    fake = await startFakePrometheus(() => ({
      status: 400,
      body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 5' }),
    }));
    const part = await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
    expect(part.requests).toBeUndefined();
    expect(part.errors?.requests).toContain(`prometheus ${fake.url}/api/v1/query answered HTTP 400 (bad_data: parse error at char 5)`);
  });

  it('an answer that carries warnings (a partial result: a remote-read or Thanos store down) is not taken for the count', async () => {
    // Two of three stores answered: 240 of the 720 requests. Read as the count, it would scale the graph down.
    const partial = JSON.stringify({
      status: 'success',
      warnings: ['remote_read: store eu-west-2 unreachable: connection refused'],
      data: { resultType: 'vector', result: [{ metric: {}, value: [1700000000, '240'] }] },
    });
    fake = await startFakePrometheus((q) => (q.includes('requests_total') && !q.includes('rate(') ? { status: 200, body: partial } : dynamoAnswers(busy)(q)));
    const part = await createPrometheusSource().observe(NOW, 60, specFor(fake.url));
    expect(part.requests).toBeUndefined();
    expect(part.errors?.requests).toBe(
      `prometheus ${fake.url}/api/v1/query answered with a warning, so its value may be partial or wrong (remote_read: store eu-west-2 unreachable: connection refused); ` +
        'see what it says, or query a Prometheus without the failing store, ' +
        `for query \`sum(increase(dynamo_frontend_requests_total{model="llama",dynamo_namespace="prod"}[60s]))\``,
    );
    expect(part.isl).toBe(3000);
    expect(Object.keys(part.errors ?? {})).toEqual(['requests']);
  });

  it('an answer that is not JSON (a login page of a proxy in front of Prometheus) says what came back and what to check', async () => {
    fake = await startFakePrometheus(() => ({ status: 200, body: '<!DOCTYPE html><html><body>Sign in with your company account</body></html>' }));
    await expect(queryScalar({ url: fake.url, timeoutSeconds: 2 }, 'up')).rejects.toMatchObject({
      kind: 'bad-response',
      message: `prometheus ${fake.url}/api/v1/query answered with something that is not JSON (<!DOCTYPE html><html><body>Sign in with your company account</body></html>): ` +
        'is spec.sources.prometheus.url the Prometheus API itself (not a login page or a UI in front of it)? for query `up`',
    });
  });

  it('HTTP 503 with a plain body', async () => {
    fake = await startFakePrometheus(() => ({ status: 503, body: 'Service Unavailable' }));
    await expect(queryScalar({ url: fake.url, timeoutSeconds: 2 }, 'up')).rejects.toMatchObject({
      kind: 'http',
      message: expect.stringContaining('answered HTTP 503 (Service Unavailable) for query `up`'),
    });
  });

  it('a slow answer times out with the configured timeout in the message', async () => {
    fake = await startFakePrometheus(() => ({ delayMs: 3000, then: 1 }));
    const error = await queryScalar({ url: fake.url, timeoutSeconds: 0.1 }, 'up').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrometheusQueryError);
    expect((error as PrometheusQueryError).kind).toBe('timeout');
    expect((error as PrometheusQueryError).message).toContain('timed out after 0.1s for query `up`');
  });

  it('a refused connection says so and names the URL', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const part = await createPrometheusSource().observe(NOW, 60, specFor(url));
    expect(part.requests).toBeUndefined();
    expect(part.errors?.requests).toContain(`prometheus ${url}/api/v1/query refused the connection (ECONNREFUSED`);
    // Every query fails the same way; a refused connection is an error even for the optional ones.
    expect(Object.keys(part.errors ?? {})).toHaveLength(14);
  });

  it('no Prometheus configured: requests unknown, with the field to set', async () => {
    const part = await createPrometheusSource().observe(NOW, 60, testSpec({ policy: 'sla' }));
    expect(part.requests).toBeUndefined();
    expect(part.errors?.requests).toContain('spec.sources.prometheus.url');
  });

  it('no Prometheus configured for a policy that does not use the request rate (static): nothing read, no error', async () => {
    expect(await createPrometheusSource().observe(NOW, 60, testSpec())).toEqual({});
  });
});

describe("prometheus source: the caller's signal (the planner stopping, the tick given up)", () => {
  it('cuts off every query under way at once, not at the 10 s timeout: each field unknown, saying why; one listener on the signal', async () => {
    fake = await startFakePrometheus((q) => ({ delayMs: 30_000, then: dynamoAnswers(busy)(q) }));
    const stop = new AbortController();
    const added = vi.spyOn(stop.signal, 'addEventListener');
    const warnings: Error[] = [];
    const onWarning = (w: Error) => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const reading = createPrometheusSource({ signal: () => stop.signal }).observe(NOW, 60, specFor(fake.url, { timeout: '10s' }));
      // Every query has reached the server and waits there.
      while (fake.received.length < 14) await new Promise((resolve) => setTimeout(resolve, 10));
      const started = performance.now();
      stop.abort(new Error('the planner is stopping (SIGTERM)'));
      const part = await reading;
      expect(performance.now() - started).toBeLessThan(2000);
      expect(part.requests).toBeUndefined();
      expect(Object.keys(part.errors ?? {})).toHaveLength(14);
      expect(part.errors?.requests).toBe(
        `prometheus ${fake.url}/api/v1/query query cut off: the planner is stopping (SIGTERM) for query \`sum(increase(dynamo_frontend_requests_total{model="llama",dynamo_namespace="prod"}[60s]))\``,
      );
      // The 14 queries share one listener on the caller's signal (an EventTarget warns past 10).
      expect(added).toHaveBeenCalledTimes(1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a signal already aborted: nothing is sent', async () => {
    fake = await startFakePrometheus(dynamoAnswers(busy));
    const stop = new AbortController();
    stop.abort(new Error('the tick timed out after 30s (per-policy timeout)'));
    await expect(queryScalar({ url: fake.url, timeoutSeconds: 2, signal: stop.signal }, 'up')).rejects.toMatchObject({
      kind: 'aborted',
      message: `prometheus ${fake.url}/api/v1/query not queried: the tick timed out after 30s (per-policy timeout) for query \`up\``,
    });
    expect(fake.received).toEqual([]);
  });

  it('ends a Retry-After wait at once', async () => {
    fake = await startFakePrometheus(() => ({ status: 429, body: 'slow down', headers: { 'retry-after': '4' } }));
    const stop = new AbortController();
    const started = performance.now();
    setTimeout(() => stop.abort(new Error('the planner is stopping (SIGTERM)')), 200);
    await expect(queryScalar({ url: fake.url, timeoutSeconds: 10, signal: stop.signal }, 'up')).rejects.toMatchObject({ kind: 'aborted' });
    // The wait asked for is 4 s; it ended with the signal.
    expect(performance.now() - started).toBeLessThan(2000);
    expect(fake.received).toHaveLength(1);
  });
});

describe('prometheus source: query overrides', () => {
  it('replaces $window, $labels and $quantile in overridden queries', async () => {
    fake = await startFakePrometheus((q) => (q.startsWith('sum(rate(my_requests') ? 12 : q.startsWith('my_ttft_q') ? 0.2 : dynamoAnswers(busy)(q)));
    const spec = specFor(fake.url, {
      queries: {
        requests: 'sum(rate(my_requests{$labels,route="chat"}[$window])) * 60',
        ttftPercentile: 'my_ttft_q{q="$quantile",$labels}',
      },
    });
    const part = await createPrometheusSource().observe(NOW, 300, spec);
    const queries = fake.received.map((r) => r.query);
    expect(queries).toContain('sum(rate(my_requests{model="llama",dynamo_namespace="prod",route="chat"}[300s])) * 60');
    expect(queries).toContain('my_ttft_q{q="0.95",model="llama",dynamo_namespace="prod"}');
    expect(part.requests).toBe(12);
    expect(part.ttftMs?.p95).toBeCloseTo(200, 9);
    // Not overridden: the Dynamo default with the 300 s window.
    expect(queries).toContain(
      'histogram_quantile(0.95, sum by (le) (increase(dynamo_frontend_inter_token_latency_seconds_bucket{model="llama",dynamo_namespace="prod"}[300s])))',
    );
  });

  it('kvUsage is read only when a query is given', () => {
    const base = testSpec({}, { url: 'http://p:9090' });
    expect(planQueries(base.sources.prometheus!, 60, base.slo).some((p) => p.field === 'kvUsage')).toBe(false);
    const withKv = testSpec({}, { url: 'http://p:9090', queries: { kvUsage: 'avg(kv{$labels})' } });
    const kv = planQueries(withKv.sources.prometheus!, 60, withKv.slo).find((p) => p.field === 'kvUsage');
    expect(kv?.query).toBe('avg(kv{})');
  });

  it('no labels: `{$labels,le="1"}` still renders valid PromQL', () => {
    expect(renderQuery('x{$labels,le="1"}[$window]', { window: '60s', labels: '' })).toBe('x{le="1"}[60s]');
    expect(renderQuery(DEFAULT_QUERIES.requests!, { window: '60s', labels: '' })).toBe('sum(increase(dynamo_frontend_requests_total{}[60s]))');
  });

  it('escapes quotes and backslashes in label values', () => {
    expect(labelMatchers({ model: 'a"b\\c' })).toBe('model="a\\"b\\\\c"');
  });
});

describe('prometheus source: a throttled Prometheus (429/503 with Retry-After)', () => {
  /**
   * The source's clock, moved by the test only; a wait is recorded and ends at once (nothing sleeps for real, and the
   * 14 queries of a tick that wait at the same time do not add up their waits).
   */
  function fakeClock(start = NOW) {
    const clock = {
      t: start,
      waits: [] as number[],
      now: () => clock.t,
      sleep: async (ms: number) => {
        clock.waits.push(ms);
        await Promise.resolve();
      },
    };
    return clock;
  }
  const tooMany = (retryAfter?: string, headers: Record<string, string> = {}): FakeAnswer => ({
    status: 429,
    body: '{"status":"error","errorType":"too_many_requests","error":"query rate limit exceeded"}',
    headers: { ...(retryAfter !== undefined ? { 'retry-after': retryAfter } : {}), ...headers },
  });
  const isCount = (q: string) => q.includes('requests_total') && !q.includes('rate(');
  const REQUESTS_QUERY = 'sum(increase(dynamo_frontend_requests_total{model="llama",dynamo_namespace="prod"}[60s]))';

  it('a 429 with Retry-After: 1 inside the 2 s timeout is waited and the query sent once more: the count is read', async () => {
    let countAsked = 0;
    fake = await startFakePrometheus((q) => (isCount(q) && (countAsked += 1) === 1 ? tooMany('1') : dynamoAnswers(busy)(q)));
    const clock = fakeClock();
    const part = await createPrometheusSource({ now: clock.now, sleep: clock.sleep }).observe(NOW, 60, specFor(fake.url));
    expect(part.errors).toBeUndefined();
    expect(part.requests).toBe(720);
    expect(clock.waits).toEqual([1000]);
    expect(fake.received.filter((r) => r.query === REQUESTS_QUERY)).toHaveLength(2);
    // The retry asks for the same evaluation time.
    expect(new Set(fake.received.map((r) => r.time))).toEqual(new Set([(NOW / 1000).toFixed(3)]));
  });

  it('a throttled burst (every one of the 14 queries told to retry in 1 s) does not lose the tick', async () => {
    const asked = new Map<string, number>();
    fake = await startFakePrometheus((q) => {
      asked.set(q, (asked.get(q) ?? 0) + 1);
      return asked.get(q) === 1 ? tooMany('1') : dynamoAnswers(busy)(q);
    });
    const clock = fakeClock();
    const part = await createPrometheusSource({ now: clock.now, sleep: clock.sleep }).observe(NOW, 60, specFor(fake.url));
    expect(part.errors).toBeUndefined();
    expect(part.requests).toBe(720);
    expect(part.ttftMs?.p95).toBeCloseTo(610, 9);
    expect(fake.received).toHaveLength(28);
    expect(clock.waits).toEqual(new Array<number>(14).fill(1000));
  });

  it('a 429 with Retry-After: 120 leaves the count missing, and no query goes to that endpoint for 120 s', async () => {
    fake = await startFakePrometheus(() => tooMany('120'));
    const clock = fakeClock();
    const source = createPrometheusSource({ now: clock.now, sleep: clock.sleep });
    const first = await source.observe(NOW, 60, specFor(fake.url));
    expect(first.requests).toBeUndefined();
    expect(first.errors?.requests).toBe(
      `prometheus ${fake.url}/api/v1/query answered HTTP 429 (too_many_requests: query rate limit exceeded) and asked to retry after 120 s: ` +
        `not queried again before 2026-11-25T10:02:00.000Z; if it keeps asking, raise the query rate limit it applies to the planner or lengthen spec.interval ` +
        `for query \`${REQUESTS_QUERY}\``,
    );
    expect(Object.keys(first.errors ?? {})).toHaveLength(14);
    expect(clock.waits).toEqual([]);
    expect(fake.received).toHaveLength(14);

    // One interval later the server would answer, but the source does not ask it.
    fake.answer = dynamoAnswers(busy);
    clock.t = NOW + 60_000;
    const second = await source.observe(NOW + 60_000, 60, specFor(fake.url));
    expect(fake.received).toHaveLength(14);
    expect(second.requests).toBeUndefined();
    expect(second.errors?.requests).toBe(
      `prometheus ${fake.url}/api/v1/query asked to retry after 120 s (HTTP 429 at 2026-11-25T10:00:00.000Z): ` +
        `not queried before 2026-11-25T10:02:00.000Z, 60 s from now; if it keeps asking, raise the query rate limit it applies to the planner or lengthen spec.interval ` +
        `for query \`${REQUESTS_QUERY}\``,
    );
    // Every field, the optional ones too, is an error rather than quietly absent.
    expect(Object.keys(second.errors ?? {})).toHaveLength(14);

    clock.t = NOW + 119_999;
    await source.observe(NOW + 119_999, 60, specFor(fake.url));
    expect(fake.received).toHaveLength(14);

    // At 10:02:00 it is asked again.
    clock.t = NOW + 120_000;
    const third = await source.observe(NOW + 120_000, 60, specFor(fake.url));
    expect(fake.received).toHaveLength(28);
    expect(third.errors).toBeUndefined();
    expect(third.requests).toBe(720);
  });

  it('a clock stepped back during a backoff does not stretch it: the endpoint is asked again', async () => {
    fake = await startFakePrometheus(() => tooMany('120'));
    const clock = fakeClock();
    const source = createPrometheusSource({ now: clock.now, sleep: clock.sleep });
    await source.observe(NOW, 60, specFor(fake.url));
    expect(fake.received).toHaveLength(14);
    // An hour back (a VM resumed, NTP stepping): held until 10:02, that would be 62 minutes without a count.
    fake.answer = dynamoAnswers(busy);
    clock.t = NOW - 3_600_000 + 30_000;
    const part = await source.observe(clock.t, 60, specFor(fake.url));
    expect(fake.received).toHaveLength(28);
    expect(part.errors).toBeUndefined();
    expect(part.requests).toBe(720);
  });

  it('the backoff is per endpoint: another URL is queried at once', async () => {
    fake = await startFakePrometheus(() => tooMany('120'));
    const other = await startFakePrometheus(dynamoAnswers(busy));
    try {
      const clock = fakeClock();
      const source = createPrometheusSource({ now: clock.now, sleep: clock.sleep });
      await source.observe(NOW, 60, specFor(fake.url));
      clock.t += 60_000;
      const reloaded = await source.observe(clock.t, 60, specFor(other.url));
      expect(reloaded.requests).toBe(720);
      expect(other.received).toHaveLength(14);
    } finally {
      await other.close();
    }
  });

  it('two tenants on one URL (other credentials): the one throttled backs off, the other is still queried', async () => {
    // A gateway in front of a shared Prometheus (Mimir, Cortex) limits each tenant: it throttles tenant A only.
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    fake = await startFakePrometheus((q, from) => (from.authorization === basic('tenant-a', 'secret-a') ? tooMany('120') : dynamoAnswers(busy)(q)));
    const as = (user: string, password: string) => fake!.url.replace('http://', `http://${user}:${password}@`);
    const clock = fakeClock();
    const source = createPrometheusSource({ now: clock.now, sleep: clock.sleep });
    const a = await source.observe(NOW, 60, specFor(as('tenant-a', 'secret-a')));
    expect(a.requests).toBeUndefined();
    expect(a.errors?.requests).toBe(
      `prometheus ${fake.url}/api/v1/query answered HTTP 429 (too_many_requests: query rate limit exceeded) and asked to retry after 120 s: ` +
        `not queried again before 2026-11-25T10:02:00.000Z; if it keeps asking, raise the query rate limit it applies to the planner or lengthen spec.interval for query \`${REQUESTS_QUERY}\``,
    );
    // Tenant B, same URL, same tick: asked, and answered.
    const b = await source.observe(NOW, 60, specFor(as('tenant-b', 'secret-b')));
    expect(b.errors).toBeUndefined();
    expect(b.requests).toBe(720);
    expect(fake.received.filter((r) => r.authorization === basic('tenant-b', 'secret-b'))).toHaveLength(14);
    // So is a policy on that URL without credentials.
    const anonymous = await source.observe(NOW, 60, specFor(fake.url));
    expect(anonymous.requests).toBe(720);
    expect(fake.received).toHaveLength(42);

    // A minute on: tenant A is still held (nothing sent), tenant B is queried as every tick.
    clock.t = NOW + 60_000;
    const heldA = await source.observe(clock.t, 60, specFor(as('tenant-a', 'secret-a')));
    expect(heldA.errors?.requests).toContain(`prometheus ${fake.url}/api/v1/query asked to retry after 120 s (HTTP 429 at 2026-11-25T10:00:00.000Z)`);
    expect(fake.received).toHaveLength(42);
    expect((await source.observe(clock.t, 60, specFor(as('tenant-b', 'secret-b')))).requests).toBe(720);
    expect(fake.received).toHaveLength(56);
    // No message carries a credential, plain or encoded.
    for (const part of [a, heldA]) {
      for (const secret of ['secret-a', 'tenant-a', basic('tenant-a', 'secret-a'), Buffer.from('tenant-a:secret-a').toString('base64')]) {
        expect(JSON.stringify(part.errors)).not.toContain(secret);
      }
    }
  });

  it('the same tenant reloaded (same URL and credentials, another label filter and timeout) keeps its backoff', async () => {
    fake = await startFakePrometheus(() => tooMany('120'));
    const url = fake.url.replace('http://', 'http://reader:s3cret@');
    const clock = fakeClock();
    const source = createPrometheusSource({ now: clock.now, sleep: clock.sleep });
    await source.observe(NOW, 60, specFor(url));
    expect(fake.received).toHaveLength(14);
    fake.answer = dynamoAnswers(busy);
    clock.t = NOW + 60_000;
    const reloaded = await source.observe(clock.t, 60, specFor(url, { timeout: '5s', labels: { model: 'llama' } }));
    expect(fake.received).toHaveLength(14);
    expect(reloaded.errors?.requests).toMatch(new RegExp(`^prometheus ${fake.url}/api/v1/query asked to retry after 120 s .*not queried before 2026-11-25T10:02:00.000Z, 60 s from now`));
    expect(JSON.stringify(reloaded.errors)).not.toContain('s3cret');
    // Other credentials on that URL are another tenant: queried.
    const other = await source.observe(clock.t, 60, specFor(fake.url.replace('http://', 'http://reader:other@')));
    expect(other.requests).toBe(720);
  });

  it('a Retry-After as an HTTP date is measured from the answer\'s Date header', async () => {
    // The server's clock says 10:00:00 and asks for 10:02:00; the planner's clock runs 30 s ahead.
    fake = await startFakePrometheus(() => tooMany('Wed, 25 Nov 2026 10:02:00 GMT', { date: 'Wed, 25 Nov 2026 10:00:00 GMT' }));
    const clock = fakeClock(NOW + 30_000);
    const source = createPrometheusSource({ now: clock.now, sleep: clock.sleep });
    const part = await source.observe(NOW, 60, specFor(fake.url));
    expect(part.errors?.requests).toContain('and asked to retry after 120 s: not queried again before 2026-11-25T10:02:30.000Z');
    clock.t = NOW + 149_000;
    await source.observe(clock.t, 60, specFor(fake.url));
    expect(fake.received).toHaveLength(14);
  });

  it('an HTTP date without a Date header is measured from the source\'s clock; a near one is waited', async () => {
    let countAsked = 0;
    fake = await startFakePrometheus((q) => (isCount(q) && (countAsked += 1) === 1 ? tooMany('Wed, 25 Nov 2026 10:00:01 GMT') : dynamoAnswers(busy)(q)));
    const clock = fakeClock();
    const part = await createPrometheusSource({ now: clock.now, sleep: clock.sleep }).observe(NOW, 60, specFor(fake.url));
    expect(part.requests).toBe(720);
    expect(clock.waits).toEqual([1000]);
  });

  for (const junk of ['soon', '-5', 'NaN', '1.5', '99999999999999999999', 'Sat, 31 Feb 2026 10:00:00 GMT']) {
    it(`a junk Retry-After (${JSON.stringify(junk)}) counts as none: no wait, no backoff, the next tick asks again`, async () => {
      fake = await startFakePrometheus((q) => (isCount(q) ? tooMany(junk) : dynamoAnswers(busy)(q)));
      const clock = fakeClock();
      const source = createPrometheusSource({ now: clock.now, sleep: clock.sleep });
      const part = await source.observe(NOW, 60, specFor(fake.url));
      expect(part.requests).toBeUndefined();
      expect(part.errors?.requests).toBe(
        `prometheus ${fake.url}/api/v1/query answered HTTP 429 (too_many_requests: query rate limit exceeded) ` +
          `(its Retry-After ${JSON.stringify(junk)} is neither a number of seconds nor an HTTP date: ignored) for query \`${REQUESTS_QUERY}\``,
      );
      expect(clock.waits).toEqual([]);
      expect(fake.received).toHaveLength(14);
      clock.t += 1000;
      await source.observe(clock.t, 60, specFor(fake.url));
      expect(fake.received).toHaveLength(28);
    });
  }

  it('a 503 without Retry-After is an HTTP error as any other: no wait, the next tick asks again', async () => {
    fake = await startFakePrometheus((q) => (isCount(q) ? { status: 503, body: 'Service Unavailable' } : dynamoAnswers(busy)(q)));
    const clock = fakeClock();
    const source = createPrometheusSource({ now: clock.now, sleep: clock.sleep });
    const part = await source.observe(NOW, 60, specFor(fake.url));
    expect(part.requests).toBeUndefined();
    expect(part.errors?.requests).toBe(`prometheus ${fake.url}/api/v1/query answered HTTP 503 (Service Unavailable) for query \`${REQUESTS_QUERY}\``);
    expect(part.isl).toBe(3000);
    await source.observe(NOW, 60, specFor(fake.url));
    expect(fake.received).toHaveLength(28);
    expect(clock.waits).toEqual([]);
  });

  it('a 503 with Retry-After backs off like a 429; a 500 with one does not (only 429 and 503 are throttling)', async () => {
    fake = await startFakePrometheus(() => ({ status: 503, body: 'overloaded', headers: { 'retry-after': '30' } }));
    const clock = fakeClock();
    const source = createPrometheusSource({ now: clock.now, sleep: clock.sleep });
    const part = await source.observe(NOW, 60, specFor(fake.url));
    expect(part.errors?.requests).toContain('answered HTTP 503 (overloaded) and asked to retry after 30 s: not queried again before 2026-11-25T10:00:30.000Z');
    await source.observe(NOW, 60, specFor(fake.url));
    expect(fake.received).toHaveLength(14);

    fake.answer = () => ({ status: 500, body: 'boom', headers: { 'retry-after': '30' } });
    clock.t = NOW + 30_000;
    await source.observe(clock.t, 60, specFor(fake.url));
    const again = await source.observe(clock.t, 60, specFor(fake.url));
    expect(again.errors?.requests).toContain('answered HTTP 500 (boom) for query');
    expect(fake.received).toHaveLength(42);
  });

  it('a second throttled answer after the wait gives up and backs off for what it asks', async () => {
    fake = await startFakePrometheus((q) => (isCount(q) ? tooMany('1') : dynamoAnswers(busy)(q)));
    const clock = fakeClock();
    const source = createPrometheusSource({ now: clock.now, sleep: clock.sleep });
    const part = await source.observe(NOW, 60, specFor(fake.url));
    expect(part.requests).toBeUndefined();
    expect(part.errors?.requests).toContain(
      'answered HTTP 429 (too_many_requests: query rate limit exceeded) again after the wait it asked for, and asked to retry after 1 s: ' +
        'not queried again before 2026-11-25T10:00:01.000Z',
    );
    expect(clock.waits).toEqual([1000]);
    expect(fake.received.filter((r) => r.query === REQUESTS_QUERY)).toHaveLength(2);
    expect(part.isl).toBe(3000);
  });

  it('a short Retry-After that does not fit in the query timeout is not waited', async () => {
    fake = await startFakePrometheus((q) => (isCount(q) ? tooMany('3') : dynamoAnswers(busy)(q)));
    const clock = fakeClock();
    const source = createPrometheusSource({ now: clock.now, sleep: clock.sleep });
    const part = await source.observe(NOW, 60, specFor(fake.url));
    expect(part.errors?.requests).toContain(
      'and asked to retry after 3 s, more than the 2s query timeout (spec.sources.prometheus.timeout) leaves to wait: not queried again before 2026-11-25T10:00:03.000Z',
    );
    expect(clock.waits).toEqual([]);
    // With a 10 s timeout the same answer is waited (3 <= the 5 s cap, and 3 < 10).
    let countAsked = 0;
    const patient = await startFakePrometheus((q) => (isCount(q) && (countAsked += 1) === 1 ? tooMany('3') : dynamoAnswers(busy)(q)));
    try {
      const read = await source.observe(NOW, 60, specFor(patient.url, { timeout: '10s' }));
      expect(read.requests).toBe(720);
      expect(clock.waits).toEqual([3000]);
    } finally {
      await patient.close();
    }
  });

  it('what is left of the timeout is measured on the monotonic clock: a wall clock stepped during the query does not change it', async () => {
    let countAsked = 0;
    fake = await startFakePrometheus((q) => (isCount(q) && (countAsked += 1) === 1 ? tooMany('1') : dynamoAnswers(busy)(q)));
    const clock = fakeClock();
    // The wall clock leaps 1.5 s ahead (an NTP step) as the throttled answer comes: 1 s still fits in the 2 s timeout.
    const stepping = () => (countAsked > 0 ? clock.t + 1500 : clock.t);
    const part = await createPrometheusSource({ now: stepping, sleep: clock.sleep }).observe(NOW, 60, specFor(fake.url));
    expect(part.errors).toBeUndefined();
    expect(part.requests).toBe(720);
    expect(clock.waits).toEqual([1000]);
  });

  it('a Retry-After over the cap is honoured for 300 s only ("retry in a year" does not silence the planner for a year)', async () => {
    fake = await startFakePrometheus(() => tooMany('31536000'));
    const clock = fakeClock();
    const source = createPrometheusSource({ now: clock.now, sleep: clock.sleep });
    const part = await source.observe(NOW, 60, specFor(fake.url));
    expect(part.errors?.requests).toContain('and asked to retry after 31536000 s (honoured up to 300 s): not queried again before 2026-11-25T10:05:00.000Z');
    clock.t = NOW + 299_000;
    const held = await source.observe(clock.t, 60, specFor(fake.url));
    expect(held.errors?.requests).toContain('asked to retry after 31536000 s (honoured up to 300 s) (HTTP 429 at 2026-11-25T10:00:00.000Z): not queried before 2026-11-25T10:05:00.000Z, 1 s from now');
    expect(fake.received).toHaveLength(14);
    clock.t = NOW + 300_000;
    fake.answer = dynamoAnswers(busy);
    expect((await source.observe(clock.t, 60, specFor(fake.url))).requests).toBe(720);
  });

  it('the wait runs on a real timer by default (Retry-After: 0 is retried at once) and never outlasts the query timeout', async () => {
    let asked = 0;
    fake = await startFakePrometheus(() => ((asked += 1) === 1 ? tooMany('0') : 42));
    expect(await queryScalar({ url: fake.url, timeoutSeconds: 2 }, 'up')).toBe(42);
    expect(asked).toBe(2);

    // A wait that has not ended when the timeout fires is cut short by it: the query times out as any slow one.
    fake.answer = () => tooMany('1');
    const stuck = (_ms: number, signal: AbortSignal) => new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    const error = await queryScalar({ url: fake.url, timeoutSeconds: 1.5, now: () => NOW, sleep: stuck }, 'up').catch((e: unknown) => e);
    expect((error as PrometheusQueryError).kind).toBe('timeout');
    expect((error as PrometheusQueryError).message).toContain('timed out after 1.5s for query `up`');
  });
});
