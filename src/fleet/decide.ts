/**
 * decideFleet(): one tick of a fleet of graphs on one GPU budget, pure like decide() (no clock, no I/O):
 *
 *   1. each graph's own decision with the whole fleet budget as its ceiling (a probe: what it asks for);
 *   2. from it, the graph's floor / hard / want layers in GPUs (arbitrate.ts), per capacity when the fleet limits
 *      Spot or on-demand GPUs;
 *   3. the budget split between them (arbitrate.ts: floors, then by priority, then by SLO pressure);
 *   4. each graph that gave something up decided again under its grant: its budget is its granted GPUs (the graph's
 *      own constraints then choose what to give up: scale-down windows first, then growth, prefill and decode by its
 *      own rule), and capacity grants lower its Spot / on-demand pools' maxReplicas (never below what they must keep);
 *      a graph granted all it asked keeps its probe's decision, exactly what it would decide alone;
 *   5. the explanation of each decision says what the graph got and gave up, and why (`explanation.fleet`).
 *
 * A graph not ticked this time (no observation: its interval has not come, or only graphs at zero are polled) keeps
 * its last decision: its GPUs count as fixed, and nothing of it is decided again.
 * A graph decided again keeps only the final decision's state (the probe's is dropped), so each graph's history,
 * correction and stabilization advance once per tick, as for a graph planned alone.
 * Work per tick: two decide() calls per ticked graph, and arithmetic quadratic in the number of graphs at most (the
 * rounding passes of arbitrate.ts); a fleet file holds at most MAX_FLEET_GRAPHS graphs (config/fleet.ts).
 * Maps keyed by graph names (`results`, `shares`) have no prototype: a graph named `constructor` or `__proto__` is
 * an entry like any other.
 */
import type { PolicySpec, PoolSpec } from '../config/schema.js';
import { nullRecord, own } from '../config/records.js';
import { applyReadinessGate, scheduledMins, sloPressure } from '../constraints/index.js';
import { decide, type DecideInput, type DecideResult } from '../planner/decide.js';
import { inPolicySizes } from '../planner/replica-sizes.js';
import type { PlannerState } from '../planner/state.js';
import type { Decision, FleetShare, Forecast, Observation } from '../planner/types.js';
import type { PerformanceProfile } from '../profiles/types.js';
import { arbitrate, gcd, type Arbitration, type GpuAsk } from './arbitrate.js';

export interface FleetBudget {
  maxGpus: number;
  /** GPUs all graphs together may run on Spot pools / on-demand pools (omitted = no separate limit). */
  maxSpotGpus?: number;
  maxOnDemandGpus?: number;
}

export interface FleetGraphInput {
  /** The graph's name (its policy's metadata.name). */
  name: string;
  priority: number;
  spec: PolicySpec;
  profile: PerformanceProfile;
  state: PlannerState;
  /** This tick's observation; absent = the graph is not ticked now (kept at its last decision). */
  observation?: Observation;
  forecastOverride?: { next: Forecast; lead?: Forecast };
  poll?: boolean;
}

export interface FleetInput {
  name: string;
  budget: FleetBudget;
  graphs: FleetGraphInput[];
  now: number;
}

export type Capacity = 'total' | 'spot' | 'onDemand';

/** What the fleet did this tick: each graph's layers and grant, per capacity limit. */
export interface FleetArbitration {
  budget: FleetBudget;
  /** The arbitration of each limit the fleet has (total always). */
  limits: Partial<Record<Capacity, Arbitration>>;
  /** GPUs the final decisions use (ticked graphs) plus what the others keep. */
  usedGpus: number;
  shares: Record<string, FleetShare>;
  warnings: string[];
}

/** The single-graph decision decideFleet runs for each graph (planner/decide's decide(); a test may pass another). */
export type DecideFn = (input: DecideInput) => DecideResult;

export interface FleetResult {
  /** Per ticked graph: its decision and next state. */
  results: Record<string, DecideResult>;
  arbitration: FleetArbitration;
}

/** GPUs per pool layer of one graph. */
interface PoolLayers {
  floor: number[];
  hard: number[];
  want: number[];
}

const capacityOf = (pool: PoolSpec): 'spot' | 'onDemand' => (pool.capacity === 'spot' ? 'spot' : 'onDemand');

/** The spec a probe decides with: its own budget, within the fleet's. */
function probeSpec(spec: PolicySpec, budget: FleetBudget): PolicySpec {
  const own = spec.budget.maxGpus;
  const maxGpus = own === undefined ? budget.maxGpus : Math.min(own, budget.maxGpus);
  return maxGpus === own ? spec : { ...spec, budget: { ...spec.budget, maxGpus } };
}

/**
 * Per pool, what a graph rolling out keeps whatever its grant (0 for the others): nothing of it is scaled during a
 * rollout, the budget included (constraints/gate-budget.ts), for readinessTimeout at most, so those replicas are part
 * of its floor, or the GPUs granted away from it would be held twice. Read from the readiness gate asked to take every
 * pool to its minimum. Example: a graph rolling out runs 2 prefill and 3 decode: its floor is 2 and 3 until the rollout
 * ends, and a graph of higher priority gets what is left beside them.
 */
function rolloutKept(spec: PolicySpec, observation: Observation, state: PlannerState, now: number): number[] {
  const { mins } = scheduledMins(spec, now);
  const lowest = spec.pools.map((p, i) => Math.max(p.minReplicas, mins[i] as number));
  const gate = applyReadinessGate({ spec, observation, state: state.readiness, now, desired: lowest, mins: lowest });
  return gate.desired.map((n, i) => (gate.rolling[i] ? n : 0));
}

/** Replicas per pool a decision keeps for sure (see the module comment): held pools keep their count. */
function poolLayers(spec: PolicySpec, decision: Decision, state: PlannerState, now: number, rolling: readonly number[]): PoolLayers {
  const { mins } = scheduledMins(spec, now);
  const recommendation = state.recommendations[state.recommendations.length - 1]?.desired ?? {};
  const floor: number[] = [];
  const hard: number[] = [];
  const want: number[] = [];
  spec.pools.forEach((pool, i) => {
    const d = own(decision.pools, pool.name);
    if (d?.writable === false) {
      // Nothing is known of what this pool runs (its count is a placeholder): it may run up to its maximum, and the
      // fleet's budget keeps that much for it until it is known.
      floor.push(pool.maxReplicas);
      hard.push(pool.maxReplicas);
      want.push(pool.maxReplicas);
      return;
    }
    const desired = d?.desired ?? pool.minReplicas;
    const f = d?.hold ? desired : Math.min(desired, Math.max(pool.minReplicas, mins[i] as number, rolling[i] as number));
    const target = own(recommendation, pool.name) ?? desired;
    floor.push(f);
    hard.push(Math.max(f, Math.min(desired, target)));
    want.push(Math.max(f, desired));
  });
  // A wake needs one replica of each waking role: it is part of the floor, like a minimum.
  const woke = decision.explanation.scaleToZero?.action === 'wake' ? decision.explanation.scaleToZero.roles : [];
  for (const role of woke) {
    const idx = spec.pools.map((p, i) => (p.role === role ? i : -1)).filter((i) => i >= 0);
    if (idx.some((i) => (floor[i] as number) > 0)) continue;
    const pick = idx.find((i) => (want[i] as number) > 0) ?? idx[0];
    if (pick !== undefined && (want[pick] as number) > 0) floor[pick] = 1;
    if (pick !== undefined) hard[pick] = Math.max(hard[pick] as number, floor[pick] as number);
  }
  return { floor, hard, want };
}

function gpusOf(spec: PolicySpec, counts: readonly number[], only?: 'spot' | 'onDemand'): number {
  let sum = 0;
  spec.pools.forEach((p, i) => {
    if (only === undefined || capacityOf(p) === only) sum += (counts[i] as number) * p.gpusPerReplica;
  });
  return sum;
}

/** gcd of the graph's replica sizes (of one capacity, or all). */
function stepOf(spec: PolicySpec, only?: 'spot' | 'onDemand'): number {
  return spec.pools.filter((p) => only === undefined || capacityOf(p) === only).reduce((g, p) => gcd(g, p.gpusPerReplica), 0) || 1;
}

/** Whether a latency summary holds any usable value. */
function observed(summary: Observation['ttftMs']): boolean {
  return Object.values(summary ?? {}).some((v) => typeof v === 'number' && Number.isFinite(v) && v > 0);
}

/**
 * The graph's SLO pressure: its worst observed role (latency at the SLO percentile over its target, 0.25..4), 1 when
 * neither role's latency was observed. Example: TTFT p95 600 ms vs 2000 (0.3), ITL not observed -> 0.3.
 */
export function pressureOf(spec: PolicySpec, observation: Observation | undefined): number {
  if (!observation) return 1;
  const p = sloPressure(spec, observation);
  const known = [...(observed(observation.ttftMs) ? [p.prefill] : []), ...(observed(observation.itlMs) ? [p.decode] : [])];
  return known.length > 0 ? Math.max(...known) : 1;
}

/**
 * `spec` under a grant: its budget is the granted GPUs, and when a capacity is granted, the pools of that capacity
 * get maxReplicas that fit it (each at least its floor, filled towards what the probe gave it, then its maxReplicas).
 */
export function grantedSpec(spec: PolicySpec, layers: PoolLayers, probe: readonly number[], grant: { total: number; spot?: number; onDemand?: number }): PolicySpec {
  const own = spec.budget.maxGpus;
  const maxGpus = own === undefined ? grant.total : Math.min(own, grant.total);
  let pools = spec.pools;
  for (const capacity of ['spot', 'onDemand'] as const) {
    const cap = grant[capacity];
    if (cap === undefined) continue;
    const idx = spec.pools.map((p, i) => (capacityOf(p) === capacity ? i : -1)).filter((i) => i >= 0);
    const max = spec.pools.map((p) => p.maxReplicas);
    const caps = idx.map((i) => layers.floor[i] as number);
    let left = cap - idx.reduce((s, i, k) => s + (caps[k] as number) * spec.pools[i]!.gpusPerReplica, 0);
    for (const towards of [(i: number) => probe[i] as number, (i: number) => max[i] as number]) {
      idx.forEach((i, k) => {
        const size = spec.pools[i]!.gpusPerReplica;
        const add = Math.max(0, Math.min(towards(i) - (caps[k] as number), Math.floor(left / size)));
        caps[k] = (caps[k] as number) + add;
        left -= add * size;
      });
    }
    if (idx.every((i, k) => caps[k] === spec.pools[i]!.maxReplicas)) continue;
    pools = pools.map((p, i) => {
      const k = idx.indexOf(i);
      return k < 0 ? p : { ...p, maxReplicas: Math.max(p.minReplicas, caps[k] as number) };
    });
  }
  if (maxGpus === own && pools === spec.pools) return spec;
  return { ...spec, budget: { ...spec.budget, maxGpus }, pools };
}

/** "gave up 8 of its 32 GPUs: ..." */
function shareDetail(
  name: string,
  fleet: FleetInput,
  ask: GpuAsk,
  outcome: string,
  granted: number,
  total: Arbitration,
  higher: string[],
  peers: { name: string; pressure: number }[],
  ticked: boolean,
): string {
  const top = Math.max(ask.floor, ask.hard, ask.want);
  if (!ticked) return `${name} was not decided this tick: its ${granted} GPUs are kept as they are`;
  if (outcome === 'all') {
    return total.want <= fleet.budget.maxGpus
      ? `got all ${top} GPUs it asked for: the fleet's ${total.want} fit its budget of ${fleet.budget.maxGpus}`
      : `got all ${top} GPUs it asked for: priority ${ask.priority} is served before the graphs that gave way`;
  }
  const short = total.want - fleet.budget.maxGpus;
  const parts = [`gave up ${top - granted} of its ${top} GPUs (kept ${granted}): the fleet asked for ${total.want}, ${short} over its budget of ${fleet.budget.maxGpus}`];
  if (outcome === 'soft-cut') parts.push('what it gave up is replicas its scale-down window or step limit kept, not load it serves');
  if (outcome === 'floor') parts.push('it runs only what it must (minimums, schedules, held counts, a wake)');
  if (higher.length > 0) parts.push(`${higher.join(', ')} ${higher.length === 1 ? 'has' : 'have'} a higher priority than its ${ask.priority} and ${higher.length === 1 ? 'is' : 'are'} served first`);
  if (peers.length > 0) {
    parts.push(`within priority ${ask.priority} the cut goes by SLO pressure: ${ask.pressure.toFixed(2)} x target here, ${peers.map((p) => `${p.name} ${p.pressure.toFixed(2)}`).join(', ')}`);
  }
  return parts.join('; ');
}

export function decideFleet(input: FleetInput, decideWith: DecideFn = decide): FleetResult {
  const { budget, now } = input;
  const warnings: string[] = [];
  interface Entry {
    graph: FleetGraphInput;
    probe?: DecideResult;
    layers: PoolLayers;
    probeCounts: number[];
    pressure: number;
  }
  const entries: Entry[] = input.graphs.map((graph) => {
    const { spec, state } = graph;
    if (!graph.observation) {
      // Not ticked this round: what it was last set to (in the policy's replica sizes: it may have been reloaded with
      // others since), or, never set, up to its maximum (what it may run).
      const sized = inPolicySizes(state, spec);
      const last = spec.pools.map((p) => own(sized.last, p.name) ?? p.maxReplicas);
      return { graph, layers: { floor: last, hard: last, want: last }, probeCounts: last, pressure: 1 };
    }
    const probe = decideWith({ spec: probeSpec(spec, budget), profile: graph.profile, observation: graph.observation, state, now, forecastOverride: graph.forecastOverride, poll: graph.poll });
    const layers = poolLayers(spec, probe.decision, probe.state, now, rolloutKept(spec, graph.observation, state, now));
    const unknownPools = spec.pools.filter((p) => own(probe.decision.pools, p.name)?.writable === false).map((p) => p.name);
    if (unknownPools.length > 0) {
      warnings.push(`fleet ${input.name}: graph ${graph.name}: nothing is known of what ${unknownPools.join(', ')} run(s); the budget keeps their maxReplicas for them until it is`);
    }
    const probeCounts = spec.pools.map((p) => own(probe.decision.pools, p.name)?.desired ?? p.minReplicas);
    return { graph, probe, layers, probeCounts, pressure: pressureOf(spec, graph.observation) };
  });

  const askFor = (e: Entry, only?: 'spot' | 'onDemand', extraHard = 0): GpuAsk => ({
    name: e.graph.name,
    priority: e.graph.priority,
    pressure: e.pressure,
    floor: gpusOf(e.graph.spec, e.layers.floor, only),
    hard: gpusOf(e.graph.spec, e.layers.hard, only) + extraHard,
    want: gpusOf(e.graph.spec, e.layers.want, only) + extraHard,
    step: stepOf(e.graph.spec, only),
  });
  const limits: Partial<Record<Capacity, Arbitration>> = {};
  const totalAsks = entries.map((e) => askFor(e));
  const total = arbitrate(totalAsks, budget.maxGpus);
  limits.total = total;
  if (total.overBudget > 0) warnings.push(`fleet ${input.name}: the graphs' minimums and held counts need ${total.floor} GPUs, over spec.budget.maxGpus ${budget.maxGpus}; keeping them`);
  let spotGrants: number[] | undefined;
  if (budget.maxSpotGpus !== undefined) {
    const spot = arbitrate(entries.map((e) => askFor(e, 'spot')), budget.maxSpotGpus);
    limits.spot = spot;
    spotGrants = spot.grants.map((g) => g.granted);
    if (spot.overBudget > 0) warnings.push(`fleet ${input.name}: Spot pools must keep ${spot.floor} GPUs, over spec.budget.maxSpotGpus ${budget.maxSpotGpus}; keeping them`);
  }
  let onDemandGrants: number[] | undefined;
  if (budget.maxOnDemandGpus !== undefined) {
    // What a graph cannot have on Spot moves to its on-demand pools (as its own Spot split would move it).
    const moved = entries.map((e, i) => (spotGrants ? Math.max(0, gpusOf(e.graph.spec, e.layers.want, 'spot') - (spotGrants[i] as number)) : 0));
    const onDemand = arbitrate(entries.map((e, i) => askFor(e, 'onDemand', moved[i])), budget.maxOnDemandGpus);
    limits.onDemand = onDemand;
    onDemandGrants = onDemand.grants.map((g) => g.granted);
    if (onDemand.overBudget > 0) warnings.push(`fleet ${input.name}: on-demand pools must keep ${onDemand.floor} GPUs, over spec.budget.maxOnDemandGpus ${budget.maxOnDemandGpus}; keeping them`);
  }

  const results = nullRecord<DecideResult>();
  const shares = nullRecord<FleetShare>();
  let usedGpus = 0;
  entries.forEach((e, i) => {
    const { graph } = e;
    const grant = total.grants[i]!;
    const ask = totalAsks[i]!;
    const higher = entries.filter((o) => o.graph.priority > graph.priority && o.graph.observation).map((o) => o.graph.name);
    const peers = entries.filter((o) => o !== e && o.graph.priority === graph.priority && o.graph.observation).map((o) => ({ name: o.graph.name, pressure: o.pressure }));
    const spot = spotGrants?.[i];
    const onDemand = onDemandGrants?.[i];
    const share: FleetShare = {
      fleet: input.name,
      priority: graph.priority,
      pressure: Math.round(e.pressure * 1000) / 1000,
      floorGpus: ask.floor,
      demandGpus: Math.max(ask.floor, ask.hard, ask.want),
      grantedGpus: grant.granted,
      ...(spot !== undefined ? { spotGpus: spot } : {}),
      ...(onDemand !== undefined ? { onDemandGpus: onDemand } : {}),
      gaveUpGpus: grant.gaveUp,
      detail: shareDetail(graph.name, input, ask, grant.outcome, grant.granted, total, higher, peers, graph.observation !== undefined),
    };
    if (spot !== undefined && spot < gpusOf(graph.spec, e.layers.want, 'spot')) share.detail += `; Spot capacity: ${spot} of the fleet's ${budget.maxSpotGpus} Spot GPUs (the rest of its Spot need goes on-demand)`;
    if (onDemand !== undefined && onDemand < gpusOf(graph.spec, e.layers.want, 'onDemand')) share.detail += `; on-demand capacity: ${onDemand} of the fleet's ${budget.maxOnDemandGpus}`;
    shares[graph.name] = share;
    if (!graph.observation || !e.probe) {
      usedGpus += gpusOf(graph.spec, e.probeCounts);
      return;
    }
    // A graph granted all it asked for, in total and on each limited capacity, keeps its probe: it is decided as if
    // alone. Deciding it again under a budget of exactly its own demand is not neutral (a policy may size by how much
    // budget is left), and it would make a graph that gives up nothing behave unlike the same graph planned alone.
    const fits =
      grant.outcome === 'all' &&
      (spot === undefined || spot >= gpusOf(graph.spec, e.probeCounts, 'spot')) &&
      (onDemand === undefined || onDemand >= gpusOf(graph.spec, e.probeCounts, 'onDemand'));
    const spec = fits ? undefined : grantedSpec(graph.spec, e.layers, e.probeCounts, { total: grant.granted, spot, onDemand });
    const result = spec ? decideWith({ spec, profile: graph.profile, observation: graph.observation, state: graph.state, now, forecastOverride: graph.forecastOverride, poll: graph.poll }) : e.probe;
    result.decision.explanation.fleet = share;
    usedGpus += Object.values(result.decision.pools).reduce((s, d) => s + d.gpus, 0);
    results[graph.name] = result;
  });
  return { results, arbitration: { budget, limits, usedGpus, shares, warnings } };
}

/** Priority-weighted fixed shares of a budget (the `split` baseline): floor(B x p / sum p), the rest to the highest priorities. */
export function splitShares(budget: number, priorities: readonly number[]): number[] {
  const sum = priorities.reduce((a, b) => a + b, 0);
  const shares = priorities.map((p) => Math.floor((budget * p) / sum));
  let left = budget - shares.reduce((a, b) => a + b, 0);
  const order = priorities.map((p, i) => ({ p, i })).sort((a, b) => b.p - a.p || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) shares[order[k]!.i]! += 1;
  return shares;
}
