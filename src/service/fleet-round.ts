/**
 * One round of a fleet (`run --fleet`): every graph that is due observes (at most `concurrency` at a time, each
 * bounded by the per-policy timeout), the fleet decides them together on its one budget (src/fleet/decide.ts, pure),
 * and each graph's decision is applied by the shared connector (bounded the same way). A graph that is not due this
 * round keeps its counts, which the arbitration counts as fixed.
 *
 * Failures stay per graph: a source that fails or times out gives that graph an observation with the error, and the
 * core holds its counts (never below what runs) while the others are decided; an apply that fails or times out is that
 * graph's failure, and an apply that timed out can no longer write (`stepAbandoned()`, as in tick-runner.ts). The
 * Kubernetes API calls of each observe and apply run within its budget (`stepBudget()`, tick-step.ts): retries end by
 * its deadline, and at once when it times out or the planner stops.
 * Each applied graph logs as a policy's tick does (tick-log.ts logTick: its source warnings, its decision line, the
 * debug detail), named first when the fleet has several graphs.
 * With a `decider`, the fleet's decision runs in a decide worker thread (decide/pool.ts) with a deadline: the
 * per-policy timeout, else decideBoundMs of the interval. A decision that does not return by then stops its thread,
 * not the event loop (/healthz and SIGTERM still answer), and the round fails as a timeout for every graph it ticked,
 * with nothing written.
 */
import { own, toNullRecord } from '../config/records.js';
import { messageOf } from '../errors.js';
import { decideFleet, type FleetBudget, type FleetGraphInput, type FleetResult } from '../fleet/decide.js';
import type { Logger } from '../log.js';
import type { ApplyResult, Clock, Connector, MetricSource } from '../planner/ports.js';
import type { Observation } from '../planner/types.js';
import { DecideTimeoutError, type Decider } from './decide/pool.js';
import type { PlannerMetrics } from './exporter.js';
import type { FleetMetrics } from './fleet-metrics.js';
import type { LeaderElector } from './leader.js';
import { forEachLimit } from './limit.js';
import type { PolicyEntry, PolicyRegistry } from './policy-registry.js';
import type { Scheduler } from './scheduler.js';
import { logTick } from './tick-log.js';
import { failureOf, type TickOutcome } from './tick-outcome.js';
import { decideBoundMs } from './tick-runner.js';
import { TickSteps } from './tick-step.js';
import type { CallBudget } from '../kubernetes/retry.js';

/** The fleet file's settings the loop needs, as last loaded (budget and priorities reload with the file). */
export interface FleetSettings {
  name: string;
  budget: FleetBudget;
  /** Graph name (its policy's metadata.name) -> priority (read with own(): names are the user's). */
  priorities: Record<string, number>;
}

/** The settings with their priorities in a record without a prototype (a graph may be named `constructor`). */
export function fleetSettings(name: string, budget: FleetBudget, priorities: Iterable<readonly [string, number]>): FleetSettings {
  return { name, budget, priorities: toNullRecord(priorities) };
}

export interface FleetRoundOptions {
  clock: Clock;
  scheduler: Scheduler;
  source: MetricSource;
  connector: Connector;
  log: Logger;
  metrics: PlannerMetrics;
  fleetMetrics: FleetMetrics;
  leader?: LeaderElector;
  registry: PolicyRegistry;
  concurrency: number;
  settings: () => FleetSettings;
  onProgress: (at: number) => void;
  /** Runs decideFleet() in a worker thread with a deadline; omit to decide in line. */
  decider?: Decider;
  /** The planner's stop: aborted when it stops, ending the API calls still running. */
  stop: AbortSignal;
}

/** A graph this round: a full tick or a poll (planner/idle.ts nextTickSeconds). */
export interface FleetTurn {
  entry: PolicyEntry;
  poll: boolean;
}

type Bounded<T> = { value: T } | { error: unknown } | { timeout: true };

export class FleetRound {
  readonly #options: FleetRoundOptions;
  readonly #steps: TickSteps;

  constructor(options: FleetRoundOptions) {
    this.#options = options;
    this.#steps = new TickSteps(options.stop);
  }

  /** True when called from inside an apply that timed out: its writes must stop. */
  stepAbandoned(): boolean {
    return this.#steps.abandoned();
  }

  /** The budget of the API calls of the observe or apply this is called from (undefined outside one). */
  stepBudget(): CallBudget | undefined {
    return this.#steps.budget();
  }

  /**
   * `work` within `limitMs` (undefined: no limit), in a step context that its timeout marks abandoned; its API calls
   * end by `limitMs`, else by decideBoundMs of `intervalSeconds`.
   */
  async #bounded<T>(limitMs: number | undefined, intervalSeconds: number, work: () => Promise<T>): Promise<Bounded<T>> {
    const { step, running: started } = this.#steps.run(limitMs ?? decideBoundMs(intervalSeconds), work);
    const running = started.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    if (limitMs === undefined) return running;
    let handle: unknown;
    const timeout = new Promise<{ timeout: true }>((resolve) => {
      handle = this.#options.scheduler.setTimeout(() => resolve({ timeout: true }), limitMs);
    });
    const first = await Promise.race([running, timeout]);
    this.#options.scheduler.clearTimeout(handle);
    if ('timeout' in first) step.abandon(`the tick timed out after ${limitMs / 1000}s (per-policy timeout)`);
    return first;
  }

  async run(turns: FleetTurn[], all: PolicyEntry[], roundStart: number, limitMs: number | undefined): Promise<{ name: string; path: string; outcome: TickOutcome }[]> {
    const { clock, source, connector, log, metrics, registry, concurrency } = this.#options;
    const settings = this.#options.settings();
    const started = clock.now();
    this.#options.onProgress(started);
    const now = started;

    // 1. Observe the graphs whose turn it is.
    const observed = new Map<PolicyEntry, Observation>();
    const turnOf = new Map(turns.map((t) => [t.entry, t]));
    await forEachLimit(turns, concurrency, async ({ entry }) => {
      const spec = entry.plan.spec;
      const got = await this.#bounded(limitMs, spec.interval, () => source.observe(now, spec.interval, spec));
      const base = { time: new Date(now).toISOString(), windowSeconds: spec.interval };
      if ('value' in got) observed.set(entry, got.value);
      else observed.set(entry, { ...base, errors: { source: 'timeout' in got ? `metric sources did not answer within ${(limitMs ?? 0) / 1000}s` : messageOf(got.error) } });
    });

    // 2. Decide together.
    const graphs: FleetGraphInput[] = all.map((e) => {
      const observation = observed.get(e);
      return {
        name: e.plan.name,
        priority: own(settings.priorities, e.plan.name) ?? 1,
        spec: e.plan.spec,
        profile: e.plan.profile,
        state: e.state,
        ...(observation ? { observation, poll: turnOf.get(e)?.poll ?? false } : {}),
      };
    });
    let decided: FleetResult;
    const input = { name: settings.name, budget: settings.budget, graphs, now };
    const decider = this.#options.decider;
    try {
      const interval = Math.max(...graphs.map((g) => g.spec.interval));
      decided = decider?.decideFleet ? await decider.decideFleet(input, { timeoutMs: limitMs ?? decideBoundMs(interval) }) : decideFleet(input);
    } catch (error) {
      const timeout = error instanceof DecideTimeoutError;
      const failure = timeout ? `tick timed out: the fleet's decision: ${messageOf(error)}` : `fleet decision failed: ${messageOf(error)}`;
      if (timeout) log.warn({ event: 'tick-timeout', fleet: settings.name }, failure);
      else log.error({ event: 'tick-failed', fleet: settings.name, err: error }, failure);
      return turns.map(({ entry, poll }) => {
        if (!poll) entry.lastRunAt = roundStart;
        const outcome: TickOutcome = { ok: false, failure, durationSeconds: (clock.now() - started) / 1000 };
        metrics.recordFailedTick(outcome.durationSeconds, entry.plan.name, timeout ? 'timeout' : 'tick');
        if (!entry.removed) registry.record(entry, outcome);
        return { name: entry.plan.name, path: entry.path, outcome };
      });
    } finally {
      this.#options.onProgress(clock.now());
    }
    for (const warning of decided.arbitration.warnings) log.warn({ event: 'fleet-warning', fleet: settings.name }, warning);

    // 3. Apply each decision.
    const results: { name: string; path: string; outcome: TickOutcome }[] = [];
    await forEachLimit(turns, concurrency, async ({ entry, poll }) => {
      const name = entry.plan.name;
      const result = own(decided.results, name);
      const observation = observed.get(entry) as Observation;
      if (!poll) entry.lastRunAt = roundStart;
      if (!result) return;
      const applied = await this.#bounded<ApplyResult>(limitMs, entry.plan.spec.interval, () => connector.apply(result.decision, entry.plan.spec));
      const durationSeconds = (clock.now() - started) / 1000;
      let outcome: TickOutcome;
      if ('value' in applied) {
        if (!entry.removed) entry.state = result.state;
        const tick = { observation, decision: result.decision, state: result.state, apply: applied.value };
        const failure = failureOf(tick);
        outcome = { ok: failure === undefined, failure, result: tick, durationSeconds };
        metrics.recordTick({ spec: entry.plan.spec, decision: result.decision, observation, applyErrors: Object.keys(applied.value.errors).length, durationSeconds, policy: name });
        const leader = this.#options.leader ? this.#options.leader.isLeader() : true;
        logTick(log, { name, single: all.length === 1, leader, fields: { fleet: settings.name } }, tick, durationSeconds);
      } else {
        // The decision was not applied: the state is not advanced (the next tick decides from what the cluster holds).
        const why = 'timeout' in applied ? `apply timed out after ${(limitMs ?? 0) / 1000}s; its writes are stopped` : `apply failed: ${messageOf(applied.error)}`;
        outcome = { ok: false, failure: why, durationSeconds };
        metrics.recordFailedTick(durationSeconds, name, 'timeout' in applied ? 'timeout' : 'tick');
        log.warn({ event: 'tick-failed', policy: name, fleet: settings.name }, `${name}: ${why}`);
      }
      if (!entry.removed) registry.record(entry, outcome);
      results.push({ name, path: entry.path, outcome });
    });
    this.#options.fleetMetrics.record(decided.arbitration);
    this.#logRound(settings, decided, turns);
    this.#options.onProgress(clock.now());
    return results;
  }

  #logRound(settings: FleetSettings, decided: FleetResult, turns: FleetTurn[]): void {
    const shares = decided.arbitration.shares;
    const parts = Object.entries(shares).map(([name, s]) => `${name} ${s.grantedGpus}/${s.demandGpus}${s.gaveUpGpus > 0 ? ` (gave up ${s.gaveUpGpus})` : ''}`);
    this.#options.log.info(
      { event: 'fleet', fleet: settings.name, budget: settings.budget, usedGpus: decided.arbitration.usedGpus, shares, polled: turns.filter((t) => t.poll).map((t) => t.entry.plan.name) },
      `fleet ${settings.name}: ${decided.arbitration.usedGpus}/${settings.budget.maxGpus} GPUs; granted/asked: ${parts.join(', ')}`,
    );
  }
}
