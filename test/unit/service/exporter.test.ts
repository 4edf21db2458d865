import { afterEach, describe, expect, it } from 'vitest';
import { createPlannerMetrics, decisionReason } from '../../../src/service/exporter.js';
import { startMetricsServer, type MetricsServer } from '../../../src/service/http-server.js';
import type { Decision, Observation } from '../../../src/planner/types.js';
import { testSpec } from '../sources/spec-fixture.js';

function decision(prefill: number, decode: number, opts: { held?: boolean; current?: [number, number] } = {}): Decision {
  return {
    time: '2026-11-25T10:00:00Z',
    pools: {
      'prefill-od': { desired: prefill, role: 'prefill', capacity: 'on-demand', gpus: prefill * 4, boundBy: [], current: opts.current?.[0] },
      'decode-spot': { desired: decode, role: 'decode', capacity: 'spot', gpus: decode * 4, boundBy: [], current: opts.current?.[1] },
    },
    explanation: {
      policy: 'sla',
      held: opts.held ?? false,
      forecast: {
        requests: { value: 720, method: 'holt' },
        isl: { value: 3000, method: 'holt' },
        osl: { value: 150, method: 'holt' },
      },
      correction: { pCf: 1.25, dCf: 0.8 },
      need: {},
      constraints: [],
      budget: { maxGpus: 64, usedGpus: (prefill + decode) * 4, shortfallGpus: 0 },
      warnings: [],
      missing: {},
    },
  };
}

const observation: Observation = {
  time: '2026-11-25T10:00:00Z',
  requests: 720,
  ttftMs: { mean: 420, p95: 610 },
  itlMs: { mean: 31, p95: 44 },
  errors: { queueDepth: 'nats down' },
};

/** One sample line's value from the text exposition, by exact series. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('decisionReason', () => {
  it('held, scaled or unchanged', () => {
    expect(decisionReason(decision(2, 4, { held: true, current: [2, 4] }))).toBe('held');
    expect(decisionReason(decision(3, 4, { current: [2, 4] }))).toBe('scaled');
    expect(decisionReason(decision(2, 4, { current: [2, 4] }))).toBe('unchanged');
    // Current unknown on the decision: taken from the observation; still unknown counts as scaled.
    expect(decisionReason(decision(2, 4), { time: 'x', pools: { 'prefill-od': { desired: 2 }, 'decode-spot': { desired: 4 } } })).toBe('unchanged');
    expect(decisionReason(decision(2, 4))).toBe('scaled');
  });
});

describe('planner metrics', () => {
  it('exports one tick with every series the dashboard reads', async () => {
    const metrics = createPlannerMetrics({ defaultMetrics: false });
    const spec = testSpec({ budget: { maxGpus: 64 } });
    metrics.recordTick({ spec, decision: decision(3, 5, { current: [2, 5] }), observation, applyErrors: 1, durationSeconds: 0.3 });
    metrics.setLeader(true);
    const text = await metrics.registry.metrics();
    expect(sample(text, 'pd_planner_desired_replicas{pool="prefill-od",role="prefill",capacity="on-demand"}')).toBe(3);
    expect(sample(text, 'pd_planner_desired_replicas{pool="decode-spot",role="decode",capacity="spot"}')).toBe(5);
    expect(sample(text, 'pd_planner_current_replicas{pool="prefill-od"}')).toBe(2);
    expect(sample(text, 'pd_planner_forecast{series="requests"}')).toBe(720);
    expect(sample(text, 'pd_planner_forecast{series="osl"}')).toBe(150);
    expect(sample(text, 'pd_planner_observed_latency_ms{metric="ttft",quantile="p95"}')).toBe(610);
    expect(sample(text, 'pd_planner_observed_latency_ms{metric="itl",quantile="mean"}')).toBe(31);
    expect(sample(text, 'pd_planner_slo_target_ms{metric="ttft"}')).toBe(800);
    expect(sample(text, 'pd_planner_slo_target_ms{metric="itl"}')).toBe(60);
    expect(sample(text, 'pd_planner_correction_factor{role="prefill"}')).toBe(1.25);
    expect(sample(text, 'pd_planner_correction_factor{role="decode"}')).toBe(0.8);
    // (3 + 5) x 4 GPUs = 32 of 64.
    expect(sample(text, 'pd_planner_budget_gpus{kind="used"}')).toBe(32);
    expect(sample(text, 'pd_planner_budget_gpus{kind="max"}')).toBe(64);
    expect(sample(text, 'pd_planner_decisions_total{reason="scaled"}')).toBe(1);
    expect(sample(text, 'pd_planner_decisions_total{reason="held"}')).toBe(0);
    expect(sample(text, 'pd_planner_errors_total{reason="metrics"}')).toBe(1);
    expect(sample(text, 'pd_planner_errors_total{reason="apply"}')).toBe(1);
    expect(sample(text, 'pd_planner_tick_duration_seconds_count')).toBe(1);
    expect(sample(text, 'pd_planner_tick_duration_seconds_bucket{le="0.5"}')).toBe(1);
    expect(sample(text, 'pd_planner_tick_duration_seconds_bucket{le="0.25"}')).toBe(0);
    expect(sample(text, 'pd_planner_leader')).toBe(1);
  });

  it('exports the decision\'s GPUs by what asked for them, adding up to the GPUs used', async () => {
    const metrics = createPlannerMetrics({ defaultMetrics: false });
    const spec = testSpec({
      pools: [
        { name: 'prefill-od', role: 'prefill', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 8 },
        { name: 'decode-spot', role: 'decode', capacity: 'spot', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 8 },
      ],
    });
    // prefill: bare need 2, asked 3; decode: need 4, +1 eviction spare; the scale-down window keeps prefill at 4.
    const d = decision(4, 5);
    d.explanation.need = { prefill: { replicas: 3, detail: { bareReplicas: 2 } }, decode: { replicas: 4, detail: {} } };
    d.explanation.constraints = [
      { constraint: 'eviction-headroom', role: 'decode', from: 4, to: 5, detail: '' },
      { constraint: 'stabilization', pool: 'prefill-od', role: 'prefill', from: 3, to: 4, detail: '' },
    ];
    metrics.recordTick({ spec, decision: d, observation, applyErrors: 0, durationSeconds: 0.1 });
    const text = await metrics.registry.metrics();
    const layer = (name: string) => sample(text, `pd_planner_desired_gpus_by_layer{layer="${name}"}`);
    expect(layer('need')).toBe(24);
    expect(layer('margins')).toBe(4);
    expect(layer('evictionSpare')).toBe(4);
    expect(layer('stabilization')).toBe(4);
    expect(layer('other')).toBe(0);
    expect(layer('start')).toBeUndefined();
    expect(sample(text, 'pd_planner_budget_gpus{kind="used"}')).toBe(36);
  });

  it('drops series that the next tick no longer has', async () => {
    const metrics = createPlannerMetrics({ defaultMetrics: false });
    const spec = testSpec();
    metrics.recordTick({ spec, decision: decision(3, 5), observation, applyErrors: 0, durationSeconds: 0.1 });
    const only = decision(3, 5);
    delete only.pools['decode-spot'];
    // No budget in this policy or explanation: no "max" series.
    delete only.explanation.budget;
    metrics.recordTick({ spec, decision: only, observation: { time: 'x', requests: 0 }, applyErrors: 0, durationSeconds: 0.1 });
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('pool="decode-spot"');
    expect(text).not.toContain('pd_planner_observed_latency_ms{');
    expect(sample(text, 'pd_planner_budget_gpus{kind="max"}')).toBeUndefined();
  });

  it('serves /metrics, /healthz and /readyz with the probe verdicts', async () => {
    const metrics = createPlannerMetrics();
    let ready = { ok: false, detail: '3 failed ticks in a row (threshold 3): prometheus down' };
    server = await startMetricsServer({ port: 0, host: '127.0.0.1', metrics, health: () => ({ ok: true, detail: 'loop alive' }), ready: () => ready });
    const base = `http://127.0.0.1:${server.port}`;
    const m = await fetch(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toContain('text/plain');
    const body = await m.text();
    expect(body).toContain('# TYPE pd_planner_tick_duration_seconds histogram');
    expect(body).toContain('pd_planner_process_');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe('not ok: 3 failed ticks in a row (threshold 3): prometheus down\n');
    ready = { ok: true, detail: 'last tick ok' };
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
