/**
 * One planner step, shared by the in-cluster service and the simulator:
 * observe -> decide (forecast, policy, constraints, explanation) -> apply.
 *
 * The shells differ only in the Clock, the MetricSource and the Connector they pass in.
 * A source that throws is treated like a source that returned nothing: decide() then holds
 * the last replica counts (it never scales down because a metric is missing).
 */
import type { PolicySpec } from '../config/schema.js';
import type { PerformanceProfile } from '../profiles/types.js';
import { decide, type DecideInput, type DecideResult } from './decide.js';
import type { ApplyResult, Clock, Connector, MetricSource } from './ports.js';
import type { PanicPoll } from './panic.js';
import type { PlannerState } from './state.js';
import type { Decision, Forecast, Observation } from './types.js';
import { messageOf } from '../errors.js';

export interface TickContext {
  spec: PolicySpec;
  profile: PerformanceProfile;
  state: PlannerState;
}

export interface TickPorts {
  clock: Clock;
  source: MetricSource;
  connector: Connector;
  /**
   * Runs decide() (default: in line). The service runs it in a worker thread it can stop at a deadline; the
   * simulator calls it in line. Same function either way.
   */
  decide?: (input: DecideInput) => DecideResult | Promise<DecideResult>;
}

export interface TickOptions {
  /** Perfect-foresight forecast (the simulator's oracle baseline). */
  forecastOverride?: { next: Forecast; lead?: Forecast };
  /** A poll of a graph at zero (planner/idle.ts nextTickSeconds): decided, but learning nothing (planner/decide.ts `poll`). */
  poll?: boolean;
  /** A panic poll (planner/panic.ts), with `poll`: what it saw, for decide() and the explanation. */
  panic?: PanicPoll;
  /** The window to observe (s); default spec.interval. A panic poll observes the time since the graph's last full tick. */
  windowSeconds?: number;
}

export interface TickResult {
  observation: Observation;
  decision: Decision;
  state: PlannerState;
  apply: ApplyResult;
}

export async function runTick(ctx: TickContext, ports: TickPorts, options: TickOptions = {}): Promise<TickResult> {
  const now = ports.clock.now();
  const observation = await observeSafely(ports.source, now, options.windowSeconds ?? ctx.spec.interval, ctx.spec);
  const { decision, state } = await (ports.decide ?? decide)({
    spec: ctx.spec,
    profile: ctx.profile,
    observation,
    state: ctx.state,
    now,
    forecastOverride: options.forecastOverride,
    poll: options.poll,
    ...(options.panic ? { panic: options.panic } : {}),
  });
  const apply = await ports.connector.apply(decision, ctx.spec);
  return { observation, decision, state, apply };
}

async function observeSafely(source: MetricSource, now: number, windowSeconds: number, spec: PolicySpec): Promise<Observation> {
  try {
    return await source.observe(now, windowSeconds, spec);
  } catch (error) {
    const reason = messageOf(error);
    return { time: new Date(now).toISOString(), windowSeconds, errors: { source: reason } };
  }
}
