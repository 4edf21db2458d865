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
 */
import { watch, type FSWatcher, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { LoadedPolicy } from '../config/load.js';
import type { PolicySpec } from '../config/schema.js';
import { InputError } from '../errors.js';
import type { Logger } from '../log.js';
import { createPlannerMetrics, decisionReason, startMetricsServer, type MetricsServer, type PlannerMetrics, type Probe } from '../metrics/exporter.js';
import type { PerformanceProfile } from '../profiles/types.js';
import type { LeaderElector } from './leader.js';
import type { Clock, Connector, MetricSource } from './ports.js';
import { initialState, type PlannerState } from './state.js';
import { runTick, type TickResult } from './tick.js';

/** setTimeout/clearTimeout, injectable so tests drive time by hand. */
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realScheduler: Scheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface LoadedPlan {
  spec: PolicySpec;
  profile: PerformanceProfile;
  /** For logs and the Lease name: metadata.name. */
  name: string;
  /** metadata.namespace, when the file sets one. */
  namespace?: string;
  warnings: string[];
}

export interface PlannerServiceOptions {
  policyPath: string;
  /** Reads and validates the policy file (throws InputError with `path: message` problems). */
  loadPolicy: (path: string) => LoadedPlan;
  source: MetricSource & { close?: () => Promise<void> };
  /** Built with `canAct` from this service (see `canAct()` below). */
  connector: Connector & { close?: () => Promise<void> };
  logger: Logger;
  /** Omit to act without election (--once, --dry-run, single replica). */
  leader?: LeaderElector;
  clock?: Clock;
  scheduler?: Scheduler;
  metrics?: PlannerMetrics;
  /** Serve /metrics, /healthz, /readyz on this port (0 = any free port); omit for no server. */
  metricsPort?: number;
  metricsHost?: string;
  /** Watch the policy file for changes (default true). */
  watchPolicy?: boolean;
  /** Debounce for file events (ms); ConfigMap updates arrive as a burst of events. Default 500. */
  reloadDebounceMs?: number;
  /** How long stop() lets a running tick finish before abandoning it (s). Default 20. */
  shutdownGraceSeconds?: number;
  /** Run the tick step (default planner/tick's runTick); injectable for tests. */
  tick?: typeof runTick;
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

/** The first line of each failure, for logs and /readyz. */
function failureOf(result: TickResult): string | undefined {
  const problems = [
    ...Object.entries(result.observation.errors ?? {}).map(([field, why]) => `${field}: ${why}`),
    ...Object.entries(result.apply.errors).map(([pool, why]) => `apply ${pool}: ${why}`),
  ];
  if (problems.length === 0) return undefined;
  return problems.length === 1 ? problems[0] : `${problems[0]} (and ${problems.length - 1} more)`;
}

export function createPlannerService(options: PlannerServiceOptions, initial: LoadedPlan): PlannerService {
  const clock = options.clock ?? { now: () => Date.now() };
  const scheduler = options.scheduler ?? realScheduler;
  const log = options.logger;
  const metrics = options.metrics ?? createPlannerMetrics();
  const tick = options.tick ?? runTick;
  const grace = (options.shutdownGraceSeconds ?? 20) * 1000;

  let plan = initial;
  let state: PlannerState = initialState();
  let fileText = safeRead(options.policyPath);
  let consecutiveFailures = 0;
  let ticks = 0;
  let lastOutcome: TickOutcome | undefined;
  let lastProgressAt = clock.now();
  let inFlight: Promise<TickOutcome> | undefined;
  let timer: unknown;
  let stopping = false;
  let abandoned = false;
  let server: MetricsServer | undefined;
  let watcher: FSWatcher | undefined;
  let reloadTimer: NodeJS.Timeout | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopPromise: Promise<void> | undefined;

  const canAct = () => !stopping && !abandoned && (options.leader ? options.leader.isLeader() : true);

  const health = (): Probe => {
    const stuckAfter = Math.max(3 * plan.spec.interval, 120) * 1000;
    const idle = clock.now() - lastProgressAt;
    if (idle > stuckAfter) {
      return { ok: false, detail: `the planner loop made no progress for ${Math.round(idle / 1000)}s (limit ${stuckAfter / 1000}s)${inFlight ? '; a tick is still running' : ''}` };
    }
    return { ok: true, detail: inFlight ? 'tick running' : `idle, ${ticks} ticks so far` };
  };

  const ready = (): Probe => {
    const threshold = plan.spec.failureThreshold;
    if (consecutiveFailures >= threshold) {
      return { ok: false, detail: `${consecutiveFailures} failed ticks in a row (threshold ${threshold}); last: ${lastOutcome?.failure ?? 'unknown'}` };
    }
    return { ok: true, detail: lastOutcome ? (lastOutcome.ok ? 'last tick ok' : `last tick failed (${consecutiveFailures}/${threshold}): ${lastOutcome.failure}`) : 'no tick yet' };
  };

  const runOne = async (): Promise<TickOutcome> => {
    const started = clock.now();
    lastProgressAt = started;
    const spec = plan.spec;
    if (options.leader) metrics.setLeader(options.leader.isLeader());
    let outcome: TickOutcome;
    try {
      const result = await tick({ spec, profile: plan.profile, state }, { clock, source: options.source, connector: options.connector });
      state = result.state;
      const durationSeconds = (clock.now() - started) / 1000;
      const failure = failureOf(result);
      outcome = { ok: failure === undefined, failure, result, durationSeconds };
      metrics.recordTick({
        spec,
        decision: result.decision,
        observation: result.observation,
        applyErrors: Object.keys(result.apply.errors).length,
        durationSeconds,
      });
      const desired = Object.fromEntries(Object.entries(result.decision.pools).map(([pool, d]) => [pool, d.desired]));
      log.info(
        {
          event: 'tick',
          policy: plan.name,
          outcome: decisionReason(result.decision, result.observation),
          leader: options.leader ? options.leader.isLeader() : true,
          desired,
          apply: result.apply,
          observation: result.observation,
          explanation: result.decision.explanation,
          durationSeconds,
        },
        `tick: ${Object.entries(desired)
          .map(([pool, n]) => `${pool}=${n}`)
          .join(' ')}${result.decision.explanation.held ? ` (held: ${result.decision.explanation.holdReason ?? 'missing metrics'})` : ''}`,
      );
    } catch (error) {
      const durationSeconds = (clock.now() - started) / 1000;
      const message = error instanceof Error ? error.message : String(error);
      outcome = { ok: false, failure: `tick failed: ${message}`, durationSeconds };
      metrics.recordFailedTick(durationSeconds);
      log.error({ event: 'tick-failed', err: error, durationSeconds }, `tick failed: ${message}`);
    }
    ticks += 1;
    lastProgressAt = clock.now();
    lastOutcome = outcome;
    const threshold = plan.spec.failureThreshold;
    if (outcome.ok) {
      if (consecutiveFailures >= threshold) log.info({ event: 'ready' }, `ready again after ${consecutiveFailures} failed ticks`);
      consecutiveFailures = 0;
    } else {
      consecutiveFailures += 1;
      if (consecutiveFailures === threshold) {
        log.warn({ event: 'not-ready', failures: consecutiveFailures }, `not ready: ${consecutiveFailures} failed ticks in a row: ${outcome.failure}`);
      }
    }
    return outcome;
  };

  /** Guarantees one tick at a time, whoever asks (loop or --once). */
  const tickOnce = (): Promise<TickOutcome> => {
    inFlight ??= runOne().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const scheduleNext = (startedAt: number) => {
    if (stopping) return;
    const intervalMs = plan.spec.interval * 1000;
    const now = clock.now();
    const due = startedAt + intervalMs;
    if (now > due) {
      log.warn(
        { event: 'tick-overrun', overrunSeconds: (now - due) / 1000, intervalSeconds: plan.spec.interval },
        `tick took ${((now - startedAt) / 1000).toFixed(1)}s, longer than the ${plan.spec.interval}s interval; the next tick starts now (ticks never overlap)`,
      );
    }
    timer = scheduler.setTimeout(() => {
      timer = undefined;
      void loop();
    }, Math.max(0, due - now));
  };

  const loop = async () => {
    if (stopping) return;
    const startedAt = clock.now();
    await tickOnce();
    scheduleNext(startedAt);
  };

  const reloadPolicy = (): boolean => {
    const text = safeRead(options.policyPath);
    if (text === undefined) {
      log.error({ event: 'policy-reload-failed', path: options.policyPath }, `policy reload: cannot read ${options.policyPath}; keeping the current policy`);
      metrics.recordError('policy-reload');
      return false;
    }
    if (text === fileText) return false;
    try {
      const next = options.loadPolicy(options.policyPath);
      fileText = text;
      const before = plan;
      plan = next;
      for (const warning of next.warnings) log.warn({ event: 'policy-warning' }, warning);
      log.info(
        { event: 'policy-reloaded', path: options.policyPath, policy: next.name, intervalSeconds: next.spec.interval, previousIntervalSeconds: before.spec.interval },
        `policy reloaded from ${options.policyPath}`,
      );
      return true;
    } catch (error) {
      // Remember the bad text so one bad save logs once, not on every event of the burst.
      fileText = text;
      const problems = error instanceof InputError ? error.problems : [error instanceof Error ? error.message : String(error)];
      metrics.recordError('policy-reload');
      log.error(
        { event: 'policy-reload-failed', path: options.policyPath, problems },
        `policy reload: ${options.policyPath} is invalid; keeping the current policy:\n${problems.join('\n')}`,
      );
      return false;
    }
  };

  const startWatching = () => {
    const dir = dirname(resolve(options.policyPath));
    const file = basename(options.policyPath);
    const debounce = options.reloadDebounceMs ?? 500;
    try {
      // Watch the directory: editors replace the file and ConfigMap volumes swap a `..data` symlink.
      watcher = watch(dir, (_event, name) => {
        if (name !== null && name !== file && !String(name).startsWith('..')) return;
        if (reloadTimer) clearTimeout(reloadTimer);
        reloadTimer = setTimeout(() => {
          reloadTimer = undefined;
          if (!stopping) reloadPolicy();
        }, debounce);
      });
      watcher.on('error', (error) => log.warn({ event: 'policy-watch-error', err: error }, `policy watch stopped: ${error.message}`));
    } catch (error) {
      log.warn({ event: 'policy-watch-error', err: error }, `cannot watch ${dir} for policy changes: ${(error as Error).message}`);
    }
  };

  const stop = (reason = 'stop requested'): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      log.info({ event: 'stopping', reason }, `stopping: ${reason}`);
      if (timer !== undefined) scheduler.clearTimeout(timer);
      if (reloadTimer) clearTimeout(reloadTimer);
      watcher?.close();
      const running = inFlight;
      if (running) {
        let graceTimer: NodeJS.Timeout | undefined;
        const finished = await Promise.race([
          running.then(() => true),
          new Promise<boolean>((resolve) => {
            graceTimer = setTimeout(() => resolve(false), grace);
          }),
        ]);
        clearTimeout(graceTimer);
        if (!finished) {
          abandoned = true;
          log.warn({ event: 'tick-abandoned', graceSeconds: grace / 1000 }, `the running tick did not finish within ${grace / 1000}s; abandoned (no further writes)`);
        }
      }
      if (options.leader) {
        await options.leader.stop().catch((error: unknown) => log.warn({ err: error }, 'lease release failed'));
        metrics.setLeader(false);
      }
      await server?.close();
      await options.source.close?.().catch(() => undefined);
      await options.connector.close?.().catch(() => undefined);
      log.info({ event: 'stopped' }, 'stopped');
      resolveStopped();
    })();
    return stopPromise;
  };

  return {
    async start() {
      if (options.metricsPort !== undefined) {
        server = await startMetricsServer({ port: options.metricsPort, host: options.metricsHost, metrics, health, ready });
        log.info({ event: 'metrics-server', port: server.port }, `serving /metrics, /healthz, /readyz on port ${server.port}`);
      }
      if (options.leader) {
        const leader = options.leader;
        const first = await leader.start();
        metrics.setLeader(first);
      } else {
        metrics.setLeader(true);
      }
      if (options.watchPolicy !== false) startWatching();
      log.info(
        { event: 'started', policy: plan.name, intervalSeconds: plan.spec.interval, pools: plan.spec.pools.map((p) => p.name), election: options.leader ? options.leader.identity : 'off' },
        `planner started: policy ${plan.name}, every ${plan.spec.interval}s`,
      );
      void loop();
    },
    runOnce: tickOnce,
    stop,
    stopped,
    canAct,
    reloadPolicy,
    spec: () => plan.spec,
    status: () => ({ ticks, consecutiveFailures, running: inFlight !== undefined, lastOutcome, policyName: plan.name }),
    health,
    ready,
    port: () => server?.port,
  };
}

function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
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
