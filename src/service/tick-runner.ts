/**
 * Runs one policy's tick (planner/tick: observe -> decide -> apply) for the loop, bounded by the per-policy timeout.
 *
 * A tick that times out is marked failed and abandoned: its connector calls see `canAct() === false` from then on
 * (each tick runs in its own async context, which `stepAbandoned()` reads), and its late result is dropped. The
 * policy stays `running` until the stuck call returns, and the loop skips it until then.
 * A tick "fails" when it threw, timed out, was skipped, when any metric source reported an error, or when the
 * connector reported one. A clean zero-traffic window is a good tick.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock, Connector, MetricSource } from '../planner/ports.js';
import { runTick, type TickResult } from '../planner/tick.js';
import { decisionReason, type PlannerMetrics } from './exporter.js';
import type { LeaderElector } from './leader.js';
import type { PolicyEntry, PolicyRegistry } from './policy-registry.js';
import type { Scheduler } from './scheduler.js';
import { failureOf, type TickOutcome } from './tick-outcome.js';

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
}

/** Per-tick context, visible to canAct() from inside the connector's calls. */
interface StepContext {
  abandoned: boolean;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

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
   * graph at zero (`poll`) is decided like a tick, but does not move its interval's schedule.
   */
  async run(e: PolicyEntry, roundStart: number, limitMs: number | undefined, options: { poll?: boolean } = {}): Promise<TickOutcome> {
    const { clock, scheduler, metrics, log, single } = this.#options;
    const started = clock.now();
    this.#options.onProgress(started);
    if (!options.poll) e.lastRunAt = roundStart;
    const plan = e.plan;
    const name = plan.name;
    const step: StepContext = { abandoned: false };
    const ports = { clock, source: this.#options.source, connector: this.#options.connector };
    const work = this.#steps.run(step, () => this.#options.tick({ spec: plan.spec, profile: plan.profile, state: e.state }, ports, options.poll ? { poll: true } : {}));
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
      metrics.recordTick({ spec: plan.spec, decision: result.decision, observation: result.observation, applyErrors: Object.keys(result.apply.errors).length, durationSeconds, policy: name });
      this.#logTick(name, result, durationSeconds);
    }
    if (!e.removed) this.#options.registry.record(e, outcome);
    return outcome;
  }

  #logTick(name: string, result: TickResult, durationSeconds: number): void {
    const { log, leader, single } = this.#options;
    const desired = Object.fromEntries(Object.entries(result.decision.pools).map(([pool, d]) => [pool, d.desired]));
    const explanation = result.decision.explanation;
    log.info(
      {
        event: 'tick',
        policy: name,
        outcome: decisionReason(result.decision, result.observation),
        leader: leader ? leader.isLeader() : true,
        desired,
        apply: result.apply,
        observation: result.observation,
        explanation,
        durationSeconds,
      },
      `${single ? '' : `${name} `}tick: ${Object.entries(desired)
        .map(([pool, n]) => `${pool}=${n}`)
        .join(' ')}${explanation.held ? ` (held: ${explanation.holdReason ?? 'missing metrics'})` : ''}`,
    );
  }
}
