import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideFleet, type FleetGraphInput } from '../../../src/fleet/decide.js';
import { decide } from '../../../src/planner/decide.js';
import { initialState } from '../../../src/planner/state.js';
import type { Observation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { makeSpec, stateWith, T0 } from '../constraints/helpers.js';

const profile = loadProfile('builtin:llama2-70b-h100-tp4', process.cwd());
const pools = [
  { name: 'prefill', role: 'prefill', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16 },
  { name: 'decode', role: 'decode', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16 },
];
const spec = makeSpec({ interval: '60s', slo: { ttft: { ms: 2000 }, itl: { ms: 60 } }, pools, limits: { maxStepUp: 16, maxStepDown: 16 }, forecaster: { kind: 'constant' } });

function obs(requests: number, ttftP95 = 1000, counts = { prefill: 2, decode: 2 }): Observation {
  return {
    time: '',
    windowSeconds: 60,
    requests,
    isl: 3000,
    osl: 300,
    queueDepth: 0,
    ttftMs: { p95: ttftP95 },
    pools: { prefill: { desired: counts.prefill, ready: counts.prefill }, decode: { desired: counts.decode, ready: counts.decode } },
  };
}

function graph(name: string, priority: number, observation?: Observation, extra: Partial<FleetGraphInput> = {}): FleetGraphInput {
  return { name, priority, spec, profile, state: initialState(), observation, ...extra };
}

const gpus = (pools: Record<string, { gpus: number }>) => Object.values(pools).reduce((s, d) => s + d.gpus, 0);

describe('decideFleet', () => {
  it('one budget for every graph: what fits is granted, and each explanation says so', () => {
    const r = decideFleet({ name: 'aks', budget: { maxGpus: 96 }, now: T0, graphs: [graph('chat', 2, obs(600)), graph('code', 1, obs(300))] });
    const chat = r.results.chat!.decision;
    const code = r.results.code!.decision;
    expect(chat.explanation.fleet).toMatchObject({ fleet: 'aks', priority: 2, gaveUpGpus: 0 });
    expect(chat.explanation.fleet?.detail).toMatch(/got all \d+ GPUs it asked for/);
    expect(code.explanation.fleet?.gaveUpGpus).toBe(0);
    expect(r.arbitration.usedGpus).toBe(gpus(chat.pools) + gpus(code.pools));
  });

  it('under contention the lower priority gives up, and its explanation says what and why', () => {
    const r = decideFleet({ name: 'aks', budget: { maxGpus: 48 }, now: T0, graphs: [graph('chat', 2, obs(900)), graph('code', 1, obs(900))] });
    const chat = r.results.chat!.decision;
    const code = r.results.code!.decision;
    // Alone each would take 48 GPUs (12 replicas of 4) for 900 requests a minute; floors 8 + 8, so chat gets 48 - 8.
    expect(chat.explanation.fleet?.demandGpus).toBe(48);
    expect(gpus(chat.pools) + gpus(code.pools)).toBeLessThanOrEqual(48);
    expect(gpus(code.pools)).toBe(8); // its minimums: one replica per role
    expect(gpus(chat.pools)).toBe(40);
    expect(code.explanation.fleet?.gaveUpGpus).toBe(40);
    expect(code.explanation.fleet?.detail).toContain('chat has a higher priority than its 1 and is served first');
    expect(code.explanation.budget?.maxGpus).toBe(8);
    // Alone, chat would not be held back: its probe asked for what its own policy sizes.
    const alone = decideFleet({ name: 'aks', budget: { maxGpus: 480 }, now: T0, graphs: [graph('chat', 2, obs(900))] });
    expect(gpus(alone.results.chat!.decision.pools)).toBe(48);
  });

  it("a paused graph's pause hold is a soft layer: within a priority, another graph's load is served first", () => {
    // chat runs 6 + 6 replicas and has seen no request for a minute: alone, its pause hold keeps ceil(0.6 x 6) = 4
    // prefill and ceil(0.7 x 6) = 5 decode.
    const paused = { ...obs(0, 1000, { prefill: 6, decode: 6 }), ttftMs: {} };
    const pausedState = stateWith({ last: { prefill: 6, decode: 6 } });
    const alone = decideFleet({ name: 'aks', budget: { maxGpus: 480 }, now: T0, graphs: [graph('chat', 1, paused, { state: pausedState })] });
    expect(alone.results.chat!.decision.explanation.need.prefill?.detail.pauseHoldReplicas).toBe(4);
    expect(alone.results.chat!.decision.explanation.need.decode?.detail.pauseHoldReplicas).toBe(5);
    expect(gpus(alone.results.chat!.decision.pools)).toBe(36);
    // With code under load on 48 GPUs at the same priority, code's load (its hard layer) is served before chat's hold:
    // code 40, chat its minimums. (A higher priority keeps its soft layers too, as it keeps its scale-down window.)
    const r = decideFleet({ name: 'aks', budget: { maxGpus: 48 }, now: T0, graphs: [graph('chat', 1, paused, { state: pausedState }), graph('code', 1, obs(900))] });
    expect(gpus(r.results.code!.decision.pools)).toBe(40);
    expect(gpus(r.results.chat!.decision.pools)).toBe(8);
  });

  it('same priority: the graph further over its TTFT target keeps more', () => {
    // Extras 32 each, 40 missing: mu = 0.375, so a (0.3 x target) is cut to its floor and b (1.5 x) by 32 x 0.375 / 1.5 = 8.
    const r = decideFleet({ name: 'aks', budget: { maxGpus: 40 }, now: T0, graphs: [graph('a', 1, obs(900, 600)), graph('b', 1, obs(900, 3000))] });
    expect(r.arbitration.shares.a!.pressure).toBeCloseTo(0.3, 5);
    expect(r.arbitration.shares.b!.pressure).toBeCloseTo(1.5, 5);
    expect(gpus(r.results.a!.decision.pools)).toBe(8);
    expect(gpus(r.results.b!.decision.pools)).toBe(32);
    expect(r.results.a!.decision.explanation.fleet?.detail).toContain('the cut goes by SLO pressure');
  });

  it('a graph of which nothing is known (no state, its sources failing) keeps its maxReplicas in the budget', () => {
    // code runs 6 + 6 replicas that nobody can see; chat is under load. Counting code as 0 GPUs would hand its
    // GPUs to chat: 48 + 48 on a 48-GPU budget.
    const blind: Observation = { time: '', windowSeconds: 60, errors: { requests: 'prometheus down' } };
    const r = decideFleet({ name: 'aks', budget: { maxGpus: 160 }, now: T0, graphs: [graph('chat', 2, obs(900)), graph('code', 1, blind)] });
    const code = r.results.code!.decision;
    expect(Object.values(code.pools).every((d) => d.writable === false)).toBe(true);
    expect(r.arbitration.shares.code!.floorGpus).toBe(2 * 16 * 4);
    expect(r.arbitration.shares.chat!.grantedGpus).toBeLessThanOrEqual(160 - 128);
    expect(r.arbitration.warnings.join('\n')).toContain('graph code: nothing is known of what prefill, decode run(s)');
    // The placeholder is not remembered as a count.
    expect(r.results.code!.state.last).toEqual({});
  });

  it('never below what runs for a graph whose request count is missing', () => {
    const held: Observation = { time: '', windowSeconds: 60, pools: { prefill: { desired: 6, ready: 6 }, decode: { desired: 6, ready: 6 } } };
    const r = decideFleet({ name: 'aks', budget: { maxGpus: 64 }, now: T0, graphs: [graph('chat', 2, obs(900)), graph('code', 1, held)] });
    const code = r.results.code!.decision;
    expect(code.explanation.held).toBe(true);
    expect(gpus(code.pools)).toBe(48);
    expect(r.arbitration.shares.code!.floorGpus).toBe(48);
    // chat gets what is left: 64 - 48.
    expect(gpus(r.results.chat!.decision.pools)).toBe(16);
  });

  it('a graph not ticked keeps its last counts, and they count against the budget', () => {
    const r = decideFleet({
      name: 'aks',
      budget: { maxGpus: 48 },
      now: T0,
      graphs: [graph('chat', 1, obs(900)), graph('code', 2, undefined, { state: stateWith({ last: { prefill: 3, decode: 3 } }) })],
    });
    expect(r.results.code).toBeUndefined();
    expect(r.arbitration.shares.code!.grantedGpus).toBe(24);
    expect(gpus(r.results.chat!.decision.pools)).toBeLessThanOrEqual(24);
  });

  it('a graph not ticked since a reload changed its replica sizes keeps the same GPUs, not the same counts', () => {
    // code last ran 6 + 6 replicas of 2 GPUs (24 GPUs); its policy now has 4-GPU replicas: 3 + 3 of them, still 24
    // GPUs, not 6 + 6 (48, the whole budget).
    const was = stateWith({ last: { prefill: 6, decode: 6 }, replicaGpus: { prefill: 2, decode: 2 } });
    const r = decideFleet({ name: 'aks', budget: { maxGpus: 48 }, now: T0, graphs: [graph('chat', 1, obs(900)), graph('code', 2, undefined, { state: was })] });
    expect(r.arbitration.shares.code!.grantedGpus).toBe(24);
    expect(gpus(r.results.chat!.decision.pools)).toBe(24);
  });

  it('Spot capacity is shared the same way: a graph over its Spot grant runs the rest on-demand', () => {
    const spotPools = [
      { name: 'prefill-spot', role: 'prefill', capacity: 'spot', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 16 },
      { name: 'prefill-od', role: 'prefill', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16 },
      { name: 'decode-spot', role: 'decode', capacity: 'spot', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 16 },
      { name: 'decode-od', role: 'decode', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16 },
    ];
    const s = makeSpec({ interval: '60s', slo: { ttft: { ms: 2000 }, itl: { ms: 60 } }, pools: spotPools, limits: { maxStepUp: 16, maxStepDown: 16 }, forecaster: { kind: 'constant' }, spot: { maxShare: 0.7, evictionRatePerHour: 0 } });
    const o: Observation = { ...obs(900), pools: Object.fromEntries(spotPools.map((p) => [p.name, { desired: 1, ready: 1 }])) };
    const spotGpus = (d: { pools: Record<string, { capacity: string; gpus: number }> }) => Object.values(d.pools).filter((p) => p.capacity === 'spot').reduce((a, p) => a + p.gpus, 0);
    const free = decideFleet({ name: 'aks', budget: { maxGpus: 200 }, now: T0, graphs: [graph('chat', 2, o, { spec: s }), graph('code', 1, o, { spec: s })] });
    const tight = decideFleet({ name: 'aks', budget: { maxGpus: 200, maxSpotGpus: 24 }, now: T0, graphs: [graph('chat', 2, o, { spec: s }), graph('code', 1, o, { spec: s })] });
    // Alone each runs 32 of its 48 GPUs on Spot.
    expect(spotGpus(free.results.chat!.decision)).toBe(32);
    expect(spotGpus(free.results.code!.decision)).toBe(32);
    const chat = tight.results.chat!.decision;
    const code = tight.results.code!.decision;
    // 24 Spot GPUs for both: chat (priority 2) takes them all, code runs on-demand; neither loses GPUs in total.
    expect([spotGpus(chat), spotGpus(code)]).toEqual([24, 0]);
    expect([gpus(chat.pools), gpus(code.pools)]).toEqual([48, 48]);
    expect(code.explanation.fleet?.detail).toContain('Spot capacity: 0 of the fleet\'s 24 Spot GPUs');
  });

  it('property: within the budget whenever the floors fit, never below a floor, and the higher priority short only when the lower is at its floor', () => {
    const graphArb = fc.record({
      requests: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined, freq: 8 }),
      ttft: fc.integer({ min: 100, max: 6000 }),
      prefill: fc.integer({ min: 0, max: 10 }),
      decode: fc.integer({ min: 0, max: 10 }),
      priority: fc.integer({ min: 1, max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(graphArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 80 }), (raw, extra) => {
        const graphs = raw.map((g, i) =>
          graph(`g${i}`, g.priority, g.requests === undefined ? { ...obs(0, g.ttft, { prefill: g.prefill, decode: g.decode }), requests: undefined } : obs(g.requests, g.ttft, { prefill: g.prefill, decode: g.decode })),
        );
        // Floors: 8 GPUs of minimums each, or what a held graph runs.
        const floors = raw.map((g) => (g.requests === undefined ? Math.max(1, g.prefill) * 4 + Math.max(1, g.decode) * 4 : 8));
        const budget = floors.reduce((a, b) => a + b, 0) + extra;
        const r = decideFleet({ name: 'p', budget: { maxGpus: budget }, now: T0, graphs });
        const used = raw.map((_, i) => gpus(r.results[`g${i}`]!.decision.pools));
        expect(used.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(budget);
        raw.forEach((_, i) => {
          const share = r.arbitration.shares[`g${i}`]!;
          expect(share.floorGpus).toBe(floors[i]);
          expect(used[i]).toBeGreaterThanOrEqual(share.floorGpus);
          expect(used[i]).toBeLessThanOrEqual(share.grantedGpus);
        });
        raw.forEach((g, i) => {
          const share = r.arbitration.shares[`g${i}`]!;
          if (share.gaveUpGpus < 4) return;
          raw.forEach((h, j) => {
            if (h.priority < g.priority) expect(r.arbitration.shares[`g${j}`]!.grantedGpus).toBe(r.arbitration.shares[`g${j}`]!.floorGpus);
          });
        });
      }),
      { numRuns: 60 },
    );
  });

  it('a graph granted all it asks decides exactly as planned alone, tick after tick (its decision is not re-made under a budget of its own demand)', () => {
    const sla = makeSpec({ interval: '60s', slo: { ttft: { ms: 2000 }, itl: { ms: 60 } }, pools, limits: { maxStepUp: 4, maxStepDown: 1 } });
    let alone = initialState();
    let fleet = initialState();
    let counts = { prefill: 2, decode: 2 };
    const load = [300, 900, 1500, 2400, 2400, 1200, 600, 300, 0, 0, 900, 3000];
    for (const [k, requests] of load.entries()) {
      const now = T0 + k * 60_000;
      const observation = { ...obs(requests, 900 + requests, counts), time: new Date(now).toISOString() };
      const a = decide({ spec: sla, profile, observation, state: alone, now });
      const f = decideFleet({ name: 'aks', budget: { maxGpus: 10_000 }, now, graphs: [{ name: 'chat', priority: 1, spec: sla, profile, state: fleet, observation }] });
      const got = f.results.chat!;
      expect(got.decision.explanation.fleet?.gaveUpGpus).toBe(0);
      expect(Object.fromEntries(Object.entries(got.decision.pools).map(([p, d]) => [p, d.desired]))).toEqual(Object.fromEntries(Object.entries(a.decision.pools).map(([p, d]) => [p, d.desired])));
      expect(got.state).toEqual(a.state);
      alone = a.state;
      fleet = got.state;
      counts = { prefill: a.decision.pools.prefill!.desired, decode: a.decision.pools.decode!.desired };
    }
  });
});
