/**
 * kube-state against the fake API server: informers over pods, nodes and Dynamo objects; Spot signals per pool.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createKubeState, type KubeState } from '../../src/kubernetes/informers/kube-state.js';
import { startFakeKubeApi, type FakeKubeApi } from '../fixtures/fake-kube-api/index.js';
import { dcd, dgdV1beta1, node, pod } from '../fixtures/fake-kube-api/objects.js';
import { specWith } from '../unit/connectors/helpers.js';

let api: FakeKubeApi | undefined;
let state: KubeState | undefined;
afterEach(async () => {
  state?.stop();
  await api?.close();
  api = undefined;
  state = undefined;
});

const graph = dgdV1beta1({
  name: 'llama',
  components: [
    { name: 'prefill', type: 'prefill', replicas: 1 },
    { name: 'decode', type: 'decode', replicas: 2 },
  ],
});
const spec = specWith([
  { name: 'prefill-od', role: 'prefill', target: { kind: 'DynamoGraphDeployment', name: 'llama' } },
  { name: 'decode-od', role: 'decode', target: { kind: 'DynamoGraphDeployment', name: 'llama', service: 'decode' } },
  { name: 'decode-spot', role: 'decode', capacity: 'spot', target: { kind: 'DynamoComponentDeployment', name: 'llama-decode-spot' } },
]);
const labels = (component: string) => ({ 'nvidia.com/dynamo-graph-deployment-name': 'llama', 'nvidia.com/dynamo-component': component });
// A v1beta1 DCD has no status.podSelector: its pods are found by nvidia.com/dynamo-component=<DCD name>.
const spotLabels = { 'nvidia.com/dynamo-component': 'llama-decode-spot' };
const T0 = Date.parse('2026-11-25T10:00:00Z');

/** Lets watch events reach the informers (same process, loopback). */
const settle = () => new Promise((r) => setTimeout(r, 200));

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('kube-state', () => {
  it('counts pending pods (oldest age), evictions and eviction notices per pool, each once', async () => {
    let clock = T0;
    api = await startFakeKubeApi({
      objects: [
        graph,
        dcd('v1beta1', 'llama-decode-spot', { type: 'decode', replicas: 3 }),
        node('od-1'),
        node('spot-1', { spot: true }),
        node('spot-2', { spot: true }),
        pod('prefill-a', { labels: labels('prefill'), nodeName: 'od-1' }),
        pod('decode-a', { labels: labels('decode'), nodeName: 'od-1' }),
        pod('spot-a', { labels: spotLabels, nodeName: 'spot-1' }),
        pod('spot-b', { labels: spotLabels, nodeName: 'spot-2' }),
        pod('spot-c', { labels: spotLabels, phase: 'Pending', unschedulable: true, createdAt: '2026-11-25T09:58:00Z' }),
      ],
    });
    state = createKubeState({ kubeConfig: api.kubeConfig(), namespace: 'default', spec, now: () => clock });
    await state.start();
    expect(state.health()).toEqual({ synced: true, errors: {}, nodes: true });
    expect(state.spotNodes().sort()).toEqual(['spot-1', 'spot-2']);
    expect(state.poolObservations(spec, T0)).toEqual({
      'prefill-od': { pending: 0, evicted: 0, evictionNotices: 0 },
      'decode-od': { pending: 0, evicted: 0, evictionNotices: 0 },
      'decode-spot': { pending: 1, pendingSeconds: 120, evicted: 0, evictionNotices: 0 },
    });

    // Azure evicts spot-1: the autoscaler taints it, then the pod goes with the node; spot-b gets a DisruptionTarget.
    clock = T0 + 10_000;
    api.put(node('spot-1', { spot: true, taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1732528800', effect: 'NoSchedule' }] }));
    api.put(pod('spot-b', { labels: spotLabels, nodeName: 'spot-2', disruptionTarget: true }));
    await settle();
    api.delete('v1', 'Pod', 'default', 'spot-a');
    await settle();
    const next = state.poolObservations(spec, T0 + 60_000);
    // spot-a got the notice and was then evicted within the same report: it counts once, as evicted (not also as a
    // notice), so the Spot rules (which add the two) see 2 lost replicas, not 3.
    expect(next['decode-spot']).toEqual({ pending: 1, pendingSeconds: 180, evicted: 2, evictionNotices: 0 });
    expect(next['decode-od']).toEqual({ pending: 0, evicted: 0, evictionNotices: 0 });
    // Reported once: the next tick sees nothing new.
    expect(state.poolObservations(spec, T0 + 120_000)['decode-spot']).toMatchObject({ evicted: 0, evictionNotices: 0 });
  });

  it('keeps up after a watch drop and after a compaction (410 -> re-list)', async () => {
    api = await startFakeKubeApi({ objects: [graph, node('od-1')] });
    state = createKubeState({ kubeConfig: api.kubeConfig(), namespace: 'default', spec, now: () => T0 });
    await state.start();
    api.dropWatches();
    api.put(pod('decode-x', { labels: labels('decode'), phase: 'Pending' }));
    await waitFor(() => state?.poolObservations(spec, T0)['decode-od']?.pending === 1);
    api.compact();
    api.dropWatches();
    api.put(pod('decode-y', { labels: labels('decode'), phase: 'Pending' }));
    await waitFor(() => state?.poolObservations(spec, T0)['decode-od']?.pending === 2);
    // Watches resumed from a resourceVersion, not by polling: a handful of lists in total.
    const lists = api.requests.filter((r) => r.verb === 'list' && r.resource === 'pods');
    expect(lists.length).toBeLessThanOrEqual(2);
  });
});

describe('kube-state across a failed re-list (a rebuild after an error, or the periodic resync)', () => {
  it('a resync is no failure; a pod deleted from a healthy node while the nodes cannot be re-listed is no eviction', async () => {
    api = await startFakeKubeApi({
      objects: [graph, node('od-1'), pod('decode-a', { labels: labels('decode'), nodeName: 'od-1' }), pod('decode-b', { labels: labels('decode'), nodeName: 'od-1' })],
    });
    state = createKubeState({ kubeConfig: api.kubeConfig(), namespace: 'default', spec, now: () => T0, resyncSeconds: 0.3 });
    await state.start();
    expect(state.poolObservations(spec, T0)['decode-od']).toEqual({ pending: 0, evicted: 0, evictionNotices: 0 });
    // Resyncs come and go: replacing an informer (which aborts its watch) is not an error.
    await waitFor(() => api!.requests.filter((r) => r.verb === 'list' && r.resource === 'nodes').length >= 3);
    expect(state.health().errors).toEqual({});
    state.stop();

    // Without resyncs: the nodes watch is cut and every later request for nodes fails, so the informer is rebuilt
    // (after the backoff) and its re-list fails.
    state = createKubeState({ kubeConfig: api.kubeConfig(), namespace: 'default', spec, now: () => T0, resyncSeconds: 0 });
    await state.start();
    api.inject({ path: '/api/v1/nodes', method: 'GET', fault: 500, times: 1_000_000 });
    api.dropWatches();
    await waitFor(() => api!.requests.some((q) => q.resource === 'nodes' && q.verb === 'list' && q.status === 500));
    await settle();
    expect(state.health()).toMatchObject({ synced: false, errors: { nodes: expect.stringContaining('HTTP-Code: 500') } });
    // A scale-down deletes decode-a from od-1, a node with no notice.
    api.delete('v1', 'Pod', 'default', 'decode-a');
    await settle();
    // Not an eviction (the failed re-list emptied the nodes cache, and a pod whose node was unknown counted as lost with it).
    expect(state.poolObservations(spec, T0)['decode-od']).toEqual({ pending: 0, evicted: 0, evictionNotices: 0 });
  });
});

describe('kube-state: pending pods that have a node', () => {
  it('a pod placed on a node but still Pending (pulling a 30 GB image) is pending, but not waiting for capacity: it adds no pending time', async () => {
    api = await startFakeKubeApi({
      objects: [
        graph,
        node('spot-1', { spot: true }),
        // Placed 10 minutes ago, still pulling its image: the Spot pool has the capacity.
        pod('pulling', { labels: labels('decode'), phase: 'Pending', nodeName: 'spot-1', createdAt: '2026-11-25T09:50:00Z' }),
      ],
    });
    state = createKubeState({ kubeConfig: api.kubeConfig(), namespace: 'default', spec, now: () => T0 });
    await state.start();
    // It was 600 s "pending" against spec.spot.pendingGrace (120 s): no Spot capacity, the need moved to on-demand,
    // and the Spot pool held at what it had ready, the pulling pod with it.
    expect(state.poolObservations(spec, T0)['decode-od']).toEqual({ pending: 1, pendingSeconds: 0, evicted: 0, evictionNotices: 0 });
    // One the scheduler could not place (3 minutes ago) is waiting for capacity.
    api.put(pod('unplaced', { labels: labels('decode'), phase: 'Pending', unschedulable: true, createdAt: '2026-11-25T09:57:00Z' }));
    await waitFor(() => state!.poolObservations(spec, T0)['decode-od']?.pending === 2);
    expect(state.poolObservations(spec, T0)['decode-od']).toEqual({ pending: 2, pendingSeconds: 180, evicted: 0, evictionNotices: 0 });
  });
});

describe('kube-state: a list the API server never answers', () => {
  it('start() does not wait for it for good: the list is given up after its timeout and tried again, and the pods are then known', async () => {
    api = await startFakeKubeApi({ objects: [graph, node('od-1'), pod('decode-b', { labels: labels('decode'), phase: 'Pending', unschedulable: true, createdAt: '2026-11-25T09:58:00Z' })] });
    // The first list of pods is swallowed (a half-open connection, an API server stuck on it).
    api.inject({ path: '/api/v1/namespaces/default/pods', method: 'GET', fault: 'timeout' });
    state = createKubeState({ kubeConfig: api.kubeConfig(), namespace: 'default', spec, now: () => T0, listTimeoutSeconds: 0.5 });
    // It waited for that list without end: every later read of the pods (each tick) waited 10 s and got nothing.
    await state.start();
    expect(state.health().errors['pods/default']).toBe('the list did not answer within 0.5s; trying again');
    await waitFor(() => state!.health().synced);
    expect(state.poolObservations(spec, T0)['decode-od']).toEqual({ pending: 1, pendingSeconds: 120, evicted: 0, evictionNotices: 0 });
    // The list given up is closed, not left open: against a server that never answers, every retry would add one
    // more open connection.
    const swallowed = api.requests.filter((r) => r.path === '/api/v1/namespaces/default/pods' && r.status === -1);
    expect(swallowed).toHaveLength(1);
    await waitFor(() => swallowed[0]!.clientClosed === true);
  });
});

describe('kube-state: a re-list that never answers', () => {
  it('the list client-node makes on its own after a 410 is given up after the list timeout too: closed, reported, not synced, then listed again', async () => {
    api = await startFakeKubeApi({ objects: [graph, node('od-1')] });
    state = createKubeState({ kubeConfig: api.kubeConfig(), namespace: 'default', spec, now: () => T0, listTimeoutSeconds: 0.5, resyncSeconds: 0 });
    await state.start();
    api.put(pod('decode-a', { labels: labels('decode') }));
    await settle();
    // The history the pods watch would resume from is gone (a node changed since, then a compaction: 410 Gone on the
    // re-watch), and the re-list is swallowed.
    api.put(node('od-2'));
    await settle();
    api.compact();
    api.inject({ path: '/api/v1/namespaces/default/pods', method: 'GET', fault: 'timeout', watch: false });
    api.dropWatches();
    const swallowed = () => api!.requests.filter((r) => r.path === '/api/v1/namespaces/default/pods' && r.status === -1);
    await waitFor(() => swallowed().length === 1);
    // It stayed open, the informer without a watch and its cache marked current, until the next resync (10 minutes).
    await waitFor(() => swallowed()[0]!.clientClosed === true && state!.health().synced === false);
    expect(state.health().errors['pods/default']).toBe('the list did not answer within 0.5s; trying again');
    // Rebuilt after the backoff: listed and watching again.
    await waitFor(() => state!.health().synced);
    api.put(pod('decode-b', { labels: labels('decode'), phase: 'Pending', unschedulable: true, createdAt: '2026-11-25T09:59:00Z' }));
    await waitFor(() => state!.poolObservations(spec, T0)['decode-od']?.pending === 1);
  });
});

describe('kube-state: a watch that never answers', () => {
  it('a re-watch the API server takes but never answers is given up after the list timeout: closed, reported, not synced, then rebuilt', async () => {
    api = await startFakeKubeApi({ objects: [graph, node('od-1')] });
    state = createKubeState({ kubeConfig: api.kubeConfig(), namespace: 'default', spec, now: () => T0, listTimeoutSeconds: 0.5, resyncSeconds: 0 });
    await state.start();
    // Every watch is cut; the pods informer's re-watch is swallowed (a half-open connection, a proxy stuck on it).
    api.inject({ path: '/api/v1/namespaces/default/pods', method: 'GET', fault: 'timeout', watch: true });
    api.dropWatches();
    const swallowed = () => api!.requests.filter((r) => r.path === '/api/v1/namespaces/default/pods' && r.status === -1);
    await waitFor(() => swallowed().length === 1);
    expect(swallowed()[0]!.query.watch).toBe('true');
    // Without a bound the informer would wait on it for good, its cache taken as current: a pod added meanwhile unseen.
    await waitFor(() => swallowed()[0]!.clientClosed === true && state!.health().synced === false);
    expect(state.health().errors['pods/default']).toBe('the watch did not answer within 0.5s; trying again');
    await waitFor(() => state!.health().synced);
    api.put(pod('decode-b', { labels: labels('decode'), phase: 'Pending', unschedulable: true, createdAt: '2026-11-25T09:59:00Z' }));
    await waitFor(() => state!.poolObservations(spec, T0)['decode-od']?.pending === 1);
  });

  it('stop() closes a watch still waiting for the API server to answer', async () => {
    api = await startFakeKubeApi({ objects: [graph, node('od-1')] });
    api.inject({ path: '/api/v1/namespaces/default/pods', method: 'GET', fault: 'timeout', watch: true });
    state = createKubeState({ kubeConfig: api.kubeConfig(), namespace: 'default', spec, now: () => T0, listTimeoutSeconds: 60, resyncSeconds: 0 });
    await state.start();
    const swallowed = () => api!.requests.filter((r) => r.path === '/api/v1/namespaces/default/pods' && r.status === -1);
    await waitFor(() => swallowed().length === 1);
    state.stop();
    // An open request would keep the process alive after the service stopped, and one more would stay open each resync.
    await waitFor(() => swallowed()[0]!.clientClosed === true);
  });
});

describe('kube-state: a notice lifted and given again', () => {
  it('a pod whose node is cordoned, uncordoned and cordoned again gets two notices, one each time', async () => {
    api = await startFakeKubeApi({ objects: [graph, node('spot-1', { spot: true }), pod('decode-a', { labels: labels('decode'), nodeName: 'spot-1' })] });
    state = createKubeState({ kubeConfig: api.kubeConfig(), namespace: 'default', spec, now: () => T0 });
    await state.start();
    const notices = () => state!.poolObservations(spec, T0)['decode-od']?.evictionNotices;
    expect(notices()).toBe(0);
    api.put(node('spot-1', { spot: true, unschedulable: true }));
    await waitFor(() => notices() === 1);
    expect(notices()).toBe(0);
    api.put(node('spot-1', { spot: true }));
    await settle();
    expect(notices()).toBe(0);
    api.put(node('spot-1', { spot: true, unschedulable: true }));
    await waitFor(() => notices() === 1);
  });
});

describe('kube-state with a v1alpha1 operator', () => {
  it('finds a DCD pool\'s pods through the DCD\'s status.podSelector, and reports an informer that cannot list', async () => {
    api = await startFakeKubeApi({
      servedVersions: ['v1alpha1'],
      objects: [
        dcd('v1alpha1', 'llama-decode-spot', { type: 'decode', replicas: 2 }),
        pod('s-1', { labels: { 'nvidia.com/dynamo-component-deployment': 'llama-decode-spot' }, phase: 'Pending', createdAt: '2026-11-25T09:59:00Z' }),
        pod('s-2', { labels: { 'nvidia.com/dynamo-component-deployment': 'llama-decode-spot' } }),
      ],
    });
    api.inject({ path: '/api/v1/nodes', method: 'GET', fault: 500, times: 1 });
    state = createKubeState({ kubeConfig: api.kubeConfig(), namespace: 'default', spec, now: () => T0 });
    await state.start();
    expect(state.poolObservations(spec, T0)['decode-spot']).toEqual({ pending: 1, pendingSeconds: 60, evicted: 0, evictionNotices: 0 });
    expect(state.health().synced).toBe(false);
    expect(Object.keys(state.health().errors)).toEqual(['nodes']);
    // The nodes informer is rebuilt after a 1 s backoff and then lists fine.
    await waitFor(() => state?.health().synced === true, 5000);
  });
});
