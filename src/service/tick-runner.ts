/**
 * Runs one policy's tick (planner/tick: observe -> decide -> apply) for the loop, bounded by the per-policy timeout.
 *
 * A tick that times out is marked failed and abandoned: its connector calls see `canAct() === false` from then on
 * (each tick runs in its own async context, which `stepAbandoned()` reads), and its late result is dropped. The
 * policy stays `running` until the stuck call returns, and the loop skips it until then. Its Kubernetes API calls do
 * not get stuck: each runs within the tick's budget (tick-step.ts, read through `stepBudget()`), so a retry never
 * waits past the tick's deadline, and a wait or request still running when the tick is given up, or when the planner
 * stops, ends at once.
 * With a `decider`, decide() runs in a worker thread with a deadline (what is left of the tick's timeout, else
 * decideBoundMs): a decide that does not return stops its thread, not the event loop, and the tick fails as
 * `timeout` with nothing written. The tick's own timeout also stops its decide at once.
 * A tick "fails" when it threw, timed out, was skipped, when any metric source reported an error, or when the
 * connector reported one. A clean zero-traffic window is a good tick.
 */
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
import { TickSteps } from './tick-step.js';
import type { CallBudget } from '../kubernetes/retry.js';

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
  /** The planner's stop: aborted when it stops, ending the API calls of the ticks still running. */
  stop: AbortSignal;
}

/**
 * The deadline of a decide(), and of the Kubernetes API calls, when the tick itself has none (one policy, no
 * --policy-timeout): the policy's interval, and at least MIN_DECIDE_BOUND_MS. A decide takes well under a second at
 * the input ceilings, so this only catches a computation that does not end, never a slow machine; API calls that
 * keep failing give up by then instead of making the tick overrun its interval.
 * Example: interval 60 s -> 60 s; interval 250 ms -> 10 s.
 */
const MIN_DECIDE_BOUND_MS = 10_000;

export function decideBoundMs(intervalSeconds: number): number {
  return Math.max(MIN_DECIDE_BOUND_MS, intervalSeconds * 1000);
}

const seconds = (ms: number) => Math.round(ms) / 1000;

function tickOptions(options: { poll?: boolean; panic?: PanicPoll; windowSeconds?: number }): TickOptions {
  if (!options.poll) return {};
  return { poll: true, ...(options.panic ? { panic: options.panic } : {}), ...(options.windowSeconds !== undefined ? { windowSeconds: options.windowSeconds } : {}) };
}

export class TickRunner {
  readonly #options: TickRunnerOptions;
  readonly #steps: TickSteps;

  constructor(options: TickRunnerOptions) {
    this.#options = options;
    this.#steps = new TickSteps(options.stop);
  }

  /** True when called from inside a tick that timed out: its writes must stop. */
  stepAbandoned(): boolean {
    return this.#steps.abandoned();
  }

  /** The budget of the API calls of the tick this is called from (undefined outside a tick). */
  stepBudget(): CallBudget | undefined {
    return this.#steps.budget();
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
    const decider = this.#options.decider;
    // A decide() in a worker gets what is left of the tick's time (or its own bound) and stops when the tick does.
    const decideTimeoutMs = () => (limitMs === undefined ? decideBoundMs(plan.spec.interval) : Math.max(1, started + limitMs - clock.now()));
    const { step, running: work } = this.#steps.run(limitMs ?? decideBoundMs(plan.spec.interval), (tick) => {
      const ports: TickPorts = {
        clock,
        source: this.#options.source,
        connector: this.#options.connector,
        ...(decider ? { decide: (input: DecideInput) => decider.decide(input, { timeoutMs: decideTimeoutMs(), signal: tick.timeout.signal }) } : {}),
      };
      return this.#options.tick({ spec: plan.spec, profile: plan.profile, state: e.state }, ports, tickOptions(options));
    });
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
      step.abandon(`the tick timed out after ${seconds(limitMs ?? 0)}s (per-policy timeout)`);
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
