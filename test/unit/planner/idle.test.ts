import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/planner/decide.js';
import { demandSeen, nextTickSeconds, scaleToZero, withWakeMinimums } from '../../../src/planner/idle.js';
import { initialState, type PlannerState } from '../../../src/planner/state.js';
import type { Observation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { makeSpec, stateWith, T0 } from '../constraints/helpers.js';

const profile = loadProfile('builtin:llama2-70b-h100-tp4', process.cwd());
const zeroPools = [
  { name: 'prefill-od', role: 'prefill', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 16 },
  { name: 'prefill-spot', role: 'prefill', capacity: 'spot', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 16 },
  { name: 'decode-od', role: 'decode', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 16 },
];
const spec = makeSpec({
  interval: '60s',
  slo: { ttft: { ms: 2000 }, itl: { ms: 60 } },
  pools: zeroPools,
  limits: { maxStepUp: 8, maxStepDown: 2 },
  scaleToZero: { idleSeconds: 300, pollInterval: '10s' },
});
const MIN = 60_000;

function obs(requests: number | undefined, counts: Record<string, number>, extra: Partial<Observation> = {}): Observation {
  const pools = Object.fromEntries(Object.entries(counts).map(([p, n]) => [p, { desired: n, ready: n }]));
  return { time: '', windowSeconds: 60, ...(requests !== undefined ? { requests } : {}), isl: 2000, osl: 300, queueDepth: 0, pools, ...extra };
}

const total = (pools: Record<string, { desired: number }>) => Object.values(pools).reduce((s, d) => s + d.desired, 0);

describe('scale to zero and back', () => {
  it('demand: a request or a queued one; unknown when the count is missing or the queue source failed', () => {
    expect(demandSeen({ time: '', requests: 0, queueDepth: 0 })).toBe(false);
    expect(demandSeen({ time: '', requests: 3 })).toBe(true);
    expect(demandSeen({ time: '', requests: 0, queueDepth: 2 })).toBe(true);
    expect(demandSeen({ time: '', queueDepth: 2 })).toBe(true);
    expect(demandSeen({ time: '' })).toBeUndefined();
    expect(demandSeen({ time: '', requests: 0, errors: { queueDepth: 'nats: timeout' } })).toBeUndefined();
    expect(demandSeen({ time: '', requests: 0 })).toBe(false);
  });

  it('idle clock: from the start of the first empty window; keep at least one replica until idleSeconds, then zero', () => {
    const running = { prefill: 2, decode: 1 };
    const first = scaleToZero(spec, obs(0, {}), initialState(), T0, running);
    expect(first.idleSince).toBe(T0 - MIN);
    expect(first.action).toEqual({ prefill: 'keep', decode: 'keep' });
    // The state of the tick just before (its recommendation a window ago): the idle clock carries over.
    const ticked = (idleSince: number, last: number) => stateWith({ idleSince, recommendations: [{ time: last, desired: {} }] });
    const later = scaleToZero(spec, obs(0, {}), ticked(T0 - MIN, T0 + 3 * MIN), T0 + 4 * MIN, running);
    expect(later.explanation).toMatchObject({ action: 'zero', idleForSeconds: 300 });
    const demand = scaleToZero(spec, obs(5, {}), ticked(T0 - MIN, T0 + 3 * MIN), T0 + 4 * MIN, running);
    expect(demand.idleSince).toBeUndefined();
    expect(demand.action).toEqual({ prefill: 'wake', decode: 'wake' });
    // A role with a pool of min 1 is not the rule's business.
    const mixed = makeSpec({ slo: { ttft: { ms: 2000 }, itl: { ms: 60 } }, pools: [zeroPools[0], { ...zeroPools[2], minReplicas: 1 }] });
    expect(scaleToZero(mixed, obs(0, {}), ticked(T0 - 10 * MIN, T0 - MIN), T0, running).action).toEqual({ prefill: 'zero', decode: undefined });
  });

  it('missing windows are not idle time: after ticks that were lost (failed, timed out, skipped) the idle clock restarts', () => {
    const running = { prefill: 2, decode: 1 };
    // Idle since 10 minutes ago by the state, but its last tick was 3 windows ago: the two windows between were not
    // seen, and a request in them cannot be ruled out.
    const gap = scaleToZero(spec, obs(0, {}), stateWith({ idleSince: T0 - 10 * MIN, recommendations: [{ time: T0 - 3 * MIN, desired: {} }] }), T0, running);
    expect(gap.action).toEqual({ prefill: 'keep', decode: 'keep' });
    expect(gap.idleSince).toBe(T0 - MIN);
    // A state with an idle clock and no tick at all (a hand-written or foreign state): the same.
    const none = scaleToZero(spec, obs(0, {}), stateWith({ idleSince: T0 - 10 * MIN }), T0, running);
    expect(none.action).toEqual({ prefill: 'keep', decode: 'keep' });
    // The tick just before: the clock carries over (10 minutes >= idleSeconds 300 s).
    const seamless = scaleToZero(spec, obs(0, {}), stateWith({ idleSince: T0 - 10 * MIN, recommendations: [{ time: T0 - MIN, desired: {} }] }), T0, running);
    expect(seamless.action).toEqual({ prefill: 'zero', decode: 'zero' });
  });

  it('a replica ordered by a wake and still starting is kept through the next quiet window, not sent back to zero', () => {
    // Tick 1: at zero, 3 requests -> wake (one replica per role).
    const woke = decide({ spec, profile, observation: obs(3, { 'prefill-od': 0, 'prefill-spot': 0, 'decode-od': 0 }), state: initialState(), now: T0 });
    expect(woke.decision.explanation.scaleToZero).toMatchObject({ action: 'wake' });
    expect(woke.decision.pools['prefill-od']!.desired).toBeGreaterThan(0);
    // Tick 2: no request, empty queue; the woken replicas are desired but not ready yet (pending).
    const starting = Object.fromEntries(Object.entries(woke.decision.pools).map(([p, d]) => [p, { desired: d.desired, ready: 0, pending: d.desired }]));
    const next = decide({ spec, profile, observation: { ...obs(0, {}), pools: starting }, state: woke.state, now: T0 + MIN });
    expect(next.decision.explanation.scaleToZero).toMatchObject({ action: 'keep' });
    for (const role of ['prefill', 'decode'] as const) {
      const pools = Object.values(next.decision.pools).filter((d) => d.role === role);
      expect(pools.reduce((sum, d) => sum + d.desired, 0), role).toBeGreaterThan(0);
    }
  });

  it('an idle graph goes to zero at once after idleSeconds (no scale-down window, no step limit), and wakes at the first tick that sees demand', () => {
    let state: PlannerState = initialState();
    let counts: Record<string, number> = { 'prefill-od': 3, 'prefill-spot': 3, 'decode-od': 6 };
    const seen: number[] = [];
    // Minute 0: traffic. Minutes 1..: nothing.
    for (let m = 0; m <= 8; m++) {
      const r = decide({ spec, profile, observation: obs(m === 0 ? 600 : 0, counts), state, now: T0 + m * MIN });
      state = r.state;
      counts = Object.fromEntries(Object.entries(r.decision.pools).map(([p, d]) => [p, d.desired]));
      seen.push(total(r.decision.pools));
    }
    // Idle since the start of minute 1's window (T0); kept warm while idle < 300 s: at least one per role.
    expect(seen.slice(1, 5).every((n) => n >= 2)).toBe(true);
    // Minute 5: idle 300 s -> every pool at 0 in one tick, though the step-down limit is 2 and the window 300 s.
    expect(seen[5]).toBe(0);
    expect(seen.slice(5)).toEqual([0, 0, 0, 0]);
    // At zero the planner looks for demand every 10 s.
    expect(nextTickSeconds(spec, state)).toBe(10);
    // The frontend counts nothing yet, but the queue holds work: wake at this tick, one replica per role at least.
    const wake = decide({ spec, profile, observation: obs(0, counts, { queueDepth: 4 }), state, now: T0 + 9 * MIN, poll: true });
    expect(wake.decision.pools['prefill-od']!.desired + wake.decision.pools['prefill-spot']!.desired).toBeGreaterThanOrEqual(1);
    expect(wake.decision.pools['decode-od']!.desired).toBeGreaterThanOrEqual(1);
    expect(wake.decision.explanation.scaleToZero?.action).toBe('wake');
    // A poll is not a window of the forecaster's history.
    expect(wake.state.history).toEqual(state.history);
    expect(nextTickSeconds(spec, wake.state)).toBe(60);
  });

  it('going to zero is a scale-down like any other for the readiness gate: held while the graph rolls out or is not Ready, for readinessTimeout at most', () => {
    const counts = { 'prefill-od': 3, 'prefill-spot': 2, 'decode-od': 4 };
    // Idle for 10 minutes (>= idleSeconds 300 s), the last tick one window ago: this tick sends both roles to zero.
    const idle = (readiness?: PlannerState['readiness']) =>
      stateWith({ idleSince: T0 - 10 * MIN, last: counts, recommendations: [{ time: T0 - MIN, desired: counts }], ...(readiness ? { readiness } : {}) });
    const observed = (graph: { ready: boolean; rollingUpdate?: boolean }) =>
      obs(0, {}, { pools: Object.fromEntries(Object.entries(counts).map(([p, n]) => [p, { desired: n, ready: n, graph }])) });
    const desired = (r: ReturnType<typeof decide>) => Object.fromEntries(Object.entries(r.decision.pools).map(([p, d]) => [p, d.desired]));

    // Graph Ready: every pool to 0 at once.
    const ready = decide({ spec, profile, observation: observed({ ready: true }), state: idle(), now: T0 });
    expect(ready.decision.explanation.scaleToZero?.action).toBe('zero');
    expect(desired(ready)).toEqual({ 'prefill-od': 0, 'prefill-spot': 0, 'decode-od': 0 });

    // A rolling update, or a graph not Ready (no Spot pool unavailable): nothing is scaled down, zero included; every
    // pool keeps 3, 2 and 4, and the gate says so.
    for (const graph of [{ ready: false, rollingUpdate: true }, { ready: false }]) {
      const held = decide({ spec, profile, observation: observed(graph), state: idle(), now: T0 });
      expect(held.decision.explanation.scaleToZero?.action, JSON.stringify(graph)).toBe('zero');
      expect(desired(held), JSON.stringify(graph)).toEqual(counts);
      expect(held.decision.explanation.constraints.filter((e) => e.constraint === 'readiness').map((e) => `${e.pool}:${e.from}->${e.to}`)).toEqual([
        'prefill-od:0->3',
        'prefill-spot:0->2',
        'decode-od:0->4',
      ]);
      expect(held.decision.explanation.budget?.usedGpus).toBe((3 + 2 + 4) * 4);
    }

    // Not Ready for readinessTimeout (1800 s) already: the hold is over, and the graph goes to zero.
    const since = Object.fromEntries(Object.keys(counts).map((p) => [p, { graphNotReadySince: T0 - 1800_000 }]));
    const late = decide({ spec, profile, observation: observed({ ready: false, rollingUpdate: true }), state: idle(since), now: T0 });
    expect(desired(late)).toEqual({ 'prefill-od': 0, 'prefill-spot': 0, 'decode-od': 0 });
    expect(late.decision.explanation.budget?.usedGpus).toBe(0);
  });

  it('a missing request count holds what runs and restarts the idle clock', () => {
    const r = decide({ spec, profile, observation: obs(undefined, { 'prefill-od': 2, 'prefill-spot': 0, 'decode-od': 1 }), state: stateWith({ idleSince: T0 - 30 * MIN }), now: T0 });
    expect(total(r.decision.pools)).toBe(3);
    expect(r.decision.explanation.scaleToZero).toBeUndefined();
    expect(r.state.idleSince).toBeUndefined();
  });

  it('a woken role gets a minimum of one replica on its first on-demand pool', () => {
    const woken = withWakeMinimums(spec, { action: { prefill: 'wake', decode: undefined } });
    expect(woken.pools.map((p) => p.minReplicas)).toEqual([1, 0, 0]);
    expect(withWakeMinimums(spec, { action: { prefill: 'zero', decode: undefined } })).toBe(spec);
  });

  it('property: whatever the load, counts and budget (one that holds a replica per role), a role with demand never ends at zero replicas', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 8, max: 64 }),
        fc.array(fc.integer({ min: 0, max: 16 }), { minLength: 3, maxLength: 3 }),
        fc.boolean(),
        (requests, queue, maxGpus, current, viaQueue) => {
          const s = { ...spec, budget: { maxGpus } };
          const counts = { 'prefill-od': current[0]!, 'prefill-spot': current[1]!, 'decode-od': current[2]! };
          const o = obs(viaQueue ? 0 : requests, counts, { queueDepth: viaQueue ? queue + 1 : queue });
          const { decision } = decide({ spec: s, profile, observation: o, state: stateWith({ last: counts }), now: T0 });
          const role = (r: string) => Object.values(decision.pools).filter((d) => d.role === r).reduce((sum, d) => sum + d.desired, 0);
          expect(role('prefill')).toBeGreaterThanOrEqual(1);
          expect(role('decode')).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 150 },
    );
  });
});
