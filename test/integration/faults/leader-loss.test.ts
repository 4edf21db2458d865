/**
 * Fault: the leader loses its Lease in the middle of a tick (renew deadline passes, or another replica took it).
 * Must hold afterwards: no PATCH is sent after the moment leadership ends, not even a retry of one already in
 * flight; the pool results say "not leader"; when the Lease is held again the same decision is applied once.
 * Time is a manual clock shared by the elector, the service and the connector: the renew deadline passes exactly
 * when the test says so. (Two real replicas taking over from each other: test/integration/leader-election.test.ts.)
 */
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { createLeaderElector, type LeaderElector } from '../../../src/service/leader.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../fixtures/fake-kube-api/index.js';
import { llamaGraph } from '../../fixtures/fake-kube-api/objects.js';
import { acceptedWrites, manualClock, startRig, writes, type ManualClock, type Rig } from './rig.js';

let api: FakeKubeApi | undefined;
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  await api?.close();
  api = rig = undefined;
});

// Both pools change on the first tick: prefill 2 -> 4 and decode 3 -> 5, written in that order.
const POLICY = `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: lease-fault }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { prefill-od: 4, decode-od: 5 } }
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: llama, service: VllmPrefillWorker } }
    - { name: decode-od, role: decode, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: llama, service: VllmDecodeWorker } }
`;
const PREFILL = 'PATCH llama-vllmprefillworker/scale {"spec":{"replicas":4}} -> 200';
const DECODE = 'PATCH llama-vllmdecodeworker/scale {"spec":{"replicas":5}} -> 200';
const RENEW_DEADLINE_S = 10;

async function setup(
  options: Omit<Parameters<typeof startRig>[0], 'api' | 'policyYaml' | 'clock' | 'leader'> = {},
  clock: ManualClock = manualClock(),
): Promise<{ rig: Rig; leader: LeaderElector; clock: ManualClock }> {
  api = await startFakeKubeApi({
    objects: llamaGraph({ prefill: 2, decode: 3 }),
    operator: { settle: true },
  });
  // No background loop: the test renews by hand (tryAcquireOrRenew), so nothing happens behind its back.
  const leader = createLeaderElector({
    api: api.kubeConfig().makeApiClient(CoordinationV1Api),
    namespace: 'default',
    name: 'pd-planner-lease-fault',
    identity: 'planner-0',
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: RENEW_DEADLINE_S,
    retryPeriodSeconds: 2,
    clock,
  });
  expect(await leader.tryAcquireOrRenew()).toBe(true);
  rig = await startRig({ api, policyYaml: POLICY, clock, leader, ...options });
  return { rig, leader, clock };
}

describe('fault: leader Lease lost mid-tick', () => {
  it('the renew deadline passes right after the first PATCH: the second pool is not written', async () => {
    const clock = manualClock();
    const { rig: r, leader } = await setup(
      {
        // The instant the prefill write is logged, the leader has gone 11 s without a renew (deadline 10 s).
        onLog: (line) => {
          if (line.includes('scaled through DynamoGraphDeploymentScalingAdapter') && line.includes('prefill-od')) clock.advance(RENEW_DEADLINE_S + 1);
        },
      },
      clock,
    );
    const outcome = await r.tick();
    expect(acceptedWrites(api!)).toEqual([PREFILL]);
    expect(leader.isLeader()).toBe(false);
    expect(outcome.result!.apply.pools['decode-od']).toMatch(/^not leader: no write \(would PATCH .*llama-vllmdecodeworker\/scale/);
    // Renewed (still our Lease): the decision that was not written is applied on the next tick, once.
    const next = await r.tick(async () => expect(await leader.tryAcquireOrRenew()).toBe(true));
    expect(next.result!.apply.pools['decode-od']).toMatch(/^patched 3->5/);
    expect(acceptedWrites(api!)).toEqual([PREFILL, DECODE]);
  });

  it('the deadline passes during the backoff after a 500: the retry is not sent', async () => {
    const clock = manualClock();
    const { rig: r } = await setup(
      {
        connector: {
          // The backoff sleep is where time goes by: 11 s of it, past the renew deadline.
          sleep: async () => clock.advance(RENEW_DEADLINE_S + 1),
        },
      },
      clock,
    );
    api!.inject({ path: '**/llama-vllmprefillworker/scale', method: 'PATCH', fault: 500 });
    const outcome = await r.tick();
    // Only the failed first try went out; no retry and no decode write after leadership ended.
    expect(writes(api!)).toEqual(['PATCH llama-vllmprefillworker/scale {"spec":{"replicas":4}} -> 500']);
    expect(outcome.result!.apply.pools['decode-od']).toMatch(/^not leader/);
    expect(outcome.result!.apply.pools['prefill-od']).toMatch(/not leader/);
  });

  it('the Lease taken by another replica (409 on renew): no write from this tick on', async () => {
    const { rig: r, leader } = await setup();
    // Another replica updates the Lease first: our renew carries a stale resourceVersion and gets 409.
    const lease = api!.get('coordination.k8s.io/v1', 'Lease', 'default', 'pd-planner-lease-fault')!;
    api!.put({ ...lease, spec: { ...(lease.spec as object), holderIdentity: 'planner-1' } });
    r.clock.advance(2);
    expect(await leader.tryAcquireOrRenew()).toBe(false);
    const outcome = await r.tick();
    expect(outcome.result!.apply.pools).toMatchObject({ 'prefill-od': expect.stringMatching(/^not leader/), 'decode-od': expect.stringMatching(/^not leader/) });
    expect(writes(api!)).toEqual([]);
  });

  it('renewals failing (API server 500 on the Lease) for longer than the deadline: stops writing; acts again once renewed', async () => {
    const { rig: r, leader, clock } = await setup();
    api!.inject({ path: '**/leases/*', fault: 500, times: 3 });
    for (let s = 0; s < 6; s += 2) {
      clock.advance(2);
      await leader.tryAcquireOrRenew();
    }
    expect(leader.isLeader()).toBe(true); // 6 s since the last renew: still within the 10 s deadline
    clock.advance(5);
    expect(leader.isLeader()).toBe(false); // 11 s
    const held = await r.tick();
    expect(held.result!.apply.pools['prefill-od']).toMatch(/^not leader/);
    expect(writes(api!)).toEqual([]);
    // The Lease API answers again and nobody else took the Lease: we renew and the decision lands once.
    await r.tick(async () => expect(await leader.tryAcquireOrRenew()).toBe(true));
    expect(acceptedWrites(api!)).toEqual([PREFILL, DECODE]);
  });
});
