/**
 * The digital twin: a TwinCluster (ClusterSim seen from outside) paced by the wall clock and wired to what the
 * planner reads and writes in a real cluster:
 *
 *   GET /metrics  Dynamo frontend metrics (names, labels, buckets as Dynamo), for the real Prometheus to scrape;
 *   NATS JetStream  one message per request entering the prefill queue, fetched and acked when its prefill starts,
 *                   so the consumer's num_pending is the prefill queue depth;
 *   Kubernetes    every step it reads the DynamoGraphDeployment from the fake API server; a changed component
 *                 `replicas` (the planner's DGDSA /scale patch, copied over by the fake operator) becomes
 *                 ClusterSim.setDesired; the component status (replicas, updated, ready) is written back from the
 *                 model, with the graph's Ready condition as the operator sets it: True when no component is still
 *                 becoming ready (the simulator's own observation says the same, src/sim/cluster/observation.ts).
 *
 * Time: virtual seconds = (wall ms - t0) / 1000 x pace. The trace is compressed beforehand (readTrace speedup S),
 * so pace stays 1 and a 180 s planner interval of the original trace is a 3 s interval here at S = 60. Steps run
 * every `stepMs` of wall time; a late timer (a loaded machine) only makes the next step cover more virtual time:
 * virtual time never drifts from the wall clock, and nothing is skipped (TwinCluster slices it finely anyway).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { AckPolicy, jetstream, jetstreamManager, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import type { ClusterOptions, ClusterTotals } from '../../../src/sim/cluster/index.js';
import type { Trace } from '../../../src/sim/types.js';
import type { FakeKubeApi, KubeObject } from '../../fixtures/fake-kube-api/index.js';
import { TwinCluster, type PoolState, type TwinConsistency } from './twin-cluster.js';

export interface TwinQueueOptions {
  /** nats://host:port of a nats-server with JetStream. */
  url: string;
  stream: string;
  consumer: string;
  subject: string;
}

export interface TwinKubeOptions {
  api: FakeKubeApi;
  namespace: string;
  /** DynamoGraphDeployment name. */
  graph: string;
  /** Pool name -> component name in the graph. */
  components: Record<string, string>;
}

export interface DigitalTwinOptions {
  trace: Trace;
  cluster: ClusterOptions;
  model: string;
  queue: TwinQueueOptions;
  kube: TwinKubeOptions;
  /** Virtual seconds per wall second (default 1). */
  pace?: number;
  /** Wall ms between steps (default 50). */
  stepMs?: number;
  /** Stop advancing at this virtual time (default: the trace's end + 60 s). */
  endSeconds?: number;
}

/** What the twin did, sampled every step. */
export interface TimelinePoint {
  /** Virtual seconds. */
  t: number;
  queueDepth: number;
  /** Messages the consumer had not been delivered yet, as last synced to NATS. */
  natsPending: number;
  pools: Record<string, PoolState>;
}

/** The consumer's backlog (published - delivered) as the twin knew it at a wall time (epoch ms). */
export interface QueueRecord {
  wall: number;
  pending: number;
}

export interface AppliedChange {
  t: number;
  pool: string;
  from: number;
  to: number;
}

export interface TwinResult {
  totals: ClusterTotals;
  timeline: TimelinePoint[];
  applied: AppliedChange[];
  consistency: TwinConsistency;
  published: number;
  delivered: number;
  /** Backlog before and after every publish batch and fetch: what nats-server could report at any moment lies between neighbours. */
  queueHistory: QueueRecord[];
  /** Virtual time reached when stopped. */
  endSeconds: number;
  metricsTotals: ReturnType<TwinCluster['metrics']['totals']>;
  /** Per request, as exported: first-token and completion times (virtual s), TTFT and ITL (ms); NaN when not seen. */
  requests: Pick<TwinCluster, 'firstTokenAt' | 'doneAt' | 'ttftMs' | 'itlMs'>;
}

export interface DigitalTwin {
  /** host:port of /metrics, for a scrape config. */
  target: string;
  /** Start the virtual clock at wall time t0 (epoch ms; may be in the future). */
  start(t0: number): void;
  /** Virtual seconds now (negative before t0). */
  virtualNow(): number;
  core: TwinCluster;
  /** Stop stepping, drain the model, close HTTP and NATS; the result of the run. */
  stop(): Promise<TwinResult>;
}

interface GraphComponentSpec {
  name: string;
  replicas?: number;
}

export async function startDigitalTwin(options: DigitalTwinOptions): Promise<DigitalTwin> {
  const pace = options.pace ?? 1;
  const stepMs = options.stepMs ?? 50;
  const end = options.endSeconds ?? options.trace.durationSeconds + 60;
  const core = new TwinCluster({ trace: options.trace, cluster: options.cluster, model: options.model });
  const { api, namespace, graph } = options.kube;

  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/metrics')) res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(core.metrics.render());
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  // --- NATS: the stream and a durable pull consumer standing for the prefill workers.
  const nc: NatsConnection = await connect({ servers: options.queue.url, name: 'digital-twin' });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: options.queue.stream, subjects: [options.queue.subject], storage: StorageType.Memory });
  await jsm.consumers.add(options.queue.stream, { durable_name: options.queue.consumer, ack_policy: AckPolicy.Explicit });
  const js: JetStreamClient = jetstream(nc);
  const consumer = await js.consumers.get(options.queue.stream, options.queue.consumer);
  let published = 0;
  let delivered = 0;
  let natsError: Error | undefined;
  const queueHistory: QueueRecord[] = [];
  const record = () => {
    const pending = published - delivered;
    if (queueHistory.at(-1)?.pending !== pending) queueHistory.push({ wall: Date.now(), pending });
  };

  let t0: number | undefined;
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  const timeline: TimelinePoint[] = [];
  const applied: AppliedChange[] = [];
  let lastStatus = '';

  const virtualNow = () => (t0 === undefined ? Number.NEGATIVE_INFINITY : ((Date.now() - t0) / 1000) * pace);

  /** Planner's patches in: component replicas -> setDesired. */
  const readDesired = () => {
    const dgd = api.get('nvidia.com/v1beta1', 'DynamoGraphDeployment', namespace, graph);
    const components = (dgd?.spec?.components ?? []) as GraphComponentSpec[];
    const pools = core.poolState();
    for (const [pool, component] of Object.entries(options.kube.components)) {
      const replicas = components.find((c) => c.name === component)?.replicas;
      const current = pools[pool]?.desired;
      if (replicas === undefined || current === undefined || replicas === current) continue;
      core.setDesired(pool, replicas);
      applied.push({ t: core.time, pool, from: current, to: replicas });
    }
  };

  /** The model's replicas out: status counts of each component and the graph's Ready condition, as the operator reports them. */
  const writeStatus = () => {
    const pools = core.poolState();
    const behind: string[] = [];
    const counts = Object.fromEntries(
      Object.entries(options.kube.components).map(([pool, component]) => {
        const p = pools[pool] ?? { desired: 0, ready: 0, starting: 0 };
        if (p.ready < p.desired) behind.push(`${component}: ${p.ready}/${p.desired} ready`);
        return [component, { replicas: p.desired, updatedReplicas: p.ready + p.starting, readyReplicas: p.ready, availableReplicas: p.ready }];
      }),
    );
    const text = JSON.stringify(counts);
    if (text === lastStatus) return;
    const dgd = api.get('nvidia.com/v1beta1', 'DynamoGraphDeployment', namespace, graph);
    if (!dgd) return;
    const next = structuredClone(dgd) as KubeObject & { status?: { components?: Record<string, object>; conditions?: object[]; state?: string } };
    next.status ??= {};
    next.status.components ??= {};
    for (const [component, c] of Object.entries(counts)) {
      next.status.components[component] = { componentKind: 'Deployment', componentNames: [component.toLowerCase()], ...next.status.components[component], ...c };
    }
    const ready = behind.length === 0;
    next.status.state = ready ? 'successful' : 'pending';
    next.status.conditions = [
      ready
        ? { type: 'Ready', status: 'True', reason: 'all_resources_are_ready', message: 'All resources are ready', lastTransitionTime: new Date().toISOString() }
        : { type: 'Ready', status: 'False', reason: 'some_resources_are_not_ready', message: behind.join(', '), lastTransitionTime: new Date().toISOString() },
    ];
    api.put(next);
    lastStatus = text;
  };

  const step = () => {
    if (!running || t0 === undefined) return;
    const v = Math.min(end, virtualNow());
    if (v <= core.time) return;
    core.metrics.expose();
    core.advanceTo(v);
    readDesired();
    writeStatus();
    timeline.push({ t: core.time, queueDepth: core.queueDepth, natsPending: published - delivered, pools: core.poolState() });
  };

  /**
   * Keeps the stream in line with the model: every arrival published once; arrivals that left the prefill queue
   * (arrived - queueDepth) fetched and acked, oldest first (the queue is FCFS). So num_pending = queue depth.
   */
  const syncQueue = async () => {
    while (running) {
      try {
        const arrived = core.arrived;
        if (arrived > published) {
          const batch: Promise<unknown>[] = [];
          for (let i = published; i < arrived; i++) batch.push(js.publish(options.queue.subject, `request ${i}`));
          // While the batch is in flight the server's backlog is somewhere between before and after.
          queueHistory.push({ wall: Date.now(), pending: published - delivered });
          await Promise.all(batch);
          published = arrived;
          queueHistory.push({ wall: Date.now(), pending: published - delivered });
        }
        const want = Math.min(published, core.arrived - core.queueDepth) - delivered;
        if (want > 0) {
          record();
          const messages = await consumer.fetch({ max_messages: want, expires: 1000 });
          for await (const m of messages) {
            m.ack();
            delivered += 1;
          }
          queueHistory.push({ wall: Date.now(), pending: published - delivered });
        }
      } catch (error) {
        natsError ??= error as Error;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const queueLoop = syncQueue();

  return {
    target: `127.0.0.1:${port}`,
    core,
    virtualNow,
    start(at) {
      t0 = at;
      timer = setInterval(step, stepMs);
    },
    async stop() {
      step();
      running = false;
      if (timer) clearInterval(timer);
      await queueLoop;
      await nc.drain().catch(() => undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (natsError) throw new Error(`digital twin: NATS sync failed: ${natsError.message}`);
      const endSeconds = core.time;
      return {
        totals: core.finish(),
        timeline,
        applied,
        consistency: core.consistency,
        published,
        delivered,
        queueHistory,
        endSeconds,
        metricsTotals: core.metrics.totals(),
        requests: { firstTokenAt: core.firstTokenAt, doneAt: core.doneAt, ttftMs: core.ttftMs, itlMs: core.itlMs },
      };
    },
  };
}
