/**
 * One end-to-end run: real nats-server, real prometheus, the fake Kubernetes API server, the digital twin and the
 * real `pd-planner run` process, side by side with the in-process simulate() of the same trace and policy.
 *
 *   twin /metrics --scrape 250ms--> prometheus --PromQL--> pd-planner run --PATCH DGDSA /scale--> fake API server
 *   twin prefill queue --JetStream--> nats-server --num_pending-->  "                                    |
 *   twin <--------------------------- reads the graph's component replicas, writes their status ----------+
 *
 * Alignment: the planner is started first and ticks every interval from its first tick W0. The twin's clock is
 * started at t0 = W0 + m x interval, a future tick of the planner, so the planner ticks at virtual 0, I, 2I, ...
 * exactly where simulate() ticks. Before t0 the twin's /metrics has no Dynamo series, so those ticks (and the
 * one at t0 itself: Prometheus has at most one sample by then and increase() needs two) find an empty result
 * and hold the warm-start replicas, as the in-process run starts from them.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePolicyText } from '../../../src/config/load.js';
import { loadProfile } from '../../../src/profiles/load.js';
import { simulate } from '../../../src/sim/run.js';
import type { RunResult, Trace } from '../../../src/sim/types.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../fixtures/fake-kube-api/index.js';
import { dgdV1beta1, dgdsa, stable } from '../../fixtures/fake-kube-api/objects.js';
import { startNatsServer, startPrometheus, type NatsServerHandle, type PrometheusHandle } from '../../fixtures/servers.js';
import { compareDecisions, comparisonTable, median, observationAccuracy, type Comparison, type ObservationAccuracy, type ServiceTick } from './compare.js';
import { startPlanner, type PlannerProcess } from './planner-process.js';
import { COMPONENTS, GRAPH, INTERVAL_SECONDS, MODEL, NAMESPACE, QUEUE, SCRAPE_INTERVAL, SEED, policyYaml, scenarioStart, scenarioTrace } from './scenario.js';
import { startDigitalTwin, type DigitalTwin, type TwinResult } from './twin.js';
import { e2eYardsticks, type E2eYardsticks } from './yardsticks.js';

export interface E2eRun {
  trace: Trace;
  warm: Record<string, number>;
  reference: RunResult;
  /** The fluid bound and the hindsight schedule's GPU-hours for this trace, start and SLO. */
  yardsticks: E2eYardsticks;
  twin: TwinResult;
  ticks: ServiceTick[];
  t0: number;
  comparison: Comparison;
  /** What the service read from Prometheus and NATS against the twin's truth for the same windows. */
  accuracy: ObservationAccuracy;
  plannerExitCode: number | null;
  plannerOutput: string;
  table: string;
  wallSeconds: number;
  /** A plain-text summary with the tick-by-tick table. */
  report: string;
  /** Where report.txt and report.json were written (PD_E2E_REPORT_DIR), if asked for. */
  reportDir?: string;
}

export async function runDigitalTwinE2e(log: (line: string) => void = () => undefined): Promise<E2eRun> {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'pd-e2e-twin-'));
  let api: FakeKubeApi | undefined;
  let nats: NatsServerHandle | undefined;
  let prometheus: PrometheusHandle | undefined;
  let twin: DigitalTwin | undefined;
  let planner: PlannerProcess | undefined;
  try {
    const trace = await scenarioTrace();
    // The policy as simulate() sees it (sources do not matter to the simulator).
    const offline = parsePolicyText(policyYaml({ prometheus: 'http://127.0.0.1:1', nats: 'nats://127.0.0.1:1' }), join(dir, 'policy.yaml'), dir);
    const spec = offline.spec;
    const profile = offline.profile ?? loadProfile(spec.profile, dir);
    const warm = scenarioStart(spec, profile, trace);
    const reference = (await simulate({ spec, profile, trace, baselines: [], seed: SEED, start: warm })).runs[0] as RunResult;
    const yardsticks = await e2eYardsticks(spec, profile, trace, SEED, warm);
    log(`trace: ${trace.arrival.length} requests over ${trace.durationSeconds.toFixed(1)} s; warm start ${JSON.stringify(warm)}`);

    const graph = dgdV1beta1({
      name: GRAPH,
      namespace: NAMESPACE,
      components: [
        { name: 'Frontend', type: 'frontend', replicas: 1, status: stable(1) },
        { name: COMPONENTS.prefill, type: 'prefill', replicas: warm.prefill, status: stable(warm.prefill as number) },
        { name: COMPONENTS.decode, type: 'decode', replicas: warm.decode, status: stable(warm.decode as number) },
      ],
    });
    [api, nats] = await Promise.all([
      startFakeKubeApi({
        objects: [graph, dgdsa('v1beta1', GRAPH, COMPONENTS.prefill, warm.prefill as number, NAMESPACE), dgdsa('v1beta1', GRAPH, COMPONENTS.decode, warm.decode as number, NAMESPACE)],
      }),
      startNatsServer(),
    ]);
    twin = await startDigitalTwin({
      trace,
      model: MODEL,
      cluster: {
        profile,
        pools: spec.pools,
        initialReplicas: warm,
        slo: spec.slo,
        seed: SEED,
        spot: { evictionRatePerHour: spec.spot.evictionRatePerHour, noticeSeconds: spec.spot.noticeSeconds },
      },
      queue: { url: nats.url, ...QUEUE },
      kube: { api, namespace: NAMESPACE, graph: GRAPH, components: { prefill: COMPONENTS.prefill, decode: COMPONENTS.decode } },
    });
    prometheus = await startPrometheus([twin.target], SCRAPE_INTERVAL);
    const policyPath = join(dir, 'policy.yaml');
    await writeFile(policyPath, policyYaml({ prometheus: prometheus.url, nats: nats.url }));

    planner = startPlanner(['--policy', policyPath, '--kubeconfig', api.kubeconfigPath, '--metrics-port', '0', '--log-level', 'info']);
    const first = await planner.waitForTick(0, 60_000);
    const intervalMs = INTERVAL_SECONDS * 1000;
    const m = Math.max(1, Math.ceil((Date.now() + 300 - first.wall) / intervalMs));
    const t0 = first.wall + m * intervalMs;
    twin.start(t0);
    log(`planner's first tick at ${new Date(first.wall).toISOString()}; twin clock starts at ${new Date(t0).toISOString()} (${m} intervals later)`);

    const lastFull = Math.floor(trace.durationSeconds / INTERVAL_SECONDS) * INTERVAL_SECONDS;
    await planner.waitForTick(t0 + (lastFull - INTERVAL_SECONDS / 3) * 1000, (lastFull + 30) * 1000 + Math.max(0, t0 - Date.now()));
    const plannerExitCode = await planner.stop();
    const twinResult = await twin.stop();
    twin = undefined;

    const ticks = planner.ticks.slice();
    const comparison = compareDecisions(reference.intervals, ticks, t0, INTERVAL_SECONDS, trace.durationSeconds, twinResult.timeline);
    const table = comparisonTable(comparison, ['prefill', 'decode']);
    const accuracy = observationAccuracy(comparison, ticks, INTERVAL_SECONDS, { trace, ...twinResult.requests, queueHistory: twinResult.queueHistory });
    const wallSeconds = (Date.now() - started) / 1000;
    const reportDir = process.env.PD_E2E_REPORT_DIR;
    const run: E2eRun = {
      trace,
      warm,
      reference,
      yardsticks,
      twin: twinResult,
      ticks,
      t0,
      comparison,
      accuracy,
      plannerExitCode,
      plannerOutput: planner.output(),
      table,
      wallSeconds,
      report: '',
      ...(reportDir ? { reportDir } : {}),
    };
    run.report = reportText(run);
    if (reportDir) await writeReport(run, reportDir);
    return run;
  } finally {
    await planner?.stop().catch(() => undefined);
    await twin?.stop().catch(() => undefined);
    await prometheus?.close().catch(() => undefined);
    await nats?.close().catch(() => undefined);
    await api?.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

function reportText(run: E2eRun): string {
  const { comparison, twin, reference } = run;
  return [
    `pd-planner end-to-end digital twin run (${run.wallSeconds.toFixed(1)} s wall)`,
    `decisions matched: ${comparison.matched.length}/${comparison.simTicks}; close (max(1, 20%)) / near (max(2, 25%)) / exact: ${Object.entries(comparison.pools)
      .map(([p, s]) => `${p} ${pct0(s.within)} / ${pct0(s.withinNear)} / ${pct0(s.exact)}, mean |diff| ${s.meanAbsDiff.toFixed(2)}`)
      .join('; ')}`,
    `SLO attainment (TTFT / ITL): service ${pct(twin.totals.attainment.ttft)} / ${pct(twin.totals.attainment.itl)}, in-process ${pct(reference.sloAttainment.ttft)} / ${pct(reference.sloAttainment.itl)}`,
    `GPUs decided over the matched ticks: service ${decidedGpus(comparison, 'service')}, in-process ${decidedGpus(comparison, 'sim')}; GPU-hours with the drain: service ${twin.totals.gpuHours.total.toFixed(3)}, in-process ${reference.gpuHours.total.toFixed(3)}, hindsight ${run.yardsticks.hindsightGpuHours.toFixed(3)} (service ${(twin.totals.gpuHours.total / run.yardsticks.hindsightGpuHours).toFixed(2)}x), fluid bound ${run.yardsticks.boundGpuHours.toFixed(3)}`,
    `service's window vs truth, median relative error: ${Object.entries(run.accuracy.relativeErrors)
      .map(([k, v]) => `${k} ${(median(v) * 100).toFixed(1)}%`)
      .join(', ')}`,
    `p95 TTFT in the exact p95's bucket on ${run.accuracy.ttftP95BucketGap.filter((g) => g === 0).length}/${run.accuracy.ttftP95BucketGap.length} ticks, within one bucket on ${run.accuracy.ttftP95BucketGap.filter((g) => g <= 1).length}; queue depth a backlog the twin's stream held during the tick on ${run.accuracy.queueWithinRange}/${run.accuracy.queueTicks} ticks`,
    '',
    comparison.matched.length ? run.table : '(no matched ticks)',
    '',
  ].join('\n');
}

async function writeReport(run: E2eRun, reportDir: string): Promise<void> {
  const { comparison, twin, reference } = run;
  const summary = {
    wallSeconds: run.wallSeconds,
    requests: run.trace.arrival.length,
    warmStart: run.warm,
    coverage: comparison.coverage,
    pools: comparison.pools,
    attainment: { service: twin.totals.attainment, inProcess: reference.sloAttainment },
    gpuHours: { service: twin.totals.gpuHours.total, inProcess: reference.gpuHours.total, hindsight: run.yardsticks.hindsightGpuHours, bound: run.yardsticks.boundGpuHours },
    twinConsistency: twin.consistency,
    accuracy: Object.fromEntries(Object.entries(run.accuracy.relativeErrors).map(([k, v]) => [k, { median: median(v), max: Math.max(...v) }])),
    queueWithinRange: `${run.accuracy.queueWithinRange}/${run.accuracy.queueTicks}`,
    nats: { published: twin.published, delivered: twin.delivered },
    plannerExitCode: run.plannerExitCode,
  };
  await mkdir(reportDir, { recursive: true });
  await writeFile(join(reportDir, 'report.txt'), run.report);
  await writeFile(join(reportDir, 'report.json'), JSON.stringify({ summary, matched: comparison.matched, applied: twin.applied, ticks: run.ticks }, null, 2));
}

/** Sum over matched ticks of the GPUs each side decided (4 per replica in this scenario). */
function decidedGpus(c: Comparison, side: 'service' | 'sim'): number {
  return c.matched.reduce((sum, m) => sum + 4 * Object.values(m[side]).reduce((a, b) => a + b, 0), 0);
}

function pct0(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
