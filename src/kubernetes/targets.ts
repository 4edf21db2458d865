/** Which Dynamo object a pool scales, and reading each pool's replica counts (and its graph's Ready condition) from the API server. */
import type { Logger } from 'pino';
import type { PolicySpec, PoolSpec, PoolTarget } from '../config/schema.js';
import { messageOf } from '../errors.js';
import type { PoolObservation } from '../planner/types.js';
import type { DynamoApi } from './dynamo-api.js';
import { componentDeploymentReplicas, graphReadiness, poolCounts, resolveComponent, type DynamoVersion, type KubeObject } from './graph.js';

export type TargetRef =
  | { kind: 'DynamoGraphDeployment'; namespace: string; name: string; service?: string }
  | { kind: 'DynamoComponentDeployment'; namespace: string; name: string };

export type GraphRef = TargetRef & { kind: 'DynamoGraphDeployment' };

export interface TargetReadResult {
  pools: Record<string, PoolObservation>;
  /** Pool name -> why its target could not be read. */
  errors: Record<string, string>;
}

/** The pool's target with its namespace filled in (the planner's namespace when the target names none). */
export function targetRef(target: PoolTarget, defaultNamespace: string): TargetRef {
  const namespace = target.namespace ?? defaultNamespace;
  return target.kind === 'DynamoGraphDeployment'
    ? { kind: target.kind, namespace, name: target.name, service: target.service }
    : { kind: target.kind, namespace, name: target.name };
}

/** The graph component a pool names (target.service), if it names one. */
export function serviceOf(pool: PoolSpec): string | undefined {
  return pool.target?.kind === 'DynamoGraphDeployment' ? pool.target.service : undefined;
}

/** Spec, ready and updated replicas of every pool's target, and its graph's Ready condition: one GET per graph, one per component deployment. */
export async function readTargets(api: DynamoApi, defaultNamespace: string, spec: PolicySpec): Promise<TargetReadResult> {
  const out: TargetReadResult = { pools: {}, errors: {} };
  const withTarget = spec.pools.filter((p) => p.target);
  if (withTarget.length === 0) return out;
  let version: DynamoVersion;
  try {
    version = await api.version();
  } catch (error) {
    for (const p of withTarget) out.errors[p.name] = `cannot discover the nvidia.com API version: ${messageOf(error)}`;
    return out;
  }
  const graphs = new Map<string, Promise<KubeObject>>();
  for (const pool of withTarget) {
    const ref = targetRef(pool.target as PoolTarget, defaultNamespace);
    try {
      if (ref.kind === 'DynamoGraphDeployment') {
        const key = `${ref.namespace}/${ref.name}`;
        if (!graphs.has(key)) graphs.set(key, api.getGraph(ref, version));
        const dgd = await (graphs.get(key) as Promise<KubeObject>);
        const component = resolveComponent(dgd, pool.role, ref.service);
        out.pools[pool.name] = { ...poolCounts(component.replicas, component.status), graph: graphReadiness(dgd) };
      } else {
        const dcd = await api.getComponentDeployment(ref, version);
        const { specReplicas, status } = componentDeploymentReplicas(dcd);
        out.pools[pool.name] = poolCounts(specReplicas, status);
      }
    } catch (error) {
      out.errors[pool.name] = messageOf(error);
    }
  }
  return out;
}

/** The pools that could be read; throws only when none could (each failure is logged). */
export function poolsOrThrow({ pools, errors }: TargetReadResult, log: Logger): Record<string, PoolObservation> {
  const failed = Object.entries(errors);
  if (failed.length > 0 && Object.keys(pools).length === 0) throw new Error(failed.map(([pool, why]) => `${pool}: ${why}`).join('; '));
  for (const [pool, why] of failed) log.warn({ pool, err: why }, 'could not read the pool target');
  return pools;
}
