/**
 * Cluster state for the Spot rules, per pool: Pending / unschedulable pods, pods evicted, and pods on nodes under an
 * eviction notice. Kept current by list+watch informers (client-node ListWatch), not by polling:
 *   pods, DynamoGraphDeployments, DynamoComponentDeployments in every target namespace; nodes cluster-wide.
 * Each informer keeps itself alive (watched-informer.ts); every `resyncSeconds` (default 600) each informer is
 * rebuilt once, so a missed event cannot stay wrong for longer than that. Which pods belong to a pool, and what
 * counts as an eviction or a notice, are the pure rules of pod-rules.ts; pod-events.ts counts each event once.
 *
 * What counts (documented choices):
 * - pending: pods in phase Pending, not being deleted. pendingSeconds: how long the oldest of them that has no node
 *   yet has waited for one, from its PodScheduled=False transition when present, else its creationTimestamp (0 when
 *   every pending pod has a node: pulling its image or starting, it is not short of capacity).
 * - evicted (since the previous poolObservations call): a pod that turned Failed with reason `Evicted`, got a
 *   `DisruptionTarget=True` condition, or was deleted while its node was gone or under an eviction notice
 *   (lost with its Spot node). Each pod counts once.
 * - startupSeconds (since the previous call): creation to Ready of each pod seen turning Ready, first start only
 *   (pod-startup.ts); the planner learns each pool's startup time from them.
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
import type { PolicySpec } from '../../config/schema.js';
import type { PoolObservation } from '../../planner/types.js';
import { createKubeClient } from '../client.js';
import { componentDeploymentReplicas, graphReadiness, poolCounts, resolveComponent, type DynamoVersion, type KubeObject } from '../graph.js';
import { PodEventLog } from './pod-events.js';
import { PodStartupLog } from './pod-startup.js';
import { hasNotice, isEvicted, isSpotNode, matches, pendingSince, selectorOf, type Node, type Pod } from './pod-rules.js';
import { boundedInformer, DEFAULT_LIST_TIMEOUT_MS, WatchedInformer, type InformerBuilder, type InformerEvents } from './watched-informer.js';

export { COMPONENT_LABEL, GRAPH_LABEL, NOTICE_TAINTS, SPOT_TAINT } from './pod-rules.js';

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
  /** Give up a list that has not answered after this long, and try again (default 60 s). */
  listTimeoutSeconds?: number;
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
   * Replica counts of each pool's target (and its graph's Ready condition) from the informer caches, without an API
   * call (the connector's readTargets shape: `{ desired, ready, updated, graph }`). Pools whose object is not in a synced cache, or whose component cannot
   * be resolved, are in `missing` (read them from the API server, which also gives the error message).
   */
  targets(spec: PolicySpec): { pools: Record<string, PoolObservation>; missing: string[] };
  health(): KubeStateHealth;
  /** Names of nodes carrying the Spot taint or label (for logs and the explanation). */
  spotNodes(): string[];
}

type DynamoObject = KubeObject & k8s.KubernetesObject;

class KubeStateInformers implements KubeState {
  readonly #options: KubeStateOptions;
  readonly #log: Logger;
  readonly #kc: k8s.KubeConfig;
  readonly #core: k8s.CoreV1Api;
  readonly #custom: k8s.CustomObjectsApi;
  readonly #resyncMs: number;
  readonly #watchNodes: boolean;
  readonly #events: PodEventLog;
  readonly #startups: PodStartupLog;
  /** Every informer, in the order created. */
  readonly #watched: WatchedInformer<k8s.KubernetesObject>[] = [];
  readonly #podsByNs = new Map<string, WatchedInformer<Pod>>();
  readonly #graphsByNs = new Map<string, WatchedInformer<DynamoObject>>();
  readonly #dcdsByNs = new Map<string, WatchedInformer<DynamoObject>>();
  #nodes: WatchedInformer<Node> | undefined;
  /** Nodes seen with a notice, so that its lifting is noticed too. */
  readonly #noticedNodes = new Set<string>();
  /** False once watching nodes was refused (403): the node-based signals are off. */
  #nodesAvailable: boolean;
  /** Informer -> its last error, cleared when it recovers. */
  readonly #errors: Record<string, string> = {};
  #version: DynamoVersion | undefined;
  #running = false;
  #resyncTimer: NodeJS.Timeout | undefined;
  readonly #listTimeoutMs: number;
  readonly #informerEvents: InformerEvents;

  constructor(options: KubeStateOptions) {
    this.#options = options;
    this.#log = options.logger ?? pino({ enabled: false });
    this.#kc = options.kubeConfig;
    this.#core = this.#kc.makeApiClient(k8s.CoreV1Api);
    this.#custom = this.#kc.makeApiClient(k8s.CustomObjectsApi);
    this.#resyncMs = (options.resyncSeconds ?? 600) * 1000;
    this.#listTimeoutMs = (options.listTimeoutSeconds ?? DEFAULT_LIST_TIMEOUT_MS / 1000) * 1000;
    this.#watchNodes = options.watchNodes ?? true;
    this.#nodesAvailable = this.#watchNodes;
    this.#version = options.version;
    this.#events = new PodEventLog(options.now ?? Date.now);
    this.#startups = new PodStartupLog(options.now ?? Date.now);
    this.#informerEvents = {
      running: () => this.#running,
      failed: (name, message, status) => {
        this.#errors[name] = message;
        if (name === 'nodes' && status === 403) {
          this.#nodesAvailable = false;
          this.#log.warn({ err: message }, 'no permission to watch nodes: node-based eviction signals are off (apply the ClusterRole in deploy/)');
          return false;
        }
        this.#log.warn({ informer: name, err: message }, 'informer failed; rebuilding after backoff');
        return true;
      },
      startFailed: (name, message) => {
        this.#errors[name] = message;
      },
      synced: (name) => {
        delete this.#errors[name];
      },
    };
  }

  async start(): Promise<void> {
    this.#running = true;
    if (!this.#version) {
      const versions = await createKubeClient(this.#kc, { timeoutMs: 10_000 }).discoverVersions();
      this.#version = versions[0];
      if (!this.#version) throw new Error('GET /apis/nvidia.com lists neither v1beta1 nor v1alpha1');
    }
    if (this.#watchNodes && !this.#nodes) {
      this.#nodes = this.#add<Node>('nodes', (signal) => {
        const informer = boundedInformer<Node>(this.#kc, '/api/v1/nodes', signal, this.#listTimeoutMs, (options) => this.#core.listNode({}, options));
        informer.on('add', (node) => this.#onNodeChanged(node));
        informer.on('update', (node) => this.#onNodeChanged(node));
        informer.on('delete', (node) => void this.#noticedNodes.delete(node.metadata?.name ?? ''));
        return informer;
      });
    }
    for (const ns of this.#namespacesOf(this.#options.spec)) this.#ensureNamespace(ns);
    // Nodes first, so pods listed afterwards can be matched to their nodes' notices.
    const nodes = this.#nodes;
    if (nodes) await nodes.rebuild();
    await Promise.all(this.#watched.filter((w) => w !== (nodes as unknown)).map((w) => w.rebuild()));
    if (this.#resyncMs > 0) {
      this.#resyncTimer = setInterval(() => {
        for (const w of this.#watched) void w.rebuild();
      }, this.#resyncMs);
      this.#resyncTimer.unref?.();
    }
  }

  stop(): void {
    this.#running = false;
    clearInterval(this.#resyncTimer);
    for (const w of this.#watched) w.stop();
  }

  poolObservations(spec: PolicySpec, now: number): Record<string, PoolObservation> {
    if (this.#running) {
      for (const ns of this.#namespacesOf(spec)) for (const w of this.#ensureNamespace(ns)) void w.rebuild();
    }
    const out: Record<string, PoolObservation> = {};
    const cache = { graph: (ns: string, name: string) => this.#graphsByNs.get(ns)?.get(name, ns), componentDeployment: (ns: string, name: string) => this.#dcdsByNs.get(ns)?.get(name, ns) };
    for (const pool of spec.pools) {
      if (!pool.target) continue;
      const ns = pool.target.namespace ?? this.#options.namespace;
      const pods = this.#podsByNs.get(ns);
      if (!pods?.synced) continue;
      const selector = selectorOf(pool, this.#options.namespace, cache);
      if (typeof selector === 'string') {
        this.#log.debug({ pool: pool.name, why: selector }, 'pods of the pool not known');
        continue;
      }
      const mine = (p: Pod) => p.metadata?.namespace === ns && matches(p.metadata?.labels, selector);
      const list = pods.list(ns).filter(mine);
      const pending = list.filter((p) => p.status?.phase === 'Pending' && !p.metadata?.deletionTimestamp);
      const oldest = Math.min(...pending.map((p) => pendingSince(p) ?? now));
      const { evicted, notices } = this.#events.report(pool.name, now, mine);
      const startups = this.#startups.report(pool.name, now, mine);
      out[pool.name] = {
        pending: pending.length,
        ...(pending.length > 0 ? { pendingSeconds: Math.max(0, Math.round((now - oldest) / 1000)) } : {}),
        evicted,
        ...(this.#nodesAvailable ? { evictionNotices: notices } : {}),
        ...(startups.length > 0 ? { startupSeconds: startups } : {}),
      };
    }
    this.#events.forgetReported();
    this.#startups.forgetReported();
    return out;
  }

  targets(spec: PolicySpec): { pools: Record<string, PoolObservation>; missing: string[] } {
    const pools: Record<string, PoolObservation> = {};
    const missing: string[] = [];
    for (const pool of spec.pools) {
      const target = pool.target;
      if (!target) continue;
      const ns = target.namespace ?? this.#options.namespace;
      const w = target.kind === 'DynamoGraphDeployment' ? this.#graphsByNs.get(ns) : this.#dcdsByNs.get(ns);
      const obj = w?.synced ? w.get(target.name, ns) : undefined;
      if (!obj) {
        missing.push(pool.name);
        continue;
      }
      try {
        if (target.kind === 'DynamoGraphDeployment') {
          const component = resolveComponent(obj, pool.role, target.service);
          pools[pool.name] = { ...poolCounts(component.replicas, component.status), graph: graphReadiness(obj) };
        } else {
          const { specReplicas, status } = componentDeploymentReplicas(obj);
          pools[pool.name] = poolCounts(specReplicas, status);
        }
      } catch {
        missing.push(pool.name);
      }
    }
    return { pools, missing };
  }

  health(): KubeStateHealth {
    return { synced: this.#watched.every((w) => w.synced || (w.name === 'nodes' && !this.#nodesAvailable)), errors: { ...this.#errors }, nodes: this.#nodesAvailable };
  }

  spotNodes(): string[] {
    return (this.#nodes?.list() ?? []).filter(isSpotNode).map((n) => n.metadata?.name ?? '');
  }

  #nodeOf(pod: Pod): Node | undefined {
    const name = pod.spec?.nodeName;
    return name ? this.#nodes?.get(name) : undefined;
  }

  #notePod(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    if (isEvicted(pod)) this.#events.evicted(uid, pod);
    this.#startups.note(uid, pod);
    if (!this.#events.hasNotice(uid) && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed' && hasNotice(this.#nodeOf(pod))) this.#events.noticed(uid, pod);
  }

  /** A pod deleted while its node is gone or under a notice was lost with its node: an eviction. */
  #onPodDeleted(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    this.#startups.deleted(uid);
    const nodeName = pod.spec?.nodeName;
    // Without a current nodes cache (not listed yet, or a re-list failing) a node it lacks is unknown, not gone.
    if (!this.#events.hasEviction(uid) && nodeName && this.#nodesAvailable && this.#nodes?.synced) {
      const node = this.#nodes.get(nodeName);
      if (!node || hasNotice(node)) this.#events.evicted(uid, pod);
    }
    this.#events.deleted(uid);
  }

  #onNodeChanged(node: Node): void {
    const name = node.metadata?.name ?? '';
    const noticed = hasNotice(node);
    // Only a notice, or the lifting of one, concerns its pods: not every status update of every node.
    if (noticed) this.#noticedNodes.add(name);
    else if (!this.#noticedNodes.delete(name)) return;
    for (const w of this.#podsByNs.values()) {
      for (const pod of w.list()) {
        if (pod.spec?.nodeName !== node.metadata?.name) continue;
        if (noticed) this.#notePod(pod);
        else if (pod.metadata?.uid) this.#events.noticeLifted(pod.metadata.uid);
      }
    }
  }

  #add<T extends k8s.KubernetesObject>(name: string, build: InformerBuilder<T>): WatchedInformer<T> {
    const w = new WatchedInformer<T>(name, build, this.#informerEvents, this.#listTimeoutMs);
    this.#watched.push(w as unknown as WatchedInformer<k8s.KubernetesObject>);
    return w;
  }

  /** A namespace's list of a Dynamo custom resource, for boundedInformer. */
  #listCustom(plural: string, ns: string) {
    return async (options: k8s.ConfigurationOptions) =>
      (await this.#custom.listNamespacedCustomObject({ group: 'nvidia.com', version: this.#version as string, namespace: ns, plural }, options)) as k8s.KubernetesListObject<DynamoObject>;
  }

  /** Informers for a namespace not watched yet; returns the ones it created (not started). */
  #ensureNamespace(ns: string): WatchedInformer<k8s.KubernetesObject>[] {
    const created: WatchedInformer<k8s.KubernetesObject>[] = [];
    if (!this.#podsByNs.has(ns)) {
      const w = this.#add<Pod>(`pods/${ns}`, (signal) => {
        const informer = boundedInformer<Pod>(this.#kc, `/api/v1/namespaces/${ns}/pods`, signal, this.#listTimeoutMs, (options) => this.#core.listNamespacedPod({ namespace: ns }, options));
        informer.on('add', (pod) => this.#notePod(pod));
        informer.on('update', (pod) => this.#notePod(pod));
        informer.on('delete', (pod) => this.#onPodDeleted(pod));
        return informer;
      });
      this.#podsByNs.set(ns, w);
      created.push(w as unknown as WatchedInformer<k8s.KubernetesObject>);
    }
    for (const [plural, byNs] of [
      ['dynamographdeployments', this.#graphsByNs],
      ['dynamocomponentdeployments', this.#dcdsByNs],
    ] as const) {
      if (byNs.has(ns)) continue;
      const w = this.#add(`${plural}/${ns}`, (signal) => boundedInformer<DynamoObject>(this.#kc, `/apis/nvidia.com/${this.#version}/namespaces/${ns}/${plural}`, signal, this.#listTimeoutMs, this.#listCustom(plural, ns)));
      byNs.set(ns, w);
      created.push(w as unknown as WatchedInformer<k8s.KubernetesObject>);
    }
    return created;
  }

  #namespacesOf(spec: PolicySpec): string[] {
    return [...new Set(spec.pools.filter((p) => p.target).map((p) => p.target?.namespace ?? this.#options.namespace))];
  }
}

export function createKubeState(options: KubeStateOptions): KubeState {
  return new KubeStateInformers(options);
}
