/**
 * The fake API server's own contract: what other tests rely on (discovery, CRD validation, patch semantics,
 * watches, lease conflicts, fault injection, request records with RBAC attributes).
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { startFakeKubeApi, type FakeKubeApi } from '../fixtures/fake-kube-api/index.js';
import { crdFacts } from '../fixtures/fake-kube-api/crds.js';
import { dgdV1alpha1, dgdV1beta1, dgdsa, node, pod } from '../fixtures/fake-kube-api/objects.js';

let api: FakeKubeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const graph = dgdV1beta1({
  name: 'llama',
  components: [
    { name: 'Frontend', type: 'frontend', replicas: 1 },
    { name: 'VllmPrefillWorker', type: 'prefill', replicas: 2 },
    { name: 'VllmDecodeWorker', type: 'decode', replicas: 3 },
  ],
});

async function call(method: string, path: string, body?: unknown, contentType = 'application/merge-patch+json') {
  const res = await fetch(`${api?.url}${path}`, { method, headers: body === undefined ? {} : { 'Content-Type': contentType }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

describe('fake kube API: CRD facts it assumes', () => {
  it('HEAD serves v1alpha1 (deprecated) and v1beta1 (storage); only the DGDSA has a scale subresource', () => {
    const dgd = crdFacts('head-2026-08-21', 'dynamographdeployments');
    expect(dgd?.versions).toEqual([
      { name: 'v1alpha1', served: true, storage: false, subresources: ['status'] },
      { name: 'v1beta1', served: true, storage: true, subresources: ['status'] },
    ]);
    expect(crdFacts('head-2026-08-21', 'dynamographdeploymentscalingadapters')?.versions.map((v) => v.subresources)).toEqual([
      ['scale', 'status'],
      ['scale', 'status'],
    ]);
    expect(crdFacts('v1alpha1-2026-03-30', 'dynamographdeployments')?.versions.map((v) => v.name)).toEqual(['v1alpha1']);
  });
});

describe('fake kube API', () => {
  it('serves discovery for the configured nvidia.com versions', async () => {
    api = await startFakeKubeApi({ servedVersions: ['v1alpha1'] });
    const group = await call('GET', '/apis/nvidia.com');
    expect(group.body.versions.map((v: { version: string }) => v.version)).toEqual(['v1alpha1']);
    expect(group.body.preferredVersion.version).toBe('v1alpha1');
    expect((await call('GET', '/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeployments/x')).status).toBe(404);
  });

  it('rejects objects that break the CRD schema with 422 and the field in the message', async () => {
    api = await startFakeKubeApi({ objects: [graph, dgdsa('v1beta1', 'llama', 'VllmPrefillWorker', 2)] });
    const negative = await call('PATCH', '/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeploymentscalingadapters/llama-vllmprefillworker/scale', { spec: { replicas: -1 } });
    expect(negative.status).toBe(422);
    expect(negative.body.message).toContain('spec.replicas in body should be greater than or equal to 0');
    const badType = await call('PATCH', '/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeployments/llama', [{ op: 'replace', path: '/spec/components/1/type', value: 'gpu' }], 'application/json-patch+json');
    expect(badType.status).toBe(422);
    expect(badType.body.message).toContain('spec.components[1].type: Unsupported value: "gpu"');
    expect(() => api?.put({ ...graph, spec: { components: [{ name: 'x', replicas: 'two' }] } })).toThrow(/spec.components\[0\].replicas.*must be of type integer/);
  });

  it('applies a JSON patch only when its test op holds (422 otherwise) and bumps generation', async () => {
    api = await startFakeKubeApi({ objects: [graph] });
    const path = '/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeployments/llama';
    const wrong = await call('PATCH', path, [{ op: 'test', path: '/spec/components/1/name', value: 'VllmDecodeWorker' }, { op: 'add', path: '/spec/components/1/replicas', value: 5 }], 'application/json-patch+json');
    expect(wrong.status).toBe(422);
    const right = await call('PATCH', path, [{ op: 'test', path: '/spec/components/1/name', value: 'VllmPrefillWorker' }, { op: 'add', path: '/spec/components/1/replicas', value: 5 }], 'application/json-patch+json');
    expect(right.status).toBe(200);
    expect(right.body.spec.components[1].replicas).toBe(5);
    expect(right.body.metadata.generation).toBe(2);
    expect((await call('PATCH', path, { spec: {} }, 'application/strategic-merge-patch+json')).status).toBe(415);
  });

  it('scales through a DGDSA and, as the operator would, copies the count into the graph (seen in either version)', async () => {
    api = await startFakeKubeApi({ objects: [graph, dgdsa('v1beta1', 'llama', 'VllmDecodeWorker', 3)] });
    const res = await call('PATCH', '/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeploymentscalingadapters/llama-vllmdecodeworker/scale', { spec: { replicas: 6 } });
    expect(res.body).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 6 } });
    expect(api.get('nvidia.com/v1alpha1', 'DynamoGraphDeployment', 'default', 'llama')?.spec?.services).toMatchObject({ VllmDecodeWorker: { replicas: 6, subComponentType: 'decode' } });
    expect(api.get('nvidia.com/v1beta1', 'DynamoGraphDeploymentScalingAdapter', 'default', 'llama-vllmdecodeworker')?.status?.replicas).toBe(6);
  });

  it('operator.settle makes a replica change ready at once (status counts = spec, Ready True)', async () => {
    api = await startFakeKubeApi({ operator: { settle: true }, objects: [graph, dgdsa('v1beta1', 'llama', 'VllmDecodeWorker', 3)] });
    await call('PATCH', '/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeploymentscalingadapters/llama-vllmdecodeworker/scale', { spec: { replicas: 5 } });
    const stored = api.get('nvidia.com/v1beta1', 'DynamoGraphDeployment', 'default', 'llama');
    expect(stored?.status?.components).toMatchObject({ VllmDecodeWorker: { replicas: 5, updatedReplicas: 5, readyReplicas: 5, availableReplicas: 5 } });
    expect(stored?.status?.conditions).toMatchObject([{ type: 'Ready', status: 'True' }]);
  });

  it('a v1alpha1 merge patch on a v1beta1-stored graph changes replicas and keeps the rest', async () => {
    api = await startFakeKubeApi({ objects: [graph] });
    const res = await call('PATCH', '/apis/nvidia.com/v1alpha1/namespaces/default/dynamographdeployments/llama', { spec: { services: { VllmDecodeWorker: { replicas: 4 } } } });
    expect(res.status).toBe(200);
    const stored = api.get('nvidia.com/v1beta1', 'DynamoGraphDeployment', 'default', 'llama');
    expect(stored?.spec?.components).toEqual([
      { name: 'Frontend', type: 'frontend', replicas: 1 },
      { name: 'VllmPrefillWorker', type: 'prefill', replicas: 2 },
      { name: 'VllmDecodeWorker', type: 'decode', replicas: 4 },
    ]);
  });

  it('leases: create, 409 on a second create, 409 on a stale resourceVersion, update with the fresh one', async () => {
    api = await startFakeKubeApi();
    const base = '/apis/coordination.k8s.io/v1/namespaces/default/leases';
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'pd-planner' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } };
    const created = await call('POST', base, lease, 'application/json');
    expect(created.status).toBe(201);
    expect((await call('POST', base, lease, 'application/json')).status).toBe(409);
    const rv = created.body.metadata.resourceVersion as string;
    const first = await call('PUT', `${base}/pd-planner`, { ...lease, metadata: { name: 'pd-planner', resourceVersion: rv }, spec: { holderIdentity: 'b' } }, 'application/json');
    expect(first.status).toBe(200);
    const stale = await call('PUT', `${base}/pd-planner`, { ...lease, metadata: { name: 'pd-planner', resourceVersion: rv }, spec: { holderIdentity: 'c' } }, 'application/json');
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe('Conflict');
    expect(api.requests.map((r) => `${r.verb} ${r.group}/${r.resource} ${r.status}`)).toEqual([
      'create coordination.k8s.io/leases 201',
      'create coordination.k8s.io/leases 409',
      'update coordination.k8s.io/leases 200',
      'update coordination.k8s.io/leases 409',
    ]);
  });

  it('injects faults on the next N matching requests, with Retry-After', async () => {
    api = await startFakeKubeApi({ objects: [graph] });
    api.inject({ path: '/apis/nvidia.com/*/namespaces/*/dynamographdeployments/*', method: 'GET', fault: 429, times: 2, retryAfterSeconds: 3 });
    const path = '/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeployments/llama';
    const a = await call('GET', path);
    expect([a.status, a.headers.get('retry-after')]).toEqual([429, '3']);
    expect((await call('GET', path)).status).toBe(429);
    expect((await call('GET', path)).status).toBe(200);
  });

  it('lists and watches pods with a label selector from a resourceVersion; an informer survives a watch drop', async () => {
    const labels = { 'nvidia.com/dynamo-graph-deployment-name': 'llama', 'nvidia.com/dynamo-component': 'VllmDecodeWorker' };
    api = await startFakeKubeApi({ objects: [pod('d-1', { labels }), pod('other', { labels: { app: 'x' } }), node('n1', { spot: true })] });
    const kc = api.kubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const selector = 'nvidia.com/dynamo-graph-deployment-name=llama,nvidia.com/dynamo-component=VllmDecodeWorker';
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/pods', () => core.listNamespacedPod({ namespace: 'default', labelSelector: selector }), selector);
    const seen: string[] = [];
    informer.on('add', (p) => seen.push(`add ${p.metadata?.name}`));
    informer.on('update', (p) => seen.push(`update ${p.metadata?.name} ${p.status?.phase}`));
    await informer.start();
    api.put(pod('d-2', { labels, phase: 'Pending' }));
    await waitFor(() => seen.includes('add d-2'));
    api.dropWatches();
    api.put(pod('d-2', { labels, phase: 'Running' }));
    await waitFor(() => seen.includes('update d-2 Running'));
    await informer.stop();
    expect(seen).toEqual(['add d-1', 'add d-2', 'update d-2 Running']);
    const watches = api.requests.filter((r) => r.verb === 'watch');
    expect(watches.length).toBeGreaterThanOrEqual(2);
    expect(watches[0]?.query.labelSelector).toBe(selector);
  });

  it('answers 410 Gone to a watch from a compacted resourceVersion', async () => {
    api = await startFakeKubeApi({ objects: [dgdV1alpha1({ name: 'g', components: [{ name: 'decode', type: 'decode', replicas: 1 }] })] });
    api.compact();
    const res = await fetch(`${api.url}/api/v1/namespaces/default/pods?watch=true&resourceVersion=5`);
    const line = JSON.parse((await res.text()).trim());
    expect(line).toMatchObject({ type: 'ERROR', object: { code: 410 } });
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
