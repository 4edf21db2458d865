/**
 * The in-cluster service for one policy file: the single-policy face of the loop (loop.ts), with the policy's
 * interval as the loop interval and no per-policy timeout.
 *
 *   - one tick every spec.interval, NEVER overlapping: the next tick is scheduled only when the previous one has
 *     finished, at its start + interval; a tick that overran starts the next one at once (and says so in the log);
 *   - every replica ticks (so a standby's forecaster history is warm when it takes over), but only the leader's
 *     connector acts: `canAct()` is false for a standby, while shutting down, and the moment the Lease is lost;
 *   - /readyz turns not-ready after spec.failureThreshold failed ticks in a row and ready again after a good one;
 *     /healthz fails when the loop has made no progress (no tick started or finished) for max(3 x interval, 120 s);
 *   - the policy file is watched; a valid new version takes effect at the next tick, an invalid one is logged with
 *     its field-path problems and the old one is kept;
 *   - stop(): no new tick; the running one may finish within the grace period, else it is abandoned (its connector
 *     can no longer act); the Lease is released; servers and connections are closed.
 *
 * Methods that are handed out as callbacks (canAct, health, ready) are arrow-function fields, so they keep `this`.
 */
import type { PolicySpec } from '../config/schema.js';
import { PlannerLoop, type MultiPlannerOptions } from './loop.js';
import type { LoadedPlan } from './plan.js';
import type { Probe } from './probes.js';
import type { TickOutcome } from './tick-outcome.js';

/** One policy file: the multi-policy service's options with `policyPath` for its file list. */
export interface PlannerServiceOptions extends Omit<MultiPlannerOptions, 'policyFiles' | 'policyDirs' | 'concurrency' | 'policyTimeoutSeconds'> {
  policyPath: string;
}

export interface ServiceStatus {
  ticks: number;
  consecutiveFailures: number;
  running: boolean;
  lastOutcome?: TickOutcome;
  policyName: string;
}

export interface PlannerService {
  /** Loads nothing (the policy was loaded by create); starts the server, the election and the loop. */
  start(): Promise<void>;
  /** One tick now, outside the loop (`--once`). */
  runOnce(): Promise<TickOutcome>;
  /** Graceful stop; idempotent. */
  stop(reason?: string): Promise<void>;
  /** Resolves when stop() has finished. */
  readonly stopped: Promise<void>;
  /** True while the connector may write: leader (or no election), not stopping, tick not abandoned. */
  canAct(): boolean;
  /** Re-reads the policy file now; true when a new valid policy was taken. */
  reloadPolicy(): boolean;
  spec(): PolicySpec;
  status(): ServiceStatus;
  health(): Probe;
  ready(): Probe;
  /** Port of the metrics server, once started. */
  port(): number | undefined;
}

export class SinglePolicyService implements PlannerService {
  readonly stopped: Promise<void>;
  readonly #loop: PlannerLoop;
  readonly #initial: LoadedPlan;

  constructor(options: PlannerServiceOptions, initial: LoadedPlan) {
    const { policyPath, ...rest } = options;
    this.#loop = new PlannerLoop({ ...rest, policyFiles: [policyPath] }, [{ path: policyPath, plan: initial }]);
    this.#initial = initial;
    this.stopped = this.#loop.stopped;
  }

  readonly canAct = (): boolean => this.#loop.canAct();
  readonly health = (): Probe => this.#loop.health();
  readonly ready = (): Probe => this.#loop.ready();

  start(): Promise<void> {
    return this.#loop.start();
  }

  async runOnce(): Promise<TickOutcome> {
    const round = await this.#loop.runOnce();
    return round.results[0]?.outcome ?? { ok: false, failure: 'no tick ran (the planner is stopping)', durationSeconds: round.durationSeconds };
  }

  stop(reason?: string): Promise<void> {
    return this.#loop.stop(reason);
  }

  reloadPolicy(): boolean {
    return this.#loop.reloadPolicies();
  }

  spec(): PolicySpec {
    return (this.#loop.plans()[0] ?? this.#initial).spec;
  }

  status(): ServiceStatus {
    const loop = this.#loop.status();
    const p = loop.policies[0];
    return {
      ticks: p?.ticks ?? 0,
      consecutiveFailures: p?.consecutiveFailures ?? 0,
      running: loop.running,
      ...(p?.lastOutcome ? { lastOutcome: p.lastOutcome } : {}),
      policyName: p?.name ?? this.#initial.name,
    };
  }

  port(): number | undefined {
    return this.#loop.port();
  }
}

export function createPlannerService(options: PlannerServiceOptions, initial: LoadedPlan): PlannerService {
  return new SinglePolicyService(options, initial);
}
