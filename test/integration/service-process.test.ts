/**
 * `pd-planner run` as a long-running process: /metrics, /healthz and /readyz over HTTP; /readyz goes 503 after
 * failureThreshold ticks with Prometheus unreachable and back to 200 after the policy file is fixed (hot reload);
 * SIGTERM releases the Lease and exits 0.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonLines, spawnCli } from '../fixtures/cli.js';
import { startFakeKubeApi, type FakeKubeApi } from '../fixtures/fake-kube-api/index.js';
import { llamaGraph } from '../fixtures/fake-kube-api/objects.js';
import { dynamoAnswers, freePort, startFakePrometheus, waitFor, type FakePrometheus } from '../fixtures/servers.js';

let api: FakeKubeApi | undefined;
let prom: FakePrometheus | undefined;
let dir: string | undefined;
let child: ChildProcessWithoutNullStreams | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await api?.close();
  await prom?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  api = prom = dir = child = undefined;
});

const policy = (promUrl: string) => `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: proc }
spec:
  interval: 500ms
  failureThreshold: 2
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { prefill-od: 3 } }
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: llama, service: VllmPrefillWorker } }
  sources:
    prometheus: { url: ${promUrl}, timeout: 1s }
`;

describe('pd-planner run (service process)', () => {
  it('serves its endpoints, flips /readyz on failures, reloads the policy, and shuts down cleanly on SIGTERM', async () => {
    api = await startFakeKubeApi({
      objects: llamaGraph({ prefill: 2 }),
      operator: { settle: true },
    });
    prom = await startFakePrometheus(dynamoAnswers({ requests: 100, isl: 1000, osl: 100, ttftSeconds: 0.2, itlSeconds: 0.02, durationSeconds: 2 }));
    dir = mkdtempSync(join(tmpdir(), 'pd-proc-'));
    const path = join(dir, 'policy.yaml');
    const deadUrl = `http://127.0.0.1:${await freePort()}`;
    writeFileSync(path, policy(deadUrl));

    const metricsPort = await freePort();
    const planner = spawnCli(['run', '--policy', path, '--kubeconfig', api.kubeconfigPath, '--metrics-port', String(metricsPort), '--lease-duration', '3s', '--renew-deadline', '2s', '--retry-period', '500ms'], {
      POD_NAME: 'planner-0',
    });
    child = planner.child;
    const { output, exited } = planner;
    const base = `http://127.0.0.1:${metricsPort}`;
    const status = async (p: string) => (await fetch(`${base}${p}`)).status;

    await waitFor(async () => (await status('/healthz')) === 200, 20_000, `/healthz (stderr: ${output.stderr})`, 200);
    // Prometheus unreachable: two failed ticks in a row -> not ready. Nothing is scaled on missing metrics.
    await waitFor(async () => (await status('/readyz')) === 503, 15_000, '/readyz 503', 200);
    const notReady = await (await fetch(`${base}/readyz`)).text();
    expect(notReady).toContain('failed ticks in a row (threshold 2)');
    expect(notReady).toContain(`prometheus ${deadUrl}/api/v1/query refused the connection`);

    // Fix the policy file: the service reloads it and the next good tick makes it ready.
    writeFileSync(path, policy(prom.url));
    await waitFor(async () => (await status('/readyz')) === 200, 15_000, '/readyz 200 after reload', 200);
    await waitFor(() => api!.get('nvidia.com/v1beta1', 'DynamoGraphDeploymentScalingAdapter', 'default', 'llama-vllmprefillworker')?.spec?.replicas === 3, 10_000, 'scale to 3');

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^pd_planner_desired_replicas\{pool="prefill-od",role="prefill",capacity="on-demand"\} 3$/m);
    expect(metrics).toMatch(/^pd_planner_leader 1$/m);
    expect(metrics).toMatch(/^pd_planner_errors_total\{reason="metrics"\} [1-9]\d*$/m);
    expect(api.get('coordination.k8s.io/v1', 'Lease', 'default', 'pd-planner-proc')?.spec?.holderIdentity).toBe('planner-0');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(api.get('coordination.k8s.io/v1', 'Lease', 'default', 'pd-planner-proc')?.spec?.holderIdentity).toBeUndefined();
    const events = jsonLines<{ event?: string }>(output.stdout).map((l) => l.event);
    expect(events).toContain('policy-reloaded');
    expect(events).toContain('not-ready');
    const shutdown = events.filter((e) => e === 'signal' || e === 'stopping' || e === 'stopped');
    expect(shutdown).toEqual(['signal', 'stopping', 'stopped']);
    expect(events.at(-1)).toBe('stopped');
    // The kubeconfig's bearer token (the fake's is "fake-token") never reaches the log.
    expect(output.stdout).not.toContain('fake-token');
    expect(output.stdout).not.toMatch(/Bearer [A-Za-z0-9]/i);
  }, 90_000);
});
