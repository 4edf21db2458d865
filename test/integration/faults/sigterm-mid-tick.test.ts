/**
 * Fault: SIGTERM arrives while a tick is running.
 * Must hold afterwards: either the tick finishes within the grace period or it is abandoned; from the signal on
 * nothing is sent to the API server (canAct() is false while stopping, by design: the successor decides afresh, and
 * every API call of the tick is aborted: no read, no write, no retry), a retry wait or a write in flight ends at once
 * (the write reported as not applied, never sent again); in all cases the Lease is released (holderIdentity
 * cleared, so a standby takes over at once) and the process exits 0 with `stopped` as its last log line, within a
 * couple of seconds even when the API server asks it to retry after 30 s, well inside a pod's default 30 s
 * terminationGracePeriod.
 * (SIGTERM while idle, as a process: test/integration/service-process.test.ts.)
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUnlessAborted } from '../../../src/http/retry-after.js';
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

    const lines = jsonLines<{ event?: string; apply?: { pools: Record<string, string>; errors: Record<string, string> }; desired?: Record<string, number> }>(output.stdout);
    const events = lines.map((l) => l.event).filter((e) => ['signal', 'stopping', 'tick', 'tick-abandoned', 'stopped'].includes(e ?? ''));
    // The tick that was running when the signal came finished before the process stopped; no new tick started.
    expect(events).toEqual(['signal', 'stopping', 'tick', 'stopped']);
    // By design a stopping planner sends nothing more (no read, no write, from the signal on): the finished tick
    // logs its decision and that it was not applied; the successor decides afresh.
    const tick = lines.find((l) => l.event === 'tick')!;
    expect(tick.desired).toEqual({ 'prefill-od': 3 });
    expect(tick.apply?.errors['prefill-od']).toMatch(/^GET \/apis\/nvidia\.com\S*: not sent: the planner is stopping \(SIGTERM\)$/);
    expect(writes(api)).toEqual([]);
    expect(lease('pd-planner-sigterm')?.holderIdentity).toBeUndefined();
  }, 60_000);

  it('a write stuck in flight when the planner stops is cut off at once: not applied, never sent again; the Lease is released', async () => {
    api = await startFakeKubeApi({ objects: objects(), operator: { settle: true } });
    const leader = createLeaderElector({ api: api.kubeConfig().makeApiClient(CoordinationV1Api), namespace: 'default', name: 'pd-planner-sigterm', identity: 'planner-0' });
    expect(await leader.tryAcquireOrRenew()).toBe(true);
    // The PATCH is swallowed by the API server; the client would wait 10 s for it, then retry.
    api.inject({ path: '**/scale', method: 'PATCH', fault: 'timeout' });
    rig = await startRig({
      api,
      policyYaml: POLICY('http://127.0.0.1:1').replace(/ {2}sources:\n.*\n/, ''),
      leader,
      connector: { requestTimeoutMs: 10_000 },
      service: { shutdownGraceSeconds: 20 },
    });
    const tick = rig.tick();
    await waitFor(() => writes(api!).length === 1, 10_000, 'the PATCH to be in flight', 10);
    const started = performance.now();
    await rig.service.stop('SIGTERM');
    expect(performance.now() - started).toBeLessThan(1000);
    // Not waited for until the grace period ran out: the write was cut off, so the tick ended at once.
    expect(rig.log.events()).not.toContain('tick-abandoned');
    expect(lease('pd-planner-sigterm')?.holderIdentity).toBeUndefined();
    expect(rig.service.canAct()).toBe(false);
    const outcome = await tick;
    expect(outcome.result!.apply.pools['prefill-od']).toMatch(/^not applied: the write was cut off in flight \(would PATCH .*llama-vllmprefillworker\/scale \{"spec":\{"replicas":3\}\}/);
    expect(outcome.result!.apply.errors['prefill-od']).toMatch(/: cut off while in flight: the planner is stopping \(SIGTERM\); not counted as applied/);
    // Its connection was closed (not left open for 10 s), and it is never sent again.
    await waitFor(() => api!.requests.some((r) => r.status === -1 && r.clientClosed === true), 5_000, 'the held request to be closed', 10);
    expect(writes(api)).toEqual(['PATCH llama-vllmprefillworker/scale {"spec":{"replicas":3}} -> -1']);
  }, 30_000);

  it('a stop during a retry wait (429 Retry-After: 30 on every write) returns within a second; nothing more is sent', async () => {
    api = await startFakeKubeApi({ objects: objects(), operator: { settle: true } });
    const leader = createLeaderElector({ api: api.kubeConfig().makeApiClient(CoordinationV1Api), namespace: 'default', name: 'pd-planner-sigterm', identity: 'planner-0' });
    expect(await leader.tryAcquireOrRenew()).toBe(true);
    api.inject({ path: '**/scale', method: 'PATCH', fault: 429, retryAfterSeconds: 30, times: 1_000_000 });
    let waiting = false;
    rig = await startRig({
      api,
      policyYaml: POLICY('http://127.0.0.1:1').replace(/ {2}sources:\n.*\n/, ''),
      leader,
      // Real waits: the 30 s the server asks for fits in the tick (interval 60 s, no per-policy timeout).
      connector: { sleep: waitUnlessAborted },
      service: { shutdownGraceSeconds: 20 },
      onLog: (line) => {
        if (line.includes('backing off')) waiting = true;
      },
    });
    const tick = rig.tick();
    await waitFor(() => waiting, 10_000, 'the retry wait to begin', 10);
    const started = performance.now();
    await rig.service.stop('SIGTERM');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(rig.log.events()).not.toContain('tick-abandoned');
    expect(lease('pd-planner-sigterm')?.holderIdentity).toBeUndefined();
    const outcome = await tick;
    expect(outcome.result!.apply.pools['prefill-od']).toMatch(/^not applied: the write was not sent \(would PATCH /);
    expect(outcome.result!.apply.errors['prefill-od']).toMatch(/scale -> HTTP 429: .*; not retried: the planner is stopping \(SIGTERM\)$/);
    expect(writes(api)).toEqual(['PATCH llama-vllmprefillworker/scale {"spec":{"replicas":3}} -> 429']);
  }, 30_000);

  it('the process, waiting 30 s to retry a throttled write, exits 0 within a couple of seconds of SIGTERM, the Lease released', async () => {
    api = await startFakeKubeApi({ objects: objects(), operator: { settle: true } });
    api.inject({ path: '**/scale', method: 'PATCH', fault: 429, retryAfterSeconds: 30, times: 1_000_000 });
    dir = mkdtempSync(join(tmpdir(), 'pd-sigterm-'));
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, POLICY('http://127.0.0.1:1').replace(/ {2}sources:\n.*\n/, ''));
    const port = await freePort();
    const planner = spawnCli(['run', '--policy', path, '--kubeconfig', api.kubeconfigPath, '--metrics-port', String(port), '--retry-period', '500ms'], { POD_NAME: 'planner-0' });
    child = planner.child;
    const { output, exited } = planner;
    await waitFor(() => output.stdout.includes('backing off'), 20_000, `the retry wait to begin (stderr: ${output.stderr})`, 20);
    const started = performance.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(performance.now() - started).toBeLessThan(3000);
    const events = jsonLines<{ event?: string }>(output.stdout)
      .map((l) => l.event)
      .filter((e) => ['signal', 'stopping', 'tick', 'tick-abandoned', 'stopped'].includes(e ?? ''));
    expect(events).toEqual(['signal', 'stopping', 'tick', 'stopped']);
    expect(writes(api)).toEqual(['PATCH llama-vllmprefillworker/scale {"spec":{"replicas":3}} -> 429']);
    expect(lease('pd-planner-sigterm')?.holderIdentity).toBeUndefined();
  }, 60_000);
});
