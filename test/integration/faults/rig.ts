/**
 * A planner service wired exactly as `pd-planner run` wires it (Prometheus source, NATS queue source, Kubernetes
 * target reader, kube-state informers, Kubernetes connector, decide() in a worker thread), but driven tick by tick from the test with a manual
 * clock, against the fake API server and the fake Prometheus. Shared by the fault tests in this folder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile } from '../../../src/config/load.js';
import { createKubernetesConnector, type KubernetesConnector, type KubernetesConnectorOptions } from '../../../src/kubernetes/index.js';
import { createLogger, type Logger } from '../../../src/log.js';
import { DecidePool } from '../../../src/service/decide/pool.js';
import { createPlannerMetrics, type PlannerMetrics } from '../../../src/service/exporter.js';
import { startMetricsServer, type MetricsServer } from '../../../src/service/http-server.js';
import { createKubeState, type KubeState } from '../../../src/kubernetes/informers/kube-state.js';
import { createNatsQueueSource, type NatsQueueSource } from '../../../src/sources/nats-queue.js';
import { createPrometheusSource } from '../../../src/sources/prometheus.js';
import { createClusterMetricSource } from '../../../src/sources/cluster-source.js';
import type { LeaderElector } from '../../../src/service/leader.js';
import { toLoadedPlan, type LoadedPlan } from '../../../src/service/plan.js';
import { createPlannerService, type PlannerService, type PlannerServiceOptions } from '../../fixtures/single-policy-service.js';
import type { TickOutcome } from '../../../src/service/tick-outcome.js';
import { loadProfile } from '../../../src/profiles/load.js';
import type { FakeKubeApi } from '../../fixtures/fake-kube-api/index.js';
import { dynamoAnswers } from '../../fixtures/servers.js';

export const T0 = Date.parse('2026-11-25T10:00:00Z');


export interface ManualClock {
  now(): number;
  advance(seconds: number): void;
}

export function manualClock(start = T0): ManualClock {
  let now = start;
  return { now: () => now, advance: (seconds) => void (now += seconds * 1000) };
}

/** A logger writing parsed JSON lines into an array (and the raw text, for secret checks). */
export function logSink(level = 'debug', onLine?: (line: string) => void): { logger: Logger; lines: Record<string, unknown>[]; raw: () => string; events: () => unknown[] } {
  const text: string[] = [];
  const logger = createLogger({
    level,
    destination: {
      write: (s: string) => {
        text.push(s);
        onLine?.(s);
      },
    },
  });
  return {
    logger,
    get lines() {
      return text.map((s) => JSON.parse(s) as Record<string, unknown>);
    },
    raw: () => text.join(''),
    events: () => text.map((s) => (JSON.parse(s) as { event?: unknown }).event),
  };
}

/** Writes successful (2xx) and failed writes to Dynamo objects as "METHOD name/sub body -> status". */
export function writes(api: FakeKubeApi): string[] {
  return api.requests
    .filter((r) => r.method !== 'GET' && r.group === 'nvidia.com')
    .map((r) => `${r.method} ${r.name}${r.subresource ? `/${r.subresource}` : ''} ${JSON.stringify(r.body)} -> ${r.status}`);
}

/** Only the writes the API server accepted. */
export function acceptedWrites(api: FakeKubeApi): string[] {
  return writes(api).filter((w) => / -> 2\d\d$/.test(w));
}

export interface RigOptions {
  api: FakeKubeApi;
  policyYaml: string;
  clock?: ManualClock;
  leader?: LeaderElector;
  /** Read pods/nodes through informers (Spot signals); default false. */
  kubeState?: boolean;
  /** Read the NATS queue; default true when the policy has sources.queue. */
  queue?: boolean;
  connector?: Partial<KubernetesConnectorOptions>;
  /** Serve /healthz /readyz /metrics on a free port. */
  http?: boolean;
  logLevel?: string;
  /** Lay the policy file out in `dir` and return its path (default: dir/policy.yaml, a plain file). */
  writePolicy?: (dir: string, yaml: string) => string;
  /** Called synchronously with every log line as it is written (to act at an exact point of a tick). */
  onLog?: (line: string) => void;
  service?: Partial<PlannerServiceOptions>;
}

export interface Rig {
  service: PlannerService;
  connector: KubernetesConnector;
  clock: ManualClock;
  metrics: PlannerMetrics;
  log: ReturnType<typeof logSink>;
  policyPath: string;
  dir: string;
  kubeState?: KubeState;
  queue?: NatsQueueSource;
  /** Base URL of /readyz etc. when `http` was asked for. */
  baseUrl?: string;
  /** Advance the clock by one interval (except before the first tick), run `before` (e.g. a Lease renew), then one tick. */
  tick(before?: () => Promise<unknown>): Promise<TickOutcome>;
  /** HTTP status of a probe path. */
  probe(path: '/readyz' | '/healthz'): Promise<number>;
  close(): Promise<void>;
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'pd-fault-'));
  const policyPath = options.writePolicy
    ? options.writePolicy(dir, options.policyYaml)
    : (() => {
        const path = join(dir, 'policy.yaml');
        writeFileSync(path, options.policyYaml);
        return path;
      })();
  const clock = options.clock ?? manualClock();
  const log = logSink(options.logLevel, options.onLog);
  const load = (path: string): LoadedPlan => toLoadedPlan(loadPolicyFile(path), loadProfile);
  const initial = load(policyPath);
  const kubeConfig = options.api.kubeConfig();

  const late: { service?: PlannerService } = {};
  const metrics = createPlannerMetrics({ defaultMetrics: false });
  const connector = createKubernetesConnector({
    kubeConfig,
    namespace: 'default',
    logger: log.logger,
    canAct: () => late.service?.canAct() ?? false,
    callBudget: () => late.service?.callBudget() ?? {},
    sleep: async () => undefined,
    onWriteAbandoned: (abandoned) => metrics.recordWriteAbandoned(abandoned.reason),
    ...options.connector,
  });
  const kubeState = options.kubeState
    ? createKubeState({ kubeConfig, namespace: 'default', spec: initial.spec, logger: log.logger, now: clock.now, resyncSeconds: 0 })
    : undefined;
  if (kubeState) await kubeState.start();
  // As `run` wires them: the reads end when their tick is given up or the service stops.
  const readSignal = () => late.service?.callBudget().signal;
  const queue = (options.queue ?? initial.spec.sources.queue !== undefined) ? createNatsQueueSource({ reconnectTimeWaitMs: 200, signal: readSignal }) : undefined;
  const source = createClusterMetricSource({
    // On the manual clock, so a Retry-After backoff ends when the test's ticks say.
    prometheus: createPrometheusSource({ now: clock.now, signal: readSignal }),
    queue,
    readTargets: (spec, now) => connector.readTargets(spec, now),
    kubeState: kubeState ? (spec, now) => Promise.resolve(kubeState.poolObservations(spec, now)) : undefined,
  });
  const service = createPlannerService(
    {
      policyPath,
      loadPolicy: load,
      source: { ...source, close: async () => void (await queue?.close()) },
      connector,
      logger: log.logger,
      leader: options.leader,
      clock,
      metrics,
      watchPolicy: false,
      shutdownGraceSeconds: 2,
      // decide() in a worker thread, as `pd-planner run` runs it.
      decider: new DecidePool({ log: log.logger }),
      ...options.service,
    },
    initial,
  );
  late.service = service;

  let server: MetricsServer | undefined;
  if (options.http) server = await startMetricsServer({ port: 0, host: '127.0.0.1', metrics, health: service.health, ready: service.ready });
  const baseUrl = server ? `http://127.0.0.1:${server.port}` : undefined;

  let ticked = false;
  return {
    service,
    connector,
    clock,
    metrics,
    log,
    policyPath,
    dir,
    kubeState,
    queue,
    baseUrl,
    async tick(before) {
      if (ticked) clock.advance(service.spec().interval);
      ticked = true;
      await before?.();
      return service.runOnce();
    },
    async probe(path) {
      if (!baseUrl) throw new Error('startRig({ http: true }) serves the probes');
      return (await fetch(`${baseUrl}${path}`)).status;
    },
    async close() {
      await service.stop('test done');
      kubeState?.stop();
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A busy window: 2400 requests/min of ISL 3000 / OSL 150 at the SLO's edge. On the bundled profile the sla policy wants
 * more than the 4 prefill / 3 decode running, so a good tick always writes.
 */
export const BUSY = dynamoAnswers({ requests: 2400, isl: 3000, osl: 150, ttftSeconds: 0.42, itlSeconds: 0.031, durationSeconds: 5.1 });

/** The sla policy on the llama graph's prefill and decode workers (1 GPU, 1-16 replicas), reading Prometheus at `promUrl`. */
export function promPolicy(name: string, promUrl: string, options: { timeout: string; failureThreshold?: number }): string {
  return `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: ${name} }
spec:
  interval: 60s
${options.failureThreshold !== undefined ? `  failureThreshold: ${options.failureThreshold}\n` : ''}  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: sla
  pools:
    - { name: prefill-od, role: prefill, gpusPerReplica: 1, minReplicas: 1, maxReplicas: 16, target: { kind: DynamoGraphDeployment, name: llama, service: VllmPrefillWorker } }
    - { name: decode-od, role: decode, gpusPerReplica: 1, minReplicas: 1, maxReplicas: 16, target: { kind: DynamoGraphDeployment, name: llama, service: VllmDecodeWorker } }
  sources:
    prometheus: { url: ${promUrl}, timeout: ${options.timeout} }
`;
}
