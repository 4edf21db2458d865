/**
 * Cluster state for the Spot rules, per pool: Pending / unschedulable pods, pods evicted, and pods on nodes under an
 * eviction notice. Kept current by list+watch informers (client-node ListWatch), not by polling:
 *   pods, DynamoGraphDeployments, DynamoComponentDeployments in every target namespace; nodes cluster-wide.
 * A watch that ends is resumed from its last resourceVersion (a 410 makes client-node re-list); an informer that
 * errors is rebuilt (one re-list) after a backoff of 1, 2, 4 ... 30 s; every `resyncSeconds` (default 600) each
 * informer is rebuilt once, so a missed event cannot stay wrong for longer than that.
 *
 * Which pods belong to a pool:
 * - DynamoGraphDeployment target: labels `nvidia.com/dynamo-graph-deployment-name=<graph>` and
 *   `nvidia.com/dynamo-component=<component>`; the component is `target.service`, or resolved by type from the
 *   cached graph exactly as the connector does (graph.ts).
 * - DynamoComponentDeployment target: the DCD's `status.podSelector` (v1alpha1) when present; otherwise
 *   `nvidia.com/dynamo-component=<spec.name | spec.serviceName | metadata.name>`, plus the graph label when the DCD
 *   carries one.
 *
 * What counts (documented choices):
 * - pending: pods in phase Pending, not being deleted. pendingSeconds: age of the oldest, from its
 *   PodScheduled=False transition when present, else its creationTimestamp.
 * - evicted (since the previous poolObservations call): a pod that turned Failed with reason `Evicted`, got a
 *   `DisruptionTarget=True` condition, or was deleted while its node was gone or under an eviction notice
 *   (lost with its Spot node). Each pod counts once.
 * - evictionNotices (since the previous call): a pod whose node shows a notice: taint `ToBeDeletedByClusterAutoscaler`
 *   or `DeletionCandidateOfClusterAutoscaler`, `node.kubernetes.io/unschedulable` / `spec.unschedulable` (cordon,
 *   drain), `node.kubernetes.io/out-of-service`, or the node being deleted. Each pod counts once per notice, and
 *   not at all when it was also evicted since the previous call (it is then one of `evicted`).
 *   `kubernetes.azure.com/scalesetpriority=spot:NoSchedule` only marks a node as Spot (reported in `spotNodes`); it is
 *   not a notice by itself.
 * Without the nodes ClusterRole (403 on nodes) the node-based signals are off and that is reported by `health()`.
 */
import * as k8s from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import type { PolicySpec, PoolSpec } from '../config/schema.js';
import type { PoolObservation } from '../planner/types.js';
import { createKubeClient } from './client.js';
import { componentDeploymentReplicas, replicaStatus, resolveComponent, type DynamoVersion, type KubeObject, type ReplicaCounts } from './graph.js';

export const GRAPH_LABEL = 'nvidia.com/dynamo-graph-deployment-name';
export const COMPONENT_LABEL = 'nvidia.com/dynamo-component';
export const SPOT_TAINT = { key: 'kubernetes.azure.com/scalesetpriority', value: 'spot', effect: 'NoSchedule' } as const;
/** Taints that announce a node is going away or being drained. */
export const NOTICE_TAINTS = ['ToBeDeletedByClusterAutoscaler', 'DeletionCandidateOfClusterAutoscaler', 'node.kubernetes.io/unschedulable', 'node.kubernetes.io/out-of-service'];

export interface KubeStateOptions {
  kubeConfig: k8s.KubeConfig;
  /** The planner's namespace: the default for targets without one. */
  namespace: string;
  /** Pools to watch at start; namespaces of later specs are added on first use. */
  spec: PolicySpec;
  logger?: Logger;
  /** Epoch ms (injectable for tests). */
  now?: () => number;
  /** Watch nodes (needs the ClusterRole; default true). */
  watchNodes?: boolean;
  /** Rebuild every informer this often (default 600 s); 0 = never. */
  resyncSeconds?: number;
  /** Force the nvidia.com version instead of discovering it. */
  version?: DynamoVersion;
}

export interface KubeStateHealth {
  /** Every informer has listed at least once. */
  synced: boolean;
  /** Informer -> last error (cleared when it recovers). */
  errors: Record<string, string>;
  /** Node-based signals are available. */
  nodes: boolean;
}

export interface KubeState {
  start(): Promise<void>;
  stop(): void;
  poolObservations(spec: PolicySpec, now: number): Record<string, PoolObservation>;
  /**
   * Spec and ready replicas of each pool's target from the informer caches, without an API call (the connector's
   * readTargets shape: `{ desired, ready }`). Pools whose object is not in a synced cache, or whose component cannot
   * be resolved, are in `missing` (read them from the API server, which also gives the error message).
   */
  targets(spec: PolicySpec): { pools: Record<string, PoolObservation>; missing: string[] };
  health(): KubeStateHealth;
  /** Names of nodes carrying the Spot taint or label (for logs and the explanation). */
  spotNodes(): string[];
}

type Pod = k8s.V1Pod;
type Node = k8s.V1Node;

interface Watched<T extends k8s.KubernetesObject> {
  name: string;
  informer?: k8s.Informer<T> & k8s.ObjectCache<T>;
  build: () => k8s.Informer<T> & k8s.ObjectCache<T>;
  synced: boolean;
  failures: number;
  timer?: NodeJS.Timeout;
}

function hasNotice(node: Node | undefined): boolean {
  if (!node) return false;
  if (node.spec?.unschedulable) return true;
  if (node.metadata?.deletionTimestamp) return true;
  return (node.spec?.taints ?? []).some((t) => NOTICE_TAINTS.includes(t.key));
}

function isSpotNode(node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  return labels[SPOT_TAINT.key] === SPOT_TAINT.value || (node.spec?.taints ?? []).some((t) => t.key === SPOT_TAINT.key && t.value === SPOT_TAINT.value);
}

function isEvicted(pod: Pod): boolean {
  if (pod.status?.reason === 'Evicted') return true;
  return (pod.status?.conditions ?? []).some((c) => c.type === 'DisruptionTarget' && c.status === 'True');
}

function timeOf(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') {
    const t = Date.parse(value);
    return Number.isFinite(t) ? t : undefined;
  }
  return undefined;
}

function pendingSince(pod: Pod): number | undefined {
  const unscheduled = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled' && c.status === 'False');
  return timeOf(unscheduled?.lastTransitionTime) ?? timeOf(pod.metadata?.creationTimestamp);
}

function matches(labels: Record<string, string> | undefined, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

export function createKubeState(options: KubeStateOptions): KubeState {
  const log = options.logger ?? pino({ enabled: false });
  const clock = options.now ?? Date.now;
  const kc = options.kubeConfig;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const resyncMs = (options.resyncSeconds ?? 600) * 1000;
  const watchNodes = options.watchNodes ?? true;

  const watched: Watched<k8s.KubernetesObject>[] = [];
  const podsByNs = new Map<string, Watched<Pod>>();
  const graphsByNs = new Map<string, Watched<KubeObject & k8s.KubernetesObject>>();
  const dcdsByNs = new Map<string, Watched<KubeObject & k8s.KubernetesObject>>();
  let nodes: Watched<Node> | undefined;
  let nodesAvailable = watchNodes;
  const errors: Record<string, string> = {};
  let version: DynamoVersion | undefined = options.version;
  let running = false;
  let resyncTimer: NodeJS.Timeout | undefined;

  /**
   * Eviction and notice events: pod uid -> when first seen (ms) and a sequence number, with the pod as it was.
   * A pool reports the events numbered after its previous report. Numbers, not times: an event noted in the same
   * millisecond as the previous report (or with a clock that does not move, as in tests and the simulator) would
   * otherwise fall between two reports and never be counted.
   */
  interface PodEvent {
    at: number;
    seq: number;
    pod: Pod;
  }
  const evictions = new Map<string, PodEvent>();
  const notices = new Map<string, PodEvent>();
  let seq = 0;
  const event = (pod: Pod): PodEvent => ({ at: clock(), seq: ++seq, pod });
  /** Per pool: the `now` and the last event number of the previous poolObservations call. */
  const lastReport = new Map<string, { now: number; seq: number }>();

  function nodeOf(pod: Pod): Node | undefined {
    const name = pod.spec?.nodeName;
    return name ? nodes?.informer?.get(name) : undefined;
  }

  function notePod(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    if (isEvicted(pod) && !evictions.has(uid)) evictions.set(uid, event(pod));
    if (!notices.has(uid) && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed' && hasNotice(nodeOf(pod))) notices.set(uid, event(pod));
  }

  function onPodDeleted(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid || evictions.has(uid)) return;
    const nodeName = pod.spec?.nodeName;
    if (!nodeName || !nodesAvailable) return;
    const node = nodes?.informer?.get(nodeName);
    if (!node || hasNotice(node)) evictions.set(uid, event(pod));
  }

  function onNodeChanged(node: Node): void {
    if (!hasNotice(node)) return;
    for (const w of podsByNs.values()) {
      for (const pod of w.informer?.list() ?? []) if (pod.spec?.nodeName === node.metadata?.name) notePod(pod);
    }
  }

  function schedule<T extends k8s.KubernetesObject>(w: Watched<T>): void {
    if (!running) return;
    w.failures += 1;
    const delay = Math.min(30_000, 1000 * 2 ** (w.failures - 1));
    clearTimeout(w.timer);
    w.timer = setTimeout(() => void rebuild(w), delay);
    w.timer.unref?.();
  }

  async function rebuild<T extends k8s.KubernetesObject>(w: Watched<T>): Promise<void> {
    if (!running) return;
    const old = w.informer;
    const informer = w.build();
    let failed = false;
    informer.on('error', (err: unknown) => {
      failed = true;
      const message = err instanceof Error ? err.message : String((err as { body?: unknown })?.body ?? err);
      errors[w.name] = message;
      const status = (err as { code?: number; statusCode?: number })?.code ?? (err as { statusCode?: number })?.statusCode;
      if (w.name === 'nodes' && status === 403) {
        nodesAvailable = false;
        log.warn({ err: message }, 'no permission to watch nodes: node-based eviction signals are off (apply the ClusterRole in deploy/)');
        return;
      }
      log.warn({ informer: w.name, err: message }, 'informer failed; rebuilding after backoff');
      schedule(w);
    });
    informer.on('connect', () => undefined);
    w.informer = informer;
    try {
      // ListWatch.start() resolves even when its list failed (it reports that through 'error').
      await informer.start();
      if (!failed) {
        w.synced = true;
        w.failures = 0;
        delete errors[w.name];
      }
    } catch (error) {
      errors[w.name] = error instanceof Error ? error.message : String(error);
      schedule(w);
    }
    if (old && old !== informer) await old.stop();
  }

  function add<T extends k8s.KubernetesObject>(name: string, build: () => k8s.Informer<T> & k8s.ObjectCache<T>): Watched<T> {
    const w: Watched<T> = { name, build, synced: false, failures: 0 };
    watched.push(w as unknown as Watched<k8s.KubernetesObject>);
    return w;
  }

  function listCustom(plural: string, ns: string) {
    return async () =>
      (await custom.listNamespacedCustomObject({ group: 'nvidia.com', version: version as string, namespace: ns, plural })) as k8s.KubernetesListObject<KubeObject & k8s.KubernetesObject>;
  }

  function ensureNamespace(ns: string): Watched<k8s.KubernetesObject>[] {
    const created: Watched<k8s.KubernetesObject>[] = [];
    if (!podsByNs.has(ns)) {
      const w = add<Pod>(`pods/${ns}`, () => {
        const informer = k8s.makeInformer<Pod>(kc, `/api/v1/namespaces/${ns}/pods`, () => core.listNamespacedPod({ namespace: ns }));
        informer.on('add', notePod);
        informer.on('update', notePod);
        informer.on('delete', onPodDeleted);
        return informer;
      });
      podsByNs.set(ns, w);
      created.push(w as unknown as Watched<k8s.KubernetesObject>);
    }
    if (!graphsByNs.has(ns)) {
      const w = add(`dynamographdeployments/${ns}`, () =>
        k8s.makeInformer<KubeObject & k8s.KubernetesObject>(kc, `/apis/nvidia.com/${version}/namespaces/${ns}/dynamographdeployments`, listCustom('dynamographdeployments', ns)),
      );
      graphsByNs.set(ns, w);
      created.push(w as unknown as Watched<k8s.KubernetesObject>);
    }
    if (!dcdsByNs.has(ns)) {
      const w = add(`dynamocomponentdeployments/${ns}`, () =>
        k8s.makeInformer<KubeObject & k8s.KubernetesObject>(kc, `/apis/nvidia.com/${version}/namespaces/${ns}/dynamocomponentdeployments`, listCustom('dynamocomponentdeployments', ns)),
      );
      dcdsByNs.set(ns, w);
      created.push(w as unknown as Watched<k8s.KubernetesObject>);
    }
    return created;
  }

  function namespacesOf(spec: PolicySpec): string[] {
    return [...new Set(spec.pools.filter((p) => p.target).map((p) => p.target?.namespace ?? options.namespace))];
  }

  /** The label selector of a pool's pods, or why it is unknown. */
  function selectorOf(pool: PoolSpec): Record<string, string> | string {
    const target = pool.target;
    if (!target) return 'no target';
    const ns = target.namespace ?? options.namespace;
    if (target.kind === 'DynamoGraphDeployment') {
      if (target.service) return { [GRAPH_LABEL]: target.name, [COMPONENT_LABEL]: target.service };
      const dgd = graphsByNs.get(ns)?.informer?.get(target.name, ns) as KubeObject | undefined;
      if (!dgd) return `DynamoGraphDeployment ${ns}/${target.name} not (yet) seen`;
      try {
        return { [GRAPH_LABEL]: target.name, [COMPONENT_LABEL]: resolveComponent(dgd, pool.role).name };
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    }
    const dcd = dcdsByNs.get(ns)?.informer?.get(target.name, ns) as KubeObject | undefined;
    const podSelector = (dcd?.status as { podSelector?: Record<string, string> } | undefined)?.podSelector;
    if (podSelector && Object.keys(podSelector).length > 0) return podSelector;
    const spec = (dcd?.spec ?? {}) as { name?: string; serviceName?: string };
    const component = spec.name ?? spec.serviceName ?? target.name;
    const graph = dcd?.metadata?.labels?.[GRAPH_LABEL];
    return { [COMPONENT_LABEL]: component, ...(graph ? { [GRAPH_LABEL]: graph } : {}) };
  }

  const state: KubeState = {
    async start() {
      running = true;
      if (!version) {
        const versions = await createKubeClient(kc, { timeoutMs: 10_000 }).discoverVersions();
        version = versions[0];
        if (!version) throw new Error('GET /apis/nvidia.com lists neither v1beta1 nor v1alpha1');
      }
      if (watchNodes && !nodes) {
        nodes = add<Node>('nodes', () => {
          const informer = k8s.makeInformer<Node>(kc, '/api/v1/nodes', () => core.listNode());
          informer.on('add', onNodeChanged);
          informer.on('update', onNodeChanged);
          return informer;
        });
      }
      for (const ns of namespacesOf(options.spec)) ensureNamespace(ns);
      // Nodes first, so pods listed afterwards can be matched to their nodes' notices.
      if (nodes) await rebuild(nodes);
      await Promise.all(watched.filter((w) => w !== (nodes as unknown)).map((w) => rebuild(w)));
      if (resyncMs > 0) {
        resyncTimer = setInterval(() => {
          for (const w of watched) void rebuild(w);
        }, resyncMs);
        resyncTimer.unref?.();
      }
    },

    stop() {
      running = false;
      clearInterval(resyncTimer);
      for (const w of watched) {
        clearTimeout(w.timer);
        void w.informer?.stop();
      }
    },

    poolObservations(spec: PolicySpec, now: number): Record<string, PoolObservation> {
      if (running) {
        for (const ns of namespacesOf(spec)) for (const w of ensureNamespace(ns)) void rebuild(w);
      }
      const out: Record<string, PoolObservation> = {};
      for (const pool of spec.pools) {
        if (!pool.target) continue;
        const ns = pool.target.namespace ?? options.namespace;
        const pods = podsByNs.get(ns);
        if (!pods?.synced) continue;
        const selector = selectorOf(pool);
        if (typeof selector === 'string') {
          log.debug({ pool: pool.name, why: selector }, 'pods of the pool not known');
          continue;
        }
        const mine = (p: Pod) => p.metadata?.namespace === ns && matches(p.metadata?.labels, selector);
        const list = (pods.informer?.list(ns) ?? []).filter(mine);
        const pending = list.filter((p) => p.status?.phase === 'Pending' && !p.metadata?.deletionTimestamp);
        const oldest = Math.min(...pending.map((p) => pendingSince(p) ?? now));
        const since = lastReport.get(pool.name)?.seq ?? 0;
        const fresh = (events: Map<string, PodEvent>) => [...events.entries()].filter(([, e]) => e.seq > since && mine(e.pod)).map(([uid]) => uid);
        const evictedNow = fresh(evictions);
        // A pod whose node got a notice and that was then evicted before this report counts once, as evicted:
        // the Spot rules add the two counts, and one lost replica must not look like two.
        const noticedNow = fresh(notices).filter((uid) => !evictedNow.includes(uid));
        out[pool.name] = {
          pending: pending.length,
          ...(pending.length > 0 ? { pendingSeconds: Math.max(0, Math.round((now - oldest) / 1000)) } : {}),
          evicted: evictedNow.length,
          ...(nodesAvailable ? { evictionNotices: noticedNow.length } : {}),
        };
        lastReport.set(pool.name, { now, seq });
      }
      // Forget events every pool has reported (keeps the maps small).
      const oldestReport = Math.min(...[...lastReport.values()].map((r) => r.now));
      for (const events of [evictions, notices]) for (const [uid, e] of events) if (e.at <= oldestReport - 3_600_000) events.delete(uid);
      return out;
    },

    targets(spec: PolicySpec) {
      const pools: Record<string, PoolObservation> = {};
      const missing: string[] = [];
      for (const pool of spec.pools) {
        const target = pool.target;
        if (!target) continue;
        const ns = target.namespace ?? options.namespace;
        const w = target.kind === 'DynamoGraphDeployment' ? graphsByNs.get(ns) : dcdsByNs.get(ns);
        const obj = w?.synced ? (w.informer?.get(target.name, ns) as KubeObject | undefined) : undefined;
        if (!obj) {
          missing.push(pool.name);
          continue;
        }
        try {
          let specReplicas: number | undefined;
          let status: ReplicaCounts | undefined;
          if (target.kind === 'DynamoGraphDeployment') {
            const component = resolveComponent(obj, pool.role, target.service);
            specReplicas = component.replicas;
            status = component.status;
          } else {
            ({ specReplicas, status } = componentDeploymentReplicas(obj));
          }
          const s = replicaStatus(specReplicas, status);
          pools[pool.name] = { desired: s.desired, ...(status ? { ready: s.ready } : {}) };
        } catch {
          missing.push(pool.name);
        }
      }
      return { pools, missing };
    },

    health() {
      return { synced: watched.every((w) => w.synced || (w.name === 'nodes' && !nodesAvailable)), errors: { ...errors }, nodes: nodesAvailable };
    },

    spotNodes() {
      return (nodes?.informer?.list() ?? []).filter(isSpotNode).map((n) => n.metadata?.name ?? '');
    },
  };
  return state;
}
