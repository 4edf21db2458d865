/**
 * The Kubernetes connector's wire behaviour, against nock: exact paths, content types, bodies and query strings.
 * Each test names the Dynamo test it matches (see README.md in this folder for the full table).
 */
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_OBJECT_BYTES } from '../../../src/kubernetes/client.js';
import { createKubernetesConnector, type KubernetesConnectorOptions } from '../../../src/kubernetes/index.js';
import type { CallBudget } from '../../../src/kubernetes/retry.js';
import { decisionFor, kubeConfigFor, recordingSleep, SERVER, specWith } from './helpers.js';

const NS = '/apis/nvidia.com/v1beta1/namespaces/default';
const NS_ALPHA = '/apis/nvidia.com/v1alpha1/namespaces/default';
const MERGE = 'application/merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';
const FM = { fieldManager: 'pd-planner' };

const ready = { state: 'successful', conditions: [{ type: 'Ready', status: 'True' }] };
const notReady = { state: 'pending', conditions: [{ type: 'Ready', status: 'False', reason: 'rolling_update_in_progress', message: 'Rolling update in progress' }] };
const counts = (n: number) => ({ replicas: n, updatedReplicas: n, readyReplicas: n });

function betaGraph(components: object[], status: object = ready, statusComponents: Record<string, object> = {}) {
  return { apiVersion: 'nvidia.com/v1beta1', kind: 'DynamoGraphDeployment', metadata: { name: 'test-graph', namespace: 'default' }, spec: { components }, status: { ...status, components: statusComponents } };
}
function alphaGraph(services: Record<string, object>, status: object = ready) {
  return { apiVersion: 'nvidia.com/v1alpha1', kind: 'DynamoGraphDeployment', metadata: { name: 'test-graph', namespace: 'default' }, spec: { services }, status };
}

const prefillPool = { name: 'prefill', role: 'prefill' as const, target: { kind: 'DynamoGraphDeployment', name: 'test-graph' } };
const decodePool = { name: 'decode', role: 'decode' as const, target: { kind: 'DynamoGraphDeployment', name: 'test-graph' } };

function connector(extra: Partial<KubernetesConnectorOptions> = {}) {
  return createKubernetesConnector({ kubeConfig: kubeConfigFor(), namespace: 'default', version: 'v1beta1', sleep: recordingSleep().sleep, ...extra });
}

const scope = () => nock(SERVER);

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  nock.enableNetConnect();
  expect(pending, 'every expected request was made').toEqual([]);
});

describe('API version discovery', () => {
  it('GET /apis/nvidia.com: prefers v1beta1 when served, else v1alpha1; neither is an error per pool', async () => {
    scope().get('/apis/nvidia.com').reply(200, { kind: 'APIGroup', name: 'nvidia.com', versions: [{ groupVersion: 'nvidia.com/v1alpha1', version: 'v1alpha1' }, { groupVersion: 'nvidia.com/v1beta1', version: 'v1beta1' }] });
    expect(await connector({ version: undefined }).apiVersion()).toBe('v1beta1');
    scope().get('/apis/nvidia.com').reply(200, { kind: 'APIGroup', name: 'nvidia.com', versions: [{ groupVersion: 'nvidia.com/v1alpha1', version: 'v1alpha1' }] });
    expect(await connector({ version: undefined }).apiVersion()).toBe('v1alpha1');
    scope().get('/apis/nvidia.com').reply(404, { kind: 'Status', code: 404 });
    const spec = specWith([decodePool]);
    const result = await connector({ version: undefined }).apply(decisionFor({ decode: 2 }, spec), spec);
    expect(result.errors.decode).toBe('cannot discover the nvidia.com API version: GET /apis/nvidia.com -> HTTP 404: the API group nvidia.com is not served: are the NVIDIA Dynamo CRDs installed?');
  });
});

describe('scaling a graph component', () => {
  it('uses the DGDSA /scale with the lowercased component name, merge body, field manager; no graph patch (test_update_service_replicas_uses_dgdsa_scale)', async () => {
    const spec = specWith([{ ...decodePool, target: { kind: 'DynamoGraphDeployment', name: 'test-graph', service: 'Frontend' } }]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'Frontend', type: 'worker', replicas: 1 }]));
    scope()
      .patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-frontend/scale`, { spec: { replicas: 3 } })
      .query(FM)
      .matchHeader('content-type', MERGE)
      .reply(200, { kind: 'Scale', spec: { replicas: 3 } });
    const result = await connector().apply(decisionFor({ decode: 3 }, spec), spec);
    expect(result).toEqual({ pools: { decode: 'patched 1->3 (DynamoGraphDeploymentScalingAdapter test-graph-frontend/scale)' }, errors: {} });
  });

  it('404 on /scale -> v1alpha1 merge patch of spec.services (test_update_service_replicas_fallback_to_dgd, V1A1)', async () => {
    const spec = specWith([prefillPool]);
    scope().get(`${NS_ALPHA}/dynamographdeployments/test-graph`).reply(200, alphaGraph({ VllmPrefillWorker: { componentType: 'worker', subComponentType: 'prefill', replicas: 1 } }));
    scope().patch(`${NS_ALPHA}/dynamographdeploymentscalingadapters/test-graph-vllmprefillworker/scale`).query(FM).reply(404, { kind: 'Status', code: 404, reason: 'NotFound' });
    scope()
      .patch(`${NS_ALPHA}/dynamographdeployments/test-graph`, { spec: { services: { VllmPrefillWorker: { replicas: 3 } } } })
      .query(FM)
      .matchHeader('content-type', MERGE)
      .reply(200, {});
    const result = await connector({ version: 'v1alpha1' }).apply(decisionFor({ prefill: 3 }, spec), spec);
    expect(result.pools.prefill).toBe('patched 1->3 (DynamoGraphDeployment test-graph component VllmPrefillWorker; no scaling adapter)');
  });

  it('404 on /scale -> v1beta1 JSON patch: test the name at the index read, add replicas (test_update_service_replicas_fallback_to_dgd, HEAD)', async () => {
    const spec = specWith([decodePool]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'Frontend', type: 'frontend', replicas: 1 }, { name: 'VllmDecodeWorker', type: 'decode', replicas: 1 }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-vllmdecodeworker/scale`).query(FM).reply(404, {});
    scope()
      .patch(`${NS}/dynamographdeployments/test-graph`, [
        { op: 'test', path: '/spec/components/1/name', value: 'VllmDecodeWorker' },
        { op: 'add', path: '/spec/components/1/replicas', value: 3 },
      ])
      .query(FM)
      .matchHeader('content-type', JSON_PATCH)
      .reply(200, {});
    const result = await connector().apply(decisionFor({ decode: 3 }, spec), spec);
    expect(result.errors).toEqual({});
  });

  it('403 from /scale propagates: no fallback, no retry (test_update_service_replicas_propagates_other_errors)', async () => {
    const spec = specWith([decodePool]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`).query(FM).reply(403, { kind: 'Status', message: 'forbidden: User "system:serviceaccount:default:x" cannot patch resource' });
    const result = await connector().apply(decisionFor({ decode: 2 }, spec), spec);
    expect(result.pools.decode).toBe('error');
    expect(result.errors.decode).toBe(
      'PATCH /apis/nvidia.com/v1beta1/namespaces/default/dynamographdeploymentscalingadapters/test-graph-d/scale -> HTTP 403: forbidden: User "system:serviceaccount:default:x" cannot patch resource',
    );
  });

  it('500 from /scale is retried with bounded backoff, then propagates without a fallback', async () => {
    const spec = specWith([decodePool]);
    const { sleep, delays } = recordingSleep();
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`).query(FM).times(3).reply(500, { kind: 'Status', message: 'etcdserver: request timed out' });
    const result = await connector({ sleep, retry: { maxAttempts: 3 } }).apply(decisionFor({ decode: 2 }, spec), spec);
    expect(result.errors.decode).toBe(`PATCH ${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale -> HTTP 500: etcdserver: request timed out (gave up after 3 attempts)`);
    expect(delays).toEqual([250, 500]);
  });

  it('429 with Retry-After: waits what the server says, then applies once', async () => {
    const spec = specWith([decodePool]);
    const { sleep, delays } = recordingSleep();
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(429, { kind: 'Status', message: 'Too many requests' }, { 'Retry-After': '2' });
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`).query(FM).reply(200, {});
    const result = await connector({ sleep }).apply(decisionFor({ decode: 2 }, spec), spec);
    expect(result.pools.decode).toBe('patched 1->2 (DynamoGraphDeploymentScalingAdapter test-graph-d/scale)');
    expect(delays).toEqual([2000]);
  });

  it('429 with Retry-After as an HTTP date waits until then (from the answer\'s Date); an empty or junk one is the usual backoff, not "at once"', async () => {
    const spec = specWith([decodePool]);
    const { sleep, delays } = recordingSleep();
    const graphPath = `${NS}/dynamographdeployments/test-graph`;
    scope().get(graphPath).reply(429, { kind: 'Status', message: 'Too many requests' }, { 'Retry-After': 'Wed, 25 Nov 2026 10:00:03 GMT', Date: 'Wed, 25 Nov 2026 10:00:00 GMT' });
    scope().get(graphPath).reply(429, { kind: 'Status', message: 'Too many requests' }, { 'Retry-After': '' });
    scope().get(graphPath).reply(429, { kind: 'Status', message: 'Too many requests' }, { 'Retry-After': '-5' });
    scope().get(graphPath).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`).query(FM).reply(200, {});
    const result = await connector({ sleep }).apply(decisionFor({ decode: 2 }, spec), spec);
    expect(result.pools.decode).toBe('patched 1->2 (DynamoGraphDeploymentScalingAdapter test-graph-d/scale)');
    // 3 s to the date the server named; then the doubling backoff of attempts 2 and 3 (an empty header read as 0 s).
    expect(delays).toEqual([3000, 500, 1000]);
  });

  it('a request that does not answer in time is retried (absolute counts: a retried PATCH cannot double-apply)', async () => {
    const spec = specWith([decodePool]);
    const { sleep, delays } = recordingSleep();
    scope().get(`${NS}/dynamographdeployments/test-graph`).delay(300).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`, { spec: { replicas: 2 } }).query(FM).reply(200, {});
    const result = await connector({ sleep, requestTimeoutMs: 50 }).apply(decisionFor({ decode: 2 }, spec), spec);
    expect(result.pools.decode).toBe('patched 1->2 (DynamoGraphDeploymentScalingAdapter test-graph-d/scale)');
    expect(delays).toEqual([250]);
  });

  it('409: re-reads the graph and retries with what it finds (already there -> no second patch)', async () => {
    const spec = specWith([decodePool]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`).query(FM).reply(409, { kind: 'Status', reason: 'Conflict', message: 'the object has been modified' });
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 2 }]));
    const result = await connector().apply(decisionFor({ decode: 2 }, spec), spec);
    expect(result).toEqual({ pools: { decode: 'unchanged (2)' }, errors: {} });
  });

  it('409 every time: gives up after the conflict retries and says so', async () => {
    const spec = specWith([decodePool]);
    for (let i = 0; i < 3; i += 1) {
      scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
      scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`).query(FM).reply(409, { message: 'the object has been modified' });
    }
    const result = await connector({ conflictRetries: 2 }).apply(decisionFor({ decode: 2 }, spec), spec);
    expect(result.errors.decode).toBe(`PATCH ${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale -> HTTP 409: the object has been modified`);
  });

  it('a failed JSON-patch test after a reorder: re-reads and patches the new index', async () => {
    const spec = specWith([decodePool]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }, { name: 'P', type: 'prefill' }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`).query(FM).reply(404, {});
    scope().patch(`${NS}/dynamographdeployments/test-graph`).query(FM).reply(422, { message: 'the server rejected our request: testing value /spec/components/0/name failed' });
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'P', type: 'prefill' }, { name: 'D', type: 'decode', replicas: 1 }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`).query(FM).reply(404, {});
    scope()
      .patch(`${NS}/dynamographdeployments/test-graph`, [
        { op: 'test', path: '/spec/components/1/name', value: 'D' },
        { op: 'add', path: '/spec/components/1/replicas', value: 2 },
      ])
      .query(FM)
      .reply(200, {});
    const result = await connector().apply(decisionFor({ decode: 2 }, spec), spec);
    expect(result.errors).toEqual({});
  });

  it('a failed JSON-patch test with the component still at its index is not a reorder: no retry, the error is reported', async () => {
    const spec = specWith([decodePool]);
    const graph = betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, graph);
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`).query(FM).reply(404, {});
    scope().patch(`${NS}/dynamographdeployments/test-graph`).query(FM).reply(422, { message: 'testing value /spec/components/0/name failed' });
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, graph);
    const result = await connector().apply(decisionFor({ decode: 2 }, spec), spec);
    expect(result).toEqual({ pools: { decode: 'error' }, errors: { decode: `PATCH ${NS}/dynamographdeployments/test-graph -> HTTP 422: testing value /spec/components/0/name failed` } });
  });
});

describe('which pools are patched (test_set_component_replicas*)', () => {
  it('one GET per graph for all its pools; only the changed component is patched; prefill by type, decode by name', async () => {
    const spec = specWith([prefillPool, { ...decodePool, target: { kind: 'DynamoGraphDeployment', name: 'test-graph', service: 'VllmDecodeWorker' } }]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).once().reply(200, betaGraph([{ name: 'P', type: 'prefill', replicas: 1 }, { name: 'VllmDecodeWorker', replicas: 2 }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-p/scale`, { spec: { replicas: 2 } }).query(FM).reply(200, {});
    const result = await connector().apply(decisionFor({ prefill: 2, decode: 2 }, spec), spec);
    expect(result).toEqual({ pools: { prefill: 'patched 1->2 (DynamoGraphDeploymentScalingAdapter test-graph-p/scale)', decode: 'unchanged (2)' }, errors: {} });
  });

  it('a missing replicas field counts as 0: desired 1 writes 1, desired 0 writes nothing (test_add_component_with_no_replicas_specified, test_remove_component_with_zero_replicas)', async () => {
    const spec = specWith([prefillPool, decodePool]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'P', type: 'prefill' }, { name: 'D', type: 'decode' }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-p/scale`, { spec: { replicas: 1 } }).query(FM).reply(200, {});
    const result = await connector().apply(decisionFor({ prefill: 1, decode: 0 }, spec), spec);
    expect(result.pools).toEqual({ prefill: 'patched 0->1 (DynamoGraphDeploymentScalingAdapter test-graph-p/scale)', decode: 'unchanged (0)' });
  });

  it('graph not found: an error per pool naming graph and namespace, nothing written (test_set_component_replicas_deployment_not_found)', async () => {
    const spec = specWith([prefillPool, decodePool]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(404, { kind: 'Status', reason: 'NotFound' });
    const result = await connector().apply(decisionFor({ prefill: 1, decode: 1 }, spec), spec);
    const message = 'DynamoGraphDeployment "test-graph" not found in namespace "default"; check the pool\'s target.name and target.namespace';
    expect(result.errors).toEqual({ prefill: message, decode: message });
  });

  it('a pool whose component cannot be resolved gets the error; the others still scale (test_set_component_replicas_component_not_found)', async () => {
    const spec = specWith([prefillPool, decodePool]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'P', type: 'prefill', replicas: 1 }, { name: 'Frontend', type: 'frontend' }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-p/scale`).query(FM).reply(200, {});
    const result = await connector().apply(decisionFor({ prefill: 2, decode: 2 }, spec), spec);
    expect(result.pools.prefill).toMatch(/^patched 1->2/);
    expect(result.errors.decode).toContain("must contain a component with type 'decode'");
  });

  it('two pools resolving to one component are refused, not fought over', async () => {
    const spec = specWith([decodePool, { name: 'decode-2', role: 'decode', target: { kind: 'DynamoGraphDeployment', name: 'test-graph', service: 'D' } }]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    const result = await connector().apply(decisionFor({ decode: 2, 'decode-2': 3 }, spec), spec);
    expect(result.errors.decode).toBe('pools decode, decode-2 all resolve to component "D" of DynamoGraphDeployment default/test-graph; give each pool its own target.service');
    expect(result.errors['decode-2']).toBe(result.errors.decode);
  });

  it('pools without a target or decision make no API call (test_set_component_replicas_empty_target_replicas)', async () => {
    const spec = specWith([{ name: 'decode', role: 'decode' }]);
    const result = await connector().apply(decisionFor({ decode: 2 }, spec), spec);
    expect(result).toEqual({ pools: { decode: 'no target: nothing to scale' }, errors: {} });
  });

  it('target.namespace overrides the planner namespace (test_kubernetes_api_init_with_namespace)', async () => {
    const spec = specWith([{ ...decodePool, target: { kind: 'DynamoGraphDeployment', name: 'test-graph', namespace: 'llm' } }]);
    scope().get('/apis/nvidia.com/v1beta1/namespaces/llm/dynamographdeployments/test-graph').reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 2 }]));
    expect((await connector().apply(decisionFor({ decode: 2 }, spec), spec)).pools.decode).toBe('unchanged (2)');
  });
});

describe('readiness is not the connector\'s: it writes what the decision says (the gate is constraints/readiness.ts)', () => {
  it('a graph that is not Ready (rolling update) and a component still becoming ready are patched as decided', async () => {
    const spec = specWith([decodePool]);
    const rolling = betaGraph([{ name: 'D', type: 'decode', replicas: 4 }], notReady, { D: { replicas: 4, updatedReplicas: 2, readyReplicas: 2 } });
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, rolling);
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`, { spec: { replicas: 6 } }).query(FM).reply(200, {});
    expect(await connector().apply(decisionFor({ decode: 6 }, spec), spec)).toEqual({ pools: { decode: 'patched 4->6 (DynamoGraphDeploymentScalingAdapter test-graph-d/scale)' }, errors: {} });
  });

  it('readTargets: the counts and the graph condition the gate needs (v1beta1: ready, updated, rolling update)', async () => {
    const spec = specWith([decodePool]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 4 }], notReady, { D: { replicas: 4, updatedReplicas: 2, readyReplicas: 3 } }));
    expect(await connector().readTargetsDetailed(spec)).toEqual({
      pools: { decode: { desired: 4, ready: 3, updated: 2, graph: { ready: false, rollingUpdate: true, condition: 'Ready=False, reason rolling_update_in_progress: Rolling update in progress' } } },
      errors: {},
    });
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }], { state: 'pending' }));
    expect((await connector().readTargetsDetailed(spec)).pools.decode).toEqual({ desired: 1, graph: { ready: false, condition: 'no Ready condition' } });
  });
});

describe('dry-run and leadership', () => {
  it('dry-run reads, logs the exact patch and writes nothing', async () => {
    const spec = specWith([decodePool]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    const logged: unknown[] = [];
    const logger = { info: (o: unknown) => logged.push(o), warn: () => undefined, debug: () => undefined } as never;
    const result = await connector({ dryRun: true, logger }).apply(decisionFor({ decode: 3 }, spec), spec);
    expect(result.pools.decode).toBe(`dry-run: would PATCH ${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale {"spec":{"replicas":3}} (1->3; on 404 the graph itself)`);
    expect(logged).toContainEqual({ pool: 'decode', patch: `PATCH ${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale {"spec":{"replicas":3}} (1->3; on 404 the graph itself)` });
  });

  it('canAct false: no write, "not leader"; leadership lost between the 404 and the fallback: no fallback write', async () => {
    const spec = specWith([decodePool]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    const refused = await connector({ canAct: () => false }).apply(decisionFor({ decode: 3 }, spec), spec);
    expect(refused.pools.decode).toMatch(/^not leader: no write \(would PATCH /);

    let leader = true;
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    scope()
      .patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`)
      .query(FM)
      .reply(() => {
        leader = false;
        return [404, {}];
      });
    const lost = await connector({ canAct: () => leader }).apply(decisionFor({ decode: 3 }, spec), spec);
    expect(lost.pools.decode).toMatch(/^not leader: no write/);
  });

  it('the term of leadership ends while the PATCH is in flight: cut off, "not leader", reported as abandoned, no error', async () => {
    const spec = specWith([decodePool]);
    const scalePath = `${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`;
    const term = new AbortController();
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    const patch = scope().patch(scalePath, { spec: { replicas: 3 } }).query(FM).delay(10_000).reply(200, {});
    patch.on('request', () => term.abort(new Error('not the leader any more: lease held by planner-1')));
    const abandoned: unknown[] = [];
    const started = performance.now();
    const result = await connector({
      canAct: () => !term.signal.aborted,
      callBudget: () => ({ signal: new AbortController().signal, leadership: term.signal }),
      onWriteAbandoned: (a) => abandoned.push(a),
    }).apply(decisionFor({ decode: 3 }, spec), spec);
    // Not held for the 10 s the server would take to answer.
    expect(performance.now() - started).toBeLessThan(5000);
    expect(result).toEqual({ pools: { decode: `not leader: the write was cut off in flight (would PATCH ${scalePath} {"spec":{"replicas":3}} (1->3; on 404 the graph itself))` }, errors: {} });
    expect(abandoned).toEqual([{ pool: 'decode', request: `PATCH ${scalePath}`, reason: 'leadership-lost', inFlight: true, why: 'not the leader any more: lease held by planner-1' }]);
  });

  it('the term of leadership ends while a graph is read: the read is answered (every replica reads); only the write is not sent', async () => {
    const spec = specWith([decodePool]);
    const term = new AbortController();
    const read = scope().get(`${NS}/dynamographdeployments/test-graph`).delay(200).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    read.on('request', () => term.abort(new Error('not the leader any more: lease held by planner-1')));
    const abandoned: unknown[] = [];
    const c = connector({
      canAct: () => !term.signal.aborted,
      callBudget: () => ({ leadership: term.signal }),
      onWriteAbandoned: (a) => abandoned.push(a),
    });
    expect((await c.readTargetsDetailed(spec)).pools.decode).toMatchObject({ desired: 1 });
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]));
    const result = await c.apply(decisionFor({ decode: 3 }, spec), spec);
    expect(result.pools.decode).toMatch(/^not leader: no write \(would PATCH /);
    // A replica that was not leading when it came to write began no write: nothing abandoned.
    expect(abandoned).toEqual([]);
  });
});

describe("the tick's budget: its deadline, its timeout and the planner's stop end every call", () => {
  const graph = () => betaGraph([{ name: 'D', type: 'decode', replicas: 1 }]);
  const scalePath = `${NS}/dynamographdeploymentscalingadapters/test-graph-d/scale`;

  it('a PATCH cut off in flight by the stop is reported as not applied, and not sent again', async () => {
    const spec = specWith([decodePool]);
    const stop = new AbortController();
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, graph());
    // The API server holds the write: the planner stops while it is in flight.
    const patch = scope().patch(scalePath, { spec: { replicas: 3 } }).query(FM).delay(10_000).reply(200, {});
    patch.on('request', () => stop.abort(new Error('the planner is stopping (SIGTERM)')));
    const result = await connector({ callBudget: () => ({ signal: stop.signal }) }).apply(decisionFor({ decode: 3 }, spec), spec);
    expect(result.pools.decode).toBe(`not applied: the write was cut off in flight (would PATCH ${scalePath} {"spec":{"replicas":3}} (1->3; on 404 the graph itself))`);
    expect(result.errors.decode).toBe(
      `PATCH ${scalePath}: cut off while in flight: the planner is stopping (SIGTERM); not counted as applied (the API server may or may not have applied it; the next tick reads the count back)`,
    );
  });

  it('a stop during a Retry-After wait ends it at once: the write is not sent', async () => {
    const spec = specWith([decodePool]);
    const stop = new AbortController();
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, graph());
    scope().patch(scalePath).query(FM).reply(429, { kind: 'Status', message: 'Too many requests' }, { 'Retry-After': '30' });
    // The real wait (a 30 s timer, longer than this test may run) is what the stop must end.
    const logger = { info: () => undefined, debug: () => undefined, warn: (_o: unknown, message?: string) => message?.includes('backing off') && stop.abort(new Error('the planner is stopping (SIGTERM)')) } as never;
    const result = await connector({ sleep: undefined, logger, callBudget: () => ({ signal: stop.signal }) }).apply(decisionFor({ decode: 3 }, spec), spec);
    expect(result.pools.decode).toMatch(/^not applied: the write was not sent \(would PATCH /);
    expect(result.errors.decode).toBe(`PATCH ${scalePath} -> HTTP 429: Too many requests; not retried: the planner is stopping (SIGTERM)`);
  });

  it('a Retry-After (seconds or an HTTP date) past what is left of the tick is not waited: the read fails at once, saying so', async () => {
    const spec = specWith([decodePool]);
    const { sleep, delays } = recordingSleep();
    const budget = { remainingMs: () => 5_000 };
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(429, { kind: 'Status', message: 'Too many requests' }, { 'Retry-After': '30' });
    const seconds = await connector({ sleep, callBudget: () => budget }).apply(decisionFor({ decode: 3 }, spec), spec);
    expect(seconds.errors.decode).toBe(
      `GET ${NS}/dynamographdeployments/test-graph -> HTTP 429: Too many requests (gave up after 1 attempt: the server asked to retry after 30 s, more than the 5 s the tick had left)`,
    );
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(429, { kind: 'Status', message: 'Too many requests' }, { 'Retry-After': 'Wed, 25 Nov 2026 10:02:00 GMT', Date: 'Wed, 25 Nov 2026 10:00:00 GMT' });
    const date = await connector({ sleep, callBudget: () => budget }).apply(decisionFor({ decode: 3 }, spec), spec);
    expect(date.errors.decode).toMatch(/asked to retry after 120 s, more than the 5 s the tick had left\)$/);
    expect(delays).toEqual([]);
  });

  it("a request that does not answer is given up when the tick's time runs out, not after the client's own timeout", async () => {
    const spec = specWith([decodePool]);
    const { sleep, delays } = recordingSleep();
    scope().get(`${NS}/dynamographdeployments/test-graph`).delay(10_000).reply(200, graph());
    const result = await connector({ sleep, requestTimeoutMs: 10_000, callBudget: () => ({ remainingMs: () => 100 }) }).apply(decisionFor({ decode: 3 }, spec), spec);
    expect(result.errors.decode).toMatch(/-> no answer: timed out after 100 ms \(all the tick had left\) \(gave up after 1 attempt: the next try, 0.3 s on, would come after the tick's deadline \(0.1 s left\)\)$/);
    expect(delays).toEqual([]);
  });

  it("a discovery two ticks share, given up with the first one's tick, is made again for the second", async () => {
    const spec = specWith([decodePool]);
    const group = { kind: 'APIGroup', name: 'nvidia.com', versions: [{ groupVersion: 'nvidia.com/v1beta1', version: 'v1beta1' }] };
    const first = new AbortController();
    const second = new AbortController();
    let current: CallBudget = { signal: first.signal };
    const c = connector({ version: undefined, callBudget: () => current });
    const held = scope().get('/apis/nvidia.com').delay(10_000).reply(200, group);
    held.on('request', () => first.abort(new Error('the tick timed out after 30s (per-policy timeout)')));
    scope().get('/apis/nvidia.com').reply(200, group);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, graph());
    const reads = [c.readTargetsDetailed(spec)];
    current = { signal: second.signal };
    reads.push(c.readTargetsDetailed(spec));
    const [timedOut, onTime] = await Promise.all(reads);
    expect(timedOut!.errors.decode).toBe('cannot discover the nvidia.com API version: GET /apis/nvidia.com: cut off while in flight: the tick timed out after 30s (per-policy timeout)');
    expect(onTime!.errors).toEqual({});
    expect(onTime!.pools.decode).toMatchObject({ desired: 1 });
  });

  it('once the planner is stopping, no request is sent at all', async () => {
    const spec = specWith([decodePool]);
    const stop = new AbortController();
    stop.abort(new Error('the planner is stopping (SIGTERM)'));
    const result = await connector({ callBudget: () => ({ signal: stop.signal }) }).apply(decisionFor({ decode: 3 }, spec), spec);
    expect(result.pools.decode).toBe('error');
    expect(result.errors.decode).toBe(`GET ${NS}/dynamographdeployments/test-graph: not sent: the planner is stopping (SIGTERM)`);
  });
});

describe('DynamoComponentDeployment targets', () => {
  const dcdPool = { name: 'decode-spot', role: 'decode' as const, capacity: 'spot' as const, target: { kind: 'DynamoComponentDeployment', name: 'decode-spot' } };

  it('merge patch of spec.replicas with field manager; unchanged when equal', async () => {
    const spec = specWith([dcdPool]);
    const dcd = (n: number) => ({ apiVersion: 'nvidia.com/v1beta1', kind: 'DynamoComponentDeployment', metadata: { name: 'decode-spot' }, spec: { type: 'decode', replicas: n }, status: { component: counts(n) } });
    scope().get(`${NS}/dynamocomponentdeployments/decode-spot`).reply(200, dcd(2));
    scope().patch(`${NS}/dynamocomponentdeployments/decode-spot`, { spec: { replicas: 5 } }).query(FM).matchHeader('content-type', MERGE).reply(200, {});
    expect((await connector().apply(decisionFor({ 'decode-spot': 5 }, spec), spec)).pools['decode-spot']).toBe('patched 2->5 (DynamoComponentDeployment decode-spot)');
    scope().get(`${NS}/dynamocomponentdeployments/decode-spot`).reply(200, dcd(5));
    expect((await connector().apply(decisionFor({ 'decode-spot': 5 }, spec), spec)).pools['decode-spot']).toBe('unchanged (5)');
  });

  it('409: re-reads the DCD and retries with what it finds (the same write path as graphs)', async () => {
    const spec = specWith([dcdPool]);
    const dcd = (n: number) => ({ apiVersion: 'nvidia.com/v1beta1', kind: 'DynamoComponentDeployment', metadata: { name: 'decode-spot' }, spec: { type: 'decode', replicas: n }, status: { component: counts(n) } });
    scope().get(`${NS}/dynamocomponentdeployments/decode-spot`).reply(200, dcd(2));
    scope().patch(`${NS}/dynamocomponentdeployments/decode-spot`, { spec: { replicas: 5 } }).query(FM).reply(409, { message: 'the object has been modified' });
    scope().get(`${NS}/dynamocomponentdeployments/decode-spot`).reply(200, dcd(3));
    scope().patch(`${NS}/dynamocomponentdeployments/decode-spot`, { spec: { replicas: 5 } }).query(FM).reply(200, {});
    expect(await connector().apply(decisionFor({ 'decode-spot': 5 }, spec), spec)).toEqual({ pools: { 'decode-spot': 'patched 3->5 (DynamoComponentDeployment decode-spot)' }, errors: {} });
  });

  it('not found names the DCD and namespace', async () => {
    const spec = specWith([dcdPool]);
    scope().get(`${NS}/dynamocomponentdeployments/decode-spot`).reply(404, {});
    expect((await connector().apply(decisionFor({ 'decode-spot': 1 }, spec), spec)).errors['decode-spot']).toBe(
      'DynamoComponentDeployment "decode-spot" not found in namespace "default"; check the pool\'s target.name and target.namespace',
    );
  });

  it('readTargets: desired and ready per pool from v1alpha1 status.service / v1beta1 status.component', async () => {
    const spec = specWith([dcdPool, decodePool]);
    scope().get(`${NS_ALPHA}/dynamocomponentdeployments/decode-spot`).reply(200, { spec: { replicas: 3 }, status: { conditions: [], service: { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 2 } } });
    scope().get(`${NS_ALPHA}/dynamographdeployments/test-graph`).reply(200, alphaGraph({ VllmDecodeWorker: { replicas: 2 } }));
    const c = connector({ version: 'v1alpha1' });
    // A DCD has no graph condition; a component without status has neither ready nor updated (nothing to check).
    expect(await c.readTargetsDetailed(spec)).toEqual({ pools: { 'decode-spot': { desired: 3, ready: 2, updated: 3 }, decode: { desired: 2, graph: { ready: true } } }, errors: {} });
  });
});

describe('bounded reads of the API server', () => {
  it('a graph GET answering more than the cap is refused unread past it, not retried, and nothing is written', async () => {
    const spec = specWith([decodePool]);
    const huge = JSON.stringify(betaGraph([{ name: 'VllmDecodeWorker', type: 'decode', replicas: 1, note: 'x'.repeat(MAX_OBJECT_BYTES) }]));
    scope().get(`${NS}/dynamographdeployments/test-graph`).once().reply(200, huge);
    const result = await connector().apply(decisionFor({ decode: 3 }, spec), spec);
    expect(result.pools.decode).toBe('error');
    expect(result.errors.decode).toBe(
      'GET /apis/nvidia.com/v1beta1/namespaces/default/dynamographdeployments/test-graph: the answer is longer than 4 MB and was not read further ' +
        '(a Kubernetes object is at most 1.5 MB); is the kubeconfig pointing at a Kubernetes API server?',
    );
  });

  it('a declared Content-Length over the cap is refused before the body is read', async () => {
    const spec = specWith([decodePool]);
    scope()
      .get(`${NS}/dynamographdeployments/test-graph`)
      .reply(200, '{}', { 'Content-Length': String(MAX_OBJECT_BYTES + 1) });
    const result = await connector().apply(decisionFor({ decode: 3 }, spec), spec);
    expect(result.errors.decode).toContain('the answer is longer than 4 MB');
  });

  it('a 200 that is not JSON names the path and what to check', async () => {
    const spec = specWith([decodePool]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, '<html>login</html>');
    const result = await connector().apply(decisionFor({ decode: 3 }, spec), spec);
    expect(result.errors.decode).toBe(
      'GET /apis/nvidia.com/v1beta1/namespaces/default/dynamographdeployments/test-graph -> HTTP 200: the answer is not JSON (<html>login</html>); is the kubeconfig pointing at a Kubernetes API server?',
    );
  });
});

describe('the hold marks of a decision', () => {
  it('a pool marked writable: false gets no request at all', async () => {
    const spec = specWith([decodePool]);
    const decision = decisionFor({ decode: 0 }, spec);
    decision.explanation.unknown = ['the request count', 'the current count of decode'];
    Object.assign(decision.pools.decode!, { hold: true, writable: false });
    const result = await connector().apply(decision, spec);
    expect(result).toEqual({
      pools: { decode: "not written: nothing is known of this pool's count (the request count; the current count of decode unknown); its decided count is a placeholder, so nothing is written" },
      errors: {},
    });
  });

  it('a held pool is not written below the count read back; a held pool may still grow', async () => {
    const spec = specWith([prefillPool, decodePool]);
    scope()
      .get(`${NS}/dynamographdeployments/test-graph`)
      .reply(200, betaGraph([{ name: 'VllmPrefillWorker', type: 'prefill', replicas: 5 }, { name: 'VllmDecodeWorker', type: 'decode', replicas: 2 }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-vllmdecodeworker/scale`, { spec: { replicas: 3 } }).query(FM).reply(200, {});
    const decision = decisionFor({ prefill: 1, decode: 3 }, spec);
    decision.explanation.unknown = ['the request count'];
    for (const pool of Object.values(decision.pools)) pool.hold = true;
    const result = await connector().apply(decision, spec);
    expect(result).toEqual({
      pools: {
        prefill: 'held at 5: the decision was a hold (the request count unknown) and 1 is below the 5 set now; not written',
        decode: 'patched 2->3 (DynamoGraphDeploymentScalingAdapter test-graph-vllmdecodeworker/scale)',
      },
      errors: {},
    });
  });

  it('the same decision without the hold mark scales down', async () => {
    const spec = specWith([prefillPool]);
    scope().get(`${NS}/dynamographdeployments/test-graph`).reply(200, betaGraph([{ name: 'VllmPrefillWorker', type: 'prefill', replicas: 5 }]));
    scope().patch(`${NS}/dynamographdeploymentscalingadapters/test-graph-vllmprefillworker/scale`, { spec: { replicas: 1 } }).query(FM).reply(200, {});
    const result = await connector().apply(decisionFor({ prefill: 1 }, spec), spec);
    expect(result.pools.prefill).toBe('patched 5->1 (DynamoGraphDeploymentScalingAdapter test-graph-vllmprefillworker/scale)');
  });

  it('a held DynamoComponentDeployment is read back and not shrunk', async () => {
    const spec = specWith([{ name: 'spot', role: 'decode', target: { kind: 'DynamoComponentDeployment', name: 'd' } }]);
    scope()
      .get(`${NS}/dynamocomponentdeployments/d`)
      .reply(200, { apiVersion: 'nvidia.com/v1beta1', kind: 'DynamoComponentDeployment', metadata: { name: 'd', namespace: 'default' }, spec: { replicas: 4 } });
    const decision = decisionFor({ spot: 0 }, spec);
    decision.explanation.unknown = ['the current count of spot'];
    decision.pools.spot!.hold = true;
    const result = await connector().apply(decision, spec);
    expect(result.pools.spot).toBe('held at 4: the decision was a hold (the current count of spot unknown) and 0 is below the 4 set now; not written');
  });

  it('a held Spot pool the decision found unavailable (evicted) is written down to what it still has', async () => {
    const spec = specWith([{ name: 'spot', role: 'decode', capacity: 'spot', target: { kind: 'DynamoComponentDeployment', name: 'd' } }]);
    scope()
      .get(`${NS}/dynamocomponentdeployments/d`)
      .reply(200, { apiVersion: 'nvidia.com/v1beta1', kind: 'DynamoComponentDeployment', metadata: { name: 'd', namespace: 'default' }, spec: { replicas: 3 } });
    scope().patch(`${NS}/dynamocomponentdeployments/d`, { spec: { replicas: 0 } }).query(FM).reply(200, {});
    const decision = decisionFor({ spot: 0 }, spec);
    decision.explanation.unknown = ['the request count'];
    Object.assign(decision.pools.spot!, { hold: true, boundBy: ['spot-unavailable'] });
    const result = await connector().apply(decision, spec);
    expect(result.pools.spot).toMatch(/^patched 3->0/);
  });
});
