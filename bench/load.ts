/**
 * Load: one planner process managing many graphs, as `pd-planner run --policy DIR` wires it (buildPlanner), against
 * the in-process fake Kubernetes API server (validating against the Dynamo CRDs) and a fake Prometheus answering
 * per model. 50 DynamoGraphDeployments (v1alpha1/v1beta1, with/without scaling adapters), 200 pools (4 per graph:
 * prefill/decode x on-demand DGD component / Spot DCD), `sla` policies, 20 ticks with per-model traffic that moves
 * every tick so graphs scale up and down.
 *
 * Reported: tick (round) duration p50/p95/max and its ratio to the interval, patches and API requests per tick, the
 * watches opened (one per resource type, not per graph), heap/RSS before and after.
 * The fake API server and Prometheus run in the same process and their CPU is included in the tick time, so the
 * figure is pessimistic for the planner alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { buildPlanner } from '../src/service/wiring.js';
import { silentLogger } from '../src/log.js';
import { startFakeKubeApi } from '../test/fixtures/fake-kube-api/index.js';
import { fleetGraphs, graphObjects, perModelAnswers, writeFleetPolicies, type ModelWindow } from '../test/fixtures/fleet.js';
import { startFakePrometheus } from '../test/fixtures/servers.js';

export interface LoadBench {
  graphs: number;
  pools: number;
  ticks: number;
  intervalSeconds: number;
  concurrency: number;
  /** The first tick also lists and starts the informers. */
  firstTickSeconds: number;
  tickSeconds: { p50: number; p95: number; max: number; mean: number };
  /** p95 tick duration / interval (must be << 1), and the worst tick's. */
  p95ToInterval: number;
  maxToInterval: number;
  /** Ticks that took longer than the interval. */
  overruns: number;
  /** Per tick, over the measured ticks (mean and max). */
  patchesPerTick: { mean: number; max: number };
  apiRequestsPerTick: { mean: number; max: number; byVerb: Record<string, number> };
  prometheusQueriesPerTick: number;
  /** Watch requests opened over the whole run, by resource (one per type and namespace; re-watches add to it). */
  watches: Record<string, number>;
  /** Policies that failed a tick (should be 0). */
  failedPolicyTicks: number;
  /**
   * Heap and RSS (MB) after a full GC: before the planner is built, after its first tick, after the last one.
   * The process also holds the fake API server and Prometheus, so read the differences: `planner` = after the first
   * tick minus before (policies, profiles, informer caches, connector), `growth` = last tick minus first tick.
   */
  memoryMB: { heapBefore: number; heapAfterFirstTick: number; heapAfter: number; rssBefore: number; rssAfter: number; plannerHeap: number; heapGrowthOverTicks: number };
}

/** A full GC before reading memory, when the runtime lets us ask for one. */
function collectGarbage(): void {
  try {
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
  } catch {
    // no gc available: the figures include garbage
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/**
 * Traffic of graph i at tick t: a base that grows with i (graphs differ), times a wave of period 8 ticks shifted per
 * graph (+-60%), so every tick some graphs need more replicas and some fewer.
 * Example: graph 0 at tick 2: 600 x (1 + 0.6 sin(pi/2)) = 960 requests per 30 s window.
 */
export function fleetWindow(i: number, t: number, intervalSeconds: number): ModelWindow {
  const base = (600 + 40 * i) * (intervalSeconds / 30);
  const wave = 1 + 0.6 * Math.sin((2 * Math.PI * (t + i)) / 8);
  return { requests: Math.round(base * wave), isl: 2000 + 50 * (i % 10), osl: 150 + 10 * (i % 5), ttftSeconds: 0.4, itlSeconds: 0.03 };
}

export async function benchLoad(options: { graphs?: number; ticks?: number; intervalSeconds?: number; concurrency?: number } = {}): Promise<LoadBench> {
  const count = options.graphs ?? 50;
  const ticks = options.ticks ?? 20;
  const intervalSeconds = options.intervalSeconds ?? 30;
  const concurrency = options.concurrency ?? 8;
  const graphs = fleetGraphs(count);
  const api = await startFakeKubeApi({ objects: graphs.flatMap((g) => graphObjects(g)), operator: { settle: true } });
  let tick = 0;
  const byModel = new Map(graphs.map((g) => [g.model, g.index]));
  const prom = await startFakePrometheus(perModelAnswers((model) => fleetWindow(byModel.get(model) ?? 0, tick, intervalSeconds)));
  const dir = mkdtempSync(join(tmpdir(), 'pd-load-'));
  writeFleetPolicies(dir, graphs, { promUrl: prom.url, interval: `${intervalSeconds}s` });
  collectGarbage();
  const memBefore = process.memoryUsage();
  let memFirst = memBefore;
  const { service } = await buildPlanner(
    { policy: dir, once: true, connector: 'kubernetes', kubeconfig: api.kubeconfigPath, metricsPort: 0, leaseDuration: 15, renewDeadline: 10, retryPeriod: 2, concurrency },
    { logger: silentLogger() },
  );
  try {
    const durations: number[] = [];
    const patches: number[] = [];
    const requests: number[] = [];
    const byVerb: Record<string, number> = {};
    let queries = 0;
    let failed = 0;
    let firstTickSeconds = 0;
    let overruns = 0;
    const watches: Record<string, number> = {};
    for (tick = 0; tick <= ticks; tick += 1) {
      const before = api.requests.length;
      const queriesBefore = prom.received.length;
      const t0 = performance.now();
      const round = await service.runOnce();
      const seconds = (performance.now() - t0) / 1000;
      const made = api.requests.slice(before);
      // The fixtures' own request logs are counted per tick and then dropped, so they do not grow the heap.
      const watchesMade = made.filter((r) => r.query.watch === 'true' || r.query.watch === '1');
      for (const r of watchesMade) watches[r.resource ?? r.path] = (watches[r.resource ?? r.path] ?? 0) + 1;
      api.requests.length = 0;
      const queriesMade = prom.received.length - queriesBefore;
      prom.received.length = 0;
      if (tick === 0) {
        firstTickSeconds = seconds;
        collectGarbage();
        memFirst = process.memoryUsage();
        continue;
      }
      durations.push(seconds);
      if (seconds > intervalSeconds) overruns += 1;
      failed += round.results.filter((r) => !r.outcome.ok).length;
      patches.push(made.filter((r) => r.method === 'PATCH').length);
      const calls = made.filter((r) => r.query.watch !== 'true' && r.query.watch !== '1');
      requests.push(calls.length);
      for (const r of calls) {
        const verb = `${r.method} ${r.resource ?? 'discovery'}${r.subresource ? `/${r.subresource}` : ''}`;
        byVerb[verb] = (byVerb[verb] ?? 0) + 1;
      }
      queries += queriesMade;
    }
    collectGarbage();
    const memAfter = process.memoryUsage();
    const sorted = [...durations].sort((a, b) => a - b);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
    for (const verb of Object.keys(byVerb)) byVerb[verb] = Math.round((byVerb[verb]! / durations.length) * 10) / 10;
    const p95 = quantile(sorted, 0.95);
    const max = sorted.at(-1) ?? NaN;
    return {
      graphs: count,
      pools: count * 4,
      ticks: durations.length,
      intervalSeconds,
      concurrency,
      firstTickSeconds,
      tickSeconds: { p50: quantile(sorted, 0.5), p95, max, mean: mean(durations) },
      p95ToInterval: p95 / intervalSeconds,
      maxToInterval: max / intervalSeconds,
      overruns,
      patchesPerTick: { mean: mean(patches), max: Math.max(...patches) },
      apiRequestsPerTick: { mean: mean(requests), max: Math.max(...requests), byVerb },
      prometheusQueriesPerTick: queries / durations.length,
      watches,
      failedPolicyTicks: failed,
      memoryMB: {
        heapBefore: mb(memBefore.heapUsed),
        heapAfterFirstTick: mb(memFirst.heapUsed),
        heapAfter: mb(memAfter.heapUsed),
        rssBefore: mb(memBefore.rss),
        rssAfter: mb(memAfter.rss),
        plannerHeap: mb(memFirst.heapUsed - memBefore.heapUsed),
        heapGrowthOverTicks: mb(memAfter.heapUsed - memFirst.heapUsed),
      },
    };
  } finally {
    await service.stop('bench done');
    await prom.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// `npx tsx bench/load.ts [graphs] [ticks]`: this section alone, as JSON.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [graphs, ticks] = process.argv.slice(2).map(Number);
  const result = await benchLoad({ ...(graphs ? { graphs } : {}), ...(ticks ? { ticks } : {}) });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
