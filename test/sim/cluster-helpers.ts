/** Shared fixtures for the cluster-model tests: a flat hand-built profile, Poisson traces, pool specs. */
import type { PoolSpec } from '../../src/config/schema.js';
import { profileFromData } from '../../src/profiles/index.js';
import type { PerformanceProfile } from '../../src/profiles/types.js';
import { createRng, exponential } from '../../src/sim/random.js';
import type { Trace } from '../../src/sim/types.js';

/**
 * A profile with constant service times, so queueing results can be checked by hand:
 * prefill takes `prefillMs` at any ISL up to 100,000 tokens; a decode step takes `itlMs` at any batch.
 */
export function flatProfile(opts: { prefillMs?: number; itlMs?: number; maxKvTokens?: number } = {}): PerformanceProfile {
  const prefillMs = opts.prefillMs ?? 100;
  const itlMs = opts.itlMs ?? 20;
  return profileFromData(
    { prefill_isl: [1, 100_000], prefill_ttft: [prefillMs, prefillMs], prefill_thpt_per_gpu: [1, 1000] },
    {
      x_kv_usage: [0, 1, 0, 1],
      y_context_length: [1, 1, 1_000_000, 1_000_000],
      z_itl: [itlMs, itlMs, itlMs, itlMs],
      z_thpt_per_gpu: [1, 1, 1, 1],
      max_kv_tokens: opts.maxKvTokens ?? 1_000_000,
    },
    'flat',
    'test',
  );
}

export function traceOf(rows: { arrival: number; isl: number; osl: number }[]): Trace {
  return {
    name: 'test',
    format: 'test',
    arrival: Float64Array.from(rows, (r) => r.arrival),
    isl: Uint32Array.from(rows, (r) => r.isl),
    osl: Uint32Array.from(rows, (r) => r.osl),
    durationSeconds: rows.length > 0 ? rows[rows.length - 1]!.arrival : 0,
    skipped: { count: 0, examples: [] },
  };
}

/** Poisson arrivals at `rate` per second for `seconds`; ISL/OSL fixed or drawn uniformly from [lo, hi]. */
export function poissonTrace(rate: number, seconds: number, isl: number | [number, number], osl: number | [number, number], seed = 1): Trace {
  const rng = createRng(seed);
  const draw = (v: number | [number, number]) => (typeof v === 'number' ? v : v[0] + Math.floor(rng() * (v[1] - v[0] + 1)));
  const rows: { arrival: number; isl: number; osl: number }[] = [];
  for (let t = exponential(rng, rate); t < seconds; t += exponential(rng, rate)) rows.push({ arrival: t, isl: draw(isl), osl: draw(osl) });
  const trace = traceOf(rows);
  trace.durationSeconds = seconds;
  return trace;
}

export function pool(name: string, role: 'prefill' | 'decode', opts: Partial<PoolSpec> = {}): PoolSpec {
  return {
    name,
    role,
    capacity: 'on-demand',
    gpusPerReplica: 1,
    minReplicas: 0,
    maxReplicas: 100,
    costPerGpuHour: 1,
    startupSeconds: 60,
    ...opts,
  };
}

export const SLO = { ttft: { percentile: 95, ms: 500 }, itl: { percentile: 95, ms: 50 } };
