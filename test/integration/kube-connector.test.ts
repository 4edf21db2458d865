/**
 * The Kubernetes connector against the fake API server: real HTTP, real CRD validation, both API versions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createKubernetesConnector } from '../../src/kubernetes/index.js';
import { startFakeKubeApi, type FakeKubeApi } from '../fixtures/fake-kube-api/index.js';
import { dcd, dgdV1alpha1, dgdV1beta1, dgdsa, stable } from '../fixtures/fake-kube-api/objects.js';
import { decisionFor, recordingSleep, specWith } from '../unit/connectors/helpers.js';

let api: FakeKubeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const components = [
  { name: 'Frontend', type: 'frontend' as const, replicas: 1, status: stable(1) },
  { name: 'VllmPrefillWorker', type: 'prefill' as const, replicas: 2, status: stable(2) },
  { name: 'VllmDecodeWorker', type: 'decode' as const, replicas: 3, status: stable(3) },
];
const spec = specWith([
  { name: 'prefill-od', role: 'prefill', target: { kind: 'DynamoGraphDeployment', name: 'llama' } },
  { name: 'decode-od', role: 'decode', target: { kind: 'DynamoGraphDeployment', name: 'llama', service: 'VllmDecodeWorker' } },
  { name: 'decode-spot', role: 'decode', capacity: 'spot', target: { kind: 'DynamoComponentDeployment', name: 'llama-decode-spot' } },
]);

function connectorFor(fake: FakeKubeApi, extra: Partial<Parameters<typeof createKubernetesConnector>[0]> = {}) {
  return createKubernetesConnector({ kubeConfig: fake.kubeConfig(), namespace: 'default', sleep: recordingSleep().sleep, ...extra });
}

const writes = (fake: FakeKubeApi) => fake.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path} ${r.contentType} ${JSON.stringify(r.body)} -> ${r.status}`);

describe('Kubernetes connector against the fake API server', () => {
  it('v1beta1: scales graph components through their DGDSA and the DCD by merge patch, with field manager pd-planner', async () => {
    api = await startFakeKubeApi({
      objects: [
        dgdV1beta1({ name: 'llama', components }),
        dgdsa('v1beta1', 'llama', 'VllmPrefillWorker', 2),
        dgdsa('v1beta1', 'llama', 'VllmDecodeWorker', 3),
        dcd('v1beta1', 'llama-decode-spot', { type: 'decode', replicas: 1, status: stable(1) }),
      ],
    });
    const result = await connectorFor(api).apply(decisionFor({ 'prefill-od': 4, 'decode-od': 3, 'decode-spot': 2 }, spec), spec);
    expect(result).toEqual({
      pools: {
        'prefill-od': 'patched 2->4 (DynamoGraphDeploymentScalingAdapter llama-vllmprefillworker/scale)',
        'decode-od': 'unchanged (3)',
        'decode-spot': 'patched 1->2 (DynamoComponentDeployment llama-decode-spot)',
      },
      errors: {},
    });
    expect(writes(api)).toEqual([
      'PATCH /apis/nvidia.com/v1beta1/namespaces/default/dynamographdeploymentscalingadapters/llama-vllmprefillworker/scale application/merge-patch+json {"spec":{"replicas":4}} -> 200',
      'PATCH /apis/nvidia.com/v1beta1/namespaces/default/dynamocomponentdeployments/llama-decode-spot application/merge-patch+json {"spec":{"replicas":2}} -> 200',
    ]);
    expect(api.requests.filter((r) => r.method === 'PATCH').every((r) => r.query.fieldManager === 'pd-planner')).toBe(true);
    // The fake's operator copied the adapter's count into the graph.
    expect(api.get('nvidia.com/v1beta1', 'DynamoGraphDeployment', 'default', 'llama')?.spec?.components).toContainEqual({ name: 'VllmPrefillWorker', type: 'prefill', replicas: 4 });
  });

  it('v1beta1 without adapters: 404 on /scale, then a JSON patch with a test op on the graph', async () => {
    api = await startFakeKubeApi({ objects: [dgdV1beta1({ name: 'llama', components })] });
    const s = specWith([{ name: 'decode-od', role: 'decode', target: { kind: 'DynamoGraphDeployment', name: 'llama' } }]);
    const result = await connectorFor(api).apply(decisionFor({ 'decode-od': 5 }, s), s);
    expect(result.pools['decode-od']).toBe('patched 3->5 (DynamoGraphDeployment llama component VllmDecodeWorker; no scaling adapter)');
    expect(writes(api)).toEqual([
      'PATCH /apis/nvidia.com/v1beta1/namespaces/default/dynamographdeploymentscalingadapters/llama-vllmdecodeworker/scale application/merge-patch+json {"spec":{"replicas":5}} -> 404',
      'PATCH /apis/nvidia.com/v1beta1/namespaces/default/dynamographdeployments/llama application/json-patch+json [{"op":"test","path":"/spec/components/2/name","value":"VllmDecodeWorker"},{"op":"add","path":"/spec/components/2/replicas","value":5}] -> 200',
    ]);
    expect(api.get('nvidia.com/v1beta1', 'DynamoGraphDeployment', 'default', 'llama')?.spec?.components).toContainEqual({ name: 'VllmDecodeWorker', type: 'decode', replicas: 5 });
  });

  it('v1alpha1-only operator: discovers v1alpha1 and falls back to a merge patch of spec.services', async () => {
    api = await startFakeKubeApi({ servedVersions: ['v1alpha1'], objects: [dgdV1alpha1({ name: 'llama', components })] });
    const s = specWith([{ name: 'prefill-od', role: 'prefill', target: { kind: 'DynamoGraphDeployment', name: 'llama' } }]);
    const connector = connectorFor(api);
    expect(await connector.apiVersion()).toBe('v1alpha1');
    const result = await connector.apply(decisionFor({ 'prefill-od': 1 }, s), s);
    expect(result.pools['prefill-od']).toBe('patched 2->1 (DynamoGraphDeployment llama component VllmPrefillWorker; no scaling adapter)');
    expect(writes(api)[1]).toBe(
      'PATCH /apis/nvidia.com/v1alpha1/namespaces/default/dynamographdeployments/llama application/merge-patch+json {"spec":{"services":{"VllmPrefillWorker":{"replicas":1}}}} -> 200',
    );
    expect(api.get('nvidia.com/v1alpha1', 'DynamoGraphDeployment', 'default', 'llama')?.spec?.services).toMatchObject({ VllmPrefillWorker: { replicas: 1, subComponentType: 'prefill' } });
  });

  it('a negative count never reaches the server: the connector refuses it per pool', async () => {
    api = await startFakeKubeApi({ objects: [dgdV1beta1({ name: 'llama', components }), dgdsa('v1beta1', 'llama', 'VllmDecodeWorker', 3)] });
    const s = specWith([{ name: 'decode-od', role: 'decode', target: { kind: 'DynamoGraphDeployment', name: 'llama' } }]);
    const decision = decisionFor({ 'decode-od': 3 }, s);
    // (The fake's own test shows the server answering 422 to {"spec":{"replicas":-1}} on /scale.)
    (decision.pools['decode-od'] as { desired: number }).desired = -1;
    const guarded = await connectorFor(api).apply(decision, s);
    expect(guarded.errors['decode-od']).toBe('desired replicas -1 is not a non-negative integer; nothing written');
    expect(api.requests).toEqual([]);
  });

  it('schema rejection from the API server is reported with the server message (DCD beyond int32)', async () => {
    api = await startFakeKubeApi({ objects: [dcd('v1beta1', 'llama-decode-spot', { type: 'decode', replicas: 1, status: stable(1) })] });
    const s = specWith([{ name: 'decode-spot', role: 'decode', target: { kind: 'DynamoComponentDeployment', name: 'llama-decode-spot' } }]);
    const result = await connectorFor(api).apply(decisionFor({ 'decode-spot': 3_000_000_000 }, s), s);
    expect(result.pools['decode-spot']).toBe('error');
    expect(result.errors['decode-spot']).toContain('HTTP 422');
    expect(result.errors['decode-spot']).toContain('spec.replicas in body must be of type int32');
  });

  it('a graph that is not Ready is patched as decided: the readiness gate is part of the decision, not of the connector', async () => {
    api = await startFakeKubeApi({ objects: [dgdV1beta1({ name: 'llama', components, ready: 'False' }), dgdsa('v1beta1', 'llama', 'VllmDecodeWorker', 3)] });
    const s = specWith([{ name: 'decode-od', role: 'decode', target: { kind: 'DynamoGraphDeployment', name: 'llama' } }]);
    // What the gate reads: the counts and the graph's condition.
    expect(await connectorFor(api).readTargets(s)).toEqual({
      'decode-od': { desired: 3, ready: 3, updated: 3, graph: { ready: false, rollingUpdate: true, condition: 'Ready=False, reason rolling_update_in_progress: Rolling update in progress' } },
    });
    const result = await connectorFor(api).apply(decisionFor({ 'decode-od': 5 }, s), s);
    expect(result.pools['decode-od']).toBe('patched 3->5 (DynamoGraphDeploymentScalingAdapter llama-vllmdecodeworker/scale)');
  });

  it('409 on the adapter: re-reads the graph and retries once', async () => {
    api = await startFakeKubeApi({ objects: [dgdV1beta1({ name: 'llama', components }), dgdsa('v1beta1', 'llama', 'VllmDecodeWorker', 3)] });
    api.inject({ path: '**/scale', method: 'PATCH', fault: 409 });
    const s = specWith([{ name: 'decode-od', role: 'decode', target: { kind: 'DynamoGraphDeployment', name: 'llama' } }]);
    const result = await connectorFor(api).apply(decisionFor({ 'decode-od': 4 }, s), s);
    expect(result.pools['decode-od']).toBe('patched 3->4 (DynamoGraphDeploymentScalingAdapter llama-vllmdecodeworker/scale)');
    expect(api.requests.map((r) => `${r.method} ${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${r.status}`)).toEqual([
      'GET undefined 200',
      'GET dynamographdeployments 200',
      'PATCH dynamographdeploymentscalingadapters/scale 409',
      'GET dynamographdeployments 200',
      'PATCH dynamographdeploymentscalingadapters/scale 200',
    ]);
  });

  it('500 twice then success: backs off (bounded) and applies once', async () => {
    api = await startFakeKubeApi({ objects: [dcd('v1alpha1', 'llama-decode-spot', { type: 'decode', replicas: 1, status: stable(1) })], servedVersions: ['v1alpha1'] });
    api.inject({ path: '**/dynamocomponentdeployments/*', method: 'PATCH', fault: 500, times: 2 });
    const { sleep, delays } = recordingSleep();
    const s = specWith([{ name: 'decode-spot', role: 'decode', target: { kind: 'DynamoComponentDeployment', name: 'llama-decode-spot' } }]);
    const result = await connectorFor(api, { sleep }).apply(decisionFor({ 'decode-spot': 0 }, s), s);
    expect(result.pools['decode-spot']).toBe('patched 1->0 (DynamoComponentDeployment llama-decode-spot)');
    expect(delays).toEqual([250, 500]);
    expect(api.get('nvidia.com/v1alpha1', 'DynamoComponentDeployment', 'default', 'llama-decode-spot')?.spec?.replicas).toBe(0);
  });

  it('reads targets: spec, ready and updated replicas per pool and the graph\'s Ready condition, one GET per graph', async () => {
    api = await startFakeKubeApi({
      objects: [
        dgdV1beta1({ name: 'llama', components: [components[0], components[1], { ...components[2], status: { replicas: 3, updatedReplicas: 3, readyReplicas: 2 } }] as never }),
        dcd('v1beta1', 'llama-decode-spot', { type: 'decode', replicas: 2, status: { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 1 } }),
      ],
    });
    const connector = connectorFor(api);
    expect(await connector.readTargets(spec)).toEqual({
      'prefill-od': { desired: 2, ready: 2, updated: 2, graph: { ready: true } },
      'decode-od': { desired: 3, ready: 2, updated: 3, graph: { ready: true } },
      'decode-spot': { desired: 2, ready: 1, updated: 2 },
    });
    expect(api.requests.filter((r) => r.resource === 'dynamographdeployments')).toHaveLength(1);
  });
});
