/**
 * The readiness gate (src/constraints/readiness.ts) on its own and through decide(). Each case names the Dynamo
 * connector test it stands for (test/unit/connectors/README.md): the rule the Kubernetes connector applied before
 * it writes, now part of the decision, so the simulator applies it too.
 */
import { describe, expect, it } from 'vitest';
import { applyReadinessGate, scaleUpHeld, type ReadinessInput } from '../../../src/constraints/readiness.js';
import type { PolicySpec } from '../../../src/config/schema.js';
import { decide } from '../../../src/planner/decide.js';
import { initialState, type PlannerState } from '../../../src/planner/state.js';
import type { Observation, PoolObservation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { makeSpec, T0 } from './helpers.js';

const graphTarget = { kind: 'DynamoGraphDeployment', name: 'llama' };
/** The policy's fields as written: a readiness timeout of 10 minutes, two pools on one graph. */
const FIELDS = {
  readinessTimeout: '10m',
  pools: [
    { name: 'prefill-od', role: 'prefill', minReplicas: 1, maxReplicas: 16, target: graphTarget },
    { name: 'decode-od', role: 'decode', minReplicas: 1, maxReplicas: 16, target: { ...graphTarget, service: 'VllmDecodeWorker' } },
  ],
};
const spec = makeSpec(FIELDS);

const settled = (n: number): PoolObservation => ({ desired: n, ready: n, updated: n });
const rolling = { ready: false, rollingUpdate: true, condition: 'Ready=False, reason rolling_update_in_progress: Rolling update in progress' };
const spotLost = { ready: false, condition: 'Ready=False, reason some_resources_are_not_ready: VllmDecodeWorkerSpot: 1/3 ready' };

/** One gate call: `pools` observed, `desired` decided by the other steps (per spec pool), minimums from the spec. */
function gate(pools: Record<string, PoolObservation>, desired: number[], extra: Partial<ReadinessInput> = {}) {
  return applyReadinessGate({ spec, observation: { time: '', pools }, state: undefined, now: T0, desired, mins: spec.pools.map((p) => p.minReplicas), ...extra });
}

describe('scaleUpHeld: which pools the gate would hold a scale-up of now', () => {
  it('a pool becoming ready, or whose graph rolls out, is held; a settled pool and one with no count are not', () => {
    const coming = { desired: 4, ready: 2, updated: 2 };
    expect(scaleUpHeld({ spec, observation: { time: '', pools: { 'prefill-od': settled(2), 'decode-od': coming } }, state: undefined, now: T0 })).toEqual([false, true]);
    expect(scaleUpHeld({ spec, observation: { time: '', pools: { 'decode-od': settled(3) } }, state: undefined, now: T0 })).toEqual([false, false]);
    const graphRolling = { ...settled(2), graph: rolling };
    expect(scaleUpHeld({ spec, observation: { time: '', pools: { 'prefill-od': graphRolling, 'decode-od': graphRolling } }, state: undefined, now: T0 })).toEqual([true, true]);
  });
});

describe('readiness gate: a component still becoming ready', () => {
  it('no scale-up stacked on it; scale-downs go through; after readinessTimeout it scales and warns (no scale-up stacked ... timeout)', () => {
    // 4 wanted, 2 updated, 2 ready: the previous scale-up is still coming up (Dynamo: scale_up_in_progress).
    const coming = { desired: 4, ready: 2, updated: 2 };
    const first = gate({ 'prefill-od': settled(2), 'decode-od': coming }, [2, 6]);
    expect(first.desired).toEqual([2, 4]);
    expect(first.effects).toEqual([
      { constraint: 'readiness', pool: 'decode-od', role: 'decode', from: 6, to: 4, detail: 'decode-od: still becoming ready (2/4 ready, 2 updated); waited 0s of 600s before adding more; kept at 4 instead of 6' },
    ]);
    expect(first.state['decode-od']).toEqual({ becomingReadySince: T0 });

    // 5 minutes later a scale-down is wanted: it stacks nothing, so it goes through.
    const down = gate({ 'prefill-od': settled(2), 'decode-od': coming }, [2, 3], { state: first.state, now: T0 + 300_000 });
    expect(down.desired).toEqual([2, 3]);
    expect(down.effects).toEqual([]);

    // Still 2 of 4 ready after 600 s: the scale-up goes ahead, says so, and its own new replicas start a new clock.
    const late = gate({ 'prefill-od': settled(2), 'decode-od': coming }, [2, 6], { state: first.state, now: T0 + 600_000 });
    expect(late.desired).toEqual([2, 6]);
    expect(late.warnings).toEqual(['decode-od: not ready after 600s (2/4 ready, 2 updated); scaling anyway']);
    expect(late.state['decode-od']).toEqual({ becomingReadySince: T0 + 600_000 });
  });

  it('our own scale-up starts the clock; once ready it is forgotten and the next scale-up goes at once', () => {
    const up = gate({ 'prefill-od': settled(2), 'decode-od': settled(2) }, [2, 4]);
    expect(up.desired).toEqual([2, 4]);
    expect(up.state['decode-od']).toEqual({ becomingReadySince: T0 });
    // A minute on, 1 of the 2 new replicas is ready: held, and the wait counts from the scale-up.
    const held = gate({ 'prefill-od': settled(2), 'decode-od': { desired: 4, ready: 3, updated: 4 } }, [2, 6], { state: up.state, now: T0 + 60_000 });
    expect(held.desired).toEqual([2, 4]);
    expect(held.effects[0]?.detail).toBe('decode-od: still becoming ready (3/4 ready, 4 updated); waited 60s of 600s before adding more; kept at 4 instead of 6');
    // Ready: nothing remembered, and the next scale-up is not held.
    const ready = gate({ 'prefill-od': settled(2), 'decode-od': settled(4) }, [2, 4], { state: held.state, now: T0 + 120_000 });
    expect(ready.state).toEqual({});
    expect(gate({ 'prefill-od': settled(2), 'decode-od': settled(4) }, [2, 7], { state: ready.state, now: T0 + 180_000 }).desired).toEqual([2, 7]);
  });

  it('ready counts from availableReplicas or readyReplicas; without them (no status) nothing can be checked and nothing is held', () => {
    expect(gate({ 'prefill-od': settled(2), 'decode-od': { desired: 4 } }, [2, 6]).desired).toEqual([2, 6]);
    // Updated behind desired alone (a rollout of the new spec) also counts as becoming ready.
    expect(gate({ 'prefill-od': settled(2), 'decode-od': { desired: 4, ready: 4, updated: 3 } }, [2, 6]).desired).toEqual([2, 4]);
    // Only `ready` known (an observation file): that alone decides.
    expect(gate({ 'prefill-od': settled(2), 'decode-od': { desired: 4, ready: 3 } }, [2, 6]).desired).toEqual([2, 4]);
    expect(gate({ 'prefill-od': settled(2), 'decode-od': { desired: 4, ready: 4 } }, [2, 6]).desired).toEqual([2, 6]);
  });

  it('a minimum still raises a held pool and maxReplicas still lowers one (they win over the gate, as over the step limits)', () => {
    const r = gate({ 'prefill-od': settled(2), 'decode-od': { desired: 4, ready: 2, updated: 4 } }, [2, 9], { mins: [1, 7] });
    expect(r.desired).toEqual([2, 7]);
    expect(r.effects[0]?.detail).toBe('decode-od: still becoming ready (2/4 ready, 4 updated); waited 0s of 600s before adding more; kept at 7 (its minimum 7, not 4) instead of 9');
    // Rolling update, and the policy lowered maxReplicas to 3 under a pool running 5: 3.
    const lowered = makeSpec({ ...FIELDS, pools: [{ name: 'decode-od', role: 'decode', minReplicas: 1, maxReplicas: 3, target: graphTarget }] });
    const down = applyReadinessGate({ spec: lowered, observation: { time: '', pools: { 'decode-od': { ...settled(5), graph: rolling } } }, state: undefined, now: T0, desired: [2], mins: [1] });
    expect(down.desired).toEqual([3]);
  });

  it('a pool whose current count is unknown is not gated, and one failed read does not restart its clock', () => {
    const first = gate({ 'prefill-od': settled(2), 'decode-od': { desired: 4, ready: 2, updated: 4 } }, [2, 6]);
    const blind = gate({ 'prefill-od': settled(2) }, [2, 6], { state: first.state, now: T0 + 60_000 });
    expect(blind.desired).toEqual([2, 6]);
    expect(blind.state['decode-od']).toEqual({ becomingReadySince: T0 });
  });
});

describe('readiness gate: the graph', () => {
  it('rolling update: every change of its pools holds and says why; Ready on the next tick: scales (test_set_component_replicas_deployment_not_ready)', () => {
    const first = gate({ 'prefill-od': { ...settled(2), graph: rolling }, 'decode-od': { ...settled(1), graph: rolling } }, [1, 2]);
    expect(first.desired).toEqual([2, 1]);
    expect(first.effects.map((e) => e.detail)).toEqual([
      'prefill-od: graph llama is rolling out (Ready=False, reason rolling_update_in_progress: Rolling update in progress): nothing is scaled for 0s of 600s; kept at 2 instead of 1',
      'decode-od: graph llama is rolling out (Ready=False, reason rolling_update_in_progress: Rolling update in progress): nothing is scaled for 0s of 600s; kept at 1 instead of 2',
    ]);
    const ready = gate({ 'prefill-od': { ...settled(2), graph: { ready: true } }, 'decode-od': { ...settled(1), graph: { ready: true } } }, [1, 2], { state: first.state, now: T0 + 60_000 });
    expect(ready.desired).toEqual([1, 2]);
    expect(ready.state['decode-od']).toEqual({ becomingReadySince: T0 + 60_000 });
  });

  it('no Ready condition counts as not Ready; after readinessTimeout it scales and warns "is not ready after" (test_wait_for_graph_deployment_no_conditions / _timeout)', () => {
    const none = { ready: false, condition: 'no Ready condition' };
    const first = gate({ 'prefill-od': settled(2), 'decode-od': { desired: 1, graph: none } }, [2, 2]);
    expect(first.desired).toEqual([2, 1]);
    // Without ready counts the pool may be the one the graph waits for: its scale-up holds too.
    expect(first.effects[0]?.detail).toBe('decode-od: graph llama is not Ready (no Ready condition): only scale-ups of settled pools go ahead, for 0s of 600s; kept at 1 instead of 2');
    const down = gate({ 'prefill-od': settled(2), 'decode-od': { desired: 1, graph: none } }, [2, 2], { state: first.state, now: T0 + 300_000 });
    expect(down.desired).toEqual([2, 1]);
    const late = gate({ 'prefill-od': settled(2), 'decode-od': { desired: 1, graph: none } }, [2, 2], { state: first.state, now: T0 + 600_000 });
    expect(late.desired).toEqual([2, 2]);
    expect(late.warnings).toEqual(['decode-od: graph llama is not ready after 600s (no Ready condition); scaling anyway']);
    // The clock restarts: the next tick waits again.
    const again = gate({ 'prefill-od': settled(2), 'decode-od': { desired: 2, graph: none } }, [2, 1], { state: late.state, now: T0 + 660_000 });
    expect(again.desired).toEqual([2, 2]);
  });

  it('not Ready for another reason than a rollout (a Spot worker lost): a settled pool still grows; shrinking and unsettled scale-ups hold', () => {
    const r = gate(
      {
        'prefill-od': { ...settled(2), graph: spotLost },
        'decode-od': { ...settled(3), graph: spotLost },
      },
      [1, 5],
    );
    expect(r.desired).toEqual([2, 5]);
    expect(r.effects.map((e) => `${e.pool}:${e.from}->${e.to}`)).toEqual(['prefill-od:1->2']);
    expect(r.effects[0]?.detail).toBe(
      'prefill-od: graph llama is not Ready (Ready=False, reason some_resources_are_not_ready: VllmDecodeWorkerSpot: 1/3 ready): only scale-ups of settled pools go ahead, for 0s of 600s; kept at 2 instead of 1',
    );
    const unsettled = gate({ 'prefill-od': settled(2), 'decode-od': { desired: 3, ready: 1, updated: 3, graph: spotLost } }, [2, 5]);
    expect(unsettled.desired).toEqual([2, 3]);
  });

  it('an unavailable Spot pool still drops what it lost while the graph is not Ready, but not during a rolling update', () => {
    // The Spot pool lost 2 of 3 (its replacements are starting); spot.ts marked it unavailable and the decision takes it to 1.
    const pools = { 'prefill-od': { ...settled(2), graph: spotLost }, 'decode-od': { desired: 3, ready: 1, updated: 3, graph: spotLost } };
    const unavailable = [undefined, '2 eviction(s) or notice(s) this tick'];
    expect(gate(pools, [2, 1], { unavailable }).desired).toEqual([2, 1]);
    expect(gate(pools, [2, 1]).desired).toEqual([2, 3]);
    const rollingPools = { 'prefill-od': { ...settled(2), graph: rolling }, 'decode-od': { desired: 3, ready: 1, updated: 3, graph: rolling } };
    expect(gate(rollingPools, [2, 1], { unavailable }).desired).toEqual([2, 3]);
  });

  it('a pool without a graph condition (a DynamoComponentDeployment) is held only by its own readiness', () => {
    expect(gate({ 'prefill-od': settled(2), 'decode-od': settled(3) }, [1, 5]).desired).toEqual([1, 5]);
  });
});

describe('readiness gate through decide()', () => {
  const profile = loadProfile('builtin:llama2-70b-h100-tp4', process.cwd());
  const staticSpec = (replicas: Record<string, number>): PolicySpec =>
    makeSpec({ ...FIELDS, policy: 'static', static: { replicas }, limits: { maxStepUp: 20, maxStepDown: 20 }, stabilization: { scaleDown: '0s' } });
  const observation = (pools: Record<string, PoolObservation>): Observation => ({ time: '', requests: 100, isl: 1000, osl: 100, pools });

  it('the held count is the decision, explained as a `readiness` effect, and the next tick counts from it', () => {
    const s = staticSpec({ 'prefill-od': 2, 'decode-od': 8 });
    const state: PlannerState = { ...initialState(), last: { 'prefill-od': 2, 'decode-od': 4 } };
    const { decision, state: next } = decide({ spec: s, profile, observation: observation({ 'prefill-od': settled(2), 'decode-od': { desired: 4, ready: 2, updated: 4 } }), state, now: T0 });
    expect(decision.pools['decode-od']).toMatchObject({ desired: 4, current: 4, boundBy: ['readiness'] });
    expect(decision.explanation.constraints).toContainEqual(expect.objectContaining({ constraint: 'readiness', pool: 'decode-od', from: 8, to: 4 }));
    expect(next.last).toEqual({ 'prefill-od': 2, 'decode-od': 4 });
    expect(next.readiness).toEqual({ 'decode-od': { becomingReadySince: T0 } });
    // Ready a minute later: the 8 goes out, and the scale-up starts a new clock.
    const after = decide({ spec: s, profile, observation: observation({ 'prefill-od': settled(2), 'decode-od': settled(4) }), state: next, now: T0 + 60_000 });
    expect(after.decision.pools['decode-od']?.desired).toBe(8);
    expect(after.state.readiness).toEqual({ 'decode-od': { becomingReadySince: T0 + 60_000 } });
  });

  it('the gate keeps what runs while something is unknown: never below the current count', () => {
    const s = staticSpec({ 'prefill-od': 2, 'decode-od': 8 });
    const { decision } = decide({ spec: s, profile, observation: { time: '', pools: { 'prefill-od': settled(2), 'decode-od': { desired: 4, ready: 1, updated: 4 } } }, state: initialState(), now: T0 });
    expect(decision.pools['decode-od']).toMatchObject({ desired: 4, hold: true });
  });
});
