/**
 * Reading Dynamo objects, in both API versions. Pure functions over the JSON the API server returns.
 *
 *   v1alpha1: spec.services.<Svc> { componentType, subComponentType, replicas }, status.services.<Svc> {...counts}
 *   v1beta1:  spec.components[]   { name, type, replicas },                      status.components.<Comp> {...counts}
 */
import type { Role } from '../config/schema.js';
import type { GraphReadiness, PoolObservation } from '../planner/types.js';
import { DuplicateSubComponentError, SubComponentNotFoundError } from './errors.js';

export type DynamoVersion = 'v1alpha1' | 'v1beta1';

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; generation?: number; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

export interface ReplicaCounts {
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
}

export interface GraphComponent {
  name: string;
  /** v1beta1 `type`; v1alpha1 `subComponentType` when set, else `componentType`. "" when neither is set. */
  type: string;
  /** Position in spec.components (v1beta1), for the JSON patch; undefined on v1alpha1. */
  index?: number;
  /** spec replicas; undefined when the field is missing (Dynamo counts that as 0). */
  replicas?: number;
  status?: ReplicaCounts;
}

/** Backend default component names (Dynamo config/backend_components.py), tried when no component has the role's type. */
export const DEFAULT_COMPONENT_NAMES: Record<Role, string[]> = {
  prefill: ['VllmPrefillWorker', 'prefill', 'TRTLLMPrefillWorker'],
  decode: ['VllmDecodeWorker', 'decode', 'TRTLLMDecodeWorker'],
};

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function counts(raw: unknown): ReplicaCounts | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  return { replicas: num(r.replicas), updatedReplicas: num(r.updatedReplicas), readyReplicas: num(r.readyReplicas), availableReplicas: num(r.availableReplicas) };
}

export function graphComponents(dgd: KubeObject): GraphComponent[] {
  const spec = dgd.spec ?? {};
  const status = (dgd.status ?? {}) as Record<string, unknown>;
  if (Array.isArray(spec.components)) {
    const st = (status.components ?? {}) as Record<string, unknown>;
    return (spec.components as Record<string, unknown>[]).map((c, index) => ({
      name: String(c.name),
      type: typeof c.type === 'string' ? c.type : '',
      index,
      replicas: num(c.replicas),
      status: counts(st[String(c.name)]),
    }));
  }
  const services = (spec.services ?? {}) as Record<string, Record<string, unknown>>;
  const st = (status.services ?? {}) as Record<string, unknown>;
  return Object.entries(services).map(([name, s]) => {
    const sub = typeof s.subComponentType === 'string' ? s.subComponentType : '';
    const type = sub !== '' ? sub : typeof s.componentType === 'string' ? s.componentType : '';
    return { name, type, replicas: num(s.replicas), status: counts(st[name]) };
  });
}

/**
 * The component a pool scales.
 * - `service` given: that component, if its type is compatible with the role ("", "worker" or the role itself).
 *   (Dynamo lets the type win over the name; we cannot, since a Spot and an on-demand pool may both target
 *   decode components of one graph, and the policy file names them.)
 * - otherwise: the one component whose type is the role; several -> DuplicateSubComponentError;
 *   none -> the one untyped/worker component with a backend default name; for decode, the one `worker`
 *   (aggregated serving, as Dynamo HEAD accepts); else SubComponentNotFoundError.
 */
export function resolveComponent(dgd: KubeObject, role: Role, service?: string): GraphComponent {
  const graph = dgd.metadata?.name ?? '?';
  const all = graphComponents(dgd);
  const describe = all.map((c) => `${c.name}${c.type ? `(${c.type})` : ''}`);
  const compatible = (c: GraphComponent) => c.type === '' || c.type === 'worker' || c.type === role;
  if (service !== undefined) {
    const named = all.find((c) => c.name === service);
    if (!named) {
      throw new SubComponentNotFoundError(role, graph, describe, `DynamoGraphDeployment "${graph}" has no component "${service}" (it has [${describe.join(', ')}]); fix the pool's target.service`);
    }
    if (!compatible(named)) {
      throw new SubComponentNotFoundError(role, graph, describe, `component "${service}" of DynamoGraphDeployment "${graph}" has type '${named.type}', not '${role}'; a ${role} pool cannot scale it`);
    }
    return named;
  }
  const typed = all.filter((c) => c.type === role);
  if (typed.length > 1) throw new DuplicateSubComponentError(role, graph, typed.map((c) => c.name));
  if (typed.length === 1) return typed[0] as GraphComponent;
  const byDefaultName = all.filter((c) => DEFAULT_COMPONENT_NAMES[role].includes(c.name) && compatible(c));
  if (byDefaultName.length > 1) throw new DuplicateSubComponentError(role, graph, byDefaultName.map((c) => c.name));
  if (byDefaultName.length === 1) return byDefaultName[0] as GraphComponent;
  const workers = all.filter((c) => c.type === 'worker');
  if (role === 'decode' && workers.length === 1) return workers[0] as GraphComponent;
  throw new SubComponentNotFoundError(role, graph, describe);
}

export interface ReadyCondition {
  ready: boolean;
  /** "True"/"False"/"Unknown", or undefined when there is no such condition. */
  status?: string;
  reason?: string;
  message?: string;
}

/** `conditions[type=="Ready"].status == "True"` (DGD), or `Available`/`DynamoComponentReady` (DCD). */
export function readyCondition(obj: KubeObject, types: string[] = ['Ready']): ReadyCondition {
  const conditions = ((obj.status ?? {}) as { conditions?: unknown }).conditions;
  if (!Array.isArray(conditions)) return { ready: false };
  for (const type of types) {
    const c = (conditions as Record<string, unknown>[]).find((x) => x.type === type);
    if (c) {
      return { ready: c.status === 'True', status: String(c.status), reason: c.reason as string | undefined, message: c.message as string | undefined };
    }
  }
  return { ready: false };
}

/** Longest condition text carried into the observation (an operator's message can list every component). */
const MAX_CONDITION_CHARS = 500;

function conditionText(ready: ReadyCondition): string {
  if (ready.status === undefined) return 'no Ready condition';
  const text = `Ready=${ready.status}${ready.reason ? `, reason ${ready.reason}` : ''}${ready.message ? `: ${ready.message}` : ''}`;
  return text.length > MAX_CONDITION_CHARS ? `${text.slice(0, MAX_CONDITION_CHARS - 3)}...` : text;
}

/**
 * A graph's Ready condition as the readiness gate reads it (constraints/readiness.ts). The operator sets Ready False
 * with reason `rolling_update_in_progress` during a rollout; any reason naming a rolling update counts as one.
 * Example: Ready=False, reason rolling_update_in_progress -> { ready: false, rollingUpdate: true, condition: "Ready=False, reason rolling_update_in_progress: ..." }.
 */
export function graphReadiness(dgd: KubeObject): GraphReadiness {
  const ready = readyCondition(dgd);
  if (ready.ready) return { ready: true };
  return { ready: false, ...(/rolling/i.test(ready.reason ?? '') ? { rollingUpdate: true } : {}), condition: conditionText(ready) };
}

export interface ReplicaStatus {
  /** spec replicas (missing = 0, as Dynamo reads it). */
  desired: number;
  updated: number;
  /** availableReplicas when the key is present (even 0), else readyReplicas, else 0. */
  ready: number;
  /** desired == updated == ready: nothing is rolling or scaling. */
  stable: boolean;
}

/**
 * Dynamo's get_service_replica_status. Examples (desired/updated/ready):
 * 4/4/4 stable; 4/2/2 scale-up in progress; 2/4/4 scale-down in progress; 4/2/4 rollout in progress;
 * available=0 with ready=2 -> ready 0 (available wins even when 0).
 */
export function replicaStatus(specReplicas: number | undefined, status: ReplicaCounts | undefined): ReplicaStatus {
  const desired = specReplicas ?? 0;
  const updated = status?.updatedReplicas ?? 0;
  const ready = status?.availableReplicas !== undefined ? status.availableReplicas : status?.readyReplicas ?? 0;
  return { desired, updated, ready, stable: desired === updated && updated === ready };
}

/**
 * A pool's replica counts as the observation carries them: the spec count, and ready (Dynamo's rule above) and
 * updated when the object has a status. Without a status nothing says whether it is becoming ready, so neither is set.
 */
export function poolCounts(specReplicas: number | undefined, status: ReplicaCounts | undefined): PoolObservation {
  const s = replicaStatus(specReplicas, status);
  return { desired: s.desired, ...(status ? { ready: s.ready, updated: s.updated } : {}) };
}

/** DCD: spec.replicas and status.service (v1alpha1) / status.component (v1beta1). */
export function componentDeploymentReplicas(dcd: KubeObject): { specReplicas?: number; status?: ReplicaCounts } {
  const status = (dcd.status ?? {}) as Record<string, unknown>;
  return { specReplicas: num(dcd.spec?.replicas), status: counts(status.component ?? status.service) };
}

/** The DGDSA the operator creates for a component: `<dgd>-<lower(component)>`. */
export function adapterName(graph: string, component: string): string {
  return `${graph}-${component.toLowerCase()}`;
}
