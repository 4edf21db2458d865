/**
 * Fault: SIGTERM arrives while a tick is running.
 * Must hold afterwards: either the tick finishes within the grace period or it is abandoned; from the signal on
 * nothing is written (canAct() is false while stopping, by design: the successor decides afresh), not even a retry
 * of a write that was in flight; in both cases the Lease is released (holderIdentity cleared, so a standby
 * takes over at once) and the process exits 0 with `stopped` as its last log line.
 * (SIGTERM while idle, as a process: test/integration/service-process.test.ts.)
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { createLeaderElector } from '../../../src/service/leader.js';
import { jsonLines, spawnCli } from '../../fixtures/cli.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../fixtures/fake-kube-api/index.js';
import { llamaGraph } from '../../fixtures/fake-kube-api/objects.js';
import { dynamoAnswers, freePort, startFakePrometheus, waitFor, type FakePrometheus } from '../../fixtures/servers.js';
import { acceptedWrites, startRig, writes, type Rig } from './rig.js';

let api: FakeKubeApi | undefined;
let prom: FakePrometheus | undefined;
let rig: Rig | undefined;
let dir: string | undefined;
let child: ChildProcessWithoutNullStreams | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await rig?.close();
  await api?.close();
  await prom?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  api = prom = rig = dir = child = undefined;
});

const POLICY = (promUrl: string) => `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: sigterm }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { prefill-od: 3 } }
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: llama, service: VllmPrefillWorker } }
  sources:
    prometheus: { url: ${promUrl}, timeout: 5s }
`;

const objects = () => llamaGraph({ prefill: 2 });
const lease = (name: string) => api!.get('coordination.k8s.io/v1', 'Lease', 'default', name)?.spec as { holderIdentity?: string } | undefined;

describe('fault: SIGTERM during a tick', () => {
  it('the process finishes the running tick (writing nothing once stopping), releases the Lease and exits 0', async () => {
    api = await startFakeKubeApi({ objects: objects(), operator: { settle: true } });
    // Every Prometheus answer takes 1.5 s: the first tick is certainly mid-flight when the signal comes.
    const answers = dynamoAnswers({ requests: 100, isl: 1000, osl: 100, ttftSeconds: 0.2, itlSeconds: 0.02, durationSeconds: 2 });
    prom = await startFakePrometheus((q) => ({ delayMs: 1500, then: answers(q) }));
    dir = mkdtempSync(join(tmpdir(), 'pd-sigterm-'));
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, POLICY(prom.url));
    const port = await freePort();
    const planner = spawnCli(['run', '--policy', path, '--kubeconfig', api.kubeconfigPath, '--metrics-port', String(port), '--retry-period', '500ms'], { POD_NAME: 'planner-0' });
    child = planner.child;
    const { output, exited } = planner;

    await waitFor(() => prom!.received.length > 0 && lease('pd-planner-sigterm')?.holderIdentity === 'planner-0', 20_000, `the first tick to start (stderr: ${output.stderr})`, 50);
    expect(acceptedWrites(api)).toEqual([]);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const lines = jsonLines<{ event?: string; apply?: { pools: Record<string, string> }; desired?: Record<string, number> }>(output.stdout);
    const events = lines.map((l) => l.event).filter((e) => ['signal', 'stopping', 'tick', 'tick-abandoned', 'stopped'].includes(e ?? ''));
    // The tick that was running when the signal came finished before the process stopped; no new tick started.
    expect(events).toEqual(['signal', 'stopping', 'tick', 'stopped']);
    // By design a stopping planner no longer writes (canAct() is false from the signal on): the finished tick
    // logs its decision and what it would have written; the successor decides afresh.
    const tick = lines.find((l) => l.event === 'tick')!;
    expect(tick.desired).toEqual({ 'prefill-od': 3 });
    expect(tick.apply?.pools['prefill-od']).toMatch(/^not leader: no write \(would PATCH .*llama-vllmprefillworker\/scale \{"spec":\{"replicas":3\}\}/);
    expect(writes(api)).toEqual([]);
    expect(lease('pd-planner-sigterm')?.holderIdentity).toBeUndefined();
  }, 60_000);

  it('a tick stuck past the grace period is abandoned: the Lease is released and the stuck write is never retried', async () => {
    api = await startFakeKubeApi({ objects: objects(), operator: { settle: true } });
    const leader = createLeaderElector({ api: api.kubeConfig().makeApiClient(CoordinationV1Api), namespace: 'default', name: 'pd-planner-sigterm', identity: 'planner-0' });
    expect(await leader.tryAcquireOrRenew()).toBe(true);
    // The PATCH is swallowed by the API server; the client gives up on it after 1.5 s and would then retry.
    api.inject({ path: '**/scale', method: 'PATCH', fault: 'timeout' });
    rig = await startRig({
      api,
      policyYaml: POLICY('http://127.0.0.1:1').replace(/ {2}sources:\n.*\n/, ''),
      leader,
      connector: { requestTimeoutMs: 1500 },
      service: { shutdownGraceSeconds: 0.3 },
    });
    const tick = rig.tick();
    await waitFor(() => writes(api!).length === 1, 10_000, 'the PATCH to be in flight', 10);
    await rig.service.stop('SIGTERM');
    expect(rig.log.events()).toContain('tick-abandoned');
    expect(lease('pd-planner-sigterm')?.holderIdentity).toBeUndefined();
    expect(rig.service.canAct()).toBe(false);
    // The abandoned tick runs to its end in the background: its timed-out PATCH must not be sent again.
    const outcome = await tick;
    expect(outcome.result!.apply.pools['prefill-od']).toMatch(/not leader/);
    expect(writes(api)).toEqual(['PATCH llama-vllmprefillworker/scale {"spec":{"replicas":3}} -> -1']);
  }, 30_000);
});
