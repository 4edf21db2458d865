/**
 * One round of a fleet (`run --fleet`): every graph that is due observes (at most `concurrency` at a time, each
 * bounded by the per-policy timeout), the fleet decides them together on its one budget (src/fleet/decide.ts, pure),
 * and each graph's decision is applied by the shared connector (bounded the same way). A graph that is not due this
 * round keeps its counts, which the arbitration counts as fixed.
 *
 * Failures stay per graph: a source that fails or times out gives that graph an observation with the error, and the
 * core holds its counts (never below what runs) while the others are decided; an apply that fails or times out is that
 * graph's failure, and an apply that timed out can no longer write (`stepAbandoned()`, as in tick-runner.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { messageOf } from '../errors.js';
import { decideFleet, type FleetBudget, type FleetGraphInput, type FleetResult } from '../fleet/decide.js';
import type { Logger } from '../log.js';
import type { ApplyResult, Clock, Connector, MetricSource } from '../planner/ports.js';
import type { Observation } from '../planner/types.js';
import type { PlannerMetrics } from './exporter.js';
import type { FleetMetrics } from './fleet-metrics.js';
import { forEachLimit } from './limit.js';
import type { PolicyEntry, PolicyRegistry } from './policy-registry.js';
import type { Scheduler } from './scheduler.js';
import { failureOf, type TickOutcome } from './tick-outcome.js';

/** The fleet file's settings the loop needs, as last loaded (budget and priorities reload with the file). */
export interface FleetSettings {
  name: string;
  budget: FleetBudget;
  /** Graph name (its policy's metadata.name) -> priority. */
  priorities: Record<string, number>;
}

export interface FleetRoundOptions {
  clock: Clock;
  scheduler: Scheduler;
  source: MetricSource;
  connector: Connector;
  log: Logger;
  metrics: PlannerMetrics;
  fleetMetrics: FleetMetrics;
  registry: PolicyRegistry;
  concurrency: number;
  settings: () => FleetSettings;
  onProgress: (at: number) => void;
}

/** A graph this round: a full tick or a poll (planner/idle.ts nextTickSeconds). */
export interface FleetTurn {
  entry: PolicyEntry;
  poll: boolean;
}

type Bounded<T> = { value: T } | { error: unknown } | { timeout: true };

export class FleetRound {
  readonly #options: FleetRoundOptions;
  readonly #steps = new AsyncLocalStorage<{ abandoned: boolean }>();

  constructor(options: FleetRoundOptions) {
    this.#options = options;
  }

  /** True when called from inside an apply that timed out: its writes must stop. */
  stepAbandoned(): boolean {
    return this.#steps.getStore()?.abandoned ?? false;
  }

  /** `work` within `limitMs` (undefined: no limit), in a step context that its timeout marks abandoned. */
  async #bounded<T>(limitMs: number | undefined, work: () => Promise<T>): Promise<Bounded<T>> {
    const step = { abandoned: false };
    const running = this.#steps.run(step, work).then(
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
    if ('timeout' in first) step.abandoned = true;
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
      const got = await this.#bounded(limitMs, () => source.observe(now, spec.interval, spec));
      const base = { time: new Date(now).toISOString(), windowSeconds: spec.interval };
      if ('value' in got) observed.set(entry, got.value);
      else observed.set(entry, { ...base, errors: { source: 'timeout' in got ? `metric sources did not answer within ${(limitMs ?? 0) / 1000}s` : messageOf(got.error) } });
    });

    // 2. Decide together.
    const graphs: FleetGraphInput[] = all.map((e) => {
      const observation = observed.get(e);
      return {
        name: e.plan.name,
        priority: settings.priorities[e.plan.name] ?? 1,
        spec: e.plan.spec,
        profile: e.plan.profile,
        state: e.state,
        ...(observation ? { observation, poll: turnOf.get(e)?.poll ?? false } : {}),
      };
    });
    let decided: FleetResult;
    try {
      decided = decideFleet({ name: settings.name, budget: settings.budget, graphs, now });
    } catch (error) {
      const failure = `fleet decision failed: ${messageOf(error)}`;
      log.error({ event: 'tick-failed', fleet: settings.name, err: error }, failure);
      return turns.map(({ entry }) => {
        const outcome: TickOutcome = { ok: false, failure, durationSeconds: (clock.now() - started) / 1000 };
        metrics.recordFailedTick(outcome.durationSeconds, entry.plan.name, 'tick');
        if (!entry.removed) registry.record(entry, outcome);
        return { name: entry.plan.name, path: entry.path, outcome };
      });
    }
    for (const warning of decided.arbitration.warnings) log.warn({ event: 'fleet-warning', fleet: settings.name }, warning);

    // 3. Apply each decision.
    const results: { name: string; path: string; outcome: TickOutcome }[] = [];
    await forEachLimit(turns, concurrency, async ({ entry, poll }) => {
      const name = entry.plan.name;
      const result = decided.results[name];
      const observation = observed.get(entry) as Observation;
      if (!poll) entry.lastRunAt = roundStart;
      if (!result) return;
      const applied = await this.#bounded<ApplyResult>(limitMs, () => connector.apply(result.decision, entry.plan.spec));
      const durationSeconds = (clock.now() - started) / 1000;
      let outcome: TickOutcome;
      if ('value' in applied) {
        if (!entry.removed) entry.state = result.state;
        const tick = { observation, decision: result.decision, state: result.state, apply: applied.value };
        const failure = failureOf(tick);
        outcome = { ok: failure === undefined, failure, result: tick, durationSeconds };
        metrics.recordTick({ spec: entry.plan.spec, decision: result.decision, observation, applyErrors: Object.keys(applied.value.errors).length, durationSeconds, policy: name });
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
