/**
 * The messages between the service and its decide worker threads (structured clones). Specs and profiles are sent
 * once per worker, by id, and kept there; each request carries the observation and the planner state (a fleet
 * request: those of every graph of the fleet, decided together by src/fleet/decide.ts in the worker).
 */
import type { PolicySpec } from '../../config/schema.js';
import type { DecideResult } from '../../planner/decide.js';
import type { FleetBudget, FleetResult } from '../../fleet/decide.js';
import type { PanicPoll } from '../../planner/panic.js';
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
  /** A poll of a graph at zero (not recorded in the forecaster's history). */
  poll?: boolean;
  /** A panic poll (planner/panic.ts): what it saw. */
  panic?: PanicPoll;
}

/** One graph of a fleet request: its spec and profile by id (sent when the worker may not have them), as above. */
export interface FleetGraphRequest {
  name: string;
  priority: number;
  specId: number;
  spec?: PolicySpec;
  profileId: number;
  profile?: ProfileData;
  state: PlannerState;
  /** Absent: the graph is not ticked this round (it keeps its last decision). */
  observation?: Observation;
  forecastOverride?: { next: Forecast; lead?: Forecast };
  poll?: boolean;
}

/** decideFleet() over every graph of a fleet, in one call (one deadline for the whole fleet's decision). */
export interface FleetRequest {
  id: number;
  fleet: { name: string; budget: FleetBudget; now: number; graphs: FleetGraphRequest[] };
}

export type WorkerRequest = DecideRequest | FleetRequest;

export type DecideReply =
  | { id: number; result: DecideResult }
  | { id: number; fleetResult: FleetResult }
  | { id: number; error: string }
  /** The worker does not hold the spec or profile named (evicted, or never sent): send them again. */
  | { id: number; missing: true };

/** The first message of a worker: its modules are loaded. */
export interface ReadyMessage {
  ready: true;
}
