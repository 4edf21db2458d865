/**
 * What running decide() in a worker thread (service/decide/pool.ts, as `pd-planner run` does) adds to each tick: the
 * structured clone of the observation and the planner state to the worker and of the decision and new state back,
 * and the message hops. The same sequence of observations is decided in line and through the pool, one call at a
 * time as a policy's tick makes it, after the forecaster's history is full (the largest state a tick carries).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicyFile } from '../src/config/load.js';
import type { PolicySpec } from '../src/config/schema.js';
import { decide, type DecideInput } from '../src/planner/decide.js';
import { initialState, type PlannerState } from '../src/planner/state.js';
import type { Observation } from '../src/planner/types.js';
import { loadProfile } from '../src/profiles/load.js';
import { DecidePool } from '../src/service/decide/pool.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface DecideWorkerBench {
  calls: number;
  /** JSON size of what one call sends (observation + state) and gets back (decision + state), bytes. */
  sentBytes: number;
  returnedBytes: number;
  historyPoints: number;
  inlineMicros: { median: number; p99: number };
  workerMicros: { median: number; p99: number };
  /** Worker median - inline median. */
  overheadMicros: number;
  /** The overhead as a share of a 30 s interval. */
  overheadToInterval: number;
  /** When, and on how busy a machine (a thread hop waits for a core: it costs more when the cores are busy). */
  measuredAt: string;
  loadAverage: number;
}

function observationAt(k: number, now: number, spec: PolicySpec): Observation {
  const pools: Observation['pools'] = {};
  for (const pool of spec.pools) pools[pool.name] = { desired: 4, ready: 4, pending: k % 17 === 0 ? 1 : 0, evicted: 0 };
  return {
    time: new Date(now).toISOString(),
    windowSeconds: spec.interval,
    requests: 1200 + 600 * Math.sin(k / 30),
    isl: 3000 + 200 * Math.cos(k / 7),
    osl: 150,
    ttftMs: { mean: 420, p95: 610 },
    itlMs: { mean: 31, p95: 44 },
    requestDurationSeconds: 5.1,
    pools,
  };
}

const quantiles = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)] as number, p99: sorted[Math.floor(sorted.length * 0.99)] as number };
};

export async function benchDecideWorker(calls = 2000): Promise<DecideWorkerBench> {
  const loaded = loadPolicyFile(path.join(root, 'examples/spot-mixed.yaml'));
  const profile = loadProfile(loaded.spec.profile, loaded.baseDir);
  // Its seasonal forecaster (24 h season) keeps the longest history of the examples.
  const spec: PolicySpec = { ...loaded.spec, policy: 'sla' };
  const start = Date.UTC(2026, 10, 25, 10, 0, 0);
  const at = (k: number) => start + k * spec.interval * 1000;
  let state: PlannerState = initialState();
  const warm = 2000;
  for (let k = 0; k < warm; k++) state = decide({ spec, profile, observation: observationAt(k, at(k), spec), state, now: at(k) }).state;
  const inputs: DecideInput[] = [];
  for (let k = warm; k < warm + calls; k++) inputs.push({ spec, profile, observation: observationAt(k, at(k), spec), state, now: at(k) });

  const inline: number[] = [];
  for (const input of inputs) {
    const t0 = performance.now();
    decide(input);
    inline.push((performance.now() - t0) * 1000);
  }
  const pool = new DecidePool();
  await pool.start();
  const threaded: number[] = [];
  let sample = decide(inputs[0] as DecideInput);
  try {
    for (const input of inputs) {
      const t0 = performance.now();
      sample = await pool.decide(input, { timeoutMs: 60_000 });
      threaded.push((performance.now() - t0) * 1000);
    }
  } finally {
    await pool.close();
  }
  // The first tenth of each warms the JIT (and sends the spec and profile to the worker once).
  const steady = (xs: number[]) => xs.slice(Math.floor(xs.length / 10));
  const inlineMicros = quantiles(steady(inline));
  const workerMicros = quantiles(steady(threaded));
  const first = inputs[0] as DecideInput;
  const overheadMicros = workerMicros.median - inlineMicros.median;
  return {
    calls,
    sentBytes: JSON.stringify({ observation: first.observation, state: first.state }).length,
    returnedBytes: JSON.stringify(sample).length,
    historyPoints: first.state.history.length,
    inlineMicros,
    workerMicros,
    overheadMicros,
    overheadToInterval: overheadMicros / 1e6 / 30,
    measuredAt: new Date().toISOString(),
    loadAverage: +(os.loadavg()[0] as number).toFixed(2),
  };
}
