import { policySpec, type PolicySpec } from '../../../src/config/schema.js';
import type { Forecast, Observation } from '../../../src/planner/types.js';
import type { PolicyInput } from '../../../src/policies/types.js';
import { loadProfile } from '../../../src/profiles/index.js';

export const synthetic = loadProfile('builtin:dynamo-format-synthetic', '/');
export const llama = loadProfile('builtin:llama2-70b-h100-tp4', '/');

/** A parsed spec: 1-GPU prefill and decode pools, I = 180 s, ITL 50 ms, TTFT 500 ms (p95 both), plus overrides. */
export function makeSpec(overrides: Record<string, unknown> = {}): PolicySpec {
  return policySpec.parse({
    interval: '180s',
    slo: { ttft: { ms: 500 }, itl: { ms: 50 } },
    pools: [
      { name: 'prefill', role: 'prefill', maxReplicas: 100 },
      { name: 'decode', role: 'decode', maxReplicas: 100 },
    ],
    ...overrides,
  });
}

export function forecast(requests: number, isl: number, osl: number): Forecast {
  return {
    requests: { value: requests, method: 'test' },
    isl: { value: isl, method: 'test' },
    osl: { value: osl, method: 'test' },
  };
}

export function makeInput(partial: Partial<PolicyInput> & { spec?: PolicySpec }): PolicyInput {
  const observation: Observation = { time: '2025-01-01T00:00:00Z' };
  return {
    spec: partial.spec ?? makeSpec(),
    profile: partial.profile ?? synthetic,
    observation: partial.observation ?? observation,
    forecast: partial.forecast ?? forecast(1800, 3000, 150),
    ...(partial.leadForecast ? { leadForecast: partial.leadForecast } : {}),
    current: partial.current ?? { prefill: 1, decode: 1 },
    correction: partial.correction ?? { pCf: 1, dCf: 1 },
    ...(partial.idleForSeconds !== undefined ? { idleForSeconds: partial.idleForSeconds } : {}),
    ...(partial.pauseRunning !== undefined ? { pauseRunning: partial.pauseRunning } : {}),
  };
}
