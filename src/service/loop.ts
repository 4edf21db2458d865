/**
 * The planner loop for one or many policies (one policy = one model/graph) in one process: the imperative shell
 * around planner/tick.
 *
 *   - ROUNDS: one round every loop interval (the shortest spec.interval of the policies), NEVER overlapping: the
 *     next round is scheduled only when the previous one has finished, at its start + interval; a round that overran
 *     starts the next one at once, and is logged (`tick-overrun`) and counted (pd_planner_tick_overruns_total).
 *   - In a round, each DUE policy runs one tick (observe -> decide -> apply) with its own state, forecast history
 *     and SLOs; at most `concurrency` (default 8) at a time, the policies that waited longest first. A policy is due
 *     when its own interval has passed since its last tick, give or take half a round (a 60 s policy in a 15 s loop
 *     ticks every 4th round; a 20 s one in a 15 s loop every 2nd, i.e. every 30 s: use multiples of the shortest).
 *   - A slow or failing policy cannot stall the others: each tick is bounded by the per-policy timeout (default:
 *     none with a single policy file, else half the loop interval). A tick that times out is marked failed, can no
 *     longer write (its connector calls see `canAct() === false`), and its late result is dropped; that policy is
 *     skipped until the stuck call has returned. A policy whose turn comes after start + interval - timeout is
 *     skipped for this round (it could not finish in time) and goes first in the next one. So a round lasts at most
 *     about one interval, whatever the graphs do.
 *     Example: interval 60 s, timeout 30 s, 50 policies at 8 at a time: policies start until t=30 s, all are
 *     done by t=60 s; with healthy graphs (~0.1 s each) the whole round takes about 7 x 0.1 = 0.7 s.
 *   - Readiness: each policy fails after spec.failureThreshold failed (or timed-out, or skipped) ticks in a row.
 *     /readyz turns not-ready only when EVERY policy is failing (with one policy: when it is), because a pod that is
 *     not ready drops out of the Service and its /metrics for the healthy graphs would be lost too. A failing policy
 *     shows in the /readyz text and as pd_planner_policy_ready{policy} 0. /healthz fails when the loop made no
 *     progress for max(3 x interval, 120 s).
 *   - Every replica ticks (so a standby's forecaster history is warm when it takes over), but only the leader's
 *     connector acts (one Lease for the whole process).
 *   - Hot reload: the policy files (and policy directories) are watched; a valid new version of a file takes effect
 *     at its next tick (its planner state is kept); an invalid one, or one that clashes with another policy (same
 *     name, same target), is logged with its problems and the old one kept. A file added to a policy directory
 *     becomes a new policy; a file removed from it stops that policy and drops its metrics.
 *   - stop(): no new round; the running one may finish within the grace period, else it is abandoned (its
 *     connector calls can no longer act); the Lease is released; servers and connections are closed.
 *
 * A tick "fails" when it threw, timed out, was skipped, when any metric source reported an error, or when the
 * connector reported one. A clean zero-traffic window is a good tick.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { watch, type FSWatcher, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { InputError } from '../errors.js';
import type { Logger } from '../log.js';
import { createPlannerMetrics, decisionReason, startMetricsServer, type MetricsServer, type PlannerMetrics, type Probe } from './exporter.js';
import type { LeaderElector } from './leader.js';
import { forEachLimit } from './limit.js';
import { conflicts, policyFilesIn } from './policy-set.js';
import type { Clock, Connector, MetricSource } from '../planner/ports.js';
import type { LoadedPlan, TickOutcome } from './single.js';
import { initialState, type PlannerState } from '../planner/state.js';
import { runTick, type TickResult } from '../planner/tick.js';

/** setTimeout/clearTimeout, injectable so tests drive time by hand. */
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realScheduler: Scheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export const DEFAULT_CONCURRENCY = 8;

export interface MultiPlannerOptions {
  /** The policy files given (each one policy). */
  policyFiles: string[];
  /** Policy directories given: every *.yaml / *.yml in them, re-scanned on reload. */
  policyDirs?: string[];
  /** Reads and validates one policy file (throws InputError with `path: message` problems). */
  loadPolicy: (path: string) => LoadedPlan;
  /** Shared by every policy: observe(now, window, spec) reads what that spec names. */
  source: MetricSource & { close?: () => Promise<void> };
  /** Shared by every policy; built with `canAct` from this service. */
  connector: Connector & { close?: () => Promise<void> };
  logger: Logger;
  /** Omit to act without election (--once, --dry-run, single replica). */
  leader?: LeaderElector;
  clock?: Clock;
  scheduler?: Scheduler;
  /** Default: a registry with the `policy` label. */
  metrics?: PlannerMetrics;
  /** Serve /metrics, /healthz, /readyz on this port (0 = any free port); omit for no server. */
  metricsPort?: number;
  metricsHost?: string;
  /** Watch the policy files and directories for changes (default true). */
  watchPolicy?: boolean;
  /** Debounce for file events (ms); ConfigMap updates arrive as a burst of events. Default 500. */
  reloadDebounceMs?: number;
  /** How long stop() lets a running round finish before abandoning it (s). Default 20. */
  shutdownGraceSeconds?: number;
  /** Policies ticking at once within a round (default 8). */
  concurrency?: number;
  /** Per-policy tick timeout (s); 0 = none. Default: none for a single policy file, else half the loop interval. */
  policyTimeoutSeconds?: number;
  /** Run the tick step (default planner/tick's runTick); injectable for tests. */
  tick?: typeof runTick;
}

export interface PolicyStatus {
  name: string;
  path: string;
  intervalSeconds: number;
  ticks: number;
  consecutiveFailures: number;
  /** A tick of this policy is running (possibly one that timed out and is still waiting on a call). */
  running: boolean;
  ready: boolean;
  lastOutcome?: TickOutcome;
}

export interface RoundOutcome {
  /** Epoch ms. */
  startedAt: number;
  durationSeconds: number;
  /** Took longer than the loop interval. */
  overran: boolean;
  /** Each policy that was due, in the order it was taken: its tick's outcome (skipped ones included). */
  results: { name: string; path: string; outcome: TickOutcome }[];
}

export interface MultiStatus {
  rounds: number;
  running: boolean;
  intervalSeconds: number;
  lastRound?: RoundOutcome;
  policies: PolicyStatus[];
}

export interface MultiPlannerService {
  /** Starts the server, the election, the file watchers and the loop. */
  start(): Promise<void>;
  /** One round now, every policy ticking whether due or not, outside the loop (`--once`); shares a running round. */
  runOnce(): Promise<RoundOutcome>;
  /** Graceful stop; idempotent. */
  stop(reason?: string): Promise<void>;
  readonly stopped: Promise<void>;
  /** True while the connector may write: leader (or no election), not stopping, round and tick not abandoned. */
  canAct(): boolean;
  /** Re-reads every policy file and directory now; true when anything changed. */
  reloadPolicies(): boolean;
  plans(): LoadedPlan[];
  status(): MultiStatus;
  health(): Probe;
  ready(): Probe;
  /** Port of the metrics server, once started. */
  port(): number | undefined;
}

interface Entry {
  path: string;
  /** From a policy directory (removed when its file disappears) rather than named by --policy. */
  fromDir: boolean;
  plan: LoadedPlan;
  fileText: string | undefined;
  state: PlannerState;
  ticks: number;
  consecutiveFailures: number;
  lastOutcome?: TickOutcome;
  /** Start of the round of its last tick (epoch ms). */
  lastRunAt?: number;
  /** Settles when its current tick's work settles, even after a timeout. */
  running?: Promise<void>;
  removed: boolean;
}

/** Per-tick context, visible to canAct() from inside the connector's calls. */
interface StepContext {
  abandoned: boolean;
}

/** The first line of each failure, for logs and /readyz. */
export function failureOf(result: TickResult): string | undefined {
  const problems = [
    ...Object.entries(result.observation.errors ?? {}).map(([field, why]) => `${field}: ${why}`),
    ...Object.entries(result.apply.errors).map(([pool, why]) => `apply ${pool}: ${why}`),
  ];
  if (problems.length === 0) return undefined;
  return problems.length === 1 ? problems[0] : `${problems[0]} (and ${problems.length - 1} more)`;
}

function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const seconds = (ms: number) => Math.round(ms) / 1000;

export function createMultiPlannerService(options: MultiPlannerOptions, initial: { path: string; plan: LoadedPlan }[]): MultiPlannerService {
  const clock = options.clock ?? { now: () => Date.now() };
  const scheduler = options.scheduler ?? realScheduler;
  const log = options.logger;
  const metrics = options.metrics ?? createPlannerMetrics({ policyLabel: true });
  const tick = options.tick ?? runTick;
  const grace = (options.shutdownGraceSeconds ?? 20) * 1000;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  const dirs = (options.policyDirs ?? []).map((d) => resolve(d));
  const single = options.policyFiles.length === 1 && dirs.length === 0;
  const steps = new AsyncLocalStorage<StepContext>();

  const entries = new Map<string, Entry>();
  for (const { path, plan } of initial) {
    const fromDir = dirs.includes(dirname(resolve(path)));
    entries.set(path, { path, fromDir, plan, fileText: safeRead(path), state: initialState(), ticks: 0, consecutiveFailures: 0, removed: false });
    for (const warning of plan.warnings) log.warn({ event: 'policy-warning', policy: plan.name }, warning);
  }
  /** Bad versions of files in policy directories that are not (yet) policies: logged once per content. */
  const rejected = new Map<string, string | undefined>();

  let rounds = 0;
  let lastRound: RoundOutcome | undefined;
  let lastPeriodMs = Math.min(...[...entries.values()].map((e) => e.plan.spec.interval * 1000), 60_000);
  let lastProgressAt = clock.now();
  let inFlight: Promise<RoundOutcome> | undefined;
  let timer: unknown;
  let stopping = false;
  let abandoned = false;
  let server: MetricsServer | undefined;
  const watchers: FSWatcher[] = [];
  let reloadTimer: NodeJS.Timeout | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopPromise: Promise<void> | undefined;

  const list = () => [...entries.values()];
  const isReady = (e: Entry) => e.consecutiveFailures < e.plan.spec.failureThreshold;
  for (const e of list()) metrics.setPolicyReady(e.plan.name, true);

  /** The loop interval: the shortest policy interval (the last one known when no policy is loaded). */
  const periodMs = () => {
    if (entries.size > 0) lastPeriodMs = Math.min(...list().map((e) => e.plan.spec.interval * 1000));
    return lastPeriodMs;
  };
  const timeoutMs = (period: number): number | undefined => {
    const configured = options.policyTimeoutSeconds;
    if (configured === 0) return undefined;
    if (configured !== undefined) return configured * 1000;
    return single ? undefined : period / 2;
  };

  const canAct = () => !stopping && !abandoned && !steps.getStore()?.abandoned && (options.leader ? options.leader.isLeader() : true);

  const health = (): Probe => {
    const stuckAfter = Math.max(3 * periodMs(), 120_000);
    const idle = clock.now() - lastProgressAt;
    if (idle > stuckAfter) {
      return { ok: false, detail: `the planner loop made no progress for ${Math.round(idle / 1000)}s (limit ${stuckAfter / 1000}s)${inFlight ? '; a tick is still running' : ''}` };
    }
    return { ok: true, detail: inFlight ? 'tick running' : `idle, ${rounds} ticks so far` };
  };

  const failingLine = (e: Entry) => `${e.consecutiveFailures} failed ticks in a row (threshold ${e.plan.spec.failureThreshold}); last: ${e.lastOutcome?.failure ?? 'unknown'}`;

  const ready = (): Probe => {
    const all = list();
    if (all.length === 0) return { ok: false, detail: `no policy loaded (no *.yaml in ${dirs.join(', ') || 'the policy paths'})` };
    if (all.length === 1) {
      const e = all[0] as Entry;
      const threshold = e.plan.spec.failureThreshold;
      if (!isReady(e)) return { ok: false, detail: failingLine(e) };
      const last = e.lastOutcome;
      return { ok: true, detail: last ? (last.ok ? 'last tick ok' : `last tick failed (${e.consecutiveFailures}/${threshold}): ${last.failure}`) : 'no tick yet' };
    }
    const failing = all.filter((e) => !isReady(e));
    if (failing.length === all.length) {
      const shown = failing.slice(0, 5).map((e) => `${e.plan.name}: ${failingLine(e)}`);
      return { ok: false, detail: `all ${all.length} policies are failing: ${shown.join('; ')}${failing.length > 5 ? `; and ${failing.length - 5} more` : ''}` };
    }
    if (failing.length > 0) {
      const names = failing.slice(0, 10).map((e) => e.plan.name);
      return { ok: true, detail: `${all.length - failing.length} of ${all.length} policies ready; failing: ${names.join(', ')}${failing.length > 10 ? ` and ${failing.length - 10} more` : ''}` };
    }
    return { ok: true, detail: rounds === 0 ? 'no tick yet' : `all ${all.length} policies ready` };
  };

  /** Bookkeeping after one policy's tick (or skip): failure streak, readiness transitions, the ready gauge. */
  const record = (e: Entry, outcome: TickOutcome) => {
    e.ticks += 1;
    e.lastOutcome = outcome;
    const threshold = e.plan.spec.failureThreshold;
    const name = e.plan.name;
    if (outcome.ok) {
      if (e.consecutiveFailures >= threshold) log.info({ event: 'ready', policy: name }, `${single ? '' : `${name}: `}ready again after ${e.consecutiveFailures} failed ticks`);
      e.consecutiveFailures = 0;
    } else {
      e.consecutiveFailures += 1;
      if (e.consecutiveFailures === threshold) {
        log.warn({ event: 'not-ready', policy: name, failures: e.consecutiveFailures }, `${single ? '' : `${name}: `}not ready: ${e.consecutiveFailures} failed ticks in a row: ${outcome.failure}`);
      }
    }
    metrics.setPolicyReady(name, isReady(e));
  };

  const skip = (e: Entry, why: string): TickOutcome => {
    const outcome: TickOutcome = { ok: false, failure: `tick skipped: ${why}`, durationSeconds: 0 };
    metrics.recordFailedTick(0, e.plan.name, 'skipped');
    log.warn({ event: 'tick-skipped', policy: e.plan.name, reason: why }, `${e.plan.name}: tick skipped: ${why}`);
    record(e, outcome);
    return outcome;
  };

  const runPolicy = async (e: Entry, roundStart: number, limitMs: number | undefined): Promise<TickOutcome> => {
    const started = clock.now();
    lastProgressAt = started;
    e.lastRunAt = roundStart;
    const plan = e.plan;
    const spec = plan.spec;
    const name = plan.name;
    const step: StepContext = { abandoned: false };
    const work = steps.run(step, () => tick({ spec, profile: plan.profile, state: e.state }, { clock, source: options.source, connector: options.connector }));
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    e.running = settled;
    void settled.then(() => {
      if (e.running === settled) e.running = undefined;
    });
    let handle: unknown;
    const timedOut =
      limitMs === undefined
        ? undefined
        : new Promise<{ timeout: true }>((resolve) => {
            handle = scheduler.setTimeout(() => resolve({ timeout: true }), limitMs);
          });
    const first = await Promise.race([
      work.then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      ),
      ...(timedOut ? [timedOut] : []),
    ]);
    if (handle !== undefined) scheduler.clearTimeout(handle);
    // Finished in time: not running any more (without waiting for the `settled` callback's microtask).
    if (!('timeout' in first) && e.running === settled) e.running = undefined;
    const durationSeconds = (clock.now() - started) / 1000;
    lastProgressAt = clock.now();
    let outcome: TickOutcome;
    if ('timeout' in first) {
      step.abandoned = true;
      const why = `tick timed out after ${seconds(limitMs ?? 0)}s (per-policy timeout); its writes are stopped and its result dropped`;
      outcome = { ok: false, failure: why, durationSeconds };
      metrics.recordFailedTick(durationSeconds, name, 'timeout');
      log.warn({ event: 'tick-timeout', policy: name, durationSeconds }, `${name}: ${why}`);
    } else if ('error' in first) {
      const message = messageOf(first.error);
      outcome = { ok: false, failure: `tick failed: ${message}`, durationSeconds };
      metrics.recordFailedTick(durationSeconds, name, 'tick');
      log.error({ event: 'tick-failed', policy: name, err: first.error, durationSeconds }, `${single ? '' : `${name}: `}tick failed: ${message}`);
    } else {
      const result = first.result;
      if (!e.removed) e.state = result.state;
      const failure = failureOf(result);
      outcome = { ok: failure === undefined, failure, result, durationSeconds };
      metrics.recordTick({ spec, decision: result.decision, observation: result.observation, applyErrors: Object.keys(result.apply.errors).length, durationSeconds, policy: name });
      const desired = Object.fromEntries(Object.entries(result.decision.pools).map(([pool, d]) => [pool, d.desired]));
      log.info(
        {
          event: 'tick',
          policy: name,
          outcome: decisionReason(result.decision, result.observation),
          leader: options.leader ? options.leader.isLeader() : true,
          desired,
          apply: result.apply,
          observation: result.observation,
          explanation: result.decision.explanation,
          durationSeconds,
        },
        `${single ? '' : `${name} `}tick: ${Object.entries(desired)
          .map(([pool, n]) => `${pool}=${n}`)
          .join(' ')}${result.decision.explanation.held ? ` (held: ${result.decision.explanation.holdReason ?? 'missing metrics'})` : ''}`,
      );
    }
    if (!e.removed) record(e, outcome);
    return outcome;
  };

  /** A policy is due when its interval has passed since its last tick, give or take half a round. */
  const isDue = (e: Entry, roundStart: number, period: number) => e.lastRunAt === undefined || roundStart - e.lastRunAt >= e.plan.spec.interval * 1000 - period / 2;

  const runRound = async (force: boolean): Promise<RoundOutcome> => {
    const startedAt = clock.now();
    lastProgressAt = startedAt;
    if (options.leader) metrics.setLeader(options.leader.isLeader());
    const period = periodMs();
    const limitMs = timeoutMs(period);
    // Start no tick that could not finish within the round (only meaningful when the timeout is shorter).
    const startBy = limitMs !== undefined && limitMs < period ? startedAt + period - limitMs : Infinity;
    const due = list()
      .filter((e) => force || isDue(e, startedAt, period))
      // Longest-waiting first: a policy skipped for lack of time goes first next round.
      .sort((a, b) => (a.lastRunAt ?? -Infinity) - (b.lastRunAt ?? -Infinity) || a.plan.name.localeCompare(b.plan.name));
    const results: RoundOutcome['results'] = [];
    await forEachLimit(due, concurrency, async (e) => {
      if (stopping || e.removed) return;
      let outcome: TickOutcome;
      if (e.running) outcome = skip(e, 'its previous tick has not returned yet (it timed out earlier)');
      else if (clock.now() > startBy) {
        outcome = skip(e, `no time left in this round: it would start ${seconds(clock.now() - startedAt)}s into a ${seconds(period)}s interval with a ${seconds(limitMs ?? 0)}s timeout (raise --concurrency)`);
      } else outcome = await runPolicy(e, startedAt, limitMs);
      results.push({ name: e.plan.name, path: e.path, outcome });
    });
    rounds += 1;
    const now = clock.now();
    lastProgressAt = now;
    const durationSeconds = (now - startedAt) / 1000;
    const overran = now - startedAt > period;
    metrics.recordRound(durationSeconds, overran);
    if (!single) {
      const failed = results.filter((r) => !r.outcome.ok).map((r) => r.name);
      log.info(
        { event: 'round', policies: entries.size, ticked: results.length, failed, durationSeconds, intervalSeconds: period / 1000, concurrency },
        `round: ${results.length} of ${entries.size} policies in ${durationSeconds.toFixed(2)}s${failed.length > 0 ? ` (${failed.length} failed: ${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ', ...' : ''})` : ''}`,
      );
    }
    lastRound = { startedAt, durationSeconds, overran, results };
    return lastRound;
  };

  /** Guarantees one round at a time, whoever asks (loop or --once). */
  const roundOnce = (force: boolean): Promise<RoundOutcome> => {
    inFlight ??= runRound(force).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const scheduleNext = (startedAt: number) => {
    if (stopping) return;
    const period = periodMs();
    const now = clock.now();
    const due = startedAt + period;
    if (now > due) {
      log.warn(
        { event: 'tick-overrun', overrunSeconds: (now - due) / 1000, intervalSeconds: period / 1000, policies: entries.size },
        `tick took ${((now - startedAt) / 1000).toFixed(1)}s, longer than the ${period / 1000}s interval; the next tick starts now (ticks never overlap)`,
      );
    }
    timer = scheduler.setTimeout(
      () => {
        timer = undefined;
        void loop();
      },
      Math.max(0, due - now),
    );
  };

  const loop = async () => {
    if (stopping) return;
    const startedAt = clock.now();
    await roundOnce(false);
    scheduleNext(startedAt);
  };

  const others = (path: string) => list().filter((e) => e.path !== path);

  /** Loads a file and checks it against the other policies; the problems when it cannot be taken. */
  const tryLoad = (path: string): { plan: LoadedPlan } | { problems: string[] } => {
    try {
      const plan = options.loadPolicy(path);
      const clash = conflicts({ path, plan }, others(path));
      return clash.length > 0 ? { problems: clash } : { plan };
    } catch (error) {
      return { problems: error instanceof InputError ? error.problems : [messageOf(error)] };
    }
  };

  const removeEntry = (e: Entry, why: string) => {
    e.removed = true;
    entries.delete(e.path);
    metrics.forgetPolicy(e.plan.name);
    log.warn({ event: 'policy-removed', path: e.path, policy: e.plan.name }, `policy ${e.plan.name} removed: ${why}`);
  };

  const reloadEntry = (e: Entry): boolean => {
    const text = safeRead(e.path);
    if (text === undefined) {
      if (e.fromDir) {
        removeEntry(e, `${e.path} was deleted`);
        return true;
      }
      log.error({ event: 'policy-reload-failed', path: e.path, policy: e.plan.name }, `policy reload: cannot read ${e.path}; keeping the current policy`);
      metrics.recordError('policy-reload', 1, e.plan.name);
      return false;
    }
    if (text === e.fileText) return false;
    // Remember the text either way, so one bad save logs once, not on every event of the burst.
    e.fileText = text;
    const loaded = tryLoad(e.path);
    if ('problems' in loaded) {
      metrics.recordError('policy-reload', 1, e.plan.name);
      log.error(
        { event: 'policy-reload-failed', path: e.path, policy: e.plan.name, problems: loaded.problems },
        `policy reload: ${e.path} is invalid; keeping the current policy:\n${loaded.problems.join('\n')}`,
      );
      return false;
    }
    const before = e.plan;
    e.plan = loaded.plan;
    if (before.name !== loaded.plan.name) {
      metrics.forgetPolicy(before.name);
      metrics.setPolicyReady(loaded.plan.name, isReady(e));
    }
    for (const warning of loaded.plan.warnings) log.warn({ event: 'policy-warning', policy: loaded.plan.name }, warning);
    log.info(
      { event: 'policy-reloaded', path: e.path, policy: loaded.plan.name, intervalSeconds: loaded.plan.spec.interval, previousIntervalSeconds: before.spec.interval },
      `policy reloaded from ${e.path}`,
    );
    return true;
  };

  const addFile = (path: string): boolean => {
    const text = safeRead(path);
    if (text === undefined || rejected.get(path) === text) return false;
    const loaded = tryLoad(path);
    if ('problems' in loaded) {
      rejected.set(path, text);
      metrics.recordError('policy-reload');
      log.error({ event: 'policy-reload-failed', path, problems: loaded.problems }, `new policy ${path} is invalid; not started:\n${loaded.problems.join('\n')}`);
      return false;
    }
    rejected.delete(path);
    entries.set(path, { path, fromDir: true, plan: loaded.plan, fileText: text, state: initialState(), ticks: 0, consecutiveFailures: 0, removed: false });
    metrics.setPolicyReady(loaded.plan.name, true);
    for (const warning of loaded.plan.warnings) log.warn({ event: 'policy-warning', policy: loaded.plan.name }, warning);
    log.info({ event: 'policy-added', path, policy: loaded.plan.name, intervalSeconds: loaded.plan.spec.interval }, `policy ${loaded.plan.name} added from ${path}`);
    return true;
  };

  const reloadPolicies = (): boolean => {
    let changed = false;
    const inDirs = new Set<string>();
    for (const dir of dirs) {
      try {
        for (const file of policyFilesIn(dir)) inDirs.add(file);
      } catch (error) {
        log.error({ event: 'policy-reload-failed', path: dir }, `policy reload: cannot list ${dir}: ${messageOf(error)}; keeping its policies`);
        metrics.recordError('policy-reload');
        for (const e of list()) if (e.fromDir && dirname(resolve(e.path)) === dir) inDirs.add(e.path);
      }
    }
    for (const e of list()) {
      if (e.fromDir && !inDirs.has(e.path)) {
        removeEntry(e, `${e.path} is no longer in its policy directory`);
        changed = true;
      } else if (reloadEntry(e)) changed = true;
    }
    for (const path of inDirs) if (!entries.has(path) && addFile(path)) changed = true;
    for (const path of rejected.keys()) if (!inDirs.has(path)) rejected.delete(path);
    return changed;
  };

  const startWatching = () => {
    const debounce = options.reloadDebounceMs ?? 500;
    // Watch directories: editors replace files and ConfigMap volumes swap a `..data` symlink.
    const targets = new Map<string, Set<string> | 'all'>();
    for (const dir of dirs) targets.set(dir, 'all');
    for (const file of options.policyFiles) {
      const dir = dirname(resolve(file));
      const known = targets.get(dir);
      if (known === 'all') continue;
      targets.set(dir, new Set([...(known ?? []), basename(file)]));
    }
    for (const [dir, names] of targets) {
      try {
        const watcher = watch(dir, (_event, name) => {
          const n = name === null ? null : String(name);
          if (n !== null && !n.startsWith('..') && names !== 'all' && !names.has(n)) return;
          if (reloadTimer) clearTimeout(reloadTimer);
          reloadTimer = setTimeout(() => {
            reloadTimer = undefined;
            if (!stopping) reloadPolicies();
          }, debounce);
        });
        watcher.on('error', (error) => log.warn({ event: 'policy-watch-error', err: error }, `policy watch stopped: ${error.message}`));
        watchers.push(watcher);
      } catch (error) {
        log.warn({ event: 'policy-watch-error', err: error }, `cannot watch ${dir} for policy changes: ${messageOf(error)}`);
      }
    }
  };

  const stop = (reason = 'stop requested'): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      log.info({ event: 'stopping', reason }, `stopping: ${reason}`);
      if (timer !== undefined) scheduler.clearTimeout(timer);
      if (reloadTimer) clearTimeout(reloadTimer);
      for (const w of watchers) w.close();
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

  const policyStatus = (e: Entry): PolicyStatus => ({
    name: e.plan.name,
    path: e.path,
    intervalSeconds: e.plan.spec.interval,
    ticks: e.ticks,
    consecutiveFailures: e.consecutiveFailures,
    running: e.running !== undefined,
    ready: isReady(e),
    ...(e.lastOutcome ? { lastOutcome: e.lastOutcome } : {}),
  });

  return {
    async start() {
      if (options.metricsPort !== undefined) {
        server = await startMetricsServer({ port: options.metricsPort, host: options.metricsHost, metrics, health, ready });
        log.info({ event: 'metrics-server', port: server.port }, `serving /metrics, /healthz, /readyz on port ${server.port}`);
      }
      if (options.leader) {
        const first = await options.leader.start();
        metrics.setLeader(first);
      } else {
        metrics.setLeader(true);
      }
      if (options.watchPolicy !== false) startWatching();
      const period = periodMs();
      const limitMs = timeoutMs(period);
      const election = options.leader ? options.leader.identity : 'off';
      if (single) {
        const plan = (list()[0] as Entry).plan;
        log.info(
          { event: 'started', policy: plan.name, intervalSeconds: plan.spec.interval, pools: plan.spec.pools.map((p) => p.name), election },
          `planner started: policy ${plan.name}, every ${plan.spec.interval}s`,
        );
      } else {
        const names = list().map((e) => e.plan.name);
        log.info(
          { event: 'started', policies: names, intervalSeconds: period / 1000, concurrency, policyTimeoutSeconds: limitMs === undefined ? null : limitMs / 1000, election },
          `planner started: ${names.length} policies, every ${period / 1000}s, ${concurrency} at a time${limitMs === undefined ? '' : `, ${limitMs / 1000}s per-policy timeout`}`,
        );
        for (const e of list()) {
          const interval = e.plan.spec.interval * 1000;
          if (interval % period !== 0) {
            log.warn(
              { event: 'policy-warning', policy: e.plan.name },
              `${e.plan.name}: interval ${interval / 1000}s is not a multiple of the loop interval ${period / 1000}s; it ticks on the nearest round (use multiples of the shortest interval)`,
            );
          }
        }
        if (limitMs !== undefined && limitMs >= period) {
          log.warn({ event: 'policy-warning' }, `the per-policy timeout (${limitMs / 1000}s) is not shorter than the loop interval (${period / 1000}s): one stuck graph can make a round overrun`);
        }
      }
      void loop();
    },
    runOnce: () => roundOnce(true),
    stop,
    stopped,
    canAct,
    reloadPolicies,
    plans: () => list().map((e) => e.plan),
    status: () => ({ rounds, running: inFlight !== undefined, intervalSeconds: periodMs() / 1000, ...(lastRound ? { lastRound } : {}), policies: list().map(policyStatus) }),
    health,
    ready,
    port: () => server?.port,
  };
}
