/**
 * The planner's own metrics (prom-client, its own Registry so embedding code keeps its default one clean); the
 * HTTP server that serves them is http-server.ts.
 *
 * Gauges are reset before each tick's values are set, so a pool removed by a policy reload, or a latency that
 * was not observed this tick, disappears instead of showing a stale number.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PolicySpec } from '../config/schema.js';
import type { Decision, Observation } from '../planner/types.js';

export type DecisionReason = 'scaled' | 'unchanged' | 'held';

/**
 * Bounded set of error reasons (labels must not grow with error text). `timeout`: a policy's tick did not finish
 * within the per-policy timeout; `skipped`: a policy was not ticked this round (its previous tick was still running,
 * or the round ran out of time before its turn).
 */
export type ErrorReason = 'metrics' | 'apply' | 'tick' | 'policy-reload' | 'lease' | 'timeout' | 'skipped';

const ERROR_REASONS: readonly ErrorReason[] = ['metrics', 'apply', 'tick', 'policy-reload', 'lease', 'timeout', 'skipped'];
const DECISION_REASONS: readonly DecisionReason[] = ['scaled', 'unchanged', 'held'];

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
  /** The policy (metadata.name) this tick belongs to; becomes the `policy` label when the metrics have one. */
  policy?: string;
}

export interface PlannerMetricsOptions {
  /** Node.js process metrics (default true). */
  defaultMetrics?: boolean;
  /**
   * Give every per-policy series a `policy` label (metadata.name): needed as soon as one process runs several
   * policies, whose pools may share names. Off (the default) keeps the single-policy series unchanged.
   */
  policyLabel?: boolean;
}

export interface PlannerMetrics {
  registry: Registry;
  recordTick(tick: TickRecord): void;
  /** A tick that threw (or timed out, or was skipped) before it produced a decision. */
  recordFailedTick(durationSeconds: number, policy?: string, reason?: 'tick' | 'timeout' | 'skipped'): void;
  recordError(reason: ErrorReason, count?: number, policy?: string): void;
  setLeader(leader: boolean): void;
  /**
   * One pass of the loop over every due policy. `overran`: it took longer than the loop interval (the next round
   * then starts at once; rounds never overlap).
   */
  recordRound(durationSeconds: number, overran: boolean): void;
  /** Policies loaded, and whether each is ready (fewer than its failureThreshold failed ticks in a row). */
  setPolicyReady(policy: string, ready: boolean): void;
  /** Drops every series of a policy that was removed (its file deleted). */
  forgetPolicy(policy: string): void;
}

type Labels = Record<string, string | number>;

export function createPlannerMetrics(options: PlannerMetricsOptions = {}): PlannerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'pd_planner_process_' });
  const registers = [registry];
  const byPolicy = options.policyLabel === true;
  const P = byPolicy ? ['policy'] : [];
  const desired = new Gauge({ name: 'pd_planner_desired_replicas', help: 'Replicas the planner decided per pool', labelNames: [...P, 'pool', 'role', 'capacity'], registers });
  const current = new Gauge({ name: 'pd_planner_current_replicas', help: 'Replicas the cluster had (spec) when the planner decided', labelNames: [...P, 'pool'], registers });
  const forecast = new Gauge({ name: 'pd_planner_forecast', help: 'Forecast for the next interval: requests (count), isl and osl (tokens)', labelNames: [...P, 'series'], registers });
  const latency = new Gauge({ name: 'pd_planner_observed_latency_ms', help: 'Observed TTFT/ITL over the last window (ms)', labelNames: [...P, 'metric', 'quantile'], registers });
  const slo = new Gauge({ name: 'pd_planner_slo_target_ms', help: 'SLO target (ms) from the policy', labelNames: [...P, 'metric'], registers });
  const correction = new Gauge({ name: 'pd_planner_correction_factor', help: 'Observed/profiled latency correction factor', labelNames: [...P, 'role'], registers });
  const budget = new Gauge({ name: 'pd_planner_budget_gpus', help: 'GPUs used by the decision and the budget maximum', labelNames: [...P, 'kind'], registers });
  const decisions = new Counter({ name: 'pd_planner_decisions_total', help: 'Decisions by outcome', labelNames: [...P, 'reason'], registers });
  const errors = new Counter({
    name: 'pd_planner_errors_total',
    help: 'Errors by kind: metrics, apply, tick, policy-reload, lease, timeout (a policy tick over its timeout), skipped (a policy not ticked this round)',
    labelNames: [...P, 'reason'],
    registers,
  });
  const duration = new Histogram({
    name: 'pd_planner_tick_duration_seconds',
    help: 'Wall time of one observe-decide-apply tick (of one policy)',
    labelNames: P,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const round = new Histogram({
    name: 'pd_planner_round_duration_seconds',
    help: 'Wall time of one pass of the loop over every due policy (bounded concurrency); must stay well under the interval',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const overruns = new Counter({ name: 'pd_planner_tick_overruns_total', help: 'Rounds that took longer than the loop interval (the next started late, never overlapping)', registers });
  const leader = new Gauge({ name: 'pd_planner_leader', help: '1 while this replica holds the Lease (or runs without election)', registers });
  const policies = byPolicy ? new Gauge({ name: 'pd_planner_policy_ready', help: '1 while the policy has fewer than its failureThreshold failed ticks in a row', labelNames: ['policy'], registers }) : undefined;
  // Counters show 0 from the start, so rate() works before the first event.
  const known = new Set<string>();
  const introduce = (policy: string | undefined) => {
    const key = byPolicy ? (policy ?? '') : '';
    if (known.has(key)) return;
    known.add(key);
    if (byPolicy && policy === undefined) {
      // Process-wide errors, not tied to one policy.
      for (const reason of ['lease', 'policy-reload'] as const) errors.inc({ reason }, 0);
      return;
    }
    const extra = byPolicy ? { policy } : {};
    for (const reason of DECISION_REASONS) decisions.inc({ ...extra, reason }, 0);
    for (const reason of ERROR_REASONS) if (!byPolicy || reason !== 'lease') errors.inc({ ...extra, reason }, 0);
  };
  introduce(undefined);

  /**
   * The label sets each policy set last time, per gauge, so one policy's tick replaces its own series and leaves the
   * other policies' alone (a pool removed by a reload, or a latency not observed this tick, disappears).
   * Without the policy label there is one key, and this is the same as resetting the gauge.
   */
  const series = new Map<string, Map<Gauge, Labels[]>>();
  const keyOf = (policy: string | undefined) => (byPolicy ? (policy ?? '') : '');
  const labelled = (policy: string | undefined, labels: Labels): Labels => (byPolicy && policy !== undefined ? { policy, ...labels } : labels);
  const clear = (policy: string | undefined, gauge: Gauge) => {
    const mine = series.get(keyOf(policy));
    for (const labels of mine?.get(gauge) ?? []) gauge.remove(labels);
    mine?.delete(gauge);
  };
  const set = (policy: string | undefined, gauge: Gauge, labels: Labels, value: number) => {
    const full = labelled(policy, labels);
    gauge.set(full, value);
    const key = keyOf(policy);
    let mine = series.get(key);
    if (!mine) series.set(key, (mine = new Map()));
    const list = mine.get(gauge) ?? [];
    if (!list.some((l) => sameLabels(l, full))) list.push(full);
    mine.set(gauge, list);
  };
  const policyOnly = (policy: string | undefined) => (byPolicy && policy !== undefined ? { policy } : {});

  return {
    registry,
    recordTick({ spec, decision, observation, applyErrors, durationSeconds, policy }) {
      introduce(policy);
      duration.observe(policyOnly(policy), durationSeconds);
      decisions.inc({ ...policyOnly(policy), reason: decisionReason(decision, observation) });
      const observationErrors = Object.keys(observation.errors ?? {}).length;
      if (observationErrors > 0) errors.inc({ ...policyOnly(policy), reason: 'metrics' }, observationErrors);
      if (applyErrors > 0) errors.inc({ ...policyOnly(policy), reason: 'apply' }, applyErrors);

      clear(policy, desired);
      clear(policy, current);
      for (const [pool, d] of Object.entries(decision.pools)) {
        set(policy, desired, { pool, role: d.role, capacity: d.capacity }, d.desired);
        const had = d.current ?? observation.pools?.[pool]?.desired;
        if (had !== undefined) set(policy, current, { pool }, had);
      }
      clear(policy, forecast);
      const f = decision.explanation.forecast;
      if (f) {
        set(policy, forecast, { series: 'requests' }, f.requests.value);
        set(policy, forecast, { series: 'isl' }, f.isl.value);
        set(policy, forecast, { series: 'osl' }, f.osl.value);
      }
      clear(policy, latency);
      for (const [metric, summary] of [['ttft', observation.ttftMs], ['itl', observation.itlMs]] as const) {
        for (const [quantile, value] of Object.entries(summary ?? {})) {
          if (typeof value === 'number' && Number.isFinite(value)) set(policy, latency, { metric, quantile }, value);
        }
      }
      set(policy, slo, { metric: 'ttft' }, spec.slo.ttft.ms);
      set(policy, slo, { metric: 'itl' }, spec.slo.itl.ms);
      // The correction factor keeps its last value on a tick that did not compute one.
      const cf = decision.explanation.correction;
      if (cf) {
        set(policy, correction, { role: 'prefill' }, cf.pCf);
        set(policy, correction, { role: 'decode' }, cf.dCf);
      }
      clear(policy, budget);
      const used = decision.explanation.budget?.usedGpus ?? Object.values(decision.pools).reduce((sum, d) => sum + d.gpus, 0);
      set(policy, budget, { kind: 'used' }, used);
      const max = decision.explanation.budget?.maxGpus ?? spec.budget.maxGpus;
      if (max !== undefined) set(policy, budget, { kind: 'max' }, max);
    },
    recordFailedTick(durationSeconds, policy, reason = 'tick') {
      introduce(policy);
      duration.observe(policyOnly(policy), durationSeconds);
      errors.inc({ ...policyOnly(policy), reason });
    },
    recordError(reason, count = 1, policy) {
      introduce(policy);
      errors.inc({ ...policyOnly(policy), reason }, count);
    },
    setLeader(isLeader) {
      leader.set(isLeader ? 1 : 0);
    },
    recordRound(durationSeconds, overran) {
      round.observe(durationSeconds);
      if (overran) overruns.inc();
    },
    setPolicyReady(policy, ready) {
      policies?.set({ policy }, ready ? 1 : 0);
    },
    forgetPolicy(policy) {
      if (!byPolicy) return;
      for (const [gauge, list] of series.get(policy) ?? []) for (const labels of list) gauge.remove(labels);
      series.delete(policy);
      for (const reason of DECISION_REASONS) decisions.remove({ policy, reason });
      for (const reason of ERROR_REASONS) errors.remove({ policy, reason });
      duration.remove({ policy });
      policies?.remove({ policy });
      known.delete(policy);
    },
  };
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
