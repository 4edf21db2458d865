/**
 * One planner process, ten graphs (`pd-planner run --policy DIR` as buildPlanner wires it) against the fake API
 * server and a per-model fake Prometheus: every graph's four pools get that graph's own decision, one patch per
 * target per tick; a deleted graph and a stalled one do not hold up the others; ticks never overlap; one Lease,
 * one watch per resource type, metrics labelled by policy.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildPlanner, type RunOptions } from '../../src/service/wiring.js';
import { createLogger, silentLogger } from '../../src/log.js';
import type { MultiPlannerService, RoundOutcome } from '../../src/service/loop.js';
import { COMPONENT_LABEL, GRAPH_LABEL } from '../../src/kubernetes/informers/kube-state.js';
import { runCli } from '../fixtures/cli.js';
import { startFakeKubeApi, type FakeKubeApi, type RecordedRequest } from '../fixtures/fake-kube-api/index.js';
import { pod } from '../fixtures/fake-kube-api/objects.js';
import { fleetGraphs, fleetPolicy, graphObjects, perModelAnswers, PREFILL, storedReplicas, writeFleetPolicies, type FleetGraph, type ModelWindow } from '../fixtures/fleet.js';
import { startFakePrometheus, waitFor, type FakeAnswer, type FakePrometheus } from '../fixtures/servers.js';

const POOLS = ['prefill-od', 'prefill-spot', 'decode-od', 'decode-spot'];

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

/** Graph i gets (200 + 300 i) requests per window x `scale`: g-09 has 14.5x the traffic of g-00. */
function window(g: FleetGraph, scale: number): ModelWindow {
  return { requests: Math.round((200 + 300 * g.index) * scale), isl: 2000, osl: 150, ttftSeconds: 0.4, itlSeconds: 0.03 };
}

async function fleet(count: number, answer: (g: FleetGraph) => ModelWindow | FakeAnswer, policy: { interval?: string; failureThreshold?: number } = {}) {
  const graphs = fleetGraphs(count);
  api = await startFakeKubeApi({ objects: graphs.flatMap((g) => graphObjects(g)), operator: { settle: true } });
  const byModel = new Map(graphs.map((g) => [g.model, g]));
  prom = await startFakePrometheus(perModelAnswers((model) => (byModel.has(model) ? answer(byModel.get(model)!) : undefined)));
  dir = mkdtempSync(join(tmpdir(), 'pd-multi-'));
  writeFleetPolicies(dir, graphs, { promUrl: prom.url, ...policy });
  return graphs;
}

function options(extra: Partial<RunOptions> = {}): RunOptions {
  return { policy: dir!, once: true, connector: 'kubernetes', kubeconfig: api!.kubeconfigPath, metricsPort: 0, leaseDuration: 15, renewDeadline: 10, retryPeriod: 2, ...extra };
}

/**
 * Successful writes per scaled thing: a DGDSA, a DCD, or one component of a graph without adapters (whose patch names
 * it: a `test` op on its name in v1beta1, `spec.services.<name>` in v1alpha1). A DGDSA /scale 404 followed by the
 * graph patch counts once, for the graph component.
 */
function writesByTarget(requests: RecordedRequest[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of requests) {
    if (r.method !== 'PATCH' || r.status !== 200) continue;
    let key = `${r.resource}/${r.name}`;
    if (r.resource === 'dynamographdeployments') {
      const body = r.body as { value?: unknown }[] | { spec?: { services?: Record<string, unknown> } };
      key += `/${Array.isArray(body) ? String(body[0]?.value) : Object.keys(body.spec?.services ?? {}).join(',')}`;
    }
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/** Objects of graph g: its graph, its adapters, its two DCDs. */
const ownedBy = (g: FleetGraph, key: string) => key.split('/')[1]!.startsWith(`${g.name}-`) || key.split('/')[1] === g.name;

function decided(round: RoundOutcome, name: string): Record<string, number> {
  const result = round.results.find((r) => r.name === name)?.outcome.result;
  return Object.fromEntries(POOLS.map((p) => [p, result?.decision.pools[p]?.desired ?? -1]));
}

describe('one planner process, many graphs', () => {
  it('gives every graph its own decision, patched once per target per tick, through one set of watches', async () => {
    let scale = 1;
    const graphs = await fleet(10, (g) => window(g, scale));
    ({ service } = await buildPlanner(options(), { logger: silentLogger() }));
    const patched = new Set<string>();
    for (const s of [1, 2, 3]) {
      scale = s;
      const before = api!.requests.length;
      const round = await service.runOnce();
      expect(round.results.map((r) => r.name).sort()).toEqual(graphs.map((g) => g.name));
      for (const r of round.results) expect(r.outcome, `${r.name}: ${r.outcome.failure}`).toMatchObject({ ok: true });
      // Every policy has a pool named prefill-od; the eviction of g-01's pod is g-01's alone.
      const evicted = Object.fromEntries(round.results.map((r) => [r.name, r.outcome.result?.observation.pools?.['prefill-od']?.evicted]));
      expect(evicted).toEqual(Object.fromEntries(graphs.map((g) => [g.name, s === 2 && g.name === 'g-01' ? 1 : 0])));
      if (s === 1) {
        api!.put(pod('g-01-prefill-x', { labels: { [GRAPH_LABEL]: 'g-01', [COMPONENT_LABEL]: PREFILL }, evicted: true }));
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      // What each policy decided is what its graph now holds, pool by pool.
      for (const g of graphs) expect(storedReplicas(api!.get.bind(api), g), g.name).toEqual(decided(round, g.name));
      const made = api!.requests.slice(before);
      if (s > 1) {
        // Replica counts for the observation come from the informers' caches: the only reads are the connector's,
        // one per graph and one per DCD before writing.
        const gets = (resource: string) => made.filter((r) => r.method === 'GET' && r.resource === resource && r.query.watch === undefined).length;
        expect([gets('dynamographdeployments'), gets('dynamocomponentdeployments')]).toEqual([10, 20]);
      }
      const writes = writesByTarget(made);
      for (const [object, n] of writes) expect(n, object).toBe(1);
      for (const g of graphs) if ([...writes.keys()].some((k) => ownedBy(g, k))) patched.add(g.name);
      // Each policy asked Prometheus about its own model.
      const models = new Set(prom!.received.map((q) => /model="([^"]+)"/.exec(q.query)?.[1]));
      for (const g of graphs) expect(models.has(g.model)).toBe(true);
      // Their own numbers: 14.5x the traffic needs more replicas than the smallest graph.
      const total = (name: string) => Object.values(decided(round, name)).reduce((a, b) => a + b, 0);
      expect(total('g-09')).toBeGreaterThan(total('g-00'));
    }
    expect([...patched].sort()).toEqual(graphs.map((g) => g.name));
    // Shared informers: one watch per resource type for the namespace, not one per graph.
    const watches = api!.requests.filter((r) => r.query.watch === 'true' || r.query.watch === '1').map((r) => r.resource);
    expect(watches.sort()).toEqual(['dynamocomponentdeployments', 'dynamographdeployments', 'nodes', 'pods']);
  }, 60_000);

  it('a deleted graph and a stalled one do not hold up the others', async () => {
    let stall = false;
    const graphs = await fleet(10, (g) => (g.name === 'g-05' && stall ? { delayMs: 3000, then: window(g, 1).requests } : window(g, 1)), { failureThreshold: 1 });
    ({ service } = await buildPlanner(options({ policyTimeout: 1 }), { logger: silentLogger() }));
    // A first round with every graph healthy lists and starts the informers (on a loaded machine that alone can take
    // a second), so the round below measures the faults only.
    await service.runOnce();
    await waitFor(() => service!.status().policies.every((p) => !p.running), 20_000, 'the warm-up ticks to return');
    const g05Before = storedReplicas(api!.get.bind(api), graphs[5]!);
    const writesBefore = api!.requests.length;
    api!.delete('nvidia.com/v1beta1', 'DynamoGraphDeployment', 'default', 'g-03');
    stall = true;
    const round = await service.runOnce();
    // Bounded by the 1 s timeout of g-05, not its 3 s Prometheus stall.
    expect(round.durationSeconds).toBeLessThan(2.8);
    const byName = Object.fromEntries(round.results.map((r) => [r.name, r.outcome]));
    expect(byName['g-03']!.ok).toBe(false);
    expect(byName['g-03']!.failure).toContain('DynamoGraphDeployment "g-03" not found in namespace "default"');
    expect(byName['g-05']!.failure).toBe('tick timed out after 1s (per-policy timeout); its writes are stopped and its result dropped');
    for (const g of graphs.filter((x) => x.name !== 'g-03' && x.name !== 'g-05')) {
      expect(byName[g.name]!.ok, g.name).toBe(true);
      expect(storedReplicas(api!.get.bind(api), g), g.name).toEqual(decided(round, g.name));
    }
    // The next tick comes while g-05's old one is still waiting on Prometheus: skipped, the others run.
    const second = await service.runOnce();
    expect(second.results.find((r) => r.name === 'g-05')!.outcome.failure).toBe('tick skipped: its previous tick has not returned yet (it timed out earlier)');
    expect(second.results.filter((r) => r.outcome.ok)).toHaveLength(8);
    // Not every policy fails: still ready, and /readyz names the failing ones.
    expect(service.ready()).toEqual({ ok: true, detail: '8 of 10 policies ready; failing: g-03, g-05' });
    // When the stalled tick finally returns, it cannot write: nothing of g-05 was patched after the warm-up round.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(service.status().policies.find((p) => p.name === 'g-05')!.running).toBe(false);
    expect([...writesByTarget(api!.requests.slice(writesBefore)).keys()].filter((k) => ownedBy(graphs[5]!, k))).toEqual([]);
    expect(storedReplicas(api!.get.bind(api), graphs[5]!)).toEqual(g05Before);
  }, 60_000);

  it('the loop keeps its interval, never overlaps ticks, holds one Lease and labels metrics by policy', async () => {
    await fleet(10, (g) => window(g, 1), { interval: '2s' });
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
    ({ service } = await buildPlanner(options({ once: false, leaseDuration: 3, renewDeadline: 2, retryPeriod: 0.5 }), { logger }));
    await service.start();
    const rounds = () => lines.filter((l) => l.event === 'round');
    const deadline = Date.now() + 20_000;
    while (rounds().length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const metrics = await (await fetch(`http://127.0.0.1:${service.port()}/metrics`)).text();
    await service.stop('test done');

    const spans = rounds().map((l) => {
      const end = Date.parse(l.time as string);
      return { start: end - (l.durationSeconds as number) * 1000, end, ticked: l.ticked };
    });
    expect(spans.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < spans.length; i += 1) {
      // Never overlapping, and one interval apart (start to start) while the ticks are short.
      expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end - 2);
      expect(spans[i]!.start - spans[i - 1]!.start).toBeGreaterThan(1950);
    }
    for (const s of spans) expect(s.ticked).toBe(10);
    expect(lines.filter((l) => l.event === 'tick-overrun')).toEqual([]);
    // One Lease for the process, named for the planner rather than for any one policy.
    const leases = new Set(api!.requests.filter((r) => r.resource === 'leases' && r.name).map((r) => r.name));
    expect([...leases]).toEqual(['pd-planner']);
    expect(metrics).toMatch(/^pd_planner_desired_replicas\{policy="g-07",pool="prefill-od",role="prefill",capacity="on-demand"\} \d+$/m);
    expect(metrics).toMatch(/^pd_planner_policy_ready\{policy="g-00"\} 1$/m);
    expect(Number(/^pd_planner_round_duration_seconds_count (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(4);
    expect(metrics).toMatch(/^pd_planner_tick_overruns_total 0$/m);
    expect(metrics).toMatch(/^pd_planner_errors_total\{reason="lease"\} 0$/m);
  }, 60_000);
});

describe('pd-planner run with several --policy flags', () => {
  it('--once ticks each policy, and two policies scaling one graph are refused with exit 2', async () => {
    const graphs = await fleet(2, (g) => window(g, 1));
    const [a, b] = [join(dir!, 'g-00.yaml'), join(dir!, 'g-01.yaml')];
    const ok = await runCli(['run', '--policy', a, '--policy', b, '--once', '--kubeconfig', api!.kubeconfigPath]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const ticks = ok.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event === 'tick');
    expect(ticks.map((t) => t.policy).sort()).toEqual(['g-00', 'g-01']);
    for (const g of graphs) {
      const tick = ticks.find((t) => t.policy === g.name)!;
      expect(storedReplicas(api!.get.bind(api), g)).toEqual(tick.desired);
    }

    const clash = join(dir!, 'clash.yaml');
    writeFileSync(clash, fleetPolicy({ ...graphs[0]!, name: 'g-00' }, { promUrl: prom!.url }).replace('name: g-00 }', 'name: other }'));
    const refused = await runCli(['run', '--policy', a, '--policy', clash, '--once', '--kubeconfig', api!.kubeconfigPath]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${clash}: pool prefill-od scales DynamoGraphDeployment/default/g-00/VllmPrefillWorker, which pool prefill-od of g-00 (${a}) already scales`);
  }, 60_000);
});
