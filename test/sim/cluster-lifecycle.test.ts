/**
 * Replica lifecycle in the cluster model: startup delay, scale-down order and draining, Spot evictions and re-queues,
 * GPU-hour accounting, conservation of requests and determinism under all of it.
 */
import { describe, expect, it } from 'vitest';
import { ClusterSim, RQ_DONE, RQ_DROPPED, windowObservation, type ClusterOptions, type WindowStats } from '../../src/sim/cluster/index.js';
import { createRng } from '../../src/sim/random.js';
import type { Trace } from '../../src/sim/types.js';
import { SLO, flatProfile, poissonTrace, pool, traceOf } from './cluster-helpers.js';

describe('GPU-hours', () => {
  it('equal replicas x GPUs x hours for a static run, priced per pool', () => {
    const trace = poissonTrace(3, 1800, [100, 2000], [10, 300], 3);
    const sim = new ClusterSim(trace, {
      profile: flatProfile(),
      pools: [
        pool('prefill', 'prefill', { gpusPerReplica: 4, costPerGpuHour: 6.98 }),
        pool('decode-spot', 'decode', { gpusPerReplica: 8, capacity: 'spot', costPerGpuHour: 2.1 }),
      ],
      initialReplicas: { prefill: 3, 'decode-spot': 2 },
      slo: SLO,
      seed: 1,
    });
    let windowGpuSeconds = 0;
    for (let t = 60; t <= 1800; t += 60) {
      const w = sim.advanceTo(t);
      expect(w.gpus).toBe(3 * 4 + 2 * 8);
      expect(w.costPerHour).toBeCloseTo(12 * 6.98 + 16 * 2.1, 9);
      expect(w.gpuSeconds).toBeCloseTo(28 * 60, 6);
      windowGpuSeconds += w.gpuSeconds;
    }
    const totals = sim.finish();
    const hours = totals.endSeconds / 3600;
    expect(totals.endSeconds).toBeGreaterThanOrEqual(1800);
    expect(totals.gpuHours.total).toBeCloseTo(28 * hours, 9);
    expect(totals.gpuHours.spot).toBeCloseTo(16 * hours, 9);
    expect(totals.gpuHours.onDemand).toBeCloseTo(12 * hours, 9);
    expect(totals.cost).toBeCloseTo(12 * hours * 6.98 + 16 * hours * 2.1, 6);
    expect(windowGpuSeconds).toBeCloseTo(28 * 1800, 6);
  });
});

describe('scaling', () => {
  const base = (trace: Trace, initial: Record<string, number>): ClusterOptions => ({
    profile: flatProfile(),
    pools: [pool('prefill', 'prefill', { startupSeconds: 60, gpusPerReplica: 2 }), pool('decode', 'decode', { startupSeconds: 60 })],
    initialReplicas: initial,
    slo: SLO,
    seed: 1,
  });

  it('new replicas become useful startupSeconds later but are paid from the decision', () => {
    const sim = new ClusterSim(traceOf([]), base(traceOf([]), { prefill: 1, decode: 1 }));
    sim.advanceTo(100);
    sim.setDesired('prefill', 3, 100);
    const before = sim.advanceTo(159);
    expect(before.pools.prefill).toMatchObject({ desired: 3, ready: 1, starting: 2, gpus: 6 });
    expect(before.pools.prefill!.gpuSeconds).toBeCloseTo(59 * 6, 9);
    const after = sim.advanceTo(161);
    expect(after.pools.prefill).toMatchObject({ desired: 3, ready: 3, starting: 0 });
  });

  it('counts the GPU-hours of replicas still starting: 2 replicas x 2 GPUs x 60 s, and none of a static run', () => {
    const sim = new ClusterSim(traceOf([]), base(traceOf([]), { prefill: 1, decode: 1 }));
    sim.advanceTo(100);
    sim.setDesired('prefill', 3, 100);
    sim.advanceTo(300);
    // one decode replica started at 300 s and removed at 330 s, before it was ready: 30 s x 1 GPU
    sim.setDesired('decode', 2, 300);
    sim.advanceTo(330);
    sim.setDesired('decode', 1, 330);
    const totals = sim.finish();
    expect(totals.gpuHours.starting * 3600).toBeCloseTo(2 * 2 * 60 + 30, 6);
    expect(totals.gpuHours.starting).toBeLessThan(totals.gpuHours.total);
    const still = new ClusterSim(traceOf([]), base(traceOf([]), { prefill: 2, decode: 2 }));
    still.advanceTo(600);
    expect(still.finish().gpuHours.starting).toBe(0);
  });

  it('a request waits for a replica that is still starting', () => {
    const sim = new ClusterSim(traceOf([{ arrival: 10, isl: 100, osl: 2 }]), base(traceOf([]), { prefill: 0, decode: 1 }));
    sim.setDesired('prefill', 1, 0);
    const totals = sim.finish();
    // Ready at 60 s: waited 50 s, then 100 ms prefill + 0.66 ms transfer.
    expect(totals.ttftMsByRequest[0]).toBeCloseTo(50_000 + 100 + 0.65536, 2);
  });

  it('scales down starting replicas first, then idle ones, then drains busy ones until they finish', () => {
    // Two long requests land on the two decode replicas (least reserved KV first).
    const trace = traceOf([
      { arrival: 0, isl: 100, osl: 1001 },
      { arrival: 0.001, isl: 100, osl: 1001 },
    ]);
    const sim = new ClusterSim(trace, base(trace, { prefill: 1, decode: 3 }));
    sim.advanceTo(1);
    expect(sim.decodeReplicaLoads().map((l) => l.active).sort()).toEqual([0, 1, 1]);
    sim.setDesired('decode', 5, 1); // + 2 starting
    sim.setDesired('decode', 1, 2); // - 4: the 2 starting, the idle one, then one busy one drains
    const w = sim.advanceTo(3);
    expect(w.pools.decode).toMatchObject({ desired: 1, ready: 1, starting: 0, leaving: 1 });
    expect(sim.decodeReplicaLoads().map((l) => l.active)).toEqual([1, 1]);
    // Both finish (1000 steps x 20 ms = 20 s after ~0.1 s); the drained replica is gone and unpaid after that.
    const later = sim.advanceTo(30);
    expect(later.pools.decode).toMatchObject({ ready: 1, leaving: 0, gpus: 1 });
    const totals = sim.finish();
    expect(totals.completed).toBe(2);
    for (const itl of totals.itlMsByRequest) expect(itl).toBeCloseTo(20, 3);
    // GPU-seconds: prefill 2 GPUs x 30 s; decode 3 replicas to t = 1, 5 from 1 to 2, then 2 until the drained one
    // empties, then 1 to t = 30. The two requests end at 20.1007 s and 20.2007 s (the second waited 100 ms for prefill);
    // whichever the drained replica held: 60 + 3 + 5 + 2 x (end - 2) + (30 - end).
    const gpuSeconds = totals.gpuHours.total * 3600;
    expect([20.10066, 20.20066].map((end) => 68 + 2 * (end - 2) + (30 - end)).some((v) => Math.abs(v - gpuSeconds) < 1e-3)).toBe(true);
  });

  it('rejects what it cannot do, saying why', () => {
    const sim = new ClusterSim(traceOf([]), base(traceOf([]), { prefill: 1 }));
    expect(() => sim.setDesired('nope', 1, 0)).toThrow(/no pool named "nope" \(pools: prefill, decode\)/);
    expect(() => sim.setDesired('prefill', 1.5, 0)).toThrow(/whole number/);
    sim.advanceTo(10);
    expect(() => sim.setDesired('prefill', 2, 5)).toThrow(/before the time already reached/);
    expect(() => new ClusterSim(traceOf([]), base(traceOf([]), { prefil: 1 }))).toThrow(/initialReplicas\.prefil: no pool named "prefil"/);
    sim.finish();
    expect(() => sim.advanceTo(20)).toThrow(/finished/);
  });
});

describe('Spot evictions', () => {
  // 2 req/s, 500 output tokens = 10 s of decode each: ~20 requests decoding across two decode replicas.
  const trace = poissonTrace(2, 200, 500, 501, 5);
  const opts = (): ClusterOptions => ({
    profile: flatProfile(),
    pools: [pool('prefill', 'prefill'), pool('decode-od', 'decode'), pool('decode-spot', 'decode', { capacity: 'spot', startupSeconds: 60 })],
    initialReplicas: { prefill: 2, 'decode-od': 1, 'decode-spot': 1 },
    slo: SLO,
    seed: 1,
    spot: { evictionRatePerHour: 0, noticeSeconds: 2, schedule: [{ t: 30, pool: 'decode-spot', count: 1 }] },
  });

  it('give notice, then re-queue what the replica held, count it, and replace the replica', () => {
    const sim = new ClusterSim(trace, opts());
    sim.advanceTo(29);
    const atNotice = sim.advanceTo(30);
    expect(atNotice.pools['decode-spot']).toMatchObject({ evictionNotices: 1, evicted: 0, ready: 0, starting: 1, leaving: 1 });
    sim.advanceTo(31.999);
    const held = sim.decodeReplicaLoads().filter((l) => l.pool === 'decode-spot' && l.active > 0);
    expect(held).toHaveLength(1); // the noticed replica still finishes what it can; the replacement is starting
    const stillActive = held[0]!.active;
    expect(stillActive).toBeGreaterThan(0);
    const atEviction = sim.advanceTo(33);
    expect(atEviction.pools['decode-spot']).toMatchObject({ evicted: 1, evictionNotices: 0, leaving: 0, starting: 1 });
    expect(atEviction.requeued).toBe(stillActive);
    expect(sim.advanceTo(89).pools['decode-spot']).toMatchObject({ ready: 0, starting: 1 });
    expect(sim.advanceTo(91).pools['decode-spot']).toMatchObject({ ready: 1, starting: 0 });
    const totals = sim.finish();
    expect(totals.evictions).toBe(1);
    expect(totals.evictionNotices).toBe(1);
    expect(totals.requeued).toBe(stillActive);
    expect(totals.completed).toBe(trace.arrival.length); // re-queued work still finishes
    // The re-queued requests kept their first TTFT and paid for the stall in ITL (a re-prefill and a new decode slot).
    let stalled = 0;
    for (const itl of totals.itlMsByRequest) if (itl > 20.1) stalled++; // >= 100 ms of re-prefill over 499 gaps
    expect(stalled).toBeGreaterThanOrEqual(stillActive);
  });

  it('follow a Poisson process per Spot replica at the configured rate', () => {
    // 10 Spot replicas always kept (each eviction replaced) at 60 per replica-hour for an hour: ~600 notices.
    const sim = new ClusterSim(traceOf([]), {
      ...opts(),
      initialReplicas: { prefill: 1, 'decode-od': 1, 'decode-spot': 10 },
      spot: { evictionRatePerHour: 60, noticeSeconds: 30 },
    });
    let notices = 0;
    let evicted = 0;
    for (let t = 60; t <= 3600; t += 60) {
      const w = sim.advanceTo(t);
      notices += w.pools['decode-spot']!.evictionNotices;
      evicted += w.pools['decode-spot']!.evicted;
      expect(w.pools['decode-od']!.evicted).toBe(0); // on-demand is never evicted
    }
    // Poisson(600): 4 sigma = 98.
    expect(notices).toBeGreaterThan(600 - 98);
    expect(notices).toBeLessThan(600 + 98);
    expect(evicted).toBeGreaterThanOrEqual(notices - 10); // notices in the last 30 s are not evicted yet
  });
});

describe('conservation and determinism', () => {
  /** A busy, chaotic run: random resizes every tick, frequent evictions, KV pressure, drain cut short. */
  function chaos(seed: number): { windows: WindowStats[]; totals: ReturnType<ClusterSim['finish']>; states: number[]; trace: Trace } {
    const trace = poissonTrace(6, 1200, [50, 6000], [1, 400], 42);
    for (let i = 0; i < trace.isl.length; i += 50) trace.isl[i] = 40_000; // never fits in 30,000 KV tokens
    const sim = new ClusterSim(trace, {
      profile: flatProfile({ maxKvTokens: 30_000, prefillMs: 150 }),
      pools: [
        pool('prefill-od', 'prefill', { startupSeconds: 30 }),
        pool('prefill-spot', 'prefill', { capacity: 'spot', startupSeconds: 30 }),
        pool('decode-od', 'decode', { startupSeconds: 45 }),
        pool('decode-spot', 'decode', { capacity: 'spot', startupSeconds: 45 }),
      ],
      initialReplicas: { 'prefill-od': 1, 'prefill-spot': 2, 'decode-od': 1, 'decode-spot': 3 },
      slo: SLO,
      seed,
      spot: { evictionRatePerHour: 20, noticeSeconds: 2 },
      drainSeconds: 30,
    });
    const rng = createRng(7);
    const windows: WindowStats[] = [];
    for (let t = 20; t <= 1200; t += 20) {
      windows.push(sim.advanceTo(t));
      for (const name of ['prefill-od', 'prefill-spot', 'decode-od', 'decode-spot']) sim.setDesired(name, 1 + Math.floor(rng() * 5), t);
    }
    const totals = sim.finish();
    const states = Array.from({ length: trace.arrival.length }, (_, i) => sim.requestState(i));
    return { windows, totals, states, trace };
  }

  it('every request completes or is counted dropped, across evictions and resizes', () => {
    const { totals, states, trace } = chaos(1);
    const n = trace.arrival.length;
    expect(totals.requests).toBe(n);
    expect(totals.evictions).toBeGreaterThan(5);
    expect(totals.requeued).toBeGreaterThan(0);
    expect(totals.droppedTooLarge).toBe(Math.ceil(n / 50));
    expect(totals.completed + totals.dropped).toBe(n);
    expect(totals.dropped).toBe(totals.droppedTooLarge + totals.droppedUnfinished);
    let done = 0;
    for (let i = 0; i < n; i++) {
      expect([RQ_DONE, RQ_DROPPED]).toContain(states[i]);
      if (states[i] === RQ_DONE) {
        done++;
        expect(Number.isNaN(totals.ttftMsByRequest[i]!)).toBe(false);
      } else {
        expect(Number.isNaN(totals.ttftMsByRequest[i]!)).toBe(true);
      }
    }
    expect(done).toBe(totals.completed);
    expect(totals.attainment.both).toBeLessThanOrEqual(totals.completed / n);
  });

  it('counts what the drain could not finish as dropped, first token or not', () => {
    // No decode replica ever: request 0 gets its first token and waits for decode; request 1 never gets a prefill slot.
    const sim = new ClusterSim(
      traceOf([
        { arrival: 0, isl: 100, osl: 10 },
        { arrival: 0, isl: 100, osl: 10 },
      ]),
      { profile: flatProfile({ prefillMs: 20_000 }), pools: [pool('prefill', 'prefill'), pool('decode', 'decode')], initialReplicas: { prefill: 1 }, slo: SLO, seed: 1, drainSeconds: 30 },
    );
    const w = sim.advanceTo(25);
    expect(w.ttft.count).toBe(1);
    expect(w.decodeQueueDepth).toBe(1);
    expect(w.queueDepth).toBe(0); // the second is being prefilled
    const totals = sim.finish();
    expect(totals.endSeconds).toBe(30);
    expect(totals).toMatchObject({ completed: 0, dropped: 2, droppedUnfinished: 2, droppedTooLarge: 0 });
    expect(Array.from(totals.ttftMsByRequest)).toEqual([NaN, NaN]);
    expect(totals.attainment).toEqual({ ttft: 0, itl: 0, both: 0 });
  });

  it('the same seed gives the same run; another seed another eviction pattern', () => {
    const a = chaos(1);
    const b = chaos(1);
    expect(b.totals).toEqual(a.totals);
    expect(b.windows).toEqual(a.windows);
    const c = chaos(2);
    expect(c.totals.requeued).not.toBe(a.totals.requeued);
  });
});

describe('windowObservation', () => {
  it('builds the planner Observation, leaving out what was not measured', () => {
    const trace = poissonTrace(5, 120, 1000, 50, 9);
    const slo = { ttft: { percentile: 99.9, ms: 500 }, itl: { percentile: 90, ms: 50 } };
    const sim = new ClusterSim(trace, {
      profile: flatProfile(),
      pools: [pool('prefill', 'prefill'), pool('decode', 'decode')],
      initialReplicas: { prefill: 2, decode: 1 },
      slo,
      seed: 1,
    });
    const w = sim.advanceTo(60);
    const obs = windowObservation(w, Date.UTC(2026, 10, 25, 10, 0, 0), slo);
    expect(obs.time).toBe('2026-11-25T10:00:00.000Z');
    expect(obs.windowSeconds).toBe(60);
    expect(obs.requests).toBe(w.arrived);
    expect(obs.isl).toBe(1000);
    expect(obs.osl).toBe(50);
    expect(Object.keys(obs.ttftMs!).sort()).toEqual(['mean', 'p50', 'p90', 'p95', 'p99', 'p99.9'].sort());
    expect(obs.ttftMs!['p99.9']).toBeGreaterThanOrEqual(obs.ttftMs!.p99!);
    expect(obs.itlMs!.p90).toBeCloseTo(20, 3);
    expect(obs.kvUsage).toBeGreaterThan(0);
    expect(obs.pools).toEqual({
      prefill: { desired: 2, ready: 2, updated: 2, pending: 0, evicted: 0, evictionNotices: 0, graph: { ready: true } },
      decode: { desired: 1, ready: 1, updated: 1, pending: 0, evicted: 0, evictionNotices: 0, graph: { ready: true } },
    });
    // Two decode replicas asked for and starting (60 s startup): decode is becoming ready, and so the graph is not
    // Ready for every pool of it; a pool targeting a DynamoComponentDeployment has no graph condition.
    sim.setDesired('decode', 3, 60);
    const starting = windowObservation(sim.advanceTo(90), 0, slo, [
      pool('prefill', 'prefill', { target: { kind: 'DynamoComponentDeployment', name: 'prefill' } }),
      pool('decode', 'decode'),
    ]);
    expect(starting.pools).toEqual({
      prefill: { desired: 2, ready: 2, updated: 2, pending: 0, evicted: 0, evictionNotices: 0 },
      decode: { desired: 3, ready: 1, updated: 3, pending: 2, evicted: 0, evictionNotices: 0, graph: { ready: false, condition: 'decode: 1/3 ready' } },
    });
    // An empty window: requests 0, no latency, no isl.
    sim.finish();
    const empty = new ClusterSim(traceOf([]), {
      profile: flatProfile(),
      pools: [pool('prefill', 'prefill'), pool('decode', 'decode')],
      initialReplicas: {},
      slo,
      seed: 1,
    }).advanceTo(60);
    const none = windowObservation(empty, 0, slo);
    expect(none.requests).toBe(0);
    expect(none).not.toHaveProperty('isl');
    expect(none).not.toHaveProperty('ttftMs');
    expect(none).not.toHaveProperty('kvUsage');
  });
});
