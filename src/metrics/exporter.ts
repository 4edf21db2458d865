/**
 * The planner's own metrics (prom-client, its own Registry so embedding code keeps its default one clean)
 * and the HTTP server for /metrics, /healthz and /readyz.
 *
 * Gauges are reset before each tick's values are set, so a pool removed by a policy reload, or a latency that
 * was not observed this tick, disappears instead of showing a stale number.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PolicySpec } from '../config/schema.js';
import type { Decision, Observation } from '../planner/types.js';

export type DecisionReason = 'scaled' | 'unchanged' | 'held';

/** Bounded set of error reasons (labels must not grow with error text). */
export type ErrorReason = 'metrics' | 'apply' | 'tick' | 'policy-reload' | 'lease';

/**
 * held: the core kept the last counts (missing metrics); scaled: some pool's desired differs from what the
 * cluster had (or what it had is unknown, e.g. the first tick); unchanged: every pool already at its desired.
 * Example: prefill 2 -> 3, decode 4 -> 4 gives "scaled".
 */
export function decisionReason(decision: Decision, observation?: Observation): DecisionReason {
  if (decision.explanation.held) return 'held';
  for (const [pool, d] of Object.entries(decision.pools)) {
    const current = d.current ?? observation?.pools?.[pool]?.desired;
    if (current === undefined || current !== d.desired) return 'scaled';
  }
  return 'unchanged';
}

export interface TickRecord {
  spec: PolicySpec;
  decision: Decision;
  observation: Observation;
  /** Connector errors per pool. */
  applyErrors: number;
  durationSeconds: number;
}

export interface PlannerMetrics {
  registry: Registry;
  recordTick(tick: TickRecord): void;
  /** A tick that threw before it produced a decision. */
  recordFailedTick(durationSeconds: number): void;
  recordError(reason: ErrorReason, count?: number): void;
  setLeader(leader: boolean): void;
}

export function createPlannerMetrics(options: { defaultMetrics?: boolean } = {}): PlannerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'pd_planner_process_' });
  const registers = [registry];
  const desired = new Gauge({ name: 'pd_planner_desired_replicas', help: 'Replicas the planner decided per pool', labelNames: ['pool', 'role', 'capacity'], registers });
  const current = new Gauge({ name: 'pd_planner_current_replicas', help: 'Replicas the cluster had (spec) when the planner decided', labelNames: ['pool'], registers });
  const forecast = new Gauge({ name: 'pd_planner_forecast', help: 'Forecast for the next interval: requests (count), isl and osl (tokens)', labelNames: ['series'], registers });
  const latency = new Gauge({ name: 'pd_planner_observed_latency_ms', help: 'Observed TTFT/ITL over the last window (ms)', labelNames: ['metric', 'quantile'], registers });
  const slo = new Gauge({ name: 'pd_planner_slo_target_ms', help: 'SLO target (ms) from the policy', labelNames: ['metric'], registers });
  const correction = new Gauge({ name: 'pd_planner_correction_factor', help: 'Observed/profiled latency correction factor', labelNames: ['role'], registers });
  const budget = new Gauge({ name: 'pd_planner_budget_gpus', help: 'GPUs used by the decision and the budget maximum', labelNames: ['kind'], registers });
  const decisions = new Counter({ name: 'pd_planner_decisions_total', help: 'Decisions by outcome', labelNames: ['reason'], registers });
  const errors = new Counter({ name: 'pd_planner_errors_total', help: 'Errors by kind: metrics, apply, tick, policy-reload, lease', labelNames: ['reason'], registers });
  const duration = new Histogram({
    name: 'pd_planner_tick_duration_seconds',
    help: 'Wall time of one observe-decide-apply tick',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const leader = new Gauge({ name: 'pd_planner_leader', help: '1 while this replica holds the Lease (or runs without election)', registers });
  // Counters show 0 from the start, so rate() works before the first event.
  for (const reason of ['scaled', 'unchanged', 'held'] as const) decisions.inc({ reason }, 0);
  for (const reason of ['metrics', 'apply', 'tick', 'policy-reload', 'lease'] as const) errors.inc({ reason }, 0);

  return {
    registry,
    recordTick({ spec, decision, observation, applyErrors, durationSeconds }) {
      duration.observe(durationSeconds);
      decisions.inc({ reason: decisionReason(decision, observation) });
      const observationErrors = Object.keys(observation.errors ?? {}).length;
      if (observationErrors > 0) errors.inc({ reason: 'metrics' }, observationErrors);
      if (applyErrors > 0) errors.inc({ reason: 'apply' }, applyErrors);

      desired.reset();
      current.reset();
      for (const [pool, d] of Object.entries(decision.pools)) {
        desired.set({ pool, role: d.role, capacity: d.capacity }, d.desired);
        const had = d.current ?? observation.pools?.[pool]?.desired;
        if (had !== undefined) current.set({ pool }, had);
      }
      forecast.reset();
      const f = decision.explanation.forecast;
      if (f) {
        forecast.set({ series: 'requests' }, f.requests.value);
        forecast.set({ series: 'isl' }, f.isl.value);
        forecast.set({ series: 'osl' }, f.osl.value);
      }
      latency.reset();
      for (const [metric, summary] of [['ttft', observation.ttftMs], ['itl', observation.itlMs]] as const) {
        for (const [quantile, value] of Object.entries(summary ?? {})) {
          if (typeof value === 'number' && Number.isFinite(value)) latency.set({ metric, quantile }, value);
        }
      }
      slo.set({ metric: 'ttft' }, spec.slo.ttft.ms);
      slo.set({ metric: 'itl' }, spec.slo.itl.ms);
      const cf = decision.explanation.correction;
      if (cf) {
        correction.set({ role: 'prefill' }, cf.pCf);
        correction.set({ role: 'decode' }, cf.dCf);
      }
      budget.reset();
      const used = decision.explanation.budget?.usedGpus ?? Object.values(decision.pools).reduce((sum, d) => sum + d.gpus, 0);
      budget.set({ kind: 'used' }, used);
      const max = decision.explanation.budget?.maxGpus ?? spec.budget.maxGpus;
      if (max !== undefined) budget.set({ kind: 'max' }, max);
    },
    recordFailedTick(durationSeconds) {
      duration.observe(durationSeconds);
      errors.inc({ reason: 'tick' });
    },
    recordError(reason, count = 1) {
      errors.inc({ reason }, count);
    },
    setLeader(isLeader) {
      leader.set(isLeader ? 1 : 0);
    },
  };
}

export interface Probe {
  ok: boolean;
  detail: string;
}

export interface MetricsServerOptions {
  port: number;
  host?: string;
  metrics: PlannerMetrics;
  /** Process alive and the loop not stuck. */
  health: () => Probe;
  /** Ready to be trusted: fewer than spec.failureThreshold failed ticks in a row. */
  ready: () => Probe;
}

export interface MetricsServer {
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const probe = (p: Probe, res: import('node:http').ServerResponse) => {
    res.writeHead(p.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(`${p.ok ? 'ok' : 'not ok'}: ${p.detail}\n`);
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      options.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    } else if (path === '/healthz') probe(options.health(), res);
    else if (path === '/readyz') probe(options.ready(), res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
