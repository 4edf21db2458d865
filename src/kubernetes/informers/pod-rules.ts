/**
 * What the informers' objects mean for the Spot rules, as pure functions: which pods belong to a pool, which pods
 * were evicted, which nodes announce they are going away, which nodes are Spot.
 *
 * Which pods belong to a pool:
 * - DynamoGraphDeployment target: labels `nvidia.com/dynamo-graph-deployment-name=<graph>` and
 *   `nvidia.com/dynamo-component=<component>`; the component is `target.service`, or resolved by type from the
 *   cached graph exactly as the connector does (graph.ts).
 * - DynamoComponentDeployment target: the DCD's `status.podSelector` (v1alpha1) when present; otherwise
 *   `nvidia.com/dynamo-component=<spec.name | spec.serviceName | metadata.name>`, plus the graph label when the DCD
 *   carries one.
 */
import type * as k8s from '@kubernetes/client-node';
import type { PoolSpec } from '../../config/schema.js';
import { messageOf } from '../../errors.js';
import { resolveComponent, type KubeObject } from '../graph.js';

export const GRAPH_LABEL = 'nvidia.com/dynamo-graph-deployment-name';
export const COMPONENT_LABEL = 'nvidia.com/dynamo-component';
export const SPOT_TAINT = { key: 'kubernetes.azure.com/scalesetpriority', value: 'spot', effect: 'NoSchedule' } as const;
/** Taints that announce a node is going away or being drained. */
export const NOTICE_TAINTS = ['ToBeDeletedByClusterAutoscaler', 'DeletionCandidateOfClusterAutoscaler', 'node.kubernetes.io/unschedulable', 'node.kubernetes.io/out-of-service'];

export type Pod = k8s.V1Pod;
export type Node = k8s.V1Node;

/** The node is cordoned, being deleted, or carries a notice taint. */
export function hasNotice(node: Node | undefined): boolean {
  if (!node) return false;
  if (node.spec?.unschedulable) return true;
  if (node.metadata?.deletionTimestamp) return true;
  return (node.spec?.taints ?? []).some((t) => NOTICE_TAINTS.includes(t.key));
}

export function isSpotNode(node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  return labels[SPOT_TAINT.key] === SPOT_TAINT.value || (node.spec?.taints ?? []).some((t) => t.key === SPOT_TAINT.key && t.value === SPOT_TAINT.value);
}

/** Failed with reason `Evicted`, or marked `DisruptionTarget=True`. */
export function isEvicted(pod: Pod): boolean {
  if (pod.status?.reason === 'Evicted') return true;
  return (pod.status?.conditions ?? []).some((c) => c.type === 'DisruptionTarget' && c.status === 'True');
}

/** A Kubernetes timestamp (a Date from the client, or an RFC 3339 string) as epoch ms; undefined when unreadable. */
export function timeOf(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') {
    const t = Date.parse(value);
    return Number.isFinite(t) ? t : undefined;
  }
  return undefined;
}

/**
 * Since when a pod waits for a node (epoch ms): its PodScheduled=False transition when present, else its creation;
 * undefined once it has a node (`spec.nodeName`, PodScheduled=True): a Pending pod pulling its image or starting its
 * containers has its capacity, and a 30 GB image pulling for 10 minutes is no sign of a Spot pool without any.
 */
export function pendingSince(pod: Pod): number | undefined {
  const conditions = pod.status?.conditions ?? [];
  if (pod.spec?.nodeName || conditions.some((c) => c.type === 'PodScheduled' && c.status === 'True')) return undefined;
  const unscheduled = conditions.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  return timeOf(unscheduled?.lastTransitionTime) ?? timeOf(pod.metadata?.creationTimestamp);
}

export function matches(labels: Record<string, string> | undefined, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** The cached Dynamo objects selectorOf needs. */
export interface DynamoCache {
  graph(namespace: string, name: string): KubeObject | undefined;
  componentDeployment(namespace: string, name: string): KubeObject | undefined;
}

/** The label selector of a pool's pods, or why it is unknown. */
export function selectorOf(pool: PoolSpec, defaultNamespace: string, cache: DynamoCache): Record<string, string> | string {
  const target = pool.target;
  if (!target) return 'no target';
  const ns = target.namespace ?? defaultNamespace;
  if (target.kind === 'DynamoGraphDeployment') {
    if (target.service) return { [GRAPH_LABEL]: target.name, [COMPONENT_LABEL]: target.service };
    const dgd = cache.graph(ns, target.name);
    if (!dgd) return `DynamoGraphDeployment ${ns}/${target.name} not (yet) seen`;
    try {
      return { [GRAPH_LABEL]: target.name, [COMPONENT_LABEL]: resolveComponent(dgd, pool.role).name };
    } catch (error) {
      return messageOf(error);
    }
  }
  const dcd = cache.componentDeployment(ns, target.name);
  const podSelector = (dcd?.status as { podSelector?: Record<string, string> } | undefined)?.podSelector;
  if (podSelector && Object.keys(podSelector).length > 0) return podSelector;
  const spec = (dcd?.spec ?? {}) as { name?: string; serviceName?: string };
  const component = spec.name ?? spec.serviceName ?? target.name;
  const graph = dcd?.metadata?.labels?.[GRAPH_LABEL];
  return { [COMPONENT_LABEL]: component, ...(graph ? { [GRAPH_LABEL]: graph } : {}) };
}
