/**
 * The readiness gate: no scale-up is stacked on a pool that is still becoming ready, and nothing moves during a
 * rolling update. The last constraint step, applied to the counts the others decided; the service and the simulator
 * both go through it, so a what-if run waits for replicas exactly as the cluster does.
 *
 * Per pool, from its observation (`desired` = spec replicas, `ready`, `updated`, `graph`) and the clocks the state
 * carries (PoolReadinessState), with T = spec.readinessTimeout:
 *
 *   - Becoming ready: fewer ready or updated replicas than `desired`. Its scale-up waits until it is ready, or until
 *     T has passed since it started becoming ready (first seen so, or our own last scale-up of it), then goes ahead
 *     with a warning. A pool whose ready count is unknown cannot be checked and is not held back. Scale-downs always
 *     go ahead: they stack nothing.
 *     Example: T 1800 s, desired 4, 2 ready since 10:00, the policy asks 6 at 10:05 -> 4 ("waited 300s of 1800s");
 *     still 2 ready at 10:30 -> 6, with "not ready after 1800s; scaling anyway", and its clock restarts at 10:30.
 *   - Graph not Ready (only pools whose observation has `graph`): during a rolling update every change holds;
 *     otherwise only scale-ups of pools known to be settled go ahead (a pool without ready counts might be the one
 *     the graph waits for). A Spot eviction makes the graph not Ready, and that is exactly when an on-demand pool
 *     must take the need over, so a settled pool may still grow, and an unavailable Spot pool (constraints/spot.ts)
 *     may still shrink: the capacity it drops is gone already, and holding it only keeps replacements pending or
 *     starting on a Spot pool that is being evicted. After T of not Ready, everything goes ahead for one tick with a
 *     warning, and the clock restarts.
 *
 * A held pool keeps its current (spec) count, within its bounds: a minimum (schedules, the uncertainty floor) still
 * raises it and maxReplicas still lowers it, as they win over the step limits. So the count that comes out is
 * always between the one the other steps decided and the current one, and within [minimum, maxReplicas].
 * A pool whose current count is unknown is not gated (the uncertainty floor already keeps it up).
 */
import type { PolicySpec } from '../config/schema.js';
import { own } from '../config/records.js';
import type { PoolReadinessState } from '../planner/state.js';
import { observedReplicas } from '../planner/observed.js';
import type { ConstraintEffect, GraphReadiness, Observation, PoolObservation } from '../planner/types.js';

export interface ReadinessInput {
  spec: PolicySpec;
  observation: Observation;
  /** The clocks of the previous tick. */
  state: Readonly<Record<string, PoolReadinessState>> | undefined;
  now: number;
  /** Per pool (spec.pools index): the count the other constraint steps decided. */
  desired: readonly number[];
  /** Per pool: its effective minimum (schedules and the uncertainty floor included). */
  mins: readonly number[];
  /** Per pool: why a Spot pool is unavailable (evicted, long pending), undefined otherwise (constraints/spot.ts). */
  unavailable?: readonly (string | undefined)[];
}

export interface ReadinessOutput {
  /** Per pool: the count after the gate. */
  desired: number[];
  effects: ConstraintEffect[];
  warnings: string[];
  /** The clocks for the next tick: only pools with one running. */
  state: Record<string, PoolReadinessState>;
  /** Per pool: true when the gate holds its change because its graph is rolling out (nothing moves then). */
  rolling: boolean[];
}

/** A graph readiness read defensively (an observation may come from a hand-written file or a broken source). */
function graphOf(seen: PoolObservation | undefined): GraphReadiness | undefined {
  const graph = seen?.graph;
  if (graph === null || typeof graph !== 'object' || typeof graph.ready !== 'boolean') return undefined;
  return graph;
}

/** Whole seconds from `since` to `now` (rounded, as the messages show them). */
function waitedSeconds(now: number, since: number): number {
  return Math.round((now - since) / 1000);
}

export function applyReadinessGate(input: ReadinessInput): ReadinessOutput {
  const { spec, observation, now } = input;
  const timeout = spec.readinessTimeout;
  const desired = input.desired.slice();
  const effects: ConstraintEffect[] = [];
  const rolling: boolean[] = input.desired.map(() => false);
  const warnings: string[] = [];
  const state: Record<string, PoolReadinessState> = Object.create(null) as Record<string, PoolReadinessState>;

  spec.pools.forEach((pool, i) => {
    const prior = own(input.state, pool.name);
    const seen = own(observation.pools, pool.name);
    const current = observedReplicas(seen?.desired);
    if (current === undefined) {
      // Nothing to compare with this tick: keep the clocks, so one failed read does not restart them.
      if (prior !== undefined) state[pool.name] = { ...prior };
      return;
    }
    const decided = desired[i] as number;
    const ready = observedReplicas(seen?.ready);
    const updated = observedReplicas(seen?.updated);
    const caughtUp = (ready ?? 0) >= current && (updated === undefined || updated >= current);
    const settled = ready === undefined || caughtUp;
    const next: PoolReadinessState = {};
    let becomingSince = settled ? undefined : (prior?.becomingReadySince ?? now);
    const counts = `${ready}/${current} ready${updated !== undefined ? `, ${updated} updated` : ''}`;

    // The graph: why it holds this pool's change, if it does.
    let graphHold: string | undefined;
    let rollingHold = false;
    const graph = graphOf(seen);
    if (graph !== undefined && !graph.ready) {
      const since = prior?.graphNotReadySince ?? now;
      const waited = waitedSeconds(now, since);
      const name = pool.target?.kind === 'DynamoGraphDeployment' ? `graph ${pool.target.name}` : 'its graph';
      const why = typeof graph.condition === 'string' ? graph.condition.slice(0, 500) : 'Ready is not True';
      if (waited >= timeout) {
        if (decided !== current) warnings.push(`${pool.name}: ${name} is not ready after ${timeout}s (${why}); scaling anyway`);
      } else {
        next.graphNotReadySince = since;
        const up = decided > current;
        const spotGone = !up && input.unavailable?.[i] !== undefined;
        rollingHold = graph.rollingUpdate === true;
        if (rollingHold) graphHold = `${name} is rolling out (${why}): nothing is scaled for ${waited}s of ${timeout}s`;
        else if (up ? !caughtUp : !spotGone) graphHold = `${name} is not Ready (${why}): only scale-ups of settled pools go ahead, for ${waited}s of ${timeout}s`;
      }
    }

    if (decided !== current) {
      let hold: string | undefined = graphHold;
      if (hold === undefined && decided > current && becomingSince !== undefined) {
        const waited = waitedSeconds(now, becomingSince);
        if (waited < timeout) {
          hold = `still becoming ready (${counts}); waited ${waited}s of ${timeout}s before adding more`;
        } else {
          warnings.push(`${pool.name}: not ready after ${timeout}s (${counts}); scaling anyway`);
          becomingSince = undefined;
        }
      }
      if (hold !== undefined) {
        const kept = Math.min(pool.maxReplicas, Math.max(input.mins[i] as number, current));
        if (kept !== decided) {
          const bound = kept !== current ? ` (its ${kept > current ? 'minimum' : 'maxReplicas'} ${kept}, not ${current})` : '';
          effects.push({ constraint: 'readiness', pool: pool.name, role: pool.role, from: decided, to: kept, detail: `${pool.name}: ${hold}; kept at ${kept}${bound} instead of ${decided}` });
          desired[i] = kept;
          if (hold === graphHold && rollingHold) rolling[i] = true;
        }
      }
      // Our own scale-up: its new replicas are coming up from now.
      if ((desired[i] as number) > current) becomingSince = now;
    }
    if (becomingSince !== undefined) next.becomingReadySince = becomingSince;
    if (next.becomingReadySince !== undefined || next.graphNotReadySince !== undefined) state[pool.name] = next;
  });
  return { desired, effects, warnings, state, rolling };
}

/**
 * Per pool (spec.pools index): whether the gate would hold a scale-up now (the pool is becoming ready, or its graph is
 * not Ready or rolling out), found by asking the gate itself for one replica more than each pool runs. The Spot split
 * uses it to send an increase where it can go ahead (constraints/spot.ts rule 5). A pool whose current count is
 * unknown is not gated, as in the gate.
 */
export function scaleUpHeld(input: Pick<ReadinessInput, 'spec' | 'observation' | 'state' | 'now'>): boolean[] {
  const pools = input.spec.pools;
  const desired = pools.map((pool) => (observedReplicas(own(input.observation.pools, pool.name)?.desired) ?? 0) + 1);
  const probe = applyReadinessGate({ ...input, desired, mins: pools.map(() => 0) });
  const held = new Set(probe.effects.map((e) => e.pool));
  return pools.map((pool) => held.has(pool.name));
}
