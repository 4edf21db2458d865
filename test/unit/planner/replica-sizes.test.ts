/**
 * The per-pool counts the state carries (last decision, stabilization window entries) across a policy reload that
 * changes a pool's gpusPerReplica: read as the same GPUs in the new replica size, rounded up.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/planner/decide.js';
import { inPolicySizes, resizedCount } from '../../../src/planner/replica-sizes.js';
import { initialState, type PlannerState } from '../../../src/planner/state.js';
import type { Observation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { T0, makeSpec } from '../constraints/helpers.js';

const profile = loadProfile('builtin:dynamo-format-synthetic', process.cwd());

/**
 * Static policy (the need is what `static.replicas` lists), prefill pool `p` of `gpus` GPUs per replica, decode pool
 * `d` of 4 GPUs throughout; a 300 s scale-down window and wide step limits unless told otherwise.
 */
const sized = (gpus: number, extra: Record<string, unknown> = {}) =>
  makeSpec({
    policy: 'static',
    interval: '60s',
    static: { replicas: { p: 1, d: 1 } },
    pools: [
      { name: 'p', role: 'prefill', gpusPerReplica: gpus, minReplicas: 1, maxReplicas: 40 },
      { name: 'd', role: 'decode', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 40 },
    ],
    limits: { maxStepUp: 40, maxStepDown: 40 },
    ...extra,
  });

/** Four ticks of recommendations within the last 4 minutes, and the last decision, all of `p` replicas for prefill. */
function stateAt(p: number, replicaGpus: Record<string, number> | undefined): PlannerState {
  const recommendations = [4, 3, 2, 1].map((k) => ({ time: T0 - k * 60_000, desired: { p, d: 2 } }));
  return { ...initialState(), recommendations, last: { p, d: 2 }, ...(replicaGpus ? { replicaGpus } : {}) };
}

const observed = (p: number, d = 2): Observation => ({
  time: new Date(T0).toISOString(),
  windowSeconds: 60,
  requests: 100,
  pools: { p: { desired: p, ready: p }, d: { desired: d, ready: d } },
});

describe('replica sizes: counts carried across a reload that changes gpusPerReplica', () => {
  it('4 -> 8 GPUs per replica: window entries of 6 replicas (24 GPUs) keep 3 replicas = 24 GPUs, not 6 = 48', () => {
    const { decision, state } = decide({ spec: sized(8), profile, observation: observed(3), state: stateAt(6, { p: 4, d: 4 }), now: T0 });
    expect(decision.pools.p).toMatchObject({ desired: 3, gpus: 24 });
    // The decode pool kept its size: its window still keeps 2.
    expect(decision.pools.d).toMatchObject({ desired: 2, gpus: 8 });
    expect(decision.explanation.budget?.usedGpus).toBe(32);
    const window = decision.explanation.constraints.find((e) => e.constraint === 'stabilization' && e.pool === 'p');
    expect(window?.detail).toBe('p: highest recommendation in the last 300s was 3; scale-down from 3 to 1 deferred');
    // The next state is in the new sizes, and says so.
    expect(state.replicaGpus).toEqual({ p: 8, d: 4 });
    expect(state.recommendations.map((r) => r.desired.p)).toEqual([3, 3, 3, 3, 1]);
    expect(state.last).toEqual({ p: 3, d: 2 });
  });

  it('8 -> 4 GPUs per replica: window entries of 6 replicas (48 GPUs) keep 12 replicas = 48 GPUs, not 6 = 24', () => {
    const { decision } = decide({ spec: sized(4), profile, observation: observed(12), state: stateAt(6, { p: 8, d: 4 }), now: T0 });
    expect(decision.pools.p).toMatchObject({ desired: 12, gpus: 48 });
  });

  it('rounds up: 5 replicas of 4 GPUs (20) are 3 of 8 (24) in the window, not 2 (16, a scale-down nobody decided)', () => {
    const { decision } = decide({ spec: sized(8), profile, observation: observed(3), state: stateAt(5, { p: 4, d: 4 }), now: T0 });
    expect(decision.pools.p).toMatchObject({ desired: 3, gpus: 24 });
  });

  it('the step limits count from the same GPUs: up from 5 x 4 GPUs -> from 3 x 8; down from 6 x 8 GPUs -> from 12 x 4', () => {
    const noWindow = { stabilization: { scaleDown: '0s' } };
    // 4 -> 8, the need 20 replicas, at most 2 more per tick: 3 + 2 = 5 (40 GPUs), not 5 + 2 = 7 (56 GPUs).
    const up = sized(8, { ...noWindow, static: { replicas: { p: 20, d: 2 } }, limits: { maxStepUp: 2, maxStepDown: 2 } });
    const grown = decide({ spec: up, profile, observation: observed(3), state: { ...initialState(), last: { p: 5, d: 2 }, replicaGpus: { p: 4, d: 4 } }, now: T0 });
    expect(grown.decision.pools.p).toMatchObject({ desired: 5, gpus: 40 });
    expect(grown.decision.explanation.constraints.find((e) => e.constraint === 'step-up' && e.pool === 'p')?.detail).toBe('p: at most 2 more than 3 per tick');
    // 8 -> 4, the need 1, at most 2 fewer per tick: 12 - 2 = 10 (40 GPUs), not 6 - 2 = 4 (16 GPUs of the 48 running).
    const down = sized(4, { ...noWindow, limits: { maxStepUp: 8, maxStepDown: 2 } });
    const shrunk = decide({ spec: down, profile, observation: observed(12), state: { ...initialState(), last: { p: 6, d: 2 }, replicaGpus: { p: 8, d: 4 } }, now: T0 });
    expect(shrunk.decision.pools.p).toMatchObject({ desired: 10, gpus: 40 });
  });

  it('a state without replicaGpus (written before it was recorded) is taken as measured in the sizes of now', () => {
    const { decision, state } = decide({ spec: sized(8), profile, observation: observed(6), state: stateAt(6, undefined), now: T0 });
    expect(decision.pools.p).toMatchObject({ desired: 6, gpus: 48 });
    expect(state.replicaGpus).toEqual({ p: 8, d: 4 });
  });

  it('the same sizes: the state is used as it is, and a tick records the sizes it decided in', () => {
    const state = stateAt(6, { p: 8, d: 4 });
    expect(inPolicySizes(state, sized(8))).toBe(state);
    const first = decide({ spec: sized(4), profile, observation: observed(6), state: initialState(), now: T0 });
    expect(first.state.replicaGpus).toEqual({ p: 4, d: 4 });
  });

  it('converts the held levels of the window and the last decision; pools the policy no longer has are left alone', () => {
    const state: PlannerState = {
      ...initialState(),
      recommendations: [{ time: T0 - 60_000, desired: { p: 2, d: 2, gone: 7 }, held: { p: 6 } }],
      last: { p: 6, d: 2, gone: 7 },
      replicaGpus: { p: 4, d: 4, gone: 4 },
    };
    const before = JSON.stringify(state);
    const out = inPolicySizes(state, sized(8));
    expect(out.recommendations).toEqual([{ time: T0 - 60_000, desired: { p: 1, d: 2, gone: 7 }, held: { p: 3 } }]);
    expect(out.last).toEqual({ p: 3, d: 2, gone: 7 });
    expect(out.replicaGpus).toEqual({ p: 8, d: 4, gone: 4 });
    // The input is not changed.
    expect(JSON.stringify(state)).toBe(before);
  });

  it('a pool removed and added back within the window with another size reads its window entries as the GPUs they were', () => {
    // Window entries of 6 replicas of 8 GPUs (48) for `p`; a reload drops `p`, the next adds it back with 4-GPU
    // replicas while the cluster still runs 12 of them (48 GPUs) and the need is 1: the window keeps 12, not 6.
    const without = makeSpec({
      policy: 'static', interval: '60s', static: { replicas: { d: 1 } }, limits: { maxStepUp: 40, maxStepDown: 40 },
      pools: [{ name: 'd', role: 'decode', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 40 }, { name: 'q', role: 'prefill', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 40 }],
    });
    const first = decide({ spec: without, profile, observation: observed(12), state: stateAt(6, { p: 8, d: 4 }), now: T0 });
    expect(first.state.replicaGpus).toEqual({ p: 8, d: 4, q: 4 });
    const back = decide({ spec: sized(4, { limits: { maxStepUp: 40, maxStepDown: 40 } }), profile, observation: observed(12), state: first.state, now: T0 + 60_000 });
    expect(back.decision.pools.p).toMatchObject({ desired: 12, gpus: 48 });
    expect(back.state.replicaGpus).toEqual({ p: 4, d: 4, q: 4 });
    // Once the window no longer carries them, the size is dropped with them.
    const later = decide({ spec: without, profile, observation: observed(12), state: first.state, now: T0 + 3_600_000 });
    expect(later.state.replicaGpus).toEqual({ d: 4, q: 4 });
  });

  it('property: a reload alone never reads as a scale-down: the window keeps at least the GPUs it kept, in the fewest new replicas', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3, 4, 6, 8, 16),
        fc.constantFrom(1, 2, 3, 4, 6, 8, 16),
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 4 }),
        (was, is, last, window) => {
          for (const count of [last, ...window]) {
            const now = resizedCount(count, was, is);
            expect(now * is).toBeGreaterThanOrEqual(count * was);
            if (now > 0) expect((now - 1) * is).toBeLessThan(count * was);
          }
          // The need is 0 and nothing limits a step: only the scale-down window keeps the pool up.
          const spec = makeSpec({
            policy: 'static', interval: '60s', static: { replicas: { p: 0, d: 1 } }, limits: { maxStepUp: 1000, maxStepDown: 1000 },
            pools: [
              { name: 'p', role: 'prefill', gpusPerReplica: is, minReplicas: 0, maxReplicas: 1000 },
              { name: 'd', role: 'decode', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 40 },
            ],
          });
          const recommendations = window.map((p, k) => ({ time: T0 - (k + 1) * 60_000, desired: { p, d: 1 } }));
          const state: PlannerState = { ...initialState(), recommendations, last: { p: last, d: 1 }, replicaGpus: { p: was, d: 4 } };
          const running = resizedCount(last, was, is);
          const { decision } = decide({ spec, profile, observation: observed(running, 1), state, now: T0 });
          expect(decision.pools.p!.gpus).toBeGreaterThanOrEqual(Math.min(last, Math.max(...window)) * was);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('resizedCount keeps at least the GPUs, and stays a safe integer whatever the count', () => {
    expect(resizedCount(6, 4, 8)).toBe(3);
    expect(resizedCount(5, 4, 8)).toBe(3);
    expect(resizedCount(6, 8, 4)).toBe(12);
    expect(resizedCount(5, 3, 2)).toBe(8);
    expect(resizedCount(0, 4, 8)).toBe(0);
    expect(resizedCount(7, 4, 4)).toBe(7);
    expect(resizedCount(1e308, 1024, 1)).toBe(Number.MAX_SAFE_INTEGER);
  });
});
