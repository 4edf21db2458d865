/**
 * The Prometheus source against the real Prometheus binary scraping a tiny exporter that serves the Dynamo
 * frontend's metric names, once a second. Checks the default queries end to end: a busy window, then zero traffic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrometheusSource } from '../../src/sources/prometheus.js';
import {
  PROMETHEUS_BIN,
  requireBinaries,
  sleep,
  startFrontendExporter,
  startPrometheus,
  waitFor,
  type FrontendExporter,
  type PrometheusHandle,
} from '../fixtures/servers.js';
import { testSpec } from '../unit/sources/spec-fixture.js';

const labels = { model: 'llama', dynamo_namespace: 'prod' };

describe(`Prometheus source against the real prometheus at ${PROMETHEUS_BIN}`, () => {
  requireBinaries(PROMETHEUS_BIN);
  let exporter: FrontendExporter;
  let prometheus: PrometheusHandle;

  beforeAll(async () => {
    exporter = await startFrontendExporter(labels);
    prometheus = await startPrometheus([exporter.target], 1);
  });
  afterAll(async () => {
    await prometheus?.close();
    await exporter?.close();
  });

  const seriesCount = async (selector: string): Promise<number> => {
    const r = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(`count_over_time(${selector}[1m])`)}`);
    const body = (await r.json()) as { data: { result: { value: [number, string] }[] } };
    return Number(body.data.result[0]?.value[1] ?? 0);
  };

  it('reads a busy window, then a zero-traffic window as requests 0', async () => {
    const source = createPrometheusSource();
    const spec = testSpec({}, { url: prometheus.url, labels, timeout: '5s' });
    // The series exist (at 0) for a few scrapes before any traffic.
    await waitFor(async () => (await seriesCount('dynamo_frontend_requests_total')) >= 3, 20_000, 'three scrapes before traffic', 250);
    // 100 requests: TTFT 0.3 s, ITL 0.02 s, 4 s each, 3000 in / 150 out tokens.
    exporter.record(100, { ttft: 0.3, itl: 0.02, duration: 4, isl: 3000, osl: 150 });
    const before = await seriesCount('dynamo_frontend_requests_total');
    await waitFor(async () => (await seriesCount('dynamo_frontend_requests_total')) >= before + 3, 20_000, 'three scrapes after traffic', 250);

    const busy = await source.observe(Date.now(), 30, spec);
    expect(busy.errors).toBeUndefined();
    // increase() extrapolates to the window edges, so the count is 100 or a little more.
    expect(busy.requests).toBeGreaterThanOrEqual(100);
    expect(busy.requests).toBeLessThan(130);
    // Means are a ratio of two increases: the extrapolation cancels and they are exact.
    expect(busy.isl).toBeCloseTo(3000, 6);
    expect(busy.osl).toBeCloseTo(150, 6);
    expect(busy.requestDurationSeconds).toBeCloseTo(4, 6);
    expect(busy.ttftMs?.mean).toBeCloseTo(300, 6);
    expect(busy.itlMs?.mean).toBeCloseTo(20, 6);
    // All 100 TTFTs fall in the (0.25, 0.5] bucket: histogram_quantile interpolates linearly inside it,
    // p95 = 0.25 + 0.95 x 0.25 = 0.4875 s = 487.5 ms; p50 = 0.375 s.
    expect(busy.ttftMs?.p95).toBeCloseTo(487.5, 6);
    expect(busy.ttftMs?.p50).toBeCloseTo(375, 6);
    // ITL 0.02 s in (0.01, 0.025]: p99 = 0.01 + 0.99 x 0.015 = 0.02485 s.
    expect(busy.itlMs?.p99).toBeCloseTo(24.85, 6);

    // No traffic for a while: over a 3 s window the counter did not move.
    const idleFrom = await seriesCount('dynamo_frontend_requests_total');
    await waitFor(async () => (await seriesCount('dynamo_frontend_requests_total')) >= idleFrom + 5, 20_000, 'five idle scrapes', 250);
    await sleep(200);
    const idle = await source.observe(Date.now(), 3, spec);
    expect(idle.requests).toBe(0);
    expect(idle.errors).toBeUndefined();
    expect(idle.isl).toBeUndefined();
    expect(idle.ttftMs).toBeUndefined();

    // A label filter that matches nothing is an empty result, not zero traffic.
    const wrong = await source.observe(Date.now(), 30, testSpec({}, { url: prometheus.url, labels: { model: 'other' } }));
    expect(wrong.requests).toBeUndefined();
    expect(wrong.errors?.requests).toContain('empty result');
  }, 90_000);
});
