/**
 * The cluster model against queueing results that can be worked out by hand: a single request's timeline, M/D/1 and
 * M/D/c prefill waits, Little's law, and the KV-capacity admission limit.
 */
import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../src/profiles/index.js';
import { ClusterSim, DEFAULT_KV_TRANSFER_MS_PER_K_TOKEN, RQ_DROPPED, type ClusterOptions } from '../../src/sim/cluster/index.js';
import type { Trace } from '../../src/sim/types.js';
import { SLO, flatProfile, poissonTrace, pool, traceOf } from './cluster-helpers.js';

function options(over: Partial<ClusterOptions> & Pick<ClusterOptions, 'initialReplicas'>): ClusterOptions {
  return {
    profile: flatProfile(),
    pools: [pool('prefill', 'prefill'), pool('decode', 'decode')],
    slo: SLO,
    seed: 1,
    ...over,
  };
}

function mean(xs: Float32Array): number {
  let s = 0;
  let n = 0;
  for (const x of xs) {
    if (!Number.isNaN(x)) {
      s += x;
      n++;
    }
  }
  return s / n;
}

describe('one request', () => {
  it('TTFT = prefill + KV transfer; ITL = decode step time (flat profile)', () => {
    const sim = new ClusterSim(traceOf([{ arrival: 5, isl: 1000, osl: 51 }]), options({ initialReplicas: { prefill: 1, decode: 1 } }));
    const totals = sim.finish();
    // 100 ms prefill + 1000 tokens x 6.5536 ms / 1000 tokens of transfer; then 50 tokens at 20 ms.
    expect(DEFAULT_KV_TRANSFER_MS_PER_K_TOKEN).toBe(6.5536);
    expect(totals.ttftMsByRequest[0]).toBeCloseTo(106.5536, 3);
    expect(totals.itlMsByRequest[0]).toBeCloseTo(20, 4);
    expect(totals.meanRequestDurationSeconds).toBeCloseTo(0.1065536 + 1.0, 6);
    expect(totals.endSeconds).toBeCloseTo(5 + 1.1065536, 6);
    expect(totals.attainment).toEqual({ ttft: 1, itl: 1, both: 1 });
  });

  it('takes its service times from the real profile (llama2-70b, isl 2048, osl 128)', () => {
    const llama = loadProfile('builtin:llama2-70b-h100-tp4', process.cwd());
    const sim = new ClusterSim(traceOf([{ arrival: 10, isl: 2048, osl: 128 }]), options({ profile: llama, initialReplicas: { prefill: 1, decode: 1 } }));
    const totals = sim.finish();
    expect(totals.ttftMsByRequest[0]).toBeCloseTo(200.681 + 2048 * 0.0065536, 3); // 214.103 ms
    // Alone on the replica: kv = (2048 + 64) / 450000, context 2112.
    const itl = llama.decodeItlMs((2048 + 64) / 450_000, 2112).value;
    expect(itl).toBeGreaterThan(28);
    expect(itl).toBeLessThan(30);
    expect(totals.itlMsByRequest[0]).toBeCloseTo(itl, 3);
  });

  it('a one-token output completes at its first token with ITL 0 and never needs decode', () => {
    const sim = new ClusterSim(traceOf([{ arrival: 0, isl: 500, osl: 1 }]), options({ initialReplicas: { prefill: 1, decode: 0 } }));
    const totals = sim.finish();
    expect(totals.completed).toBe(1);
    expect(totals.itlMsByRequest[0]).toBe(0);
    expect(totals.ttftMsByRequest[0]).toBeCloseTo(100 + 500 * 0.0065536, 3);
    expect(Number.isNaN(totals.itlMs.p50)).toBe(true); // no multi-token output to take an ITL percentile over
    expect(totals.attainment.itl).toBe(1);
  });
});

describe('FCFS prefill queue', () => {
  const noTransfer = { kvTransferMsPerKToken: 0 };

  it('at low load TTFT is the profile TTFT plus transfer (M/D/4 at 5% utilisation)', () => {
    const trace = poissonTrace(2, 5000, 1000, 2, 11);
    const sim = new ClusterSim(trace, options({ initialReplicas: { prefill: 4, decode: 2 } }));
    const totals = sim.finish();
    // Erlang C at offered load 0.2 on 4 servers: P(wait) ~ 6e-5, so the mean TTFT is within 0.1% of 106.55 ms.
    expect(mean(totals.ttftMsByRequest)).toBeCloseTo(106.5536, 0);
    expect(totals.ttftMs.p50).toBeCloseTo(106.5536, 2);
  });

  it('M/D/1 at 50% load waits as Pollaczek-Khinchine says', () => {
    // lambda 5/s, service 0.1 s: Wq = lambda x s^2 / (2 (1 - rho)) = 5 x 0.01 / 1 = 50 ms → mean TTFT 150 ms.
    const trace = poissonTrace(5, 10_000, 1000, 2, 12);
    const sim = new ClusterSim(trace, options({ ...noTransfer, initialReplicas: { prefill: 1, decode: 4 } }));
    const totals = sim.finish();
    expect(trace.arrival.length).toBeGreaterThan(45_000);
    const wait = mean(totals.ttftMsByRequest) - 100;
    expect(wait).toBeGreaterThan(50 * 0.93);
    expect(wait).toBeLessThan(50 * 1.07);
  });

  it('M/D/2 at 50% load waits close to the Cosmetatos approximation', () => {
    // lambda 10/s on 2 servers of 0.1 s: M/M/2 Erlang C = 1/3, Wq(M/M/2) = (1/3) / (20 - 10) = 33.3 ms;
    // Cosmetatos: Wq(M/D/c) = 0.5 x (1 + (1 - rho)(c - 1)(sqrt(4 + 5c) - 2) / (16 rho c)) x Wq(M/M/c) = 17.6 ms.
    const trace = poissonTrace(10, 8000, 1000, 2, 13);
    const sim = new ClusterSim(trace, options({ ...noTransfer, initialReplicas: { prefill: 2, decode: 4 } }));
    const wait = mean(sim.finish().ttftMsByRequest) - 100;
    expect(wait).toBeGreaterThan(17.6 * 0.88);
    expect(wait).toBeLessThan(17.6 * 1.12);
  });
});

describe("Little's law", () => {
  // 20 req/s, prefill 4 x 100 ms (rho 0.5), decode 10-200 tokens at 20 ms on 3 replicas: a steady open system.
  const trace: Trace = poissonTrace(20, 2000, [200, 3000], [10, 200], 21);

  it('holds per window in steady state: mean number in system = arrival rate x mean time in system', () => {
    const sim = new ClusterSim(trace, options({ initialReplicas: { prefill: 4, decode: 3 } }));
    let area = 0;
    let arrived = 0;
    let durationSum = 0;
    let completed = 0;
    let seconds = 0;
    for (let t = 100; t <= 2000; t += 100) {
      const w = sim.advanceTo(t);
      if (t <= 200) continue; // warm-up
      area += w.meanInSystem * w.windowSeconds;
      seconds += w.windowSeconds;
      arrived += w.arrived;
      durationSum += w.meanRequestDurationSeconds * w.completed;
      completed += w.completed;
    }
    const L = area / seconds;
    const lambdaW = (arrived / seconds) * (durationSum / completed);
    expect(L).toBeGreaterThan(30); // ~1.7 s in system x 20/s
    expect(Math.abs(L - lambdaW) / lambdaW).toBeLessThan(0.03);
  });

  it('holds exactly over the whole run once the system has emptied', () => {
    const sim = new ClusterSim(trace, options({ initialReplicas: { prefill: 4, decode: 3 } }));
    const totals = sim.finish();
    expect(totals.completed).toBe(trace.arrival.length);
    const lambda = totals.completed / totals.endSeconds;
    expect(totals.meanInSystem).toBeCloseTo(lambda * totals.meanRequestDurationSeconds, 6);
  });
});

describe('KV admission', () => {
  // max 10,000 KV tokens; each request reserves isl 1000 + osl 1000 = 2000 → at most 5 per decode replica.
  const rows = Array.from({ length: 20 }, (_, k) => ({ arrival: k * 0.01, isl: 1000, osl: 1000 }));
  rows.push({ arrival: 0.5, isl: 9000, osl: 2000 }); // 11,000 tokens: can never fit
  const trace = traceOf(rows);
  const make = () => new ClusterSim(trace, options({ profile: flatProfile({ maxKvTokens: 10_000 }), initialReplicas: { prefill: 10, decode: 1 } }));

  it('never admits more than fits, queues the rest FCFS, and drops what can never fit', () => {
    const sim = make();
    const w = sim.advanceTo(1);
    expect(sim.decodeReplicaLoads()).toEqual([{ reservedTokens: 10_000, active: 5, pool: 'decode' }]);
    expect(w.decodeQueueDepth).toBe(15);
    expect(w.dropped).toBe(1);
    expect(sim.requestState(20)).toBe(RQ_DROPPED);
    // Full: 5 x 2000 reserved of 10,000 (kvUsage 1), 5 x (1000 + 500) lifetime-average occupancy (0.75).
    const full = sim.advanceTo(2);
    expect(full.kvUsage).toBeCloseTo(1, 9);
    expect(full.kvOccupancy).toBeCloseTo(0.75, 9);
    for (let t = 3; t < 100; t++) {
      sim.advanceTo(t);
      for (const load of sim.decodeReplicaLoads()) expect(load.reservedTokens).toBeLessThanOrEqual(10_000);
    }
    const totals = sim.finish();
    expect(totals.completed).toBe(20);
    expect(totals.droppedTooLarge).toBe(1);
    expect(totals.dropped).toBe(1);
    expect(totals.endSeconds).toBe(99); // the run ends where it was taken to, the system emptied earlier
  });

  it('serves the queue in batches of what fits', () => {
    // Batches of 5, each 999 steps of 20 ms = 19.98 s: the last batch ends after 4 x 19.98 s.
    const totals = make().finish();
    expect(totals.endSeconds).toBeGreaterThan(4 * 19.98);
    expect(totals.endSeconds).toBeLessThan(4 * 19.98 + 0.5);
  });

  it('counts the wait for KV capacity in the ITL (the user waits after the first token)', () => {
    const totals = make().finish();
    // The first five decode at once: ITL 20 ms. The next five wait one batch (~19.98 s) first: (19.98 + 19.98) / 999.
    for (let k = 0; k < 5; k++) expect(totals.itlMsByRequest[k]).toBeCloseTo(20, 3);
    for (let k = 5; k < 10; k++) expect(totals.itlMsByRequest[k]).toBeGreaterThan(39.5);
    for (let k = 5; k < 10; k++) expect(totals.itlMsByRequest[k]).toBeLessThan(40.5);
  });
});
