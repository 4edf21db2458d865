/**
 * Fault: the leader loses its Lease in the middle of a tick (renew deadline passes, or another replica took it).
 * Must hold afterwards: no PATCH is sent after the moment leadership ends, not even a retry of one already in
 * flight; a retry's wait (a real one, Retry-After: 30) ends the moment leadership does, not when it runs out; the
 * pool results say "not leader"; the write given up is logged (`write-abandoned`, naming the request) and counted
 * (pd_planner_writes_abandoned_total{reason="leadership-lost"}); when the Lease is held again the same decision is
 * applied once.
 * Time is a manual clock shared by the elector, the service and the connector: the renew deadline passes exactly
 * when the test says so; the last two tests wait in real time (the elector on its own clock in the last).
 * (Two real replicas taking over from each other: test/integration/leader-election.test.ts.)
 */
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUnlessAborted } from '../../../src/http/retry-after.js';
import { createLeaderElector, type LeaderElector } from '../../../src/service/leader.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../fixtures/fake-kube-api/index.js';
import { llamaGraph } from '../../fixtures/fake-kube-api/objects.js';
import { sleep, waitFor } from '../../fixtures/servers.js';
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

  it('the Lease taken by another replica while a write waits out Retry-After: 30: the wait ends at once, the retry is never sent', async () => {
    let waiting = false;
    const { rig: r, leader } = await setup({
      // Real waits: the 30 s the API server asks for fits in the tick (interval 60 s, no per-policy timeout).
      connector: { sleep: waitUnlessAborted },
      onLog: (line) => {
        if (line.includes('backing off')) waiting = true;
      },
    });
    api!.inject({ path: '**/llama-vllmprefillworker/scale', method: 'PATCH', fault: 429, retryAfterSeconds: 30, times: 1_000_000 });
    const tick = r.tick();
    await waitFor(() => waiting, 10_000, 'the retry wait to begin', 10);
    // Another replica takes the Lease over; our next renew sees it: our term ends there.
    const lease = api!.get('coordination.k8s.io/v1', 'Lease', 'default', 'pd-planner-lease-fault')!;
    api!.put({ ...lease, spec: { ...(lease.spec as object), holderIdentity: 'planner-1' } });
    expect(await leader.tryAcquireOrRenew()).toBe(false);
    const lostAt = performance.now();
    const outcome = await tick;
    const waitedMs = performance.now() - lostAt;
    // The wait ended with the term, not 30 s on (measured: a few ms; 1 s is the margin of two busy cores).
    expect(waitedMs).toBeLessThan(1000);
    expect(outcome.result!.apply.pools['prefill-od']).toMatch(/^not leader: no write \(would PATCH .*llama-vllmprefillworker\/scale \{"spec":\{"replicas":4\}\}/);
    expect(outcome.result!.apply.pools['decode-od']).toMatch(/^not leader: no write/);
    // Not an error of the tick: the new leader reads the counts back and decides.
    expect(outcome.result!.apply.errors).toEqual({});
    const abandoned = r.log.lines.filter((l) => l.event === 'write-abandoned');
    expect(abandoned).toEqual([
      expect.objectContaining({
        pool: 'prefill-od',
        reason: 'leadership-lost',
        inFlight: false,
        request: expect.stringMatching(/^PATCH \/apis\/nvidia\.com\/v1\w+\/namespaces\/default\/dynamographdeploymentscalingadapters\/llama-vllmprefillworker\/scale$/),
        why: 'not the leader any more: lease held by planner-1',
      }),
    ]);
    expect(await r.metrics.registry.metrics()).toContain('pd_planner_writes_abandoned_total{reason="leadership-lost"} 1');
    // Only the first, throttled try ever reached the API server, and nothing follows it.
    await sleep(300);
    expect(writes(api!)).toEqual(['PATCH llama-vllmprefillworker/scale {"spec":{"replicas":4}} -> 429']);
  }, 60_000);

  it('the renew deadline passes during the wait, with nobody asking: the wait ends when it passes', async () => {
    api = await startFakeKubeApi({ objects: llamaGraph({ prefill: 2, decode: 3 }), operator: { settle: true } });
    // The elector on its own (monotonic) clock and no background loop: acquired once, never renewed.
    const leader = createLeaderElector({
      api: api.kubeConfig().makeApiClient(CoordinationV1Api),
      namespace: 'default',
      name: 'pd-planner-lease-fault',
      identity: 'planner-0',
      leaseDurationSeconds: 6,
      renewDeadlineSeconds: 5,
      retryPeriodSeconds: 1,
    });
    let waiting = false;
    rig = await startRig({
      api,
      policyYaml: POLICY,
      leader,
      connector: { sleep: waitUnlessAborted },
      onLog: (line) => {
        if (line.includes('backing off')) waiting = true;
      },
    });
    api.inject({ path: '**/llama-vllmprefillworker/scale', method: 'PATCH', fault: 429, retryAfterSeconds: 30, times: 1_000_000 });
    const before = performance.now();
    expect(await leader.tryAcquireOrRenew()).toBe(true);
    const acquired = performance.now();
    const outcome = await rig.tick();
    const ended = performance.now();
    expect(waiting).toBe(true);
    // The renew was stamped between `before` and `acquired`; the deadline 5 s after it. The tick waited until then
    // (not a fixed short time) and ended within a second of it (not at the 30 s the server asked for).
    expect(ended - before).toBeGreaterThanOrEqual(5000);
    expect(ended - acquired).toBeLessThan(5000 + 1000);
    expect(leader.isLeader()).toBe(false);
    expect(outcome.result!.apply.pools['prefill-od']).toMatch(/^not leader: no write \(would PATCH /);
    expect(rig.log.lines.find((l) => l.event === 'write-abandoned')).toMatchObject({ reason: 'leadership-lost', why: 'not the leader any more: no successful renew for 5s' });
    expect(writes(api)).toEqual(['PATCH llama-vllmprefillworker/scale {"spec":{"replicas":4}} -> 429']);
  }, 60_000);
});
