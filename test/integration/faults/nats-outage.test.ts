/**
 * Fault: NATS (the prefill queue) goes down and comes back, under the running planner service.
 * Must hold afterwards: no crash and no unhandled rejection; every tick while it is down reports the queue depth
 * as missing (naming the server, stream and consumer), /readyz turns 503 after failureThreshold ticks; once NATS is
 * back the same service object reads the depth again (same 3 pending, the store survived) and is ready, without a
 * restart or a policy reload. Uses the real nats-server binary (the suite fails, saying how to install it, when it is missing).
 * The source alone (connect, missing stream/consumer, reconnect) is covered in test/integration/nats-queue.test.ts.
 */
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKubeApi, type FakeKubeApi } from '../../fixtures/fake-kube-api/index.js';
import { llamaGraph } from '../../fixtures/fake-kube-api/objects.js';
import { NATS_SERVER_BIN, requireBinaries, startNatsServer, waitFor, type NatsServerHandle } from '../../fixtures/servers.js';
import { startRig, writes, type Rig } from './rig.js';

const policy = (natsUrl: string) => `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: nats-fault }
spec:
  interval: 60s
  failureThreshold: 2
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { prefill-od: 2 } }
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: llama, service: VllmPrefillWorker } }
  sources:
    queue: { nats: ${natsUrl}, stream: prefill, consumer: workers, timeout: 500ms }
`;

describe('fault: NATS down and back under the running service', () => {
  requireBinaries(NATS_SERVER_BIN);
  let nats: NatsServerHandle;
  let api: FakeKubeApi;
  let rig: Rig;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    nats = await startNatsServer();
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'prefill', subjects: ['prefill.>'] });
    await jsm.consumers.add('prefill', { durable_name: 'workers', ack_policy: AckPolicy.Explicit });
    const js = jetstream(nc);
    for (let i = 0; i < 3; i += 1) await js.publish('prefill.req', `request ${i}`);
    await nc.close();
    api = await startFakeKubeApi({ objects: llamaGraph({ prefill: 2 }) });
    rig = await startRig({ api, policyYaml: policy(nats.url), http: true });
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await rig?.close();
    await api?.close();
    await nats?.close();
  });

  it('reads the depth, survives the outage not-ready, and recovers by itself', async () => {
    const up = await rig.tick();
    expect(up.ok).toBe(true);
    expect(up.result!.observation.queueDepth).toBe(3);

    await nats.stop();
    for (let n = 1; n <= 3; n += 1) {
      const down = await rig.tick();
      expect(down.ok).toBe(false);
      expect(down.result!.observation.queueDepth).toBeUndefined();
      expect(down.result!.observation.errors?.queueDepth).toContain(`nats ${nats.url} stream "prefill" consumer "workers"`);
      // The decision itself does not depend on the queue (static): replicas stay as they are, nothing written.
      expect(down.result!.decision.pools['prefill-od']!.desired).toBe(2);
      expect(await rig.probe('/readyz')).toBe(n < 2 ? 200 : 503);
      expect(await rig.probe('/healthz')).toBe(200);
    }
    expect(writes(api)).toEqual([]);

    await nats.start();
    // The client reconnects on its own (every 200 ms here); the next ticks read the depth again.
    await waitFor(async () => (await rig.tick()).result?.observation.queueDepth === 3, 15_000, 'queue depth after NATS is back', 100);
    expect(rig.service.status().consecutiveFailures).toBe(0);
    expect(await rig.probe('/readyz')).toBe(200);
    expect(unhandled).toEqual([]);
  });
});
