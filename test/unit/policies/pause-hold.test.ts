/**
 * pauseHold (src/policies/sla/pause-hold.ts): while the graph sees no demand, for up to PAUSE_HOLD_SECONDS, each role
 * keeps its PAUSE_KEEP share of the replicas it ran when the pause began (planner/decide.ts carries them in the state),
 * once the scale-down window has let the busy level go; the share does not compound tick after tick.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/planner/decide.js';
import { initialState, type PlannerState } from '../../../src/planner/state.js';
import type { Observation } from '../../../src/planner/types.js';
import { slaPolicy } from '../../../src/policies/sla/index.js';
import { PAUSE_HOLD_SECONDS, PAUSE_KEEP } from '../../../src/policies/sla/pause-hold.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { makeSpec as makeConstraintSpec, T0 } from '../constraints/helpers.js';
import { forecast, makeInput, makeSpec } from './helpers.js';

const quiet: Observation = { time: 't', windowSeconds: 60, requests: 0, queueDepth: 0 };

describe('pauseHold', () => {
  const need = (idleForSeconds: number | undefined, pauseHold = true, pauseRunning?: { prefill: number; decode: number }) =>
    slaPolicy(
      makeInput({
        spec: makeSpec({ interval: '60s', sla: { improvements: { pauseHold } } }),
        forecast: forecast(0, 3000, 150),
        observation: quiet,
        current: { prefill: 5, decode: 4 },
        ...(idleForSeconds !== undefined ? { idleForSeconds } : {}),
        ...(pauseRunning ? { pauseRunning } : {}),
      }),
    ).need;

  it('keeps 60% of the prefill and 70% of the decode replicas, rounded up, while no demand is seen: 5 -> 3, 4 -> 3', () => {
    expect(PAUSE_KEEP).toEqual({ prefill: 0.6, decode: 0.7 });
    const held = need(120);
    expect(held.prefill.replicas).toBe(3);
    expect(held.decode.replicas).toBe(3);
    expect(held.prefill.detail.pauseHeldFrom).toBe(1);
    expect(held.prefill.detail.pauseSeconds).toBe(120);
    expect(held.prefill.detail.pauseHoldRule).toBe('no demand for 120 s of 1800 s: keep 0.6 of the prefill replicas running when it began, rounded up');
    expect(held.decode.detail.pauseHoldRule).toBe('no demand for 120 s of 1800 s: keep 0.7 of the decode replicas running when it began, rounded up');
  });

  it('keeps a share of what ran when the pause began, not of what runs now: 6 and 8 then -> 4 and 6, though 5 and 4 run', () => {
    const held = need(600, true, { prefill: 6, decode: 8 });
    expect(held.prefill.replicas).toBe(4);
    expect(held.decode.replicas).toBe(6);
    expect(held.decode.detail.pauseHoldReplicas).toBe(6);
  });

  it('does not apply with demand, after PAUSE_HOLD_SECONDS, or switched off', () => {
    expect(PAUSE_HOLD_SECONDS).toBe(1800);
    for (const free of [need(undefined), need(1801), need(120, false)]) {
      expect(free.prefill.replicas).toBe(1);
      expect(free.decode.replicas).toBe(1);
      expect(free.prefill.detail.pauseHoldRule).toBeUndefined();
    }
    expect(need(1800).prefill.replicas).toBe(3);
  });
});

describe('pauseHold through decide', () => {
  const profile = loadProfile('builtin:dynamo-format-synthetic', process.cwd());
  /** Replays `ticks` quiet minutes after a busy one at (5, 4), the cluster following each decision at once. */
  function replay(spec: ReturnType<typeof makeConstraintSpec>, ticks: number): { prefill: number[]; decode: number[] } {
    // The busy tick before: its recommendation is in the scale-down window.
    let state: PlannerState = { ...initialState(), last: { p: 5, d: 4 }, recommendations: [{ time: T0, desired: { p: 5, d: 4 } }] };
    let counts = { p: 5, d: 4 };
    const out = { prefill: [] as number[], decode: [] as number[] };
    for (let k = 1; k <= ticks; k++) {
      const observation: Observation = {
        ...quiet,
        time: new Date(T0 + k * 60_000).toISOString(),
        isl: 3000,
        osl: 150,
        pools: { p: { desired: counts.p, ready: counts.p }, d: { desired: counts.d, ready: counts.d } },
      };
      const result = decide({ spec, profile, observation, state, now: T0 + k * 60_000 });
      counts = { p: result.decision.pools.p!.desired, d: result.decision.pools.d!.desired };
      out.prefill.push(counts.p);
      out.decode.push(counts.d);
      state = result.state;
    }
    return out;
  }
  const pools = (min: number) => [
    { name: 'p', role: 'prefill', minReplicas: min, maxReplicas: 20 },
    { name: 'd', role: 'decode', minReplicas: min, maxReplicas: 20 },
  ];

  it('falls to its share of what ran once the window lets it (5, then 3 prefill), holds it, and lets go 30 minutes after the last demand', () => {
    const spec = makeConstraintSpec({ interval: '60s', pools: pools(1), limits: { maxStepDown: 10 }, stabilization: { scaleDown: '300s' } });
    const { prefill, decode } = replay(spec, 40);
    // The window keeps the busy tick's 5 and 4 for 300 s; then ceil(0.6 x 5) = 3 prefill and ceil(0.7 x 4) = 3 decode,
    // shares of what ran when the pause began (not of what runs, which would fall again to ceil(0.6 x 3) = 2), until
    // the pause is 1800 s old (tick 31). The window remembers the need without the hold, so nothing of it is kept
    // after that.
    expect(prefill).toEqual([...Array(4).fill(5), ...Array(26).fill(3), ...Array(10).fill(1)]);
    expect(decode).toEqual([...Array(4).fill(4), ...Array(26).fill(3), ...Array(10).fill(1)]);
    // Without the hold the same window lets everything go to the minimum at once.
    const off = replay(makeConstraintSpec({ interval: '60s', pools: pools(1), limits: { maxStepDown: 10 }, stabilization: { scaleDown: '300s' }, sla: { improvements: { pauseHold: false } } }), 6);
    expect(off.prefill).toEqual([5, 5, 5, 5, 1, 1]);
  });

  it('records what ran when the pause began in the state, carries it through the pause, and drops it with demand', () => {
    const spec = makeConstraintSpec({ interval: '60s', pools: pools(1), limits: { maxStepDown: 10 }, stabilization: { scaleDown: '300s' } });
    const at = (k: number, requests: number, p: number, d: number): Observation => ({
      ...quiet,
      requests,
      time: new Date(T0 + k * 60_000).toISOString(),
      isl: 3000,
      osl: 150,
      pools: { p: { desired: p, ready: p }, d: { desired: d, ready: d } },
    });
    const first = decide({ spec, profile, observation: at(1, 0, 5, 4), state: initialState(), now: T0 + 60_000 });
    expect(first.state.pauseRunning).toEqual({ prefill: 5, decode: 4 });
    // Two replicas of each went meanwhile: the pause still began with 5 and 4.
    const later = decide({ spec, profile, observation: at(2, 0, 3, 2), state: first.state, now: T0 + 120_000 });
    expect(later.state.pauseRunning).toEqual({ prefill: 5, decode: 4 });
    expect(later.decision.explanation.need.decode?.detail.pauseHoldReplicas).toBe(3);
    const busy = decide({ spec, profile, observation: at(3, 600, 3, 3), state: later.state, now: T0 + 180_000 });
    expect(busy.state.pauseRunning).toBeUndefined();
    expect(busy.state.idleSince).toBeUndefined();
  });

  it('a policy reloaded during a pause with other replica sizes keeps the same GPUs of what the pause began with', () => {
    const sized = (gpusPerReplica: number) =>
      makeConstraintSpec({
        interval: '60s',
        pools: pools(1).map((p) => ({ ...p, gpusPerReplica })),
        limits: { maxStepDown: 10 },
        stabilization: { scaleDown: '300s' },
      });
    const at = (k: number, p: number, d: number): Observation => ({
      ...quiet,
      requests: 0,
      time: new Date(T0 + k * 60_000).toISOString(),
      isl: 3000,
      osl: 150,
      pools: { p: { desired: p, ready: p }, d: { desired: d, ready: d } },
    });
    // The pause begins with 5 prefill and 4 decode replicas of 8 GPUs: 40 and 32 GPUs.
    const first = decide({ spec: sized(8), profile, observation: at(1, 5, 4), state: initialState(), now: T0 + 60_000 });
    expect([first.state.pauseRunning, first.state.pauseUnitGpus]).toEqual([{ prefill: 5, decode: 4 }, { prefill: 8, decode: 8 }]);
    // The policy now has 4-GPU replicas (the same GPUs run as 10 and 8 of them): the pause began with 10 and 8 units,
    // and the hold keeps ceil(0.6 x 10) = 6 prefill and ceil(0.7 x 8) = 6 decode, not ceil(0.6 x 5) = 3 and
    // ceil(0.7 x 4) = 3: half the GPUs.
    const later = decide({ spec: sized(4), profile, observation: at(2, 10, 8), state: first.state, now: T0 + 120_000 });
    expect(later.state.idleSince).toBe(first.state.idleSince);
    expect(later.decision.explanation.need.prefill?.detail.pauseHoldReplicas).toBe(6);
    expect(later.decision.explanation.need.decode?.detail.pauseHoldReplicas).toBe(6);
    expect([later.state.pauseRunning, later.state.pauseUnitGpus]).toEqual([{ prefill: 10, decode: 8 }, { prefill: 4, decode: 4 }]);
  });

  it('counts replicas still starting when the pause begins, and keeps its level through a tick whose demand is unknown', () => {
    const spec = makeConstraintSpec({ interval: '60s', pools: pools(1), limits: { maxStepDown: 10 }, stabilization: { scaleDown: '300s' } });
    const at = (k: number, requests: number | undefined, p: { desired: number; ready: number }, d: number): Observation => ({
      time: new Date(T0 + k * 60_000).toISOString(),
      windowSeconds: 60,
      queueDepth: 0,
      ...(requests !== undefined ? { requests } : {}),
      isl: 3000,
      osl: 150,
      pools: { p, d: { desired: d, ready: d } },
    });
    // 1 prefill ready and 2 more starting when the requests stop: the pause began with 3, not 1.
    let state: PlannerState = { ...initialState(), last: { p: 3, d: 6 }, recommendations: [{ time: T0, desired: { p: 3, d: 6 } }] };
    const first = decide({ spec, profile, observation: at(1, 0, { desired: 3, ready: 1 }, 6), state, now: T0 + 60_000 });
    expect(first.state.pauseRunning).toEqual({ prefill: 3, decode: 6 });
    // Ten quiet minutes later the hold runs ceil(0.6 x 3) = 2 prefill and ceil(0.7 x 6) = 5 decode.
    state = { ...first.state, recommendations: [{ time: T0 + 600_000, desired: { p: 2, d: 5 } }] };
    const held = decide({ spec, profile, observation: at(11, 0, { desired: 2, ready: 2 }, 5), state, now: T0 + 660_000 });
    expect(held.decision.explanation.need.decode?.detail.pauseHoldReplicas).toBe(5);
    // A tick with the request count unknown holds what runs and keeps what the pause began with; the pause that starts
    // anew after it holds the same 5 decode, not ceil(0.7 x 5) = 4.
    const unknown = decide({ spec, profile, observation: at(12, undefined, { desired: 2, ready: 2 }, 5), state: held.state, now: T0 + 720_000 });
    expect(unknown.state.idleSince).toBeUndefined();
    expect(unknown.state.pauseRunning).toEqual({ prefill: 3, decode: 6 });
    const again = decide({ spec, profile, observation: at(13, 0, { desired: 2, ready: 2 }, 5), state: unknown.state, now: T0 + 780_000 });
    expect(again.state.pauseRunning).toEqual({ prefill: 3, decode: 6 });
    expect(again.decision.explanation.need.decode?.detail.pauseHoldReplicas).toBe(5);
    expect(again.decision.pools.d!.desired).toBe(5);
  });

  it('does not keep a role from zero once it has been idle for scaleToZero.idleSeconds', () => {
    const spec = makeConstraintSpec({ interval: '60s', pools: pools(0), limits: { maxStepDown: 10 }, stabilization: { scaleDown: '300s' }, scaleToZero: { idleSeconds: '300s' } });
    const { prefill, decode } = replay(spec, 7);
    expect(prefill).toEqual([5, 5, 5, 5, 0, 0, 0]);
    expect(decode).toEqual([4, 4, 4, 4, 0, 0, 0]);
  });
});
