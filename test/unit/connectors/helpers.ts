/** Small builders shared by the connector tests (unit with nock, integration with the fake API server). */
import * as k8s from '@kubernetes/client-node';
import { policySpec, type PolicySpec } from '../../../src/config/schema.js';
import type { Decision } from '../../../src/planner/types.js';

export const SERVER = 'https://kube.test:6443';

export function kubeConfigFor(server = SERVER): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u', namespace: 'default' }],
    currentContext: 'ctx',
  });
  return kc;
}

type PoolInput = { name: string; role: 'prefill' | 'decode'; capacity?: 'spot' | 'on-demand'; target?: object; minReplicas?: number };

export function specWith(pools: PoolInput[], extra: Record<string, unknown> = {}): PolicySpec {
  return policySpec.parse({
    slo: { ttft: { ms: 800 }, itl: { ms: 60 } },
    pools: pools.map((p) => ({ minReplicas: 0, ...p })),
    ...extra,
  });
}

export function decisionFor(desired: Record<string, number>, spec: PolicySpec): Decision {
  const pools: Decision['pools'] = {};
  for (const [name, n] of Object.entries(desired)) {
    const pool = spec.pools.find((p) => p.name === name);
    pools[name] = { desired: n, role: pool?.role ?? 'decode', capacity: pool?.capacity ?? 'on-demand', gpus: n * (pool?.gpusPerReplica ?? 1), boundBy: [] };
  }
  return {
    time: '2026-11-25T10:00:00Z',
    pools,
    explanation: { policy: 'static', held: false, need: {}, constraints: [], warnings: [], missing: {} },
  };
}

/** A sleep that records the delays asked for and returns at once. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => void delays.push(ms) };
}
