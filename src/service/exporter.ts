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
import { decisionGpuLayers, GPU_LAYERS } from '../planner/gpu-layers.js';
import type { WriteAbandonedReason } from '../call-budget.js';

export type DecisionReason = 'scaled' | 'unchanged' | 'held';

/** Why a write under way was given up (PlannerMetrics.recordWriteAbandoned). */
export type { WriteAbandonedReason } from '../call-budget.js';

const WRITE_ABANDONED_REASONS: readonly WriteAbandonedReason[] = ['leadership-lost', 'tick-ended'];

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
   * A write given up while under way (a Kubernetes PATCH or a NATS KV put; the connectors' `onWriteAbandoned`):
   * `leadership-lost` (its term of leadership ended: a wait, a request not yet out, or one in flight), `tick-ended`
   * (its tick given up, out of time, or the planner stopping). Process-wide: no `policy` label.
   */
  recordWriteAbandoned(reason: WriteAbandonedReason): void;
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

/** Counters and gauges of one planner process; see PlannerMetrics for what each method records. */
class PlannerMetricsRegistry implements PlannerMetrics {
  readonly registry = new Registry();
  /** Per-policy series carry the `policy` label. */
  readonly #byPolicy: boolean;
  readonly #desired: Gauge;
  readonly #current: Gauge;
  readonly #forecast: Gauge;
  readonly #latency: Gauge;
  readonly #slo: Gauge;
  readonly #correction: Gauge;
  readonly #layers: Gauge;
  readonly #budget: Gauge;
  readonly #startup: Gauge;
  readonly #startupSamples: Gauge;
  readonly #decisions: Counter;
  readonly #errors: Counter;
  readonly #duration: Histogram;
  readonly #round: Histogram;
  readonly #overruns: Counter;
  readonly #leader: Gauge;
  readonly #abandoned: Counter;
  readonly #policies: Gauge | undefined;
  /** Policies (keys; '' without the label) whose counters have been introduced at 0. */
  readonly #known = new Set<string>();
  /**
   * The label sets each policy set last time, per gauge, so one policy's tick replaces its own series and leaves the
   * other policies' alone (a pool removed by a reload, or a latency not observed this tick, disappears).
   * Without the policy label there is one key, and this is the same as resetting the gauge.
   */
  readonly #series = new Map<string, Map<Gauge, Labels[]>>();

  constructor(options: PlannerMetricsOptions = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'pd_planner_process_' });
    this.#byPolicy = options.policyLabel === true;
    const P = this.#byPolicy ? ['policy'] : [];
    this.#desired = new Gauge({ name: 'pd_planner_desired_replicas', help: 'Replicas the planner decided per pool', labelNames: [...P, 'pool', 'role', 'capacity'], registers });
    this.#current = new Gauge({ name: 'pd_planner_current_replicas', help: 'Replicas the cluster had (spec) when the planner decided', labelNames: [...P, 'pool'], registers });
    this.#forecast = new Gauge({ name: 'pd_planner_forecast', help: 'Forecast for the next interval: requests (count), isl and osl (tokens)', labelNames: [...P, 'series'], registers });
    this.#latency = new Gauge({ name: 'pd_planner_observed_latency_ms', help: 'Observed TTFT/ITL over the last window (ms)', labelNames: [...P, 'metric', 'quantile'], registers });
    this.#slo = new Gauge({ name: 'pd_planner_slo_target_ms', help: 'SLO target (ms) from the policy', labelNames: [...P, 'metric'], registers });
    this.#correction = new Gauge({ name: 'pd_planner_correction_factor', help: 'Observed/profiled latency correction factor', labelNames: [...P, 'role'], registers });
    this.#layers = new Gauge({
      name: 'pd_planner_desired_gpus_by_layer',
      help: 'GPUs of the decision by what asked for them: need, margins, evictionSpare, minimums, stabilization, stepLimits, readinessGate, caps, scaleToZero, held, other (they add up to the desired GPUs)',
      labelNames: [...P, 'layer'],
      registers,
    });
    this.#budget = new Gauge({ name: 'pd_planner_budget_gpus', help: 'GPUs used by the decision and the budget maximum', labelNames: [...P, 'kind'], registers });
    this.#startup = new Gauge({ name: 'pd_planner_startup_seconds', help: 'Startup time planned with per pool: the p90 of measured pod startups (creation to Ready), the policy\'s startupSeconds until some are seen', labelNames: [...P, 'pool'], registers });
    this.#startupSamples = new Gauge({ name: 'pd_planner_startup_samples', help: 'Measured pod startups the startup time is learned from, per pool (0 = the policy\'s startupSeconds)', labelNames: [...P, 'pool'], registers });
    this.#decisions = new Counter({ name: 'pd_planner_decisions_total', help: 'Decisions by outcome', labelNames: [...P, 'reason'], registers });
    this.#errors = new Counter({
      name: 'pd_planner_errors_total',
      help: 'Errors by kind: metrics, apply, tick, policy-reload, lease, timeout (a policy tick over its timeout), skipped (a policy not ticked this round)',
      labelNames: [...P, 'reason'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'pd_planner_tick_duration_seconds',
      help: 'Wall time of one observe-decide-apply tick (of one policy)',
      labelNames: P,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#round = new Histogram({
      name: 'pd_planner_round_duration_seconds',
      help: 'Wall time of one pass of the loop over every due policy (bounded concurrency); must stay well under the interval',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#overruns = new Counter({ name: 'pd_planner_tick_overruns_total', help: 'Rounds that took longer than the loop interval (the next started late, never overlapping)', registers });
    this.#leader = new Gauge({ name: 'pd_planner_leader', help: '1 while this replica holds the Lease (or runs without election)', registers });
    this.#abandoned = new Counter({
      name: 'pd_planner_writes_abandoned_total',
      help: 'Writes given up while under way (Kubernetes PATCHes, NATS KV puts of the virtual connector): leadership-lost (the Lease term ended during a wait or before the request went out, or cut it off in flight), tick-ended (the tick given up or out of time, or the planner stopping)',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of WRITE_ABANDONED_REASONS) this.#abandoned.inc({ reason }, 0);
    this.#policies = this.#byPolicy
      ? new Gauge({ name: 'pd_planner_policy_ready', help: '1 while the policy has fewer than its failureThreshold failed ticks in a row', labelNames: ['policy'], registers })
      : undefined;
    this.#introduce(undefined);
  }

  recordTick({ spec, decision, observation, applyErrors, durationSeconds, policy }: TickRecord): void {
    this.#introduce(policy);
    const only = this.#policyOnly(policy);
    this.#duration.observe(only, durationSeconds);
    this.#decisions.inc({ ...only, reason: decisionReason(decision, observation) });
    const observationErrors = Object.keys(observation.errors ?? {}).length;
    if (observationErrors > 0) this.#errors.inc({ ...only, reason: 'metrics' }, observationErrors);
    if (applyErrors > 0) this.#errors.inc({ ...only, reason: 'apply' }, applyErrors);

    this.#clear(policy, this.#desired);
    this.#clear(policy, this.#current);
    for (const [pool, d] of Object.entries(decision.pools)) {
      this.#set(policy, this.#desired, { pool, role: d.role, capacity: d.capacity }, d.desired);
      const had = d.current ?? observation.pools?.[pool]?.desired;
      if (had !== undefined) this.#set(policy, this.#current, { pool }, had);
    }
    this.#clear(policy, this.#forecast);
    const f = decision.explanation.forecast;
    if (f) {
      this.#set(policy, this.#forecast, { series: 'requests' }, f.requests.value);
      this.#set(policy, this.#forecast, { series: 'isl' }, f.isl.value);
      this.#set(policy, this.#forecast, { series: 'osl' }, f.osl.value);
    }
    this.#clear(policy, this.#latency);
    for (const [metric, summary] of [['ttft', observation.ttftMs], ['itl', observation.itlMs]] as const) {
      for (const [quantile, value] of Object.entries(summary ?? {})) {
        if (typeof value === 'number' && Number.isFinite(value)) this.#set(policy, this.#latency, { metric, quantile }, value);
      }
    }
    this.#set(policy, this.#slo, { metric: 'ttft' }, spec.slo.ttft.ms);
    this.#set(policy, this.#slo, { metric: 'itl' }, spec.slo.itl.ms);
    // The correction factor keeps its last value on a tick that did not compute one.
    const cf = decision.explanation.correction;
    if (cf) {
      this.#set(policy, this.#correction, { role: 'prefill' }, cf.pCf);
      this.#set(policy, this.#correction, { role: 'decode' }, cf.dCf);
    }
    this.#clear(policy, this.#startup);
    this.#clear(policy, this.#startupSamples);
    for (const [pool, learned] of Object.entries(decision.explanation.startup ?? {})) {
      this.#set(policy, this.#startup, { pool }, learned.seconds);
      this.#set(policy, this.#startupSamples, { pool }, learned.samples);
    }
    this.#clear(policy, this.#layers);
    const layers = decisionGpuLayers(spec, decision);
    for (const layer of GPU_LAYERS) if (layer !== 'start') this.#set(policy, this.#layers, { layer }, layers[layer]);
    this.#clear(policy, this.#budget);
    const used = decision.explanation.budget?.usedGpus ?? Object.values(decision.pools).reduce((sum, d) => sum + d.gpus, 0);
    this.#set(policy, this.#budget, { kind: 'used' }, used);
    const max = decision.explanation.budget?.maxGpus ?? spec.budget.maxGpus;
    if (max !== undefined) this.#set(policy, this.#budget, { kind: 'max' }, max);
  }

  recordFailedTick(durationSeconds: number, policy?: string, reason: 'tick' | 'timeout' | 'skipped' = 'tick'): void {
    this.#introduce(policy);
    this.#duration.observe(this.#policyOnly(policy), durationSeconds);
    this.#errors.inc({ ...this.#policyOnly(policy), reason });
  }

  recordError(reason: ErrorReason, count = 1, policy?: string): void {
    this.#introduce(policy);
    this.#errors.inc({ ...this.#policyOnly(policy), reason }, count);
  }

  setLeader(isLeader: boolean): void {
    this.#leader.set(isLeader ? 1 : 0);
  }

  recordWriteAbandoned(reason: WriteAbandonedReason): void {
    this.#abandoned.inc({ reason });
  }

  recordRound(durationSeconds: number, overran: boolean): void {
    this.#round.observe(durationSeconds);
    if (overran) this.#overruns.inc();
  }

  setPolicyReady(policy: string, ready: boolean): void {
    this.#policies?.set({ policy }, ready ? 1 : 0);
  }

  forgetPolicy(policy: string): void {
    if (!this.#byPolicy) return;
    for (const [gauge, list] of this.#series.get(policy) ?? []) for (const labels of list) gauge.remove(labels);
    this.#series.delete(policy);
    for (const reason of DECISION_REASONS) this.#decisions.remove({ policy, reason });
    for (const reason of ERROR_REASONS) this.#errors.remove({ policy, reason });
    this.#duration.remove({ policy });
    this.#policies?.remove({ policy });
    this.#known.delete(policy);
  }

  /** Counters show 0 from the start, so rate() works before the first event. */
  #introduce(policy: string | undefined): void {
    const key = this.#keyOf(policy);
    if (this.#known.has(key)) return;
    this.#known.add(key);
    if (this.#byPolicy && policy === undefined) {
      // Process-wide errors, not tied to one policy.
      for (const reason of ['lease', 'policy-reload'] as const) this.#errors.inc({ reason }, 0);
      return;
    }
    const extra = this.#byPolicy ? { policy } : {};
    for (const reason of DECISION_REASONS) this.#decisions.inc({ ...extra, reason }, 0);
    for (const reason of ERROR_REASONS) if (!this.#byPolicy || reason !== 'lease') this.#errors.inc({ ...extra, reason }, 0);
  }

  #keyOf(policy: string | undefined): string {
    return this.#byPolicy ? (policy ?? '') : '';
  }

  #policyOnly(policy: string | undefined): Labels {
    return this.#byPolicy && policy !== undefined ? { policy } : {};
  }

  #clear(policy: string | undefined, gauge: Gauge): void {
    const mine = this.#series.get(this.#keyOf(policy));
    for (const labels of mine?.get(gauge) ?? []) gauge.remove(labels);
    mine?.delete(gauge);
  }

  #set(policy: string | undefined, gauge: Gauge, labels: Labels, value: number): void {
    const full = this.#byPolicy && policy !== undefined ? { policy, ...labels } : labels;
    gauge.set(full, value);
    const key = this.#keyOf(policy);
    let mine = this.#series.get(key);
    if (!mine) this.#series.set(key, (mine = new Map()));
    const list = mine.get(gauge) ?? [];
    if (!list.some((l) => sameLabels(l, full))) list.push(full);
    mine.set(gauge, list);
  }
}

export function createPlannerMetrics(options: PlannerMetricsOptions = {}): PlannerMetrics {
  return new PlannerMetricsRegistry(options);
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
