/**
 * decide() speed for one model with four pools (prefill/decode x on-demand/Spot), the shape of
 * examples/spot-mixed.yaml, under the default `sla` policy, against the `dynamo` and `static` policies
 * in the same run (ratios are what to compare on a shared, noisy machine).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicyFile } from '../src/config/load.js';
import { loadProfile } from '../src/profiles/load.js';
import { decide } from '../src/planner/decide.js';
import { initialState } from '../src/planner/state.js';
import type { PolicySpec } from '../src/config/schema.js';
import type { Observation } from '../src/planner/types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface DecideBench {
  pools: number;
  calls: number;
  medianMicros: Record<string, number>;
  p99Micros: Record<string, number>;
  ratioToDynamo: number;
}

export function benchDecide(calls = 20000): DecideBench {
  const loaded = loadPolicyFile(path.join(root, 'examples/spot-mixed.yaml'));
  const profile = loadProfile(loaded.spec.profile, loaded.baseDir);
  const base = loaded.spec;
  const medianMicros: Record<string, number> = {};
  const p99Micros: Record<string, number> = {};
  for (const kind of ['sla', 'dynamo', 'static'] as const) {
    const spec: PolicySpec = { ...base, policy: kind };
    const { median, p99 } = timeDecide(spec, profile, calls);
    medianMicros[kind] = median;
    p99Micros[kind] = p99;
  }
  return { pools: base.pools.length, calls, medianMicros, p99Micros, ratioToDynamo: (medianMicros.sla as number) / (medianMicros.dynamo as number) };
}

function timeDecide(spec: PolicySpec, profile: ReturnType<typeof loadProfile>, calls: number): { median: number; p99: number } {
  let state = initialState();
  const start = Date.UTC(2026, 10, 25, 10, 0, 0);
  const samples: number[] = [];
  const batch = 50;
  for (let i = 0; i < calls / batch; i++) {
    const t0 = performance.now();
    for (let j = 0; j < batch; j++) {
      const k = i * batch + j;
      const now = start + k * spec.interval * 1000;
      const observation = observationAt(k, now, spec);
      state = decide({ spec, profile, observation, state, now }).state;
    }
    samples.push(((performance.now() - t0) * 1000) / batch);
  }
  // The first tenth warms the JIT and fills the forecaster history.
  const steady = samples.slice(Math.floor(samples.length / 10)).sort((a, b) => a - b);
  return { median: steady[Math.floor(steady.length / 2)] as number, p99: steady[Math.floor(steady.length * 0.99)] as number };
}

/** A busy, varying day: 600-1800 requests a minute, p95 latencies near the SLO, some Spot churn. */
function observationAt(k: number, now: number, spec: PolicySpec): Observation {
  const requests = 1200 + 600 * Math.sin(k / 30);
  const pools: Observation['pools'] = {};
  for (const pool of spec.pools) pools[pool.name] = { desired: 4, ready: 4, pending: k % 17 === 0 ? 1 : 0, evicted: pool.capacity === 'spot' && k % 23 === 0 ? 1 : 0 };
  return {
    time: new Date(now).toISOString(),
    windowSeconds: spec.interval,
    requests,
    isl: 3000 + 200 * Math.cos(k / 7),
    osl: 150,
    ttftMs: { mean: 420, p95: 610 + 50 * Math.sin(k / 5) },
    itlMs: { mean: 31, p95: 44 },
    requestDurationSeconds: 5.1,
    queueDepth: k % 11,
    pools,
  };
}
