/**
 * The fleet's series on /metrics (service/fleet-metrics.ts) from a real decideFleet(): every graph has its series,
 * graphs named `__proto__` and `constructor` included (the arbitration's shares are keyed without a prototype).
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { decideFleet } from '../../../src/fleet/decide.js';
import { initialState } from '../../../src/planner/state.js';
import type { Observation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { createFleetMetrics } from '../../../src/service/fleet-metrics.js';
import { makeSpec, T0 } from '../constraints/helpers.js';

const profile = loadProfile('builtin:llama2-70b-h100-tp4', process.cwd());
const spec = makeSpec({
  interval: '60s',
  slo: { ttft: { ms: 2000 }, itl: { ms: 60 } },
  pools: [
    { name: 'prefill', role: 'prefill', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16 },
    { name: 'decode', role: 'decode', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16 },
  ],
});
const observation: Observation = { time: new Date(T0).toISOString(), windowSeconds: 60, requests: 900, isl: 3000, osl: 300, pools: { prefill: { desired: 2, ready: 2 }, decode: { desired: 2, ready: 2 } } };

describe('fleet metrics', () => {
  it('a series per graph, for graphs named __proto__ and constructor too', async () => {
    const names = ['__proto__', 'constructor', 'chat'];
    const r = decideFleet({ name: 'aks', budget: { maxGpus: 40 }, now: T0, graphs: names.map((name, i) => ({ name, priority: 3 - i, spec, profile, state: initialState(), observation })) });
    const registry = new Registry();
    createFleetMetrics(registry, () => 'aks').record(r.arbitration);
    const text = await registry.metrics();
    for (const name of names) {
      expect(text).toMatch(new RegExp(`^pd_planner_fleet_graph_gpus\\{fleet="aks",policy="${name}",kind="granted"\\} \\d+$`, 'm'));
      expect(text).toContain(`pd_planner_fleet_graph_priority{fleet="aks",policy="${name}"} ${3 - names.indexOf(name)}`);
    }
    // What the graphs were granted adds up to what the fleet reports as used, within the budget.
    const granted = [...text.matchAll(/^pd_planner_fleet_graph_gpus\{fleet="aks",policy="[^"]+",kind="granted"\} (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
    expect(granted).toBeLessThanOrEqual(40);
    expect(text).toMatch(/^pd_planner_fleet_gpus\{fleet="aks",kind="budget"\} 40$/m);
  });
});
