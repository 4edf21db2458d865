/**
 * `pd-planner run --fleet FLEET.yaml` against the fake API server and a per-model fake Prometheus: the graphs are
 * decided together on the fleet's budget (the higher priority first), in one process with one Lease and one metrics
 * server; and a graph at zero wakes at the first tick that sees demand (the queue, with a fake metric source).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPolicyFile } from '../../src/config/load.js';
import { createKubernetesConnector } from '../../src/kubernetes/index.js';
import { createLogger, silentLogger } from '../../src/log.js';
import type { MetricSource } from '../../src/planner/ports.js';
import type { Observation } from '../../src/planner/types.js';
import { loadProfile } from '../../src/profiles/index.js';
import { createMultiPlannerService, type MultiPlannerService, type RoundOutcome } from '../../src/service/loop.js';
import { toLoadedPlan } from '../../src/service/plan.js';
import { buildPlanner, type RunOptions } from '../../src/service/wiring.js';
import { runCli } from '../fixtures/cli.js';
import { startFakeKubeApi, type FakeKubeApi } from '../fixtures/fake-kube-api/index.js';
import { dgdV1beta1 } from '../fixtures/fake-kube-api/objects.js';
import { fleetGraphs, graphObjects, perModelAnswers, storedReplicas, writeFleetPolicies, type FleetGraph } from '../fixtures/fleet.js';
import { startFakePrometheus, type FakePrometheus } from '../fixtures/servers.js';

let api: FakeKubeApi | undefined;
let prom: FakePrometheus | undefined;
let dir: string | undefined;
let service: MultiPlannerService | undefined;
afterEach(async () => {
  await service?.stop('test done');
  await prom?.close();
  await api?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  api = prom = dir = service = undefined;
});

/** Two graphs (four pools each, 4 GPUs per replica) under one fleet file with budget `budget`; g-00 has priority 2. */
async function twoGraphs(budget: number, requests: Record<string, number>): Promise<{ graphs: FleetGraph[]; fleetPath: string }> {
  const graphs = fleetGraphs(2);
  api = await startFakeKubeApi({ objects: graphs.flatMap((g) => graphObjects(g)), operator: { settle: true } });
  const byModel = new Map(graphs.map((g) => [g.model, g]));
  prom = await startFakePrometheus(
    perModelAnswers((model) => {
      const g = byModel.get(model);
      return g ? { requests: requests[g.name] ?? 0, isl: 3000, osl: 300, ttftSeconds: 0.5, itlSeconds: 0.03 } : undefined;
    }),
  );
  dir = mkdtempSync(join(tmpdir(), 'pd-fleet-svc-'));
  writeFleetPolicies(dir, graphs, { promUrl: prom.url });
  const fleetPath = join(dir, 'fleet.yaml');
  writeFileSync(fleetPath, `apiVersion: pd-planner/v1\nkind: PlannerFleet\nmetadata: { name: aks }\nspec:\n  budget: { maxGpus: ${budget} }\n  graphs:\n    - { policy: g-00.yaml, priority: 2 }\n    - { policy: g-01.yaml, priority: 1 }\n`);
  return { graphs, fleetPath };
}

function options(fleetPath: string, extra: Partial<RunOptions> = {}): RunOptions {
  return { fleet: fleetPath, once: true, connector: 'kubernetes', kubeconfig: api!.kubeconfigPath, metricsPort: 0, leaseDuration: 15, renewDeadline: 10, retryPeriod: 2, ...extra };
}

const gpusOf = (stored: Record<string, number | undefined>) => Object.values(stored).reduce<number>((s, n) => s + (n ?? 0) * 4, 0);
const decisionOf = (round: RoundOutcome, name: string) => round.results.find((r) => r.name === name)!.outcome.result!.decision;

describe('pd-planner run --fleet', () => {
  it('decides the graphs together on the budget: the higher priority first, what each gave up in its explanation', async () => {
    const { graphs, fleetPath } = await twoGraphs(48, { 'g-00': 1500, 'g-01': 1500 });
    ({ service } = await buildPlanner(options(fleetPath), { logger: silentLogger() }));
    const round = await service.runOnce();
    for (const r of round.results) expect(r.outcome, `${r.name}: ${r.outcome.failure}`).toMatchObject({ ok: true });
    const [high, low] = graphs.map((g) => storedReplicas(api!.get.bind(api), g));
    // What the cluster now holds fits the fleet's 48 GPUs.
    expect(gpusOf(high!) + gpusOf(low!)).toBeLessThanOrEqual(48);
    const highShare = decisionOf(round, 'g-00').explanation.fleet!;
    const lowShare = decisionOf(round, 'g-01').explanation.fleet!;
    // Each asked for more than the budget holds for both; g-00 (priority 2) got all it could, g-01 its minimums.
    expect(highShare.demandGpus + lowShare.demandGpus).toBeGreaterThan(48);
    expect(lowShare.grantedGpus).toBe(lowShare.floorGpus);
    expect(gpusOf(low!)).toBe(8);
    expect(highShare.grantedGpus).toBe(48 - lowShare.grantedGpus);
    expect(lowShare.detail).toContain('g-00 has a higher priority than its 1 and is served first');
    expect(decisionOf(round, 'g-01').explanation.budget?.maxGpus).toBe(8);
  }, 60_000);

  it('one process, one Lease named for the fleet, one metrics server with the fleet\'s and each graph\'s series', async () => {
    const { fleetPath } = await twoGraphs(48, { 'g-00': 600, 'g-01': 300 });
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
    ({ service } = await buildPlanner(options(fleetPath, { once: false, leaseDuration: 3, renewDeadline: 2, retryPeriod: 0.5 }), { logger }));
    await service.start();
    const deadline = Date.now() + 20_000;
    while (!lines.some((l) => l.event === 'fleet') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const metrics = await (await fetch(`http://127.0.0.1:${service.port()}/metrics`)).text();
    await service.stop('test done');
    const leases = new Set(api!.requests.filter((r) => r.resource === 'leases' && r.name).map((r) => r.name));
    expect([...leases]).toEqual(['pd-planner-fleet-aks']);
    expect(lines.find((l) => l.event === 'started')?.msg).toBe('planner started: fleet aks, 2 graphs on 48 GPUs, every 30s');
    expect(metrics).toMatch(/^pd_planner_fleet_gpus\{fleet="aks",kind="budget"\} 48$/m);
    expect(metrics).toMatch(/^pd_planner_fleet_graph_gpus\{fleet="aks",policy="g-01",kind="granted"\} \d+$/m);
    expect(metrics).toMatch(/^pd_planner_fleet_graph_priority\{fleet="aks",policy="g-00"\} 2$/m);
    expect(metrics).toMatch(/^pd_planner_desired_replicas\{policy="g-00",pool="prefill-od",role="prefill",capacity="on-demand"\} \d+$/m);
    expect(metrics).toMatch(/^pd_planner_startup_seconds\{policy="g-01",pool="decode-od"\} 180$/m);
  }, 60_000);

  it('logs each graph\'s tick as a single policy does: a graph whose Prometheus is unreachable warns, named, and logs its tick', async () => {
    const { fleetPath } = await twoGraphs(48, { 'g-00': 600, 'g-01': 300 });
    // g-01 reads a Prometheus nothing listens on (port 1 refuses at once).
    const g01 = join(dir!, 'g-01.yaml');
    writeFileSync(g01, readFileSync(g01, 'utf8').replace(prom!.url, 'http://127.0.0.1:1'));
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
    ({ service } = await buildPlanner(options(fleetPath), { logger }));
    await service.runOnce();
    const warnings = lines.filter((l) => l.event === 'source-error');
    expect(warnings.map((l) => l.policy)).toEqual(['g-01']);
    expect(warnings[0]).toMatchObject({ fleet: 'aks', source: 'prometheus' });
    expect(warnings[0]!.msg).toMatch(/^g-01: prometheus http:\/\/127\.0\.0\.1:1\S* could not be reached .*: requests, .* unknown this tick$/);
    const ticks = lines.filter((l) => l.event === 'tick');
    expect(ticks.map((l) => l.policy).sort()).toEqual(['g-00', 'g-01']);
    const held = ticks.find((l) => l.policy === 'g-01')!;
    expect(held).toMatchObject({ fleet: 'aks', held: true });
    expect(held.msg).toMatch(/^g-01 tick: .*\(held: /);
    expect(lines.filter((l) => l.event === 'tick-detail').map((l) => l.policy).sort()).toEqual(['g-00', 'g-01']);
  }, 60_000);

  it('refuses --policy with --fleet, and an invalid fleet file, with exit 2', async () => {
    const { fleetPath } = await twoGraphs(48, {});
    const both = await runCli(['run', '--fleet', fleetPath, '--policy', join(dir!, 'g-00.yaml'), '--once', '--kubeconfig', api!.kubeconfigPath]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--fleet: not with --policy');
    writeFileSync(join(dir!, 'small.yaml'), `apiVersion: pd-planner/v1\nkind: PlannerFleet\nmetadata: { name: small }\nspec:\n  budget: { maxGpus: 8 }\n  graphs:\n    - { policy: g-00.yaml }\n    - { policy: g-01.yaml }\n`);
    const small = await runCli(['run', '--fleet', join(dir!, 'small.yaml'), '--once', '--kubeconfig', api!.kubeconfigPath]);
    expect(small.code).toBe(2);
    expect(small.stderr).toContain("spec.budget.maxGpus: 8 GPUs is below the 16 the graphs' minReplicas need (g-00 8, g-01 8)");
  }, 60_000);
});

describe('a graph at zero wakes at the first tick that sees demand (fake API server, fake metric source)', () => {
  it('stays at zero without demand, polls every 10 s while at zero, and scales both roles up when the queue holds work', async () => {
    api = await startFakeKubeApi({
      objects: [dgdV1beta1({ name: 'code', components: [{ name: 'VllmPrefillWorker', type: 'prefill', replicas: 0 }, { name: 'VllmDecodeWorker', type: 'decode', replicas: 0 }] })],
      operator: { settle: true },
    });
    dir = mkdtempSync(join(tmpdir(), 'pd-zero-svc-'));
    const path = join(dir, 'code.yaml');
    writeFileSync(
      path,
      `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: code }
spec:
  interval: 60s
  slo: { ttft: { ms: 2000 }, itl: { ms: 60 } }
  scaleToZero: { idleSeconds: 300, pollInterval: 10s }
  pools:
    - { name: prefill, role: prefill, gpusPerReplica: 4, minReplicas: 0, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: code, service: VllmPrefillWorker } }
    - { name: decode, role: decode, gpusPerReplica: 4, minReplicas: 0, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: code, service: VllmDecodeWorker } }
`,
    );
    const plan = toLoadedPlan(loadPolicyFile(path), loadProfile);
    // The fake source: the frontend counts nothing (a request is counted once answered), the queue holds `queued`.
    let queued = 0;
    const stored = () => {
      const components = (api!.get('nvidia.com/v1beta1', 'DynamoGraphDeployment', 'default', 'code')?.spec?.components ?? []) as { name: string; replicas?: number }[];
      const of = (n: string) => components.find((c) => c.name === n)?.replicas ?? 0;
      return { prefill: of('VllmPrefillWorker'), decode: of('VllmDecodeWorker') };
    };
    const source: MetricSource = {
      observe: async (now, windowSeconds): Promise<Observation> => {
        const s = stored();
        return { time: new Date(now).toISOString(), windowSeconds, requests: 0, queueDepth: queued, pools: { prefill: { desired: s.prefill, ready: s.prefill }, decode: { desired: s.decode, ready: s.decode } } };
      },
    };
    let t = Date.parse('2026-11-25T10:00:00Z');
    const connector = createKubernetesConnector({ kubeConfig: api.kubeConfig(), namespace: 'default', canAct: () => true });
    service = createMultiPlannerService(
      { policyFiles: [path], loadPolicy: () => plan, source, connector, logger: silentLogger(), clock: { now: () => t }, watchPolicy: false },
      [{ path, plan }],
    );
    const first = await service.runOnce();
    expect(first.results[0]!.outcome.result!.decision.explanation.scaleToZero?.action).toBe('zero');
    expect(stored()).toEqual({ prefill: 0, decode: 0 });
    // At zero the loop looks every 10 s, not every 60 s.
    expect(service.status().intervalSeconds).toBe(10);
    queued = 3;
    t += 10_000;
    const second = await service.runOnce();
    const decision = second.results[0]!.outcome.result!.decision;
    expect(decision.explanation.scaleToZero?.action).toBe('wake');
    expect(stored().prefill).toBeGreaterThanOrEqual(1);
    expect(stored().decode).toBeGreaterThanOrEqual(1);
    expect(service.status().intervalSeconds).toBe(60);
  }, 60_000);
});
