/**
 * The planner loop for one or many policies (one policy = one model/graph) in one process: the imperative shell
 * around planner/tick. Its parts: policy-registry.ts (the policies, their state and hot reload), tick-runner.ts (one
 * policy's tick with its timeout), probes.ts (/healthz, /readyz), policy-watch.ts (file events), leader.ts (Lease).
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
 *   - Readiness: each policy fails after spec.failureThreshold failed (or timed-out, or skipped) ticks in a row;
 *     /readyz turns not-ready only when every policy is failing (probes.ts). A failing policy shows as
 *     pd_planner_policy_ready{policy} 0. /healthz fails when the loop made no progress for max(3 x interval, 120 s).
 *   - Every replica ticks (so a standby's forecaster history is warm when it takes over), but only the leader's
 *     connector acts (one Lease for the whole process).
 *   - Hot reload: the policy files and directories are watched; see policy-registry.ts for what a change does.
 *   - The Kubernetes API calls of a tick run within its budget (`callBudget`, handed to the connector like canAct):
 *     their retries never wait past the tick's deadline, and end at once when the tick is given up or the planner
 *     stops (tick-step.ts).
 *   - The metric sources' reads (Prometheus queries, NATS reads) run under the same signal (`callBudget().signal`,
 *     wired in wiring.ts): a tick given up, or the planner stopping, cuts them off at once; their fields are then
 *     unknown and the tick holds.
 *   - Writes also run within the current term of leadership (`callBudget().leadership`, leader.ts `term()`): a retry
 *     wait or a write in flight ends the moment the Lease is lost, and nothing is sent after.
 *   - stop(): no new round, and no new API request or retry (a retry wait or a request in flight ends at once), no
 *     Prometheus or NATS read goes on (cut off); the running round then ends (it may take the grace period, else it
 *     is abandoned: its connector calls can no longer act); the Lease is released; servers and connections are
 *     closed.
 *
 * Methods that are handed out as callbacks (canAct, callBudget, health, ready) are arrow-function fields, so they keep
 * `this`.
 */
import { resolve } from 'node:path';
import type { Logger } from '../log.js';
import type { Clock, Connector, MetricSource } from '../planner/ports.js';
import { runTick } from '../planner/tick.js';
import { createPlannerMetrics, type PlannerMetrics } from './exporter.js';
import { startMetricsServer, type MetricsServer } from './http-server.js';
import type { LeaderElector } from './leader.js';
import { forEachLimit } from './limit.js';
import type { LoadedPlan } from './plan.js';
import { PolicyRegistry, type PolicyEntry, type PolicyStatus } from './policy-registry.js';
import { PolicyWatcher } from './policy-watch.js';
import { healthProbe, readyProbe, type Probe } from './probes.js';
import { realScheduler, type Scheduler } from './scheduler.js';
import type { Decider } from './decide/pool.js';
import type { TickOutcome } from './tick-outcome.js';
import { TickRunner } from './tick-runner.js';
import { FleetRound, type FleetSettings, type FleetTurn } from './fleet-round.js';
import { createFleetMetrics } from './fleet-metrics.js';
import { nextTickSeconds } from '../planner/idle.js';
import { panicDue, panicPollSeconds } from '../planner/panic.js';
import { MIN_INTERVAL_SECONDS } from '../config/duration.js';
import type { CallBudget } from '../kubernetes/retry.js';

export type { PolicyStatus } from './policy-registry.js';

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
  /**
   * Milliseconds on a clock that never steps (default: performance.now(), or `clock` when one is given), for /healthz:
   * an NTP step forward of the wall clock must not read as a loop that made no progress and get the pod restarted.
   */
  monotonic?: () => number;
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
  /**
   * Runs each decide() with a deadline, off the event loop (service/decide/pool.ts); `pd-planner run` always passes
   * one. Omitted, decide() runs in line (tests that drive the loop by hand).
   */
  decider?: Decider;
  /**
   * `run --fleet`: the policies are the graphs of one fleet, decided together each round on its budget
   * (fleet-round.ts). `settings` gives the fleet file's budget and priorities as last loaded; `reload` re-reads the
   * fleet file (true when it changed) and `file` is watched with the policies.
   */
  fleet?: { settings: () => FleetSettings; reload?: () => boolean; file?: string };
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
  /**
   * The budget of the connector's API calls made now: the running tick's (its deadline; aborted when it is given up
   * or the planner stops), else the planner's stop alone; with an election, the current term of leadership, which
   * ends the writes (not the reads) the moment it ends. Its signal is also what the metric sources' reads (Prometheus,
   * NATS) are cut off by.
   */
  callBudget(): CallBudget;
  /** Re-reads every policy file and directory now; true when anything changed. */
  reloadPolicies(): boolean;
  plans(): LoadedPlan[];
  status(): MultiStatus;
  health(): Probe;
  ready(): Probe;
  /** Port of the metrics server, once started. */
  port(): number | undefined;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

/** A policy is due when its interval has passed since its last tick, give or take half a round. */
const isDue = (e: PolicyEntry, roundStart: number, period: number) => e.lastRunAt === undefined || roundStart - e.lastRunAt >= e.plan.spec.interval * 1000 - period / 2;

/**
 * A graph at zero with `scaleToZero.pollInterval` is also polled in between (planner/idle.ts): due for a poll when that
 * long has passed since its last tick or poll, give or take half a round.
 */
function pollDue(e: PolicyEntry, lastPoll: number | undefined, roundStart: number, period: number): boolean {
  const poll = nextTickSeconds(e.plan.spec, e.state);
  if (poll >= e.plan.spec.interval) return false;
  const since = Math.max(e.lastRunAt ?? -Infinity, lastPoll ?? -Infinity);
  return roundStart - since >= poll * 1000 - period / 2;
}

export class PlannerLoop implements MultiPlannerService {
  readonly stopped: Promise<void>;
  readonly #options: MultiPlannerOptions;
  readonly #clock: Clock;
  readonly #monotonic: () => number;
  readonly #scheduler: Scheduler;
  readonly #log: Logger;
  readonly #metrics: PlannerMetrics;
  readonly #registry: PolicyRegistry;
  readonly #runner: TickRunner;
  readonly #fleet: FleetRound | undefined;
  /** When each graph at zero was last polled (epoch ms). */
  readonly #lastPoll = new WeakMap<PolicyEntry, number>();
  /** When each graph's queue was last read by a panic poll (epoch ms). */
  readonly #lastPanicRead = new WeakMap<PolicyEntry, number>();
  /** The full tick (its lastRunAt) after which each graph last decided on a panic poll: one per interval. */
  readonly #panicked = new WeakMap<PolicyEntry, number>();
  /** When the next round starts (epoch ms), once scheduled. */
  #nextRoundAt = 0;
  #panicInFlight: Promise<void> | undefined;
  readonly #concurrency: number;
  /** One policy file and no directory. */
  readonly #single: boolean;
  #resolveStopped!: () => void;
  #rounds = 0;
  #lastRound: RoundOutcome | undefined;
  /** The loop interval last computed (kept for when no policy is loaded). */
  #lastPeriodMs: number;
  #lastProgressAt: number;
  #inFlight: Promise<RoundOutcome> | undefined;
  #timer: unknown;
  #stopping = false;
  /** Aborted when stop() begins: the API calls still running end, and no new one is sent. */
  readonly #stop = new AbortController();
  /** The running round outlived the shutdown grace period: nothing may write any more. */
  #abandoned = false;
  #server: MetricsServer | undefined;
  #watcher: PolicyWatcher | undefined;
  #stopPromise: Promise<void> | undefined;

  constructor(options: MultiPlannerOptions, initial: { path: string; plan: LoadedPlan }[]) {
    this.#options = options;
    this.#clock = options.clock ?? { now: () => Date.now() };
    const clock = this.#clock;
    this.#monotonic = options.monotonic ?? (options.clock ? () => clock.now() : () => performance.now());
    this.#scheduler = options.scheduler ?? realScheduler;
    this.#log = options.logger;
    this.#metrics = options.metrics ?? createPlannerMetrics({ policyLabel: true });
    this.#concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
    const dirs = (options.policyDirs ?? []).map((d) => resolve(d));
    this.#single = options.policyFiles.length === 1 && dirs.length === 0;
    this.#registry = new PolicyRegistry(initial, { dirs, loadPolicy: options.loadPolicy, log: this.#log, metrics: this.#metrics, single: this.#single });
    this.#runner = new TickRunner({
      clock: this.#clock,
      scheduler: this.#scheduler,
      tick: options.tick ?? runTick,
      source: options.source,
      connector: options.connector,
      log: this.#log,
      metrics: this.#metrics,
      leader: options.leader,
      registry: this.#registry,
      single: this.#single,
      onProgress: () => {
        this.#lastProgressAt = this.#monotonic();
      },
      ...(options.decider ? { decider: options.decider } : {}),
      stop: this.#stop.signal,
    });
    this.#fleet = options.fleet
      ? new FleetRound({
          clock: this.#clock,
          scheduler: this.#scheduler,
          source: options.source,
          connector: options.connector,
          log: this.#log,
          metrics: this.#metrics,
          fleetMetrics: createFleetMetrics(this.#metrics.registry, () => options.fleet!.settings().name),
          leader: options.leader,
          registry: this.#registry,
          concurrency: this.#concurrency,
          settings: options.fleet.settings,
          onProgress: () => {
            this.#lastProgressAt = this.#monotonic();
          },
          ...(options.decider ? { decider: options.decider } : {}),
          stop: this.#stop.signal,
        })
      : undefined;
    this.#lastPeriodMs = Math.min(...initial.map((p) => p.plan.spec.interval * 1000), 60_000);
    this.#lastProgressAt = this.#monotonic();
    this.stopped = new Promise<void>((resolve) => (this.#resolveStopped = resolve));
  }

  readonly canAct = (): boolean =>
    !this.#stopping &&
    !this.#abandoned &&
    !this.#runner.stepAbandoned() &&
    !(this.#fleet?.stepAbandoned() ?? false) &&
    (this.#options.leader ? this.#options.leader.isLeader() : true);

  readonly callBudget = (): CallBudget => {
    const budget = this.#runner.stepBudget() ?? this.#fleet?.stepBudget() ?? { signal: this.#stop.signal };
    const leader = this.#options.leader;
    return leader ? { ...budget, leadership: leader.term() } : budget;
  };

  readonly health = (): Probe =>
    healthProbe({ idleMs: this.#monotonic() - this.#lastProgressAt, periodMs: this.#periodMs(), running: this.#inFlight !== undefined, rounds: this.#rounds });

  readonly ready = (): Probe => readyProbe(this.#registry.list(), this.#rounds, this.#registry.dirs);

  async start(): Promise<void> {
    const { leader, metricsPort } = this.#options;
    if (metricsPort !== undefined) {
      this.#server = await startMetricsServer({ port: metricsPort, host: this.#options.metricsHost, metrics: this.#metrics, health: this.health, ready: this.ready });
      this.#log.info({ event: 'metrics-server', port: this.#server.port }, `serving /metrics, /healthz, /readyz on port ${this.#server.port}`);
    }
    // The first decide thread is started before the first tick, so that tick does not wait for it.
    await this.#options.decider?.start?.();
    this.#metrics.setLeader(leader ? await leader.start() : true);
    if (this.#options.watchPolicy !== false) {
      this.#watcher = new PolicyWatcher({
        dirs: this.#registry.dirs,
        files: [...this.#options.policyFiles, ...(this.#options.fleet?.file ? [this.#options.fleet.file] : [])],
        debounceMs: this.#options.reloadDebounceMs ?? 500,
        onChange: () => {
          if (this.#stopping) return;
          this.#options.fleet?.reload?.();
          this.reloadPolicies();
        },
        log: this.#log,
      });
      this.#watcher.start();
    }
    this.#logStart();
    void this.#loop();
  }

  async runOnce(): Promise<RoundOutcome> {
    // The decide threads are started before the round: their start-up is not counted against a tick's timeout.
    await this.#options.decider?.start?.();
    return this.#roundOnce(true);
  }

  stop(reason = 'stop requested'): Promise<void> {
    this.#stopPromise ??= this.#shutdown(reason);
    return this.#stopPromise;
  }

  reloadPolicies(): boolean {
    return this.#registry.reload();
  }

  plans(): LoadedPlan[] {
    return this.#registry.plans();
  }

  status(): MultiStatus {
    return {
      rounds: this.#rounds,
      running: this.#inFlight !== undefined,
      intervalSeconds: this.#periodMs() / 1000,
      ...(this.#lastRound ? { lastRound: this.#lastRound } : {}),
      policies: this.#registry.list().map((e) => this.#registry.status(e)),
    };
  }

  port(): number | undefined {
    return this.#server?.port;
  }

  /**
   * The loop interval: the shortest time to a policy's next tick (its interval, or its poll interval while it is at
   * zero); the last one known when no policy is loaded.
   */
  #periodMs(): number {
    if (this.#registry.size > 0) this.#lastPeriodMs = Math.min(...this.#registry.list().map((e) => nextTickSeconds(e.plan.spec, e.state) * 1000));
    return this.#lastPeriodMs;
  }

  /** The per-policy timeout: as configured, else none for a single policy file, else half the shortest spec.interval (polls at zero aside). */
  #timeoutMs(period: number): number | undefined {
    const configured = this.#options.policyTimeoutSeconds;
    if (configured === 0) return undefined;
    if (configured !== undefined) return configured * 1000;
    const shortest = this.#registry.size > 0 ? Math.min(...this.#registry.list().map((e) => e.plan.spec.interval * 1000)) : period;
    return this.#single ? undefined : Math.max(period, shortest) / 2;
  }

  async #runRound(force: boolean): Promise<RoundOutcome> {
    const clock = this.#clock;
    const startedAt = clock.now();
    this.#lastProgressAt = this.#monotonic();
    this.#forgetFutureTimes(startedAt);
    if (this.#options.leader) this.#metrics.setLeader(this.#options.leader.isLeader());
    const period = this.#periodMs();
    const limitMs = this.#timeoutMs(period);
    // Start no tick that could not finish within the round (only meaningful when the timeout is shorter).
    const startBy = limitMs !== undefined && limitMs < period ? startedAt + period - limitMs : Infinity;
    const polls = new Set<PolicyEntry>();
    const due = this.#registry
      .list()
      .filter((e) => {
        if (force || isDue(e, startedAt, period)) return true;
        if (!pollDue(e, this.#lastPoll.get(e), startedAt, period)) return false;
        polls.add(e);
        return true;
      })
      // Longest-waiting first: a policy skipped for lack of time goes first next round.
      .sort((a, b) => (a.lastRunAt ?? -Infinity) - (b.lastRunAt ?? -Infinity) || a.plan.name.localeCompare(b.plan.name));
    for (const e of polls) this.#lastPoll.set(e, startedAt);
    let results: RoundOutcome['results'] = [];
    if (this.#fleet) {
      const turns: FleetTurn[] = due.filter((e) => !this.#stopping && !e.removed).map((entry) => ({ entry, poll: polls.has(entry) }));
      if (turns.length > 0) results = await this.#fleet.run(turns, this.#registry.list(), startedAt, limitMs);
    } else await forEachLimit(due, this.#concurrency, async (e) => {
      if (this.#stopping || e.removed) return;
      let outcome: TickOutcome;
      if (e.running) outcome = this.#runner.skip(e, 'its previous tick has not returned yet (it timed out earlier)');
      else if (clock.now() > startBy) {
        outcome = this.#runner.skip(
          e,
          `no time left in this round: it would start ${seconds(clock.now() - startedAt)}s into a ${seconds(period)}s interval with a ${seconds(limitMs ?? 0)}s timeout (raise --concurrency)`,
        );
      } else outcome = await this.#runner.run(e, startedAt, limitMs, { poll: polls.has(e) });
      results.push({ name: e.plan.name, path: e.path, outcome });
    });
    this.#rounds += 1;
    const now = clock.now();
    this.#lastProgressAt = this.#monotonic();
    const durationSeconds = (now - startedAt) / 1000;
    const overran = now - startedAt > period;
    this.#metrics.recordRound(durationSeconds, overran);
    if (!this.#single) this.#logRound(results, durationSeconds, period);
    this.#lastRound = { startedAt, durationSeconds, overran, results };
    return this.#lastRound;
  }

  /**
   * A wall clock stepped back (an NTP step, a VM restored) leaves the policies' last ticks in the future, and a policy
   * is due only once its interval has passed since then: without this, a clock set back an hour would stop every
   * tick for an hour while /healthz stays green (the rounds still run). Such times are forgotten: the policies tick in
   * this round and count their intervals, polls and panic polls from the new clock.
   * Example: last tick 10:00:00, the round timer fires at what the clock now calls 09:00:30: every policy ticks.
   */
  #forgetFutureTimes(now: number): void {
    const ahead = this.#registry.list().filter((e) => (e.lastRunAt ?? -Infinity) > now);
    if (ahead.length === 0) return;
    const latest = Math.max(...ahead.map((e) => e.lastRunAt as number));
    this.#log.warn(
      { event: 'clock-jump', backSeconds: seconds(latest - now), policies: ahead.map((e) => e.plan.name) },
      `the clock went back ${seconds(latest - now)}s (the last tick started at ${new Date(latest).toISOString()}, now is ${new Date(now).toISOString()}); every policy ticks now and counts its interval from the new time`,
    );
    for (const e of this.#registry.list()) {
      if ((e.lastRunAt ?? -Infinity) > now) e.lastRunAt = undefined;
      if ((this.#lastPoll.get(e) ?? -Infinity) > now) this.#lastPoll.delete(e);
      if ((this.#lastPanicRead.get(e) ?? -Infinity) > now) this.#lastPanicRead.delete(e);
    }
  }

  #logRound(results: RoundOutcome['results'], durationSeconds: number, period: number): void {
    const failed = results.filter((r) => !r.outcome.ok).map((r) => r.name);
    const policies = this.#registry.size;
    this.#log.info(
      { event: 'round', policies, ticked: results.length, failed, durationSeconds, intervalSeconds: period / 1000, concurrency: this.#concurrency },
      `round: ${results.length} of ${policies} policies in ${durationSeconds.toFixed(2)}s${failed.length > 0 ? ` (${failed.length} failed: ${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ', ...' : ''})` : ''}`,
    );
  }

  /** Guarantees one round at a time, whoever asks (loop or --once). */
  #roundOnce(force: boolean): Promise<RoundOutcome> {
    this.#inFlight ??= this.#runRound(force).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  #scheduleNext(startedAt: number): void {
    if (this.#stopping) return;
    const period = this.#periodMs();
    const now = this.#clock.now();
    const due = startedAt + period;
    if (now > due) {
      this.#log.warn(
        { event: 'tick-overrun', overrunSeconds: (now - due) / 1000, intervalSeconds: period / 1000, policies: this.#registry.size },
        `tick took ${((now - startedAt) / 1000).toFixed(1)}s, longer than the ${period / 1000}s interval; the next tick starts now (ticks never overlap)`,
      );
    }
    this.#nextRoundAt = due;
    this.#arm();
  }

  /** Sets the timer: for the next panic poll when one comes before the next round, else for the round. */
  #arm(): void {
    if (this.#stopping) return;
    const now = this.#clock.now();
    const panicAt = this.#nextPanicAt();
    if (panicAt !== undefined) {
      this.#timer = this.#scheduler.setTimeout(
        () => {
          this.#timer = undefined;
          this.#panicInFlight = this.#panicPolls().finally(() => {
            this.#panicInFlight = undefined;
            this.#arm();
          });
        },
        Math.max(0, panicAt - now),
      );
      return;
    }
    this.#timer = this.#scheduler.setTimeout(
      () => {
        this.#timer = undefined;
        void this.#loop();
      },
      Math.max(0, this.#nextRoundAt - now),
    );
  }

  /**
   * The panic poll period of a graph (ms), or undefined when it has none: single graphs only (not a fleet), with a
   * source that reads the queue alone and a queue named in its policy, not at zero (planner/panic.ts), after its first
   * full tick, and not after its one panic decision of this interval.
   */
  #panicPeriodMs(e: PolicyEntry): number | undefined {
    if (this.#fleet || !this.#options.source.observeQueue || e.removed || e.lastRunAt === undefined) return undefined;
    if (!e.plan.spec.sources.queue || this.#panicked.get(e) === e.lastRunAt) return undefined;
    const period = panicPollSeconds(e.plan.spec, e.state);
    return period === undefined ? undefined : period * 1000;
  }

  /**
   * When the next panic poll is due (epoch ms): each graph's queue is read every panic period since its last full
   * tick or read, and not within half a period of the next round (which observes anyway); undefined = none before it.
   * Example: interval 60 s, panicPoll 10 s, a round at 10:00:00: reads at 10:00:10, :20, :30, :40 and :50.
   */
  #nextPanicAt(): number | undefined {
    let next: number | undefined;
    for (const e of this.#registry.list()) {
      const period = this.#panicPeriodMs(e);
      if (period === undefined) continue;
      const at = Math.max(e.lastRunAt as number, this.#lastPanicRead.get(e) ?? -Infinity) + period;
      if (at > this.#nextRoundAt - period / 2) continue;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  /**
   * The panic polls due now: each reads its graph's queue alone (observeQueue); a graph whose queue holds at least
   * PANIC_QUEUE requests runs one full tick as a poll, observing the window since its last full tick. A read that is
   * not due changes nothing and logs at debug only.
   */
  async #panicPolls(): Promise<void> {
    const now = this.#clock.now();
    const due = this.#registry.list().filter((e) => {
      const period = this.#panicPeriodMs(e);
      return period !== undefined && now - Math.max(e.lastRunAt as number, this.#lastPanicRead.get(e) ?? -Infinity) >= period / 2;
    });
    // Read or not (a round or a tick still running), each of these polls is done: the next one is a period on.
    for (const e of due) this.#lastPanicRead.set(e, now);
    if (this.#stopping || this.#inFlight) return;
    const limitMs = this.#timeoutMs(this.#periodMs());
    await forEachLimit(due, this.#concurrency, async (e) => {
      if (this.#stopping || e.removed || e.running) return;
      const spec = e.plan.spec;
      let depth: number | undefined;
      try {
        depth = await this.#options.source.observeQueue?.(now, spec);
      } catch (error) {
        this.#log.debug({ event: 'panic-poll', policy: e.plan.name, err: error }, `${e.plan.name}: panic poll could not read the queue`);
        return;
      }
      if (!panicDue(spec, depth, e.state) || this.#stopping || e.removed || e.running) {
        this.#log.debug({ event: 'panic-poll', policy: e.plan.name, queueDepth: depth ?? null }, `${e.plan.name}: panic poll, queue ${depth ?? 'unknown'}: not due`);
        return;
      }
      const lastRunAt = e.lastRunAt as number;
      const windowSeconds = Math.max(MIN_INTERVAL_SECONDS, (this.#clock.now() - lastRunAt) / 1000);
      this.#panicked.set(e, lastRunAt);
      await this.#runner.run(e, now, limitMs, { poll: true, panic: { queueDepth: depth as number, secondsIntoInterval: windowSeconds }, windowSeconds });
    });
  }

  async #loop(): Promise<void> {
    if (this.#stopping) return;
    const startedAt = this.#clock.now();
    await this.#roundOnce(false);
    this.#scheduleNext(startedAt);
  }

  #logStart(): void {
    const log = this.#log;
    const period = this.#periodMs();
    const limitMs = this.#timeoutMs(period);
    const election = this.#options.leader ? this.#options.leader.identity : 'off';
    const all = this.#registry.list();
    if (this.#single) {
      const plan = (all[0] as PolicyEntry).plan;
      log.info(
        { event: 'started', policy: plan.name, intervalSeconds: plan.spec.interval, pools: plan.spec.pools.map((p) => p.name), election },
        `planner started: policy ${plan.name}, every ${plan.spec.interval}s`,
      );
      return;
    }
    const names = all.map((e) => e.plan.name);
    const concurrency = this.#concurrency;
    const fleet = this.#options.fleet?.settings();
    if (fleet) {
      log.info(
        { event: 'started', fleet: fleet.name, budget: fleet.budget, priorities: fleet.priorities, policies: names, intervalSeconds: period / 1000, election },
        `planner started: fleet ${fleet.name}, ${names.length} graphs on ${fleet.budget.maxGpus} GPUs, every ${period / 1000}s`,
      );
      return;
    }
    log.info(
      { event: 'started', policies: names, intervalSeconds: period / 1000, concurrency, policyTimeoutSeconds: limitMs === undefined ? null : limitMs / 1000, election },
      `planner started: ${names.length} policies, every ${period / 1000}s, ${concurrency} at a time${limitMs === undefined ? '' : `, ${limitMs / 1000}s per-policy timeout`}`,
    );
    for (const e of all) {
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

  async #shutdown(reason: string): Promise<void> {
    const { leader, source, connector } = this.#options;
    const log = this.#log;
    const grace = (this.#options.shutdownGraceSeconds ?? 20) * 1000;
    this.#stopping = true;
    log.info({ event: 'stopping', reason }, `stopping: ${reason}`);
    this.#stop.abort(new Error(`the planner is stopping (${reason})`));
    if (this.#timer !== undefined) this.#scheduler.clearTimeout(this.#timer);
    this.#watcher?.close();
    const running: Promise<unknown> | undefined = this.#inFlight ?? this.#panicInFlight;
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
        this.#abandoned = true;
        log.warn({ event: 'tick-abandoned', graceSeconds: grace / 1000 }, `the running tick did not finish within ${grace / 1000}s; abandoned (no further writes)`);
      }
    }
    // Stops the decide threads; a decide still running (an abandoned tick) fails at once.
    await this.#options.decider?.close?.().catch(() => undefined);
    if (leader) {
      await leader.stop().catch((error: unknown) => log.warn({ err: error }, 'lease release failed'));
      this.#metrics.setLeader(false);
    }
    await this.#server?.close();
    await source.close?.().catch(() => undefined);
    await connector.close?.().catch(() => undefined);
    log.info({ event: 'stopped' }, 'stopped');
    this.#resolveStopped();
  }
}

export function createMultiPlannerService(options: MultiPlannerOptions, initial: { path: string; plan: LoadedPlan }[]): MultiPlannerService {
  return new PlannerLoop(options, initial);
}
