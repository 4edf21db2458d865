/**
 * Fault: the Kubernetes API server answers 409, 429, 500/503, never answers (timeout), or drops watches.
 * Must hold afterwards: the decision is applied exactly once (one accepted PATCH with the decided count), retries
 * back off (Retry-After honoured, but never past the tick's deadline), a tick that could not apply is not lost (the
 * next tick applies it, and is not skipped for a tick still waiting), and the informers neither miss nor
 * double-count an eviction across a dropped watch or a re-list.
 * (A stop during a retry wait: sigterm-mid-tick.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeKubeApi, type FakeKubeApi } from '../../fixtures/fake-kube-api/index.js';
import { dcd, llamaGraph, node, pod, stable } from '../../fixtures/fake-kube-api/objects.js';
import { waitUnlessAborted } from '../../../src/http/retry-after.js';
import { acceptedWrites, startRig, writes, type Rig } from './rig.js';

let api: FakeKubeApi | undefined;
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  await api?.close();
  api = rig = undefined;
});

// Static policy: the decision is known in advance (prefill 2 -> 4, decode stays 3), so every write can be named.
const POLICY = `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: kube-fault }
spec:
  interval: 60s
  failureThreshold: 2
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { prefill-od: 4, decode-od: 3 } }
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: llama, service: VllmPrefillWorker } }
    - { name: decode-od, role: decode, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: llama, service: VllmDecodeWorker } }
`;

const PREFILL_TO_4 = 'PATCH llama-vllmprefillworker/scale {"spec":{"replicas":4}} -> 200';

async function setup(extra: Parameters<typeof startRig>[0]['connector'] = {}): Promise<Rig> {
  api = await startFakeKubeApi({
    objects: llamaGraph({ prefill: 2, decode: 3 }),
    operator: { settle: true },
  });
  rig = await startRig({ api, policyYaml: POLICY, connector: extra });
  return rig;
}

const prefillReplicas = () => api!.get('nvidia.com/v1beta1', 'DynamoGraphDeploymentScalingAdapter', 'default', 'llama-vllmprefillworker')?.spec?.replicas;
const trail = () => api!.requests.filter((r) => r.group === 'nvidia.com' && r.name).map((r) => `${r.method} ${r.name}${r.subresource ? `/${r.subresource}` : ''} ${r.status}`);

describe('fault: API server errors while applying a decision', () => {
  it('409 Conflict on the first PATCH: re-reads the graph, exactly one PATCH lands', async () => {
    const r = await setup();
    api!.inject({ path: '**/dynamographdeploymentscalingadapters/*/scale', method: 'PATCH', fault: 409 });
    api!.requests.length = 0;
    const outcome = await r.tick();
    expect(outcome.ok).toBe(true);
    expect(outcome.result!.apply.pools['prefill-od']).toBe('patched 2->4 (DynamoGraphDeploymentScalingAdapter llama-vllmprefillworker/scale)');
    expect(acceptedWrites(api!)).toEqual([PREFILL_TO_4]);
    // The 409 is followed by a fresh GET of the graph before the one retry.
    const t = trail();
    const conflict = t.indexOf('PATCH llama-vllmprefillworker/scale 409');
    expect(conflict).toBeGreaterThanOrEqual(0);
    expect(t.slice(conflict + 1)).toEqual(['GET llama 200', 'PATCH llama-vllmprefillworker/scale 200']);
    expect(prefillReplicas()).toBe(4);
    // The next tick finds 4 in place and writes nothing more.
    await r.tick();
    expect(acceptedWrites(api!)).toEqual([PREFILL_TO_4]);
  });

  it('429 with Retry-After: 2 waits the 2 s the server asked for, then applies once', async () => {
    const delays: number[] = [];
    const r = await setup({ sleep: async (ms) => void delays.push(ms) });
    api!.inject({ path: '**/scale', method: 'PATCH', fault: 429, retryAfterSeconds: 2 });
    const outcome = await r.tick();
    expect(outcome.result!.apply.pools['prefill-od']).toMatch(/^patched 2->4/);
    expect(delays).toEqual([2000]);
    expect(writes(api!)).toEqual(['PATCH llama-vllmprefillworker/scale {"spec":{"replicas":4}} -> 429', PREFILL_TO_4]);
  });

  it("429 with Retry-After: 30 on every PATCH, 3 s per-policy timeout: the tick ends by its deadline, and the next one is not skipped", async () => {
    api = await startFakeKubeApi({ objects: llamaGraph({ prefill: 2, decode: 3 }), operator: { settle: true } });
    // Real waits, as `run` waits: a 30 s one started here would hold the policy well past its 3 s timeout.
    rig = await startRig({ api, policyYaml: POLICY, connector: { sleep: waitUnlessAborted }, service: { policyTimeoutSeconds: 3 } });
    // Every PATCH of the first two ticks (each tries once: a 30 s wait never fits in its 3 s) is throttled.
    api.inject({ path: '**/scale', method: 'PATCH', fault: 429, retryAfterSeconds: 30, times: 2 });
    for (const tick of [1, 2]) {
      const started = performance.now();
      const outcome = await rig.tick();
      const seconds = (performance.now() - started) / 1000;
      // Within its 3 s (the first tick also starts the decide thread).
      expect(seconds, `tick ${tick} took ${seconds} s`).toBeLessThan(4.5);
      // Not skipped ("its previous tick has not returned yet"), not timed out: it ran, read, decided and tried once.
      expect(outcome.failure).toMatch(/^apply prefill-od: PATCH .*llama-vllmprefillworker\/scale -> HTTP 429: .* \(gave up after 1 attempt: the server asked to retry after 30 s, more than the \d+(\.\d)? s the tick had left\)$/);
      expect(outcome.result!.decision.pools['prefill-od']!.desired).toBe(4);
    }
    expect(rig.log.events()).not.toContain('tick-skipped');
    expect(rig.log.events()).not.toContain('tick-timeout');
    expect(writes(api)).toEqual(Array.from({ length: 2 }, () => 'PATCH llama-vllmprefillworker/scale {"spec":{"replicas":4}} -> 429'));
    // The server lets the planner in again: the next tick applies the decision, once.
    const third = await rig.tick();
    expect(third.ok).toBe(true);
    expect(acceptedWrites(api)).toEqual([PREFILL_TO_4]);
  });

  it('500 on every try of a tick: the apply fails after 5 bounded tries; the next tick applies the same decision once', async () => {
    const delays: number[] = [];
    const r = await setup({ sleep: async (ms) => void delays.push(ms) });
    api!.inject({ path: '**/scale', method: 'PATCH', fault: 500, times: 5 });
    const failed = await r.tick();
    expect(failed.ok).toBe(false);
    expect(failed.result!.apply.errors['prefill-od']).toMatch(/HTTP 500.*gave up after 5 attempts/);
    expect(delays).toEqual([250, 500, 1000, 2000]);
    expect(acceptedWrites(api!)).toEqual([]);
    expect(r.service.ready().ok).toBe(true); // 1 of failureThreshold 2
    // The API server is back: the decision (still 4) is applied on the next tick, once.
    const next = await r.tick();
    expect(next.ok).toBe(true);
    expect(next.result!.decision.pools['prefill-od']!.desired).toBe(4);
    expect(acceptedWrites(api!)).toEqual([PREFILL_TO_4]);
    expect(writes(api!).filter((w) => w.endsWith('-> 500'))).toHaveLength(5);
  });

  it('a PATCH that never answers times out and is retried: one accepted write, no duplicate', async () => {
    const r = await setup({ requestTimeoutMs: 300 });
    api!.inject({ path: '**/scale', method: 'PATCH', fault: 'timeout' });
    const outcome = await r.tick();
    expect(outcome.result!.apply.pools['prefill-od']).toMatch(/^patched 2->4/);
    // The held request (status -1) is never applied by the server; the retry is the one write that lands.
    expect(writes(api!)).toEqual(['PATCH llama-vllmprefillworker/scale {"spec":{"replicas":4}} -> -1', PREFILL_TO_4]);
    expect(prefillReplicas()).toBe(4);
  });

  it('503 on API discovery at the first tick: nothing applied, not cached; the next tick discovers and applies once', async () => {
    const r = await setup();
    // Five 503s: every try of the first tick's read (the connector is then not asked to write).
    api!.inject({ path: '/apis/nvidia.com', method: 'GET', fault: 503, times: 5 });
    const first = await r.tick();
    expect(first.ok).toBe(false);
    // The reads of the graph failed (no API version): nothing is known of the pools on this cold start, so the
    // connector is not even asked to write.
    expect(first.result!.observation.errors?.targets).toMatch(/HTTP 503/);
    expect(first.result!.apply.pools['prefill-od']).toMatch(/^not written: nothing is known of this pool's count/);
    expect(acceptedWrites(api!)).toEqual([]);
    const second = await r.tick();
    expect(second.ok).toBe(true);
    expect(acceptedWrites(api!)).toEqual([PREFILL_TO_4]);
  });
});

describe('fault: dropped and expired watches (kube-state informers)', () => {
  const SPOT_POLICY = `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: watch-fault }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { decode-spot: 2, decode-od: 1 } }
  pools:
    - { name: decode-spot, role: decode, capacity: spot, minReplicas: 0, maxReplicas: 8, target: { kind: DynamoComponentDeployment, name: llama-decode-spot } }
    - { name: decode-od, role: decode, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoComponentDeployment, name: llama-decode-od } }
`;
  const spotPod = (name: string, opts: Parameters<typeof pod>[1] = {}) => pod(name, { labels: { 'nvidia.com/dynamo-component': 'llama-decode-spot' }, nodeName: 'spot-1', ...opts });

  async function watchSetup(): Promise<Rig> {
    api = await startFakeKubeApi({
      objects: [
        dcd('v1beta1', 'llama-decode-spot', { type: 'decode', replicas: 2, status: stable(2) }),
        dcd('v1beta1', 'llama-decode-od', { type: 'decode', replicas: 1, status: stable(1) }),
        node('spot-1', { spot: true }),
        spotPod('spot-a'),
        spotPod('spot-b'),
      ],
    });
    rig = await startRig({ api, policyYaml: SPOT_POLICY, kubeState: true });
    return rig;
  }

  const waitUntil = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('an eviction that happens while the watches are down is seen after they resume, and counted once', async () => {
    const r = await watchSetup();
    expect((await r.tick()).result!.observation.pools?.['decode-spot']).toMatchObject({ evicted: 0, pending: 0 });
    r.clock.advance(5);
    // Every watch is cut, and the next re-watch is cut again at once (drop-watch fault): events happen meanwhile.
    api!.inject({ path: '**', fault: 'drop-watch', times: 3 });
    api!.dropWatches();
    api!.put(spotPod('spot-a', { phase: 'Failed', evicted: true }));
    await waitUntil(() => r.kubeState!.health().synced && Object.keys(r.kubeState!.health().errors).length === 0, 'informers to resume');
    let seen = 0;
    await waitUntil(() => {
      seen += r.kubeState!.poolObservations(r.service.spec(), r.clock.now())['decode-spot']?.evicted ?? 0;
      r.clock.advance(1);
      return seen > 0;
    }, 'the eviction to be seen');
    expect(seen).toBe(1);
    // Reported once: later reads (and the next tick) do not count it again.
    const next = await r.tick();
    expect(next.result!.observation.pools?.['decode-spot']?.evicted).toBe(0);
  });

  it('an eviction noted in the same millisecond as the previous report is still counted, once', async () => {
    const r = await watchSetup();
    await r.tick();
    // The clock does not move: the eviction is stamped with the very time of the report that came before it.
    api!.put(spotPod('spot-a', { phase: 'Failed', evicted: true }));
    let seen = 0;
    const deadline = Date.now() + 5_000;
    while (seen === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen += r.kubeState!.poolObservations(r.service.spec(), r.clock.now())['decode-spot']?.evicted ?? 0;
    }
    expect(seen).toBe(1);
    expect((await r.tick()).result!.observation.pools?.['decode-spot']?.evicted).toBe(0);
  });

  it('a compaction (410 Gone -> re-list) does not count an old eviction twice', async () => {
    const r = await watchSetup();
    await r.tick();
    r.clock.advance(5);
    api!.put(spotPod('spot-b', { phase: 'Failed', evicted: true }));
    await waitUntil(() => {
      const evicted = r.kubeState!.poolObservations(r.service.spec(), r.clock.now())['decode-spot']?.evicted ?? 0;
      r.clock.advance(1);
      return evicted === 1;
    }, 'the eviction');
    // The API server forgets its watch history; the informers re-list and see spot-b (still Failed/Evicted) again.
    api!.compact();
    api!.dropWatches();
    api!.put(spotPod('spot-c', { phase: 'Pending' }));
    await waitUntil(() => (r.kubeState!.poolObservations(r.service.spec(), r.clock.now())['decode-spot']?.pending ?? 0) === 1, 're-list to show the new pod');
    const after = await r.tick();
    expect(after.result!.observation.pools?.['decode-spot']).toMatchObject({ evicted: 0, pending: 1 });
  });
});
