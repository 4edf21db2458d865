import type { PolicySpec, Role } from '../config/schema.js';
import type { PerformanceProfile } from '../profiles/types.js';
import type { Forecast, Observation, RoleNeed } from '../planner/types.js';
import type { CorrectionState } from '../planner/state.js';

/** Everything a policy may look at. Pure data; no clock, no I/O. */
export interface PolicyInput {
  spec: PolicySpec;
  profile: PerformanceProfile;
  observation: Observation;
  /** Forecast for the next interval (or for `startupSeconds` ahead when lead time is on). */
  forecast: Forecast;
  /** Forecast at the lead time (max startupSeconds of the role's pools); same as `forecast` when not computed. */
  leadForecast?: Forecast;
  /** Replicas per role now (sum over the role's pools of ready, else desired). */
  current: Record<Role, number>;
  /** Correction factors carried from the previous tick (start at 1). */
  correction: CorrectionState;
  /** Seconds since the graph last saw demand (a request or a queued one); absent while it sees some, or cannot tell. */
  idleForSeconds?: number;
  /** With idleForSeconds: replicas per role running or starting when the pause was first seen (planner/decide.ts pauseStart). */
  pauseRunning?: Record<Role, number>;
}

export interface PolicyOutput {
  need: Record<Role, RoleNeed>;
  /** Updated correction factors (policies without them return the input). */
  correction: CorrectionState;
  warnings: string[];
  /** Observation fields that were missing and what the policy did instead. */
  missing: Record<string, string>;
  /** A scale-down window shorter than stabilization.scaleDown for this tick, and why (sla's budgetWindow). */
  scaleDownWindow?: { seconds: number; reason: string };
}

export type Policy = (input: PolicyInput) => PolicyOutput;
