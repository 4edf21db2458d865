/**
 * Startup times from the informers against the fake API server: each pod of a pool seen turning Ready reports its
 * creation-to-Ready time once (first start only); the planner learns the pool's startup time from them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createKubeState, type KubeState } from '../../src/kubernetes/informers/kube-state.js';
import { PodStartupLog, startupSecondsOf } from '../../src/kubernetes/informers/pod-startup.js';
import { decide } from '../../src/planner/decide.js';
import { initialState } from '../../src/planner/state.js';
import { loadProfile } from '../../src/profiles/index.js';
import { startFakeKubeApi, type FakeKubeApi } from '../fixtures/fake-kube-api/index.js';
import { dgdV1beta1, pod } from '../fixtures/fake-kube-api/objects.js';
import { specWith } from '../unit/connectors/helpers.js';

let api: FakeKubeApi | undefined;
let state: KubeState | undefined;
afterEach(async () => {
  state?.stop();
  await api?.close();
  api = state = undefined;
});

const labels = (component: string) => ({ 'nvidia.com/dynamo-graph-deployment-name': 'llama', 'nvidia.com/dynamo-component': component });
const spec = specWith([
  { name: 'prefill-od', role: 'prefill', target: { kind: 'DynamoGraphDeployment', name: 'llama', service: 'prefill' } },
  { name: 'decode-od', role: 'decode', target: { kind: 'DynamoGraphDeployment', name: 'llama', service: 'decode' } },
]);
const T0 = Date.parse('2026-11-25T10:10:00Z');

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('startup times from the pod informer', () => {
  it('reads creation to Ready, first start only', () => {
    expect(startupSecondsOf(pod('a', { createdAt: '2026-11-25T10:00:00Z', readyAt: '2026-11-25T10:03:42Z' }) as never)).toBe(222);
    expect(startupSecondsOf(pod('b', { createdAt: '2026-11-25T10:00:00Z' }) as never)).toBeUndefined();
    expect(startupSecondsOf(pod('c', { createdAt: '2026-11-25T10:00:00Z', readyAt: '2026-11-25T11:00:00Z', restarts: 1 }) as never)).toBeUndefined();
    expect(startupSecondsOf(pod('d', { createdAt: '2026-11-25T10:00:00Z', readyAt: '2026-11-25T09:59:00Z' }) as never)).toBeUndefined();
  });

  it('reports each pod seen turning Ready once per pool, and the planner plans with their p90', async () => {
    api = await startFakeKubeApi({
      objects: [
        dgdV1beta1({ name: 'llama', components: [{ name: 'prefill', type: 'prefill', replicas: 3 }, { name: 'decode', type: 'decode', replicas: 1 }] }),
        pod('prefill-a', { labels: labels('prefill'), createdAt: '2026-11-25T10:00:00Z', phase: 'Pending' }),
        pod('prefill-b', { labels: labels('prefill'), createdAt: '2026-11-25T10:00:00Z', phase: 'Pending' }),
        // Already Ready when first seen: its Ready time may be a recovery from a failed probe (here 2 h after its creation).
        pod('prefill-old', { labels: labels('prefill'), createdAt: '2026-11-25T08:00:00Z', readyAt: '2026-11-25T10:00:00Z' }),
        pod('decode-a', { labels: labels('decode'), createdAt: '2026-11-25T10:00:00Z' }),
        pod('decode-b', { labels: labels('decode'), createdAt: '2026-11-25T10:01:00Z', phase: 'Pending' }),
      ],
    });
    state = createKubeState({ kubeConfig: api.kubeConfig(), namespace: 'default', spec, watchNodes: false, now: () => T0 });
    await state.start();
    expect(state.poolObservations(spec, T0)['prefill-od']?.startupSeconds).toBeUndefined();
    api.put(pod('prefill-a', { labels: labels('prefill'), createdAt: '2026-11-25T10:00:00Z', readyAt: '2026-11-25T10:04:00Z' }));
    api.put(pod('prefill-b', { labels: labels('prefill'), createdAt: '2026-11-25T10:00:00Z', readyAt: '2026-11-25T10:05:00Z' }));
    let prefill: number[] = [];
    await waitFor(() => {
      prefill = [...prefill, ...(state!.poolObservations(spec, T0)['prefill-od']?.startupSeconds ?? [])];
      return prefill.length >= 2;
    });
    expect(prefill.sort()).toEqual([240, 300]);
    const pools = state.poolObservations(spec, T0);
    const first = { ...pools, 'prefill-od': { ...pools['prefill-od']!, startupSeconds: prefill } };
    // Reported once: the next call has nothing new; a pod that turns Ready later is reported then.
    expect(state.poolObservations(spec, T0 + 60_000)['prefill-od']?.startupSeconds).toBeUndefined();
    api.put(pod('decode-a', { labels: labels('decode'), createdAt: '2026-11-25T10:00:00Z', readyAt: '2026-11-25T10:06:30Z' }));
    api.put(pod('decode-b', { labels: labels('decode'), createdAt: '2026-11-25T10:01:00Z', readyAt: '2026-11-25T10:04:00Z' }));
    let seen: number[] = [];
    await waitFor(() => {
      seen = [...seen, ...(state!.poolObservations(spec, T0 + 180_000)['decode-od']?.startupSeconds ?? [])];
      return seen.length >= 2;
    });
    expect(seen.sort()).toEqual([180, 390]);
    // The decision core takes them: prefill's two samples blend with the 180 s prior, (180 x 3 + 300 x 2) / 5 = 228.
    const profile = loadProfile('builtin:llama2-70b-h100-tp4', process.cwd());
    const { decision } = decide({ spec, profile, observation: { time: '', requests: 10, isl: 2000, osl: 200, pools: first }, state: initialState(), now: T0 });
    expect(decision.explanation.startup?.['prefill-od']).toEqual({ seconds: 228, prior: 180, samples: 2, p90: 300, source: 'blend' });
  });

  it('a pod already Ready when first seen gives no sample: its Ready time may be a recovery, not its start', () => {
    const log = new PodStartupLog(() => T0);
    // Created 08:00, Ready again at 10:00 after a failed probe: 7200 s would be noted as its startup.
    log.note('old', pod('old', { createdAt: '2026-11-25T08:00:00Z', readyAt: '2026-11-25T10:00:00Z' }) as never);
    log.note('new', pod('new', { createdAt: '2026-11-25T10:00:00Z', phase: 'Pending' }) as never);
    log.note('new', pod('new', { createdAt: '2026-11-25T10:00:00Z', readyAt: '2026-11-25T10:03:42Z' }) as never);
    expect(log.report('p', T0, () => true)).toEqual([222]);
  });

  it('a pod noted and forgotten is not noted again by a later update or relist, until it is deleted', () => {
    let now = T0;
    const log = new PodStartupLog(() => now);
    const pending = pod('a', { createdAt: '2026-11-25T10:00:00Z', phase: 'Pending' }) as never;
    const ready = pod('a', { createdAt: '2026-11-25T10:00:00Z', readyAt: '2026-11-25T10:04:00Z' }) as never;
    log.note('uid-a', pending);
    log.note('uid-a', ready);
    expect(log.report('p', now, () => true)).toEqual([240]);
    // Two hours on, the sample is forgotten; the same pod updated (or relisted) still gives nothing.
    now = T0 + 7_200_000;
    log.report('p', now, () => true);
    log.forgetReported();
    log.note('uid-a', ready);
    expect(log.report('p', now, () => true)).toEqual([]);
    // Deleted, its uid is forgotten (the marker lives no longer than the pod): seen anew, it would count anew.
    log.deleted('uid-a');
    log.note('uid-a', pending);
    log.note('uid-a', ready);
    expect(log.report('p', now, () => true)).toEqual([240]);
  });
});
