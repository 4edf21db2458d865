/**
 * The messages between the service and its decide worker threads (structured clones). Specs and profiles are sent
 * once per worker, by id, and kept there; each request carries the observation and the planner state.
 */
import type { PolicySpec } from '../../config/schema.js';
import type { DecideResult } from '../../planner/decide.js';
import type { PlannerState } from '../../planner/state.js';
import type { Forecast, Observation } from '../../planner/types.js';
import type { ProfileData } from '../../profiles/profile.js';

export interface DecideRequest {
  id: number;
  specId: number;
  /** Sent when the worker may not have it yet. */
  spec?: PolicySpec;
  profileId: number;
  profile?: ProfileData;
  observation: Observation;
  state: PlannerState;
  now: number;
  forecastOverride?: { next: Forecast; lead?: Forecast };
}

export type DecideReply =
  | { id: number; result: DecideResult }
  | { id: number; error: string }
  /** The worker does not hold the spec or profile named (evicted, or never sent): send them again. */
  | { id: number; missing: true };

/** The first message of a worker: its modules are loaded. */
export interface ReadyMessage {
  ready: true;
}
