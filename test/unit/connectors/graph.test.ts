/** Reading Dynamo graphs: component lookup by type or name, replica status, Ready. Pure functions. */
import { describe, expect, it } from 'vitest';
import { DuplicateSubComponentError, SubComponentNotFoundError } from '../../../src/kubernetes/errors.js';
import { adapterName, graphComponents, graphReadiness, poolCounts, readyCondition, replicaStatus, resolveComponent, type KubeObject } from '../../../src/kubernetes/graph.js';
import { componentsJsonPatch, servicesMergePatch } from '../../../src/kubernetes/patches.js';

const alpha = (services: Record<string, object>): KubeObject => ({ apiVersion: 'nvidia.com/v1alpha1', metadata: { name: 'test-graph' }, spec: { services } });
const beta = (components: object[]): KubeObject => ({ apiVersion: 'nvidia.com/v1beta1', metadata: { name: 'test-graph' }, spec: { components } });

describe('resolveComponent (Dynamo get_service_from_sub_component_type_or_name / get_component_from_type_or_name)', () => {
  it('finds the component by subComponentType (v1alpha1) and by type (v1beta1)', () => {
    const g = alpha({ Frontend: { componentType: 'frontend' }, P: { componentType: 'worker', subComponentType: 'prefill', replicas: 2 }, D: { componentType: 'worker', subComponentType: 'decode' } });
    expect(resolveComponent(g, 'prefill')).toEqual({ name: 'P', type: 'prefill', replicas: 2, status: undefined });
    const b = beta([{ name: 'Frontend', type: 'frontend' }, { name: 'P', type: 'prefill' }, { name: 'D', type: 'decode', replicas: 3 }]);
    expect(resolveComponent(b, 'decode')).toEqual({ name: 'D', type: 'decode', index: 2, replicas: 3, status: undefined });
  });

  it('falls back to an untyped component with the backend default name (VllmDecodeWorker, decode, TRTLLM...)', () => {
    expect(resolveComponent(alpha({ VllmDecodeWorker: { componentType: 'worker', replicas: 1 } }), 'decode').name).toBe('VllmDecodeWorker');
    expect(resolveComponent(beta([{ name: 'prefill' }, { name: 'decode' }]), 'prefill').name).toBe('prefill');
    expect(resolveComponent(alpha({ TRTLLMPrefillWorker: {} }), 'prefill').name).toBe('TRTLLMPrefillWorker');
  });

  it('accepts the one `worker` as decode (aggregated serving, Dynamo HEAD)', () => {
    expect(resolveComponent(beta([{ name: 'Frontend', type: 'frontend' }, { name: 'VllmWorker', type: 'worker' }]), 'decode').name).toBe('VllmWorker');
    expect(() => resolveComponent(beta([{ name: 'VllmWorker', type: 'worker' }]), 'prefill')).toThrow(SubComponentNotFoundError);
    // Several workers: the one with the backend default name (Dynamo HEAD: multiple_v1beta_workers_by_name).
    expect(resolveComponent(beta([{ name: 'VllmPrefillWorker', type: 'worker' }, { name: 'VllmDecodeWorker', type: 'worker' }]), 'decode').name).toBe('VllmDecodeWorker');
  });

  it('several components of the role: DuplicateSubComponentError naming them', () => {
    const g = alpha({ P1: { subComponentType: 'prefill' }, P2: { subComponentType: 'prefill' } });
    expect(() => resolveComponent(g, 'prefill')).toThrow(DuplicateSubComponentError);
    expect(() => resolveComponent(g, 'prefill')).toThrow('has 2 components that could be the prefill role (P1, P2); set the pool\'s target.service');
  });

  it('none: SubComponentNotFoundError with Dynamo\'s wording; a typed component with the default name is not taken', () => {
    const g = alpha({ VllmDecodeWorker: { componentType: 'worker', subComponentType: 'prefill' }, Other: {} });
    expect(() => resolveComponent(beta([{ name: 'Frontend', type: 'frontend' }]), 'decode')).toThrow("must contain a component with type 'decode'");
    // VllmDecodeWorker is typed prefill, so it is the prefill component and not a decode fallback.
    expect(() => resolveComponent(g, 'decode')).toThrow(SubComponentNotFoundError);
  });

  it('an explicit target.service is used as named (several decode pools may share a graph) but must fit the role', () => {
    const b = beta([{ name: 'decode-od', type: 'decode', replicas: 2 }, { name: 'decode-spot', type: 'decode', replicas: 5 }]);
    expect(resolveComponent(b, 'decode', 'decode-spot')).toMatchObject({ name: 'decode-spot', index: 1, replicas: 5 });
    expect(() => resolveComponent(b, 'decode')).toThrow(DuplicateSubComponentError);
    expect(() => resolveComponent(b, 'prefill', 'decode-od')).toThrow("component \"decode-od\" of DynamoGraphDeployment \"test-graph\" has type 'decode', not 'prefill'");
    expect(() => resolveComponent(b, 'decode', 'missing')).toThrow('has no component "missing" (it has [decode-od(decode), decode-spot(decode)])');
  });
});

describe('replicaStatus (Dynamo get_service_replica_status)', () => {
  it.each([
    ['stable with availableReplicas (wins over ready)', 3, { updatedReplicas: 3, readyReplicas: 2, availableReplicas: 3 }, { desired: 3, updated: 3, ready: 3, stable: true }],
    ['stable, readyReplicas when available is absent', 2, { updatedReplicas: 2, readyReplicas: 2 }, { desired: 2, updated: 2, ready: 2, stable: true }],
    ['scale-up in progress 4/2/2', 4, { updatedReplicas: 2, readyReplicas: 2 }, { desired: 4, updated: 2, ready: 2, stable: false }],
    ['scale-down in progress 2/4/4', 2, { updatedReplicas: 4, readyReplicas: 4 }, { desired: 2, updated: 4, ready: 4, stable: false }],
    ['rollout in progress 4/2/4', 4, { updatedReplicas: 2, readyReplicas: 4 }, { desired: 4, updated: 2, ready: 4, stable: false }],
    ['missing status fields: counts 0, unstable', 3, {}, { desired: 3, updated: 0, ready: 0, stable: false }],
    ['empty deployment: 0 and stable', undefined, undefined, { desired: 0, updated: 0, ready: 0, stable: true }],
    ['availableReplicas 0 is used, not ready=2', 2, { updatedReplicas: 2, readyReplicas: 2, availableReplicas: 0 }, { desired: 2, updated: 2, ready: 0, stable: false }],
  ])('%s', (_name, spec, status, expected) => {
    expect(replicaStatus(spec, status)).toEqual(expected);
  });

  it('reads status.components (v1beta1) and status.services (v1alpha1)', () => {
    const b: KubeObject = { spec: { components: [{ name: 'D', type: 'decode', replicas: 2 }] }, status: { components: { D: { replicas: 2, updatedReplicas: 2, readyReplicas: 1 } } } };
    expect(graphComponents(b)[0]?.status).toEqual({ replicas: 2, updatedReplicas: 2, readyReplicas: 1, availableReplicas: undefined });
    const a: KubeObject = { spec: { services: { D: { replicas: 2 } } }, status: { services: { D: { replicas: 2, updatedReplicas: 1, availableReplicas: 2 } } } };
    expect(graphComponents(a)[0]?.status).toEqual({ replicas: 2, updatedReplicas: 1, readyReplicas: undefined, availableReplicas: 2 });
  });
});

describe('readyCondition (is_deployment_ready)', () => {
  it('Ready True / False / no conditions', () => {
    expect(readyCondition({ status: { conditions: [{ type: 'Ready', status: 'True' }] } }).ready).toBe(true);
    expect(readyCondition({ status: { conditions: [{ type: 'Ready', status: 'False', reason: 'rolling_update_in_progress', message: 'm' }] } })).toEqual({
      ready: false,
      status: 'False',
      reason: 'rolling_update_in_progress',
      message: 'm',
    });
    expect(readyCondition({ status: {} })).toEqual({ ready: false });
  });
});

describe('what the readiness gate reads (graphReadiness, poolCounts)', () => {
  const graph = (conditions: object[]): KubeObject => ({ status: { conditions } });

  it('Ready, a rolling update, another reason, no condition; a long operator message is cut to 500 characters', () => {
    expect(graphReadiness(graph([{ type: 'Ready', status: 'True', reason: 'all_resources_are_ready' }]))).toEqual({ ready: true });
    expect(graphReadiness(graph([{ type: 'Ready', status: 'False', reason: 'rolling_update_in_progress', message: 'Rolling update in progress' }]))).toEqual({
      ready: false,
      rollingUpdate: true,
      condition: 'Ready=False, reason rolling_update_in_progress: Rolling update in progress',
    });
    expect(graphReadiness(graph([{ type: 'Ready', status: 'False', reason: 'some_resources_are_not_ready', message: 'Resources not ready: g: D: desired=3, ready=1' }]))).toEqual({
      ready: false,
      condition: 'Ready=False, reason some_resources_are_not_ready: Resources not ready: g: D: desired=3, ready=1',
    });
    expect(graphReadiness({ status: {} })).toEqual({ ready: false, condition: 'no Ready condition' });
    const long = graphReadiness(graph([{ type: 'Ready', status: 'False', reason: 'r', message: 'x'.repeat(10_000) }])).condition!;
    expect(long).toHaveLength(500);
    expect(long.endsWith('...')).toBe(true);
  });

  it('counts: spec, ready (available wins) and updated with a status; only the spec without one', () => {
    expect(poolCounts(4, { replicas: 4, updatedReplicas: 3, readyReplicas: 4, availableReplicas: 2 })).toEqual({ desired: 4, ready: 2, updated: 3 });
    expect(poolCounts(4, { replicas: 4, readyReplicas: 4 })).toEqual({ desired: 4, ready: 4, updated: 0 });
    expect(poolCounts(undefined, undefined)).toEqual({ desired: 0 });
  });
});

describe('patch bodies', () => {
  it('adapter name lowercases the component; fallback bodies per version', () => {
    expect(adapterName('test-deployment', 'Frontend')).toBe('test-deployment-frontend');
    expect(servicesMergePatch('VllmPrefillWorker', 3)).toEqual({ spec: { services: { VllmPrefillWorker: { replicas: 3 } } } });
    expect(componentsJsonPatch({ name: 'VllmDecodeWorker', type: 'decode', index: 0 }, 3)).toEqual([
      { op: 'test', path: '/spec/components/0/name', value: 'VllmDecodeWorker' },
      { op: 'add', path: '/spec/components/0/replicas', value: 3 },
    ]);
  });
});
