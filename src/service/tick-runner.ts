/**
 * Runs one policy's tick (planner/tick: observe -> decide -> apply) for the loop, bounded by the per-policy timeout.
 *
 * A tick that times out is marked failed and abandoned: its connector calls see `canAct() === false` from then on
 * (each tick runs in its own async context, which `stepAbandoned()` reads), and its late result is dropped. The
 * policy stays `running` until the stuck call returns, and the loop skips it until then.
 * With a `decider`, decide() runs in a worker thread with a deadline (what is left of the tick's timeout, else
 * decideBoundMs): a decide that does not return stops its thread, not the event loop, and the tick fails as
 * `timeout` with nothing written. The tick's own timeout also stops its decide at once.
 * A tick "fails" when it threw, timed out, was skipped, when any metric source reported an error, or when the
 * connector reported one. A clean zero-traffic window is a good tick.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock, Connector, MetricSource } from '../planner/ports.js';
import type { DecideInput } from '../planner/decide.js';
import type { PanicPoll } from '../planner/panic.js';
import { runTick, type TickOptions, type TickPorts, type TickResult } from '../planner/tick.js';
import { DecideTimeoutError, type Decider } from './decide/pool.js';
import type { PlannerMetrics } from './exporter.js';
import type { LeaderElector } from './leader.js';
import type { PolicyEntry, PolicyRegistry } from './policy-registry.js';
import type { Scheduler } from './scheduler.js';
import { failureOf, type TickOutcome } from './tick-outcome.js';
import { logTick } from './tick-log.js';

export interface TickRunnerOptions {
  clock: Clock;
  scheduler: Scheduler;
  /** The tick step (planner/tick's runTick; tests pass their own). */
  tick: typeof runTick;
  source: MetricSource;
  connector: Connector;
  log: Logger;
  metrics: PlannerMetrics;
  leader?: LeaderElector;
  registry: PolicyRegistry;
  /** One policy file and no directory: log lines need not name the policy. */
  single: boolean;
  /** Called with the clock's reading whenever a tick starts or ends (the loop's progress, for /healthz). */
  onProgress: (at: number) => void;
  /** Runs decide() with a deadline (a worker thread); omit to decide in line. */
  decider?: Decider;
}

/**
 * The deadline of a decide() when the tick itself has none (one policy, no --policy-timeout): the policy's interval,
 * and at least MIN_DECIDE_BOUND_MS. A decide takes well under a second at the input ceilings, so this only catches a
 * computation that does not end, never a slow machine.
 * Example: interval 60 s -> 60 s; interval 250 ms -> 10 s.
 */
const MIN_DECIDE_BOUND_MS = 10_000;

export function decideBoundMs(intervalSeconds: number): number {
  return Math.max(MIN_DECIDE_BOUND_MS, intervalSeconds * 1000);
}

/** Per-tick context, visible to canAct() from inside the connector's calls. */
interface StepContext {
  abandoned: boolean;
  /** Aborted when the tick times out: its decide() (in a worker) is stopped at once. */
  abort: AbortController;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

function tickOptions(options: { poll?: boolean; panic?: PanicPoll; windowSeconds?: number }): TickOptions {
  if (!options.poll) return {};
  return { poll: true, ...(options.panic ? { panic: options.panic } : {}), ...(options.windowSeconds !== undefined ? { windowSeconds: options.windowSeconds } : {}) };
}

export class TickRunner {
  readonly #options: TickRunnerOptions;
  readonly #steps = new AsyncLocalStorage<StepContext>();

  constructor(options: TickRunnerOptions) {
    this.#options = options;
  }

  /** True when called from inside a tick that timed out: its writes must stop. */
  stepAbandoned(): boolean {
    return this.#steps.getStore()?.abandoned ?? false;
  }

  /** Records a tick that was not run (and why) as a failed one. */
  skip(e: PolicyEntry, why: string): TickOutcome {
    const { metrics, log, registry } = this.#options;
    const outcome: TickOutcome = { ok: false, failure: `tick skipped: ${why}`, durationSeconds: 0 };
    metrics.recordFailedTick(0, e.plan.name, 'skipped');
    log.warn({ event: 'tick-skipped', policy: e.plan.name, reason: why }, `${e.plan.name}: tick skipped: ${why}`);
    registry.record(e, outcome);
    return outcome;
  }

  /**
   * One tick of `e`, given up after `limitMs` (undefined = no limit); `roundStart` is when its round began. A poll of a
   * graph at zero (`poll`) is decided like a tick, but does not move its interval's schedule; a panic poll (`panic`,
   * with `poll`) also observes `windowSeconds` (the time since the graph's last full tick).
   */
  async run(e: PolicyEntry, roundStart: number, limitMs: number | undefined, options: { poll?: boolean; panic?: PanicPoll; windowSeconds?: number } = {}): Promise<TickOutcome> {
    const { clock, scheduler, metrics, log, single } = this.#options;
    const started = clock.now();
    this.#options.onProgress(started);
    if (!options.poll) e.lastRunAt = roundStart;
    const plan = e.plan;
    const name = plan.name;
    const step: StepContext = { abandoned: false, abort: new AbortController() };
    const decider = this.#options.decider;
    // A decide() in a worker gets what is left of the tick's time (or its own bound) and stops when the tick does.
    const decideTimeoutMs = () => (limitMs === undefined ? decideBoundMs(plan.spec.interval) : Math.max(1, started + limitMs - clock.now()));
    const ports: TickPorts = {
      clock,
      source: this.#options.source,
      connector: this.#options.connector,
      ...(decider ? { decide: (input: DecideInput) => decider.decide(input, { timeoutMs: decideTimeoutMs(), signal: step.abort.signal }) } : {}),
    };
    const work = this.#steps.run(step, () => this.#options.tick({ spec: plan.spec, profile: plan.profile, state: e.state }, ports, tickOptions(options)));
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
    this.#options.onProgress(clock.now());
    let outcome: TickOutcome;
    if ('timeout' in first) {
      step.abandoned = true;
      step.abort.abort();
      const why = `tick timed out after ${seconds(limitMs ?? 0)}s (per-policy timeout); its writes are stopped and its result dropped`;
      outcome = { ok: false, failure: why, durationSeconds };
      metrics.recordFailedTick(durationSeconds, name, 'timeout');
      log.warn({ event: 'tick-timeout', policy: name, durationSeconds }, `${name}: ${why}`);
    } else if ('error' in first && first.error instanceof DecideTimeoutError) {
      // decide() did not return in time (its worker was restarted): nothing was written; held, and counted as a timeout.
      const why = `tick timed out: ${first.error.message}`;
      outcome = { ok: false, failure: why, durationSeconds };
      metrics.recordFailedTick(durationSeconds, name, 'timeout');
      log.warn({ event: 'tick-timeout', policy: name, durationSeconds }, `${single ? '' : `${name}: `}${why}`);
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
      metrics.recordTick({ spec: plan.spec, decision: result.decision, observation: result.observation, applyErrors: Object.keys(result.apply.errors).length, durationSeconds, policy: name });
      this.#logTick(name, result, durationSeconds);
    }
    if (!e.removed) this.#options.registry.record(e, outcome);
    return outcome;
  }

  #logTick(name: string, result: TickResult, durationSeconds: number): void {
    const { log, leader, single } = this.#options;
    logTick(log, { name, single, leader: leader ? leader.isLeader() : true }, result, durationSeconds);
  }
}
