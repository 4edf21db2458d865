/**
 * A fleet graph the readiness gate holds: a graph rolling out keeps its counts (nothing moves during a rollout), so
 * they are part of its floor and no other graph is granted them; a graph that is only not Ready (a replica starting)
 * gives up what it was not granted (constraints/gate-budget.ts). Either way the counts set fit the fleet's budget.
 */
import { describe, expect, it } from 'vitest';
import { decideFleet } from '../../../src/fleet/decide.js';
import { initialState } from '../../../src/planner/state.js';
import type { Observation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { makeSpec, T0 } from '../constraints/helpers.js';

const profile = loadProfile('builtin:dynamo-format-synthetic', process.cwd());
const graphSpec = (name: string, replicas: Record<string, number>) =>
  makeSpec({
    interval: '60s', policy: 'static', static: { replicas },
    pools: [
      { name: `${name}-prefill`, role: 'prefill', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 8 },
      { name: `${name}-decode`, role: 'decode', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 8 },
    ],
    limits: { maxStepUp: 8, maxStepDown: 8 }, stabilization: { scaleDown: '0s' },
  });

/** a (priority 1) runs and wants 2 + 3 replicas (20 GPUs), one prefill still starting; b (priority 2) runs 2 + 2 and wants 3 + 3. */
function run(rollingUpdate: boolean) {
  const graphA = { ready: false, condition: rollingUpdate ? 'rolling out' : 'a replica starting', ...(rollingUpdate ? { rollingUpdate: true } : {}) };
  const obsA: Observation = { time: '', windowSeconds: 60, requests: 100, pools: { 'a-prefill': { desired: 2, ready: 1, updated: 2, graph: graphA }, 'a-decode': { desired: 3, ready: 3, updated: 3, graph: graphA } } };
  const obsB: Observation = { time: '', windowSeconds: 60, requests: 100, pools: { 'b-prefill': { desired: 2, ready: 2, updated: 2, graph: { ready: true } }, 'b-decode': { desired: 2, ready: 2, updated: 2, graph: { ready: true } } } };
  const r = decideFleet({
    name: 'fleet', budget: { maxGpus: 36 }, now: T0,
    graphs: [
      { name: 'a', priority: 1, spec: graphSpec('a', { 'a-prefill': 2, 'a-decode': 3 }), profile, state: { ...initialState(), last: { 'a-prefill': 2, 'a-decode': 3 } }, observation: obsA },
      { name: 'b', priority: 2, spec: graphSpec('b', { 'b-prefill': 3, 'b-decode': 3 }), profile, state: { ...initialState(), last: { 'b-prefill': 2, 'b-decode': 2 } }, observation: obsB },
    ],
  });
  const gpus = (g: string) => Object.values(r.results[g]!.decision.pools).reduce((s, p) => s + p.gpus, 0);
  return { a: gpus('a'), b: gpus('b'), floorA: r.arbitration.shares.a!.floorGpus };
}

describe('a fleet graph the readiness gate holds', () => {
  it('rolling out: its 20 GPUs are its floor, b grows into the 16 left (36 of 36)', () => {
    expect(run(true)).toEqual({ a: 20, b: 16, floorA: 20 });
  });

  it('only not Ready: it gives up what it was not granted (12 of its 20) and b, of higher priority, gets its 24 (36 of 36)', () => {
    expect(run(false)).toEqual({ a: 12, b: 24, floorA: 8 });
  });
});
