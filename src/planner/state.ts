/** What the planner carries from one tick to the next. Plain data, so the simulator can snapshot it. */
import type { Role } from '../config/schema.js';

/** The SLO loop of one role (sla's `sloFeedback`): its headroom and the misses it is steering by. */
export interface RoleSloState {
  /** Multiplier of the role's demand, learned online (1 = as sized). */
  headroom: number;
  /** Requests estimated to have missed the role's latency target, and requests served, both decayed with age. */
  missed: number;
  served: number;
  /** Seconds of windows the loop has learned from (counted up to its evidence threshold). */
  seconds?: number;
}

/** The peak demand a crowd hold keeps (requests per interval), and seconds since it was seen. */
export interface CrowdHoldState {
  requests: number;
  seconds: number;
}

/** Correction factors and other learned values a policy carries between ticks (start at pCf = dCf = 1). */
export interface CorrectionState {
  pCf: number;
  dCf: number;
  burst?: number;
  burstFloor?: number;
  /** The crowd hold (policies/sla/crowd-hold.ts). */
  crowdHold?: CrowdHoldState;
  slo?: { prefill: RoleSloState; decode: RoleSloState };
}
export interface HistoryPoint {
  /** Epoch ms at the end of the window. */
  time: number;
  requests?: number;
  isl?: number;
  osl?: number;
}

/** What the readiness gate remembers of one pool (epoch ms); see constraints/readiness.ts. */
export interface PoolReadinessState {
  /** When the pool was first seen becoming ready, or last scaled up by the planner; absent once it is settled. */
  becomingReadySince?: number;
  /** When its graph was first seen not Ready; absent while the graph is Ready. */
  graphNotReadySince?: number;
}

export interface PlannerState {
  /** Per-interval history for the forecasters, oldest first, bounded (see decide.ts). */
  history: HistoryPoint[];
  /** Correction factors from the last tick that could compute them (start at 1). */
  correction: CorrectionState;
  /**
   * Recommendations per tick (before step limits), for the stabilization windows; `held`: the pools whose
   * recommendation a hold (crowd or pause) raised above what the scale-down window keeps (constraints/stabilization.ts).
   * Replicas of the sizes in `replicaGpus`.
   */
  recommendations: { time: number; desired: Record<string, number>; held?: Record<string, number> }[];
  /** Last decided desired replicas per pool, of the sizes in `replicaGpus`; a hold returns these. */
  last?: Record<string, number>;
  /**
   * GPUs per replica of each pool (spec.pools[].gpusPerReplica) when the counts of `last` and `recommendations` were
   * decided. A policy reloaded with another size for a pool reads those counts at its next tick as the replicas of the
   * new size that hold the same GPUs, rounded up, so that the reload alone never reads as a scale-down
   * (planner/replica-sizes.ts): count now = ceil(count x GPUs then / GPUs now). Example: window entries of 6 replicas of
   * 4 GPUs (24 GPUs), reloaded with 8-GPU replicas -> 3 (24 GPUs), not 6 (48); 5 of 4 (20) -> 3 (24); 6 replicas of 8
   * GPUs (48) reloaded with 4-GPU replicas -> 12 (48), not 6 (24). The step limits then count from 3 or 12.
   * Absent (a state written without it), or a pool not in it: the size the policy has now. A pool the policy no longer
   * has keeps its entry while the window still carries its counts (a pool removed and added back reads them right).
   */
  replicaGpus?: Record<string, number>;
  /** Pool -> epoch ms of the last eviction seen (Spot cool-down). */
  lastEviction: Record<string, number>;
  /** Pool -> the readiness gate's clocks (pools with nothing to remember are left out). */
  readiness?: Record<string, PoolReadinessState>;
  /** Pool -> the last measured startup times (s), newest last, at most STARTUP_WINDOW (planner/startup.ts). */
  startup?: Record<string, number[]>;
  /** Epoch ms since when no demand has been seen; absent while there is demand (planner/idle.ts). */
  idleSince?: number;
  /**
   * Replicas per role (policy units) running or starting when the pause that began at idleSince was first seen, kept
   * through ticks whose demand is unknown; sla's pauseHold keeps a share of them (planner/decide.ts pauseStart).
   */
  pauseRunning?: Record<Role, number>;
  /**
   * GPUs per policy unit of each role when pauseRunning was taken (constraints/layout's unitGpus), so a policy reloaded
   * during the pause with other replica sizes reads the same GPUs from it. Absent: the current unit.
   */
  pauseUnitGpus?: Record<Role, number>;
}

export function initialState(): PlannerState {
  return { history: [], correction: { pCf: 1, dCf: 1 }, recommendations: [], lastEviction: {} };
}
