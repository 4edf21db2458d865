/**
 * `run --once --connector virtual` without Kubernetes: fake Prometheus -> decision -> NATS KV bucket on a real
 * nats-server, read back with the reader other tools use; with --dry-run, nothing reaches the bucket.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPlanner } from '../../src/service/run.js';
import { createVirtualReader } from '../../src/connectors/virtual.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { dynamoAnswers, NATS_SERVER_BIN, requireBinaries, startFakePrometheus, startNatsServer, type FakePrometheus, type NatsServerHandle } from '../fixtures/servers.js';

describe(`run --once --connector virtual against the real nats-server at ${NATS_SERVER_BIN}`, () => {
  requireBinaries(NATS_SERVER_BIN);
  let nats: NatsServerHandle;
  let prom: FakePrometheus;
  let dir: string;
  beforeAll(async () => {
    nats = await startNatsServer();
    prom = await startFakePrometheus(dynamoAnswers({ requests: 0, isl: 0, osl: 0, ttftSeconds: 0, itlSeconds: 0, durationSeconds: 0 }));
    dir = mkdtempSync(join(tmpdir(), 'pd-virtual-'));
  });
  afterAll(async () => {
    await nats?.close();
    await prom?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes the decision to the bucket and exits 0', async () => {
    const path = join(dir, 'policy.yaml');
    writeFileSync(
      path,
      `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: virt }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { prefill-od: 2, decode-od: 5 } }
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 1, maxReplicas: 8 }
    - { name: decode-od, role: decode, minReplicas: 1, maxReplicas: 8 }
  sources:
    prometheus: { url: ${prom.url} }
    virtual: { nats: ${nats.url}, bucket: virt-decisions }
`,
    );
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, kc: process.env.KUBECONFIG };
    delete process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBECONFIG;
    try {
      const code = await runPlanner(
        { policy: path, once: true, connector: 'virtual', metricsPort: 0, leaseDuration: 15, renewDeadline: 10, retryPeriod: 2 },
        { logger: silentLogger(), handleSignals: false },
      );
      expect(code).toBe(0);
    } finally {
      if (saved.host !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.kc !== undefined) process.env.KUBECONFIG = saved.kc;
    }
    const reader = await createVirtualReader({ nats: nats.url, bucket: 'virt-decisions' });
    try {
      const all = await reader.all();
      expect(Object.fromEntries(Object.entries(all).map(([pool, d]) => [pool, [d.desired, d.revision, d.role]]))).toEqual({
        'decode-od': [5, 1, 'decode'],
        'prefill-od': [2, 1, 'prefill'],
      });
    } finally {
      await reader.close();
    }
  });

  const policyFile = (name: string, bucket: string) => {
    const path = join(dir, `${name}.yaml`);
    writeFileSync(
      path,
      `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: ${name} }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { prefill-od: 2, decode-od: 5 } }
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 1, maxReplicas: 8 }
    - { name: decode-od, role: decode, minReplicas: 1, maxReplicas: 8 }
  sources:
    prometheus: { url: ${prom.url} }
    virtual: { nats: ${nats.url}, bucket: ${bucket} }
`,
    );
    return path;
  };

  it('--dry-run says where each count would be published and writes nothing to the bucket', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, kc: process.env.KUBECONFIG };
    delete process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBECONFIG;
    try {
      const code = await runPlanner(
        { policy: policyFile('virt-dry', 'virt-dry-decisions'), once: true, dryRun: true, connector: 'virtual', metricsPort: 0, leaseDuration: 15, renewDeadline: 10, retryPeriod: 2 },
        { logger, handleSignals: false },
      );
      expect(code).toBe(0);
    } finally {
      if (saved.host !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.kc !== undefined) process.env.KUBECONFIG = saved.kc;
    }
    const tick = lines.map((l) => JSON.parse(l) as { event?: string; apply?: { pools: Record<string, string> } }).find((l) => l.event === 'tick');
    expect(tick?.apply?.pools).toEqual({
      // Held (no pool's current count is observed without a cluster): written, but never below what the key holds.
      'prefill-od': `dry-run: would set 2, never below the count the target holds (${nats.url} bucket virt-dry-decisions key prefill-od)`,
      'decode-od': `dry-run: would set 5, never below the count the target holds (${nats.url} bucket virt-dry-decisions key decode-od)`,
    });
    // Nothing was published: the bucket is empty (or was never created, which the reader reports as an error).
    const reader = await createVirtualReader({ nats: nats.url, bucket: 'virt-dry-decisions' });
    try {
      expect(await reader.all().catch(() => ({}))).toEqual({});
    } finally {
      await reader.close();
    }
  });
});
