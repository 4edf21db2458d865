/**
 * Simulator speed: requests replayed per second of wall time for one policy (no baselines), on a real trace
 * (Azure LLM conversation, 19,366 requests in an hour) rate-scaled to at least one million requests.
 * An untimed warm-up run over the trace's first tenth comes first (see warmUpRequests).
 */
import { readTrace, BUNDLED_TRACES } from '../src/sim/traces/index.js';
import { parsePolicyText } from '../src/config/load.js';
import { DEFAULT_POLICY_YAML } from '../src/sim/default-policy.js';
import { loadProfile } from '../src/profiles/load.js';
import { simulate } from '../src/sim/run.js';
import { fluidBound, neutralStart } from '../src/sim/yardsticks/index.js';
import type { Trace } from '../src/sim/types.js';

export interface SimulatorBench {
  trace: string;
  rateScale: number;
  requests: number;
  wallSeconds: number;
  /** CPU time of this process during the run (user + system): steadier than wall time on a shared machine. */
  cpuSeconds: number;
  requestsPerSecond: number;
  requestsPerCpuSecond: number;
  ratioToTarget: number;
  peakReplicas: Record<string, number>;
  /**
   * Requests of the untimed JIT warm-up run before the measured one: the same simulation over the first tenth of the
   * trace, so the measurement is the simulator's steady speed rather than V8 compiling it (a one-shot CLI run pays
   * that compile once, ~0.2 s).
   */
  warmUpRequests: number;
}

/** The first `fraction` of a trace's requests, as a trace of its own (for the JIT warm-up). */
function headOf(trace: Trace, fraction: number): Trace {
  const n = Math.max(1, Math.floor(trace.arrival.length * fraction));
  const arrival = trace.arrival.subarray(0, n);
  return { ...trace, arrival, isl: trace.isl.subarray(0, n), osl: trace.osl.subarray(0, n), durationSeconds: Math.max(1, Math.ceil(arrival[n - 1]!)) };
}

export const SIM_SPEED_TARGET = 1_000_000;

export async function benchSimulator(rateScale = 52): Promise<SimulatorBench> {
  const loaded = parsePolicyText(DEFAULT_POLICY_YAML, '<embedded default policy>', process.cwd());
  // No GPU budget and room to grow: the point is replay speed at a realistic, large replica count.
  const spec = { ...loaded.spec, budget: {}, pools: loaded.spec.pools.map((p) => ({ ...p, maxReplicas: 400 })) };
  const profile = loadProfile(spec.profile, loaded.baseDir);
  const trace = await readTrace(BUNDLED_TRACES.azureConv2023, { rateScale, seed: 7 });
  const warmUp = headOf(trace, 0.1);
  await simulate({ spec, profile, trace: warmUp, baselines: [], seed: 7 });
  // The yardsticks every simulation computes (the fluid bound, ~0.1 s per 1M requests; the neutral start, a search
  // over the trace's first minutes, ~1 s here) are not replay: computed before the clock starts.
  const start = neutralStart(spec, profile, trace);
  const bound = fluidBound(spec, profile, trace);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const result = await simulate({ spec, profile, trace, baselines: [], seed: 7, start, bound });
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const peakReplicas: Record<string, number> = {};
  for (const record of result.runs[0]!.intervals) {
    for (const [pool, n] of Object.entries(record.ready)) peakReplicas[pool] = Math.max(peakReplicas[pool] ?? 0, n);
  }
  const requestsPerSecond = trace.arrival.length / wallSeconds;
  const requestsPerCpuSecond = trace.arrival.length / cpuSeconds;
  return {
    trace: 'azure-conv-2023',
    rateScale,
    requests: trace.arrival.length,
    wallSeconds,
    cpuSeconds,
    requestsPerSecond,
    requestsPerCpuSecond,
    ratioToTarget: requestsPerSecond / SIM_SPEED_TARGET,
    peakReplicas,
    warmUpRequests: warmUp.arrival.length,
  };
}
