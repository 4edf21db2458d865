/**
 * The data that flows through one planner tick: Observation in, Decision out.
 * Shared by the decision core, the in-cluster service and the simulator.
 */
import type { Capacity, Role } from '../config/schema.js';
import type { CorrectionState } from './state.js';

/** Latency summary over one window, in milliseconds. Keys: mean, p50, p90, p95, p99 (any pXX is allowed). */
export type LatencySummary = Partial<Record<'mean' | `p${number}`, number>>;

/** What we saw of one pool over the window. Every field may be missing. */
export interface PoolObservation {
  /** spec.replicas as the cluster holds it now. */
  desired?: number;
  /** Ready replicas: availableReplicas when the object reports it (even 0), else readyReplicas (Dynamo's rule). */
  ready?: number;
  /**
   * Replicas at the current spec revision (status.updatedReplicas). With `ready` it says whether the pool is still
   * becoming ready: fewer ready or updated replicas than `desired` (the readiness gate, constraints/readiness.ts).
   */
  updated?: number;
  /** The Ready condition of the graph the pool belongs to; absent when unknown or when the pool is not a graph component. */
  graph?: GraphReadiness;
  /** Pods Pending / unschedulable for this pool. */
  pending?: number;
  /** Pods evicted (or lost with their Spot node) since the last tick. */
  evicted?: number;
  /** Eviction notices seen since the last tick (Spot node drain / taint). */
  evictionNotices?: number;
  /** Seconds the oldest pending pod of this pool has been pending. */
  pendingSeconds?: number;
  /**
   * Startup times measured since the last tick: for each pod of the pool that became Ready, seconds from its creation
   * to Ready (planner/startup.ts learns the pool's startup time from them).
   */
  startupSeconds?: number[];
}

/** The Ready condition of a graph (DynamoGraphDeployment), as the readiness gate reads it. */
export interface GraphReadiness {
  /** Its Ready condition is True. */
  ready: boolean;
  /** Not Ready because a rolling update is in progress: every pool of the graph holds. */
  rollingUpdate?: boolean;
  /** The condition as read, for the explanation: "Ready=False, reason X: message", or "no Ready condition". */
  condition?: string;
}

/** One tick's view of the world. Any field may be missing: the core says what it did about it. */
export interface Observation {
  /** ISO 8601 time at the end of the window. */
  time: string;
  windowSeconds?: number;
  /** Requests that arrived in the window (a count, as Dynamo uses it). */
  requests?: number;
  /**
   * Highest arrival rate (requests/s) over the 10 s sub-windows of the window: how bursty the window was.
   * Prometheus: max_over_time(sum(rate(<requests counter>[10s]))[<window>:10s]).
   * Example: 600 requests in 60 s, 250 of them in one 10 s stretch -> 25 req/s (mean 10 req/s).
   */
  peakRequestsPerSecond?: number;
  /** Mean input / output sequence length (tokens). */
  isl?: number;
  osl?: number;
  /** Optional percentiles of ISL/OSL, same keys as latencies. */
  islPercentiles?: LatencySummary;
  oslPercentiles?: LatencySummary;
  ttftMs?: LatencySummary;
  itlMs?: LatencySummary;
  /** Mean end-to-end request duration (s), for Little's law. */
  requestDurationSeconds?: number;
  /** Prefill queue depth (requests waiting), e.g. NATS JetStream pending messages. */
  queueDepth?: number;
  /** Mean decode KV-cache usage 0..1. */
  kvUsage?: number;
  pools?: Record<string, PoolObservation>;
  /** Why a source could not give a value: field -> reason (e.g. "ttftMs": "prometheus timeout after 10s"). */
  errors?: Record<string, string>;
}

/** One forecast value and how it was made. */
export interface ForecastValue {
  value: number;
  method: string;
  /** Set when the forecaster fell back (cold start, bad data). */
  note?: string;
  /** The part of `value` that is an allowance for the forecast's own error (an upper confidence bound), if any. */
  bound?: number;
}

export interface Forecast {
  /** Requests expected in the next interval (count per interval). */
  requests: ForecastValue;
  isl: ForecastValue;
  osl: ForecastValue;
  /** Requests per interval at the busiest 10 s sub-window's rate, when the forecast knows it (the simulator's oracle). */
  requestsPeak?: ForecastValue;
}

/** What one constraint did to one pool. */
export interface ConstraintEffect {
  constraint:
    | 'min'
    | 'max'
    | 'budget'
    | 'step-up'
    | 'step-down'
    | 'stabilization'
    | 'spot-cap'
    | 'on-demand-floor'
    | 'eviction-headroom'
    | 'spot-unavailable'
    | 'placement'
    | 'schedule'
    | 'hold'
    | 'readiness'
    | 'scale-to-zero';
  pool?: string;
  role?: Role;
  from: number;
  to: number;
  detail: string;
}

/** A policy's raw need for one role, before any constraint. */
export interface RoleNeed {
  /** Replicas of this role needed (in units of the role's replica size). */
  replicas: number;
  /** How it was computed: formula inputs with numbers, for the explanation. */
  detail: Record<string, number | string | boolean>;
}

export interface PoolDecision {
  desired: number;
  role: Role;
  capacity: Capacity;
  /** desired x gpusPerReplica. */
  gpus: number;
  /** What the cluster had (spec replicas) when we decided, if known. */
  current?: number;
  /** Constraints that changed this pool's number, in order. */
  boundBy: string[];
  /**
   * Set when something the decision needed was unknown (the request count, a pool's current count, an input of the
   * policy; `explanation.unknown` says what): `desired` is then not below the highest count known for the pool
   * (last decision, observed desired, observed ready + pending). A connector must not write a count below the
   * pool's current one for a held pool. Absent when the decision had everything it needed.
   */
  hold?: true;
  /**
   * false when nothing at all was known of this pool's count and its role's need could not be computed: `desired`
   * is only a placeholder (the pool's minimum) and a connector must write nothing for this pool. Absent = writable.
   */
  writable?: false;
}

export interface Explanation {
  policy: string;
  /** True when the decision holds counts instead of following the policy (missing metrics, a count kept up because something was unknown). */
  held: boolean;
  holdReason?: string;
  /**
   * What the decision needed and did not know ("the request count", "the current count of prefill-od"). While
   * anything is listed, every pool is `hold: true` and none is below the highest count known for it.
   */
  unknown?: string[];
  forecast?: Forecast;
  /** Forecast at the lead time (max startupSeconds of the pools ahead), when the policy used one. */
  leadForecast?: Forecast & { horizonIntervals: number };
  /** Schedules active at decision time (they raise pool minimums). */
  activeSchedules?: string[];
  /** Scale to zero and back (planner/idle.ts), when a role's pools may all reach zero. */
  scaleToZero?: ScaleToZeroExplanation;
  /** Set when a panic poll decided between ticks (planner/panic.ts): "panic poll: 14 queued at 20 s into the interval ...". */
  panicPoll?: string;
  /** Per pool: the startup time planned with (learned from the cluster, else the policy's), planner/startup.ts. */
  startup?: Record<string, LearnedStartup>;
  /** What the fleet's arbitration gave this graph, when it is one graph of a PlannerFleet (src/fleet/). */
  fleet?: FleetShare;
  correction?: CorrectionState;
  need: Partial<Record<Role, RoleNeed>>;
  constraints: ConstraintEffect[];
  budget?: { maxGpus?: number; usedGpus: number; shortfallGpus: number };
  warnings: string[];
  /** Observation fields that were missing, and what was done instead. */
  missing: Record<string, string>;
}

/** What the planner uses as one pool's startup time, and where it came from (planner/startup.ts). */
export interface LearnedStartup {
  /** Seconds used as the pool's startup time this tick. */
  seconds: number;
  /** The policy's startupSeconds. */
  prior: number;
  /** Samples it is learned from (0 = the prior alone). */
  samples: number;
  /** p90 of the samples, when there are any. */
  p90?: number;
  source: 'prior' | 'blend' | 'learned';
}

export type IdleAction = 'wake' | 'keep' | 'zero';

/** What the scale-to-zero rule did this tick (planner/idle.ts). */
export interface ScaleToZeroExplanation {
  action: IdleAction;
  /** The roles it applies to (those whose pools may all reach zero). */
  roles: Role[];
  /** Seconds without demand so far (absent while there is demand). */
  idleForSeconds?: number;
  idleSeconds: number;
  detail: string;
}

/** One graph's share of a fleet's budget, and what it gave up (src/fleet/arbitrate.ts). */
export interface FleetShare {
  fleet: string;
  priority: number;
  /** SLO pressure the arbitration weighed (observed latency at the SLO percentile / target, 0.25..4; 1 unknown). */
  pressure: number;
  /** GPUs: the least it could run (minimums, schedules, held counts, a wake), what it asked for, what it got. */
  floorGpus: number;
  demandGpus: number;
  grantedGpus: number;
  /** Capacity grants, when the fleet limits Spot or on-demand GPUs. */
  spotGpus?: number;
  onDemandGpus?: number;
  /** GPUs of its demand it did not get (0 when it got all). */
  gaveUpGpus: number;
  /** Why, in one sentence. */
  detail: string;
}

export interface Decision {
  time: string;
  pools: Record<string, PoolDecision>;
  explanation: Explanation;
}
