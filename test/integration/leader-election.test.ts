/**
 * Two planner services against the fake API server, each with its own Lease elector and Kubernetes connector:
 * only the leader writes; when the leader is cut off from the Lease API, it stops acting at its renew deadline
 * and the other takes over once the Lease has stayed unrenewed for its duration.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { loadPolicyFile } from '../../src/config/load.js';
import { createKubernetesConnector } from '../../src/kubernetes/index.js';
import { silentLogger } from '../../src/log.js';
import { createPlannerMetrics } from '../../src/service/exporter.js';
import { createLeaderElector, type LeaseApi } from '../../src/service/leader.js';
import { toLoadedPlan } from '../../src/service/plan.js';
import { createPlannerService, type PlannerService } from '../fixtures/single-policy-service.js';
import { loadProfile } from '../../src/profiles/load.js';
import { startFakeKubeApi, type FakeKubeApi } from '../fixtures/fake-kube-api/index.js';
import { llamaGraph } from '../fixtures/fake-kube-api/objects.js';
import { waitFor } from '../fixtures/servers.js';

const POLICY = `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: leader-test }
spec:
  interval: 250ms
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { prefill-od: 4 } }
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: llama, service: VllmPrefillWorker } }
`;

let api: FakeKubeApi | undefined;
let dir: string | undefined;
const services: PlannerService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop('test done')));
  await api?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  api = dir = undefined;
});

/** One planner replica. `cut()` makes its Lease calls fail as if the network to the API server broke. */
function replica(fake: FakeKubeApi, path: string, identity: string) {
  const kubeConfig = fake.kubeConfig();
  const real = kubeConfig.makeApiClient(CoordinationV1Api);
  let cut = false;
  const refuse = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
  const leaseApi: LeaseApi = {
    readNamespacedLease: (p) => (cut ? refuse() : real.readNamespacedLease(p)),
    createNamespacedLease: (p) => (cut ? refuse() : real.createNamespacedLease(p)),
    replaceNamespacedLease: (p) => (cut ? refuse() : real.replaceNamespacedLease(p)),
  };
  const leader = createLeaderElector({
    api: leaseApi,
    namespace: 'default',
    name: 'pd-planner-leader-test',
    identity,
    leaseDurationSeconds: 2,
    renewDeadlineSeconds: 1,
    retryPeriodSeconds: 0.2,
  });
  const plan = toLoadedPlan(loadPolicyFile(path), loadProfile);
  const late: { service?: PlannerService } = {};
  const kube = createKubernetesConnector({ kubeConfig, namespace: 'default', canAct: () => late.service?.canAct() ?? false });
  /** Every apply result of this replica for the pool, in order. */
  const applied: string[] = [];
  const connector: typeof kube = {
    ...kube,
    apply: async (decision, spec) => {
      const result = await kube.apply(decision, spec);
      applied.push(result.pools['prefill-od'] ?? Object.values(result.errors).join('; '));
      return result;
    },
  };
  const service = createPlannerService(
    {
      policyPath: path,
      loadPolicy: (p) => toLoadedPlan(loadPolicyFile(p), loadProfile),
      source: { observe: async (now) => ({ time: new Date(now).toISOString(), requests: 0 }) },
      connector,
      logger: silentLogger(),
      leader,
      metrics: createPlannerMetrics({ defaultMetrics: false }),
      watchPolicy: false,
      shutdownGraceSeconds: 2,
    },
    plan,
  );
  late.service = service;
  services.push(service);
  return {
    service,
    leader,
    cut: () => (cut = true),
    applied,
    lastApply: () => service.status().lastOutcome?.result?.apply.pools['prefill-od'] ?? '',
  };
}

const adapterReplicas = (fake: FakeKubeApi) => fake.get('nvidia.com/v1beta1', 'DynamoGraphDeploymentScalingAdapter', 'default', 'llama-vllmprefillworker')?.spec?.replicas;

describe('leader election with two planners against the fake API server', () => {
  it('only the leader acts; the other takes over after the lease expires', async () => {
    api = await startFakeKubeApi({
      objects: llamaGraph({ prefill: 2 }),
      operator: { settle: true },
    });
    dir = mkdtempSync(join(tmpdir(), 'pd-leader-'));
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, POLICY);

    const a = replica(api, path, 'planner-a');
    await a.service.start();
    expect(a.leader.isLeader()).toBe(true);
    const b = replica(api, path, 'planner-b');
    await b.service.start();
    expect(b.leader.isLeader()).toBe(false);

    await waitFor(() => adapterReplicas(api!) === 4 && b.service.status().ticks >= 2, 10_000, 'the leader to scale 2 -> 4 while b ticks');
    expect(api.get('coordination.k8s.io/v1', 'Lease', 'default', 'pd-planner-leader-test')?.spec?.holderIdentity).toBe('planner-a');
    // Exactly one write so far, a's; b ticked but never wrote.
    const writes = () => api!.requests.filter((r) => r.method === 'PATCH' && r.resource === 'dynamographdeploymentscalingadapters').length;
    expect(writes()).toBe(1);
    expect(a.applied[0]).toMatch(/^patched 2->4/);
    expect(b.applied.every((r) => r.startsWith('not leader') || r.startsWith('unchanged'))).toBe(true);

    // Someone scales the graph back to 2; a restores 4 (it still leads).
    api.put({ ...api.get('nvidia.com/v1beta1', 'DynamoGraphDeploymentScalingAdapter', 'default', 'llama-vllmprefillworker')!, spec: { replicas: 2, dgdRef: { name: 'llama', componentName: 'VllmPrefillWorker' } } });
    await waitFor(() => adapterReplicas(api!) === 4, 10_000, 'a to restore 4');
    expect(a.applied.filter((r) => r.startsWith('patched'))).toHaveLength(2);
    expect(b.applied.some((r) => r.startsWith('patched'))).toBe(false);

    // a loses the Lease API: within its 1 s renew deadline it stops acting, though its ticks go on.
    const cutAt = Date.now();
    a.cut();
    await waitFor(() => !a.service.canAct(), 5_000, 'a to stop acting');
    expect(Date.now() - cutAt).toBeLessThan(2_000);
    // b takes over once the Lease has not changed for its 2 s duration.
    await waitFor(() => b.leader.isLeader(), 10_000, 'b to take over');
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(1_500);
    expect(api.get('coordination.k8s.io/v1', 'Lease', 'default', 'pd-planner-leader-test')?.spec?.holderIdentity).toBe('planner-b');

    // The graph is scaled down again: now b restores it, and a (no longer leader) does not write.
    api.put({ ...api.get('nvidia.com/v1beta1', 'DynamoGraphDeploymentScalingAdapter', 'default', 'llama-vllmprefillworker')!, spec: { replicas: 2, dgdRef: { name: 'llama', componentName: 'VllmPrefillWorker' } } });
    await waitFor(() => adapterReplicas(api!) === 4 && b.lastApply().startsWith('patched'), 10_000, 'b to restore 4');
    // a keeps ticking as a standby and never wrote after it lost the Lease.
    expect(a.applied.filter((r) => r.startsWith('patched'))).toHaveLength(2);
    expect(b.applied.filter((r) => r.startsWith('patched'))).toHaveLength(1);
  }, 60_000);

  it('a leader that stops releases the lease and the standby takes over at once', async () => {
    api = await startFakeKubeApi({ objects: llamaGraph({ prefill: 4 }) });
    dir = mkdtempSync(join(tmpdir(), 'pd-leader-'));
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, POLICY);
    const a = replica(api, path, 'planner-a');
    await a.service.start();
    const b = replica(api, path, 'planner-b');
    await b.service.start();
    expect(b.leader.isLeader()).toBe(false);
    await a.service.stop('SIGTERM');
    expect(api.get('coordination.k8s.io/v1', 'Lease', 'default', 'pd-planner-leader-test')?.spec?.holderIdentity).toBeUndefined();
    const stoppedAt = Date.now();
    await waitFor(() => b.leader.isLeader(), 5_000, 'b to take the released lease');
    // Far sooner than the 2 s lease duration: the next 0.2 s retry finds it free.
    expect(Date.now() - stoppedAt).toBeLessThan(1_500);
  }, 60_000);
});
