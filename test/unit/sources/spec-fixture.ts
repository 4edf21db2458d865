/** A parsed policy spec for metric/service tests: two pools, Prometheus at `url`. */
import { policySpec, type PolicySpec } from '../../../src/config/schema.js';

export function testSpec(overrides: Record<string, unknown> = {}, prometheus?: Record<string, unknown>): PolicySpec {
  return policySpec.parse({
    interval: '60s',
    slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } },
    policy: 'static',
    pools: [
      { name: 'prefill-od', role: 'prefill', minReplicas: 1, maxReplicas: 8 },
      { name: 'decode-od', role: 'decode', minReplicas: 1, maxReplicas: 8 },
    ],
    sources: prometheus ? { prometheus } : {},
    ...overrides,
  });
}
