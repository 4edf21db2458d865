/**
 * Micro-bench of the cluster model: a synthetic Poisson load replayed against llama2-70b-h100-tp4 with a planner
 * stand-in that resizes the pools every 60 s of virtual time (so ticks, scale-up/down and draining are exercised).
 *
 *   npx tsx bench/cluster.ts [requests=1000000] [rate=100] [repeats=1]
 *
 * With repeats > 1 the best run is reported (JIT warm, as when a simulate run replays several policies).
 *
 * Prints requests replayed per second of wall time and of process CPU time (trace generation excluded; the CPU figure
 * is the one to trust on a shared machine) and the run's totals.
 */
import type { PoolSpec } from '../src/config/schema.js';
import { loadProfile } from '../src/profiles/index.js';
import { ClusterSim, windowObservation } from '../src/sim/cluster/index.js';
import { createRng, exponential, lognormal } from '../src/sim/random.js';
import type { Trace } from '../src/sim/types.js';

const requests = Number(process.argv[2] ?? 1_000_000);
const rate = Number(process.argv[3] ?? 100);

function poissonTrace(n: number, ratePerSec: number, seed: number): Trace {
  const rng = createRng(seed);
  const arrival = new Float64Array(n);
  const isl = new Uint32Array(n);
  const osl = new Uint32Array(n);
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += exponential(rng, ratePerSec);
    arrival[i] = t;
    isl[i] = Math.max(16, Math.min(32000, Math.round(lognormal(rng, 1500, 0.8))));
    osl[i] = Math.max(1, Math.min(4000, Math.round(lognormal(rng, 200, 0.8))));
  }
  return { name: 'bench', format: 'synthetic', arrival, isl, osl, durationSeconds: t, skipped: { count: 0, examples: [] } };
}

const pool = (name: string, role: 'prefill' | 'decode', capacity: 'spot' | 'on-demand', cost: number): PoolSpec => ({
  name,
  role,
  capacity,
  gpusPerReplica: 4,
  minReplicas: 1,
  maxReplicas: 1000,
  costPerGpuHour: cost,
  startupSeconds: 240,
});

const profile = loadProfile('builtin:llama2-70b-h100-tp4', process.cwd());
const trace = poissonTrace(requests, rate, 7);
const slo = { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } };
// Sized for the rate (about 5 req/s per prefill replica and 3.3 per decode replica at these lengths and SLOs), capped at 4x.
const prefill0 = Math.ceil(rate / 5);
const decodeOd = Math.ceil(rate / 10);
const decodeSpot0 = Math.ceil(rate / 5);
const cap = 4 * prefill0;
const pools = [pool('prefill-od', 'prefill', 'on-demand', 6.98), pool('decode-od', 'decode', 'on-demand', 6.98), pool('decode-spot', 'decode', 'spot', 2.1)];

function runOnce() {
  const started = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const sim = new ClusterSim(trace, {
    profile,
    pools,
    initialReplicas: { 'prefill-od': prefill0, 'decode-od': decodeOd, 'decode-spot': decodeSpot0 },
    slo,
    seed: 1,
    spot: { evictionRatePerHour: 0.2, noticeSeconds: 30 },
  });
  // Planner stand-in: prefill sized on queue + TTFT, decode on ITL and KV usage (crude, but it moves the pools every tick).
  let prefill = prefill0;
  let decodeSpot = decodeSpot0;
  let ticks = 0;
  for (let t = 60; t < trace.durationSeconds + 60; t += 60) {
    const stats = sim.advanceTo(t);
    const obs = windowObservation(stats, Date.UTC(2026, 0, 1) + t * 1000, slo);
    ticks++;
    if ((obs.ttftMs?.p95 ?? 0) > slo.ttft.ms || stats.queueDepth > prefill) prefill = Math.min(cap, prefill + 2);
    else if ((obs.ttftMs?.p95 ?? 0) < slo.ttft.ms / 2) prefill = Math.max(1, prefill - 1);
    const itlP95 = obs.itlMs?.p95 ?? 0;
    if ((obs.kvUsage ?? 0) > 0.7 || itlP95 > slo.itl.ms) decodeSpot = Math.min(cap, decodeSpot + 2);
    else if ((obs.kvUsage ?? 1) < 0.3 && itlP95 < 0.7 * slo.itl.ms) decodeSpot = Math.max(0, decodeSpot - 1);
    sim.setDesired('prefill-od', prefill, t);
    sim.setDesired('decode-spot', decodeSpot, t);
  }
  const totals = sim.finish();
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuUsed = process.cpuUsage(cpuStart);
  const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;

  return { totals, wall, cpu, ticks, prefill, decodeSpot };
}

const repeats = Number(process.argv[4] ?? 1);
let best = runOnce();
const first = best;
for (let k = 1; k < repeats; k++) {
  const next = runOnce();
  if (next.cpu < best.cpu) best = next;
}
const { totals, wall, cpu, ticks, prefill, decodeSpot } = best;
console.log(
  JSON.stringify(
    {
      requests,
      ratePerSec: rate,
      simulatedSeconds: Math.round(totals.endSeconds),
      ticks,
      wallSeconds: Number(wall.toFixed(3)),
      requestsPerWallSecond: Math.round(requests / wall),
      cpuSeconds: Number(cpu.toFixed(3)),
      requestsPerCpuSecond: Math.round(requests / cpu),
      firstRunRequestsPerCpuSecond: Math.round(requests / first.cpu),
      runs: repeats,
      completed: totals.completed,
      dropped: totals.dropped,
      requeued: totals.requeued,
      evictions: totals.evictions,
      attainment: totals.attainment,
      ttftMs: totals.ttftMs,
      itlMs: totals.itlMs,
      gpuHours: totals.gpuHours,
      cost: Math.round(totals.cost),
      finalReplicas: { prefill, decodeSpot },
    },
    null,
    1,
  ),
);
