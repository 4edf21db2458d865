/**
 * The in-cluster service: the imperative shell around planner/tick.
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
 * A tick "fails" when it threw, when any metric source reported an error, or when the connector reported one.
 * A clean zero-traffic window is a good tick.
 *
 * This is the single-policy face of service/loop.ts (one loop for one or many policies); with one policy file the
 * loop interval is the policy's interval and there is no per-policy timeout, exactly as before.
 */
import type { LoadedPolicy } from '../config/load.js';
import type { PolicySpec } from '../config/schema.js';
import type { Probe } from './exporter.js';
import type { PerformanceProfile } from '../profiles/types.js';
import { createMultiPlannerService, type MultiPlannerOptions } from './loop.js';
import type { TickResult } from '../planner/tick.js';

export { realScheduler, type Scheduler } from './loop.js';

export interface LoadedPlan {
  spec: PolicySpec;
  profile: PerformanceProfile;
  /** For logs, the `policy` metrics label and the Lease name: metadata.name. */
  name: string;
  /** metadata.namespace, when the file sets one. */
  namespace?: string;
  warnings: string[];
}

/** One policy file: the multi-policy service's options with `policyPath` for its file list. */
export interface PlannerServiceOptions extends Omit<MultiPlannerOptions, 'policyFiles' | 'policyDirs' | 'concurrency' | 'policyTimeoutSeconds'> {
  policyPath: string;
}

export interface TickOutcome {
  ok: boolean;
  /** Why the tick failed, when it did. */
  failure?: string;
  result?: TickResult;
  durationSeconds: number;
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

export function createPlannerService(options: PlannerServiceOptions, initial: LoadedPlan): PlannerService {
  const { policyPath, ...rest } = options;
  const multi = createMultiPlannerService({ ...rest, policyFiles: [policyPath] }, [{ path: policyPath, plan: initial }]);
  const only = () => multi.status().policies[0];
  return {
    start: () => multi.start(),
    async runOnce() {
      const round = await multi.runOnce();
      return round.results[0]?.outcome ?? { ok: false, failure: 'no tick ran (the planner is stopping)', durationSeconds: round.durationSeconds };
    },
    stop: (reason) => multi.stop(reason),
    stopped: multi.stopped,
    canAct: () => multi.canAct(),
    reloadPolicy: () => multi.reloadPolicies(),
    spec: () => (multi.plans()[0] ?? initial).spec,
    status: () => {
      const p = only();
      return {
        ticks: p?.ticks ?? 0,
        consecutiveFailures: p?.consecutiveFailures ?? 0,
        running: multi.status().running,
        ...(p?.lastOutcome ? { lastOutcome: p.lastOutcome } : {}),
        policyName: p?.name ?? initial.name,
      };
    },
    health: () => multi.health(),
    ready: () => multi.ready(),
    port: () => multi.port(),
  };
}

/** Adapts config/load's LoadedPolicy (profile optional) to what the service needs. */
export function toLoadedPlan(loaded: LoadedPolicy, loadProfile: (ref: string, baseDir: string) => PerformanceProfile): LoadedPlan {
  return {
    spec: loaded.spec,
    profile: loaded.profile ?? loadProfile(loaded.spec.profile, loaded.baseDir),
    name: loaded.file.metadata.name,
    ...(loaded.file.metadata.namespace ? { namespace: loaded.file.metadata.namespace } : {}),
    warnings: loaded.warnings,
  };
}
