/**
 * Fault: an eviction storm on the Spot pool: Azure reclaims every Spot node of the decode pool at once.
 * Must hold afterwards: within ONE tick the need moves to on-demand (3 of 3 Spot decode replicas lost -> decode-od
 * goes 1 -> 4, within its maxReplicas), the Spot pool gets no new replicas while its cool-down runs, and this
 * happens whether or not the operator has already updated the Spot deployment's ready count.
 * Everything is real except the cloud: pods and nodes in the fake API server, the kube-state informers, the target
 * reader, decide() and the Kubernetes connector.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeKubeApi, type FakeKubeApi } from '../../fixtures/fake-kube-api/index.js';
import { dcd, node, pod, stable } from '../../fixtures/fake-kube-api/objects.js';
import { createKubeState } from '../../../src/kubernetes/informers/kube-state.js';
import { acceptedWrites, startRig, type Rig } from './rig.js';

let api: FakeKubeApi | undefined;
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  await api?.close();
  api = rig = undefined;
});

// Decode need 4: Spot share 0.75 and an on-demand floor of 1 put 3 on Spot and 1 on demand. No headroom (rate 0),
// so every replica in the figures below is need, not spare.
const POLICY = `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: spot-storm }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { decode-spot: 3, decode-od: 1 } }
  spot: { maxShare: 0.75, onDemandFloor: 1, evictionRatePerHour: 0, evictionCooldown: 10m }
  pools:
    - { name: decode-spot, role: decode, capacity: spot, minReplicas: 0, maxReplicas: 6, target: { kind: DynamoComponentDeployment, name: llama-decode-spot } }
    - { name: decode-od, role: decode, capacity: on-demand, minReplicas: 1, maxReplicas: 6, target: { kind: DynamoComponentDeployment, name: llama-decode-od } }
`;

const SPOT = { 'nvidia.com/dynamo-component': 'llama-decode-spot' };
const OD = { 'nvidia.com/dynamo-component': 'llama-decode-od' };
const RECLAIM = { key: 'ToBeDeletedByClusterAutoscaler', value: '1764064800', effect: 'NoSchedule' };

async function setup(): Promise<Rig> {
  api = await startFakeKubeApi({
    objects: [
      dcd('v1beta1', 'llama-decode-spot', { type: 'decode', replicas: 3, status: stable(3) }),
      dcd('v1beta1', 'llama-decode-od', { type: 'decode', replicas: 1, status: stable(1) }),
      node('od-1'),
      ...[1, 2, 3].map((i) => node(`spot-${i}`, { spot: true })),
      ...[1, 2, 3].map((i) => pod(`decode-spot-${i}`, { labels: SPOT, nodeName: `spot-${i}` })),
      pod('decode-od-1', { labels: OD, nodeName: 'od-1' }),
    ],
  });
  rig = await startRig({ api, policyYaml: POLICY, kubeState: true });
  return rig;
}

const desired = (outcome: Awaited<ReturnType<Rig['tick']>>) => Object.fromEntries(Object.entries(outcome.result!.decision.pools).map(([p, d]) => [p, d.desired]));

/**
 * Azure reclaims the three Spot nodes: taint, then the pods go with them. Returns once a second, independent
 * kube-state (a probe on the same API server) has seen all three go, plus a margin for the planner's own informers,
 * which get the same watch events on the same loopback connection.
 */
async function reclaimAllSpot(r: Rig): Promise<void> {
  const probe = createKubeState({ kubeConfig: api!.kubeConfig(), namespace: 'default', spec: r.service.spec(), now: Date.now, resyncSeconds: 0 });
  await probe.start();
  try {
    probe.poolObservations(r.service.spec(), Date.now());
    r.clock.advance(5);
    for (const i of [1, 2, 3]) api!.put(node(`spot-${i}`, { spot: true, taints: [RECLAIM] }));
    for (const i of [1, 2, 3]) api!.delete('v1', 'Pod', 'default', `decode-spot-${i}`);
    let lost = 0;
    const deadline = Date.now() + 10_000;
    while (lost < 3) {
      if (Date.now() > deadline) throw new Error('the reclaimed Spot pods were not seen within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
      lost += probe.poolObservations(r.service.spec(), Date.now())['decode-spot']?.evicted ?? 0;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    probe.stop();
  }
}

describe('fault: Spot eviction storm', () => {
  it('3 of 3 Spot decode replicas reclaimed (operator already shows 0 ready): the next tick puts 3 more on decode-od', async () => {
    const r = await setup();
    const before = await r.tick();
    expect(desired(before)).toEqual({ 'decode-spot': 3, 'decode-od': 1 });
    expect(acceptedWrites(api!)).toEqual([]);

    await reclaimAllSpot(r);
    api!.put(dcd('v1beta1', 'llama-decode-spot', { type: 'decode', replicas: 3, status: { replicas: 3, updatedReplicas: 3, readyReplicas: 0, availableReplicas: 0 } }));
    const storm = await r.tick();
    // Three replicas lost, counted once each (noticed on their tainted nodes, then gone: evicted, not also noticed).
    expect(storm.result!.observation.pools?.['decode-spot']).toMatchObject({ evicted: 3, evictionNotices: 0 });
    expect(desired(storm)).toEqual({ 'decode-spot': 0, 'decode-od': 4 });
    expect(acceptedWrites(api!)).toEqual([
      'PATCH llama-decode-spot {"spec":{"replicas":0}} -> 200',
      'PATCH llama-decode-od {"spec":{"replicas":4}} -> 200',
    ]);
    // The explanation names the move: 3 decode replicas from Spot to on-demand, because of the evictions.
    expect(storm.result!.decision.explanation.constraints).toContainEqual(
      expect.objectContaining({ constraint: 'spot-unavailable', role: 'decode', pool: 'decode-spot', from: 3, to: 0, detail: '3 decode replica(s) moved from Spot to on-demand (decode-spot: 3 eviction(s) or notice(s) this tick)' }),
    );

    // The cool-down (10 min) keeps Spot at what it has ready while it runs: the next tick moves nothing back.
    const after = await r.tick();
    expect(desired(after)).toEqual({ 'decode-spot': 0, 'decode-od': 4 });
    expect(acceptedWrites(api!)).toHaveLength(2);
  });

  it('the same storm seen before the operator updated the Spot deployment (status still 3 ready): need still moves within one tick', async () => {
    const r = await setup();
    await r.tick();
    await reclaimAllSpot(r);
    // readyReplicas still 3: only the informers know the pods are gone.
    const storm = await r.tick();
    expect(storm.result!.observation.pools?.['decode-spot']).toMatchObject({ desired: 3, ready: 3, evicted: 3 });
    expect(desired(storm)).toEqual({ 'decode-spot': 0, 'decode-od': 4 });
    expect(acceptedWrites(api!)).toEqual(['PATCH llama-decode-spot {"spec":{"replicas":0}} -> 200', 'PATCH llama-decode-od {"spec":{"replicas":4}} -> 200']);
  });
});
