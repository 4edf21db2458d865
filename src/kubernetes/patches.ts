/** The bodies the connector sends. Absolute replica counts only, so a retried write never double-applies. */
import type { DynamoVersion, GraphComponent } from './graph.js';

export const MERGE_PATCH = 'application/merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';

/** DGDSA /scale and DCD: `{"spec":{"replicas":N}}` as a merge patch. */
export function replicasMergePatch(replicas: number): { spec: { replicas: number } } {
  return { spec: { replicas } };
}

/** v1alpha1 DGD fallback: `{"spec":{"services":{"<Svc>":{"replicas":N}}}}` as a merge patch. */
export function servicesMergePatch(service: string, replicas: number): { spec: { services: Record<string, { replicas: number }> } } {
  return { spec: { services: { [service]: { replicas } } } };
}

/**
 * v1beta1 DGD fallback: RFC 6902 with a `test` on the component's name at the index we read, so a concurrent
 * reorder of spec.components fails with 422 instead of scaling the wrong component. `add` sets or replaces.
 */
export function componentsJsonPatch(component: GraphComponent, replicas: number): { op: 'test' | 'add'; path: string; value: unknown }[] {
  if (component.index === undefined) throw new Error(`component "${component.name}" has no index in spec.components (not a v1beta1 graph)`);
  return [
    { op: 'test', path: `/spec/components/${component.index}/name`, value: component.name },
    { op: 'add', path: `/spec/components/${component.index}/replicas`, value: replicas },
  ];
}

export function graphFallbackPatch(version: DynamoVersion, component: GraphComponent, replicas: number): { body: unknown; contentType: string } {
  return version === 'v1beta1'
    ? { body: componentsJsonPatch(component, replicas), contentType: JSON_PATCH }
    : { body: servicesMergePatch(component.name, replicas), contentType: MERGE_PATCH };
}
