import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createNatsQueueSource } from '../../src/sources/nats-queue.js';
import { freePort, NATS_SERVER_BIN, requireBinaries, startNatsServer, waitFor, type NatsServerHandle } from '../fixtures/servers.js';
import { testSpec } from '../unit/sources/spec-fixture.js';

const NOW = Date.parse('2026-11-25T10:00:00Z');

describe(`NATS queue depth against the real nats-server at ${NATS_SERVER_BIN}`, () => {
  requireBinaries(NATS_SERVER_BIN);
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'prefill', subjects: ['prefill.>'] });
    await jsm.consumers.add('prefill', { durable_name: 'workers', ack_policy: AckPolicy.Explicit });
    const js = jetstream(nc);
    for (let i = 0; i < 5; i += 1) await js.publish('prefill.req', `request ${i}`);
    // Two requests are taken by a worker: 5 published - 2 delivered = 3 pending for the consumer.
    const consumer = await js.consumers.get('prefill', 'workers');
    const batch = await consumer.fetch({ max_messages: 2, expires: 2000 });
    for await (const m of batch) m.ack();
    await nc.flush();
    await nc.close();
  });
  afterAll(async () => {
    await server?.close();
  });

  const spec = (queue: Record<string, unknown>) => testSpec({ sources: { queue: { nats: server.url, stream: 'prefill', timeout: '1s', ...queue } } });

  it('reads num_pending of the consumer and the message count of the stream', async () => {
    const source = createNatsQueueSource();
    try {
      expect(await source.observe(NOW, 60, spec({ consumer: 'workers' }))).toEqual({ queueDepth: 3 });
      // Without a consumer: the stream still holds all 5 (limits retention keeps acked messages).
      expect(await source.observe(NOW, 60, spec({}))).toEqual({ queueDepth: 5 });
    } finally {
      await source.close();
    }
  });

  it('a missing consumer or stream is an error naming it, not a crash', async () => {
    const source = createNatsQueueSource();
    try {
      const noConsumer = await source.observe(NOW, 60, spec({ consumer: 'nobody' }));
      expect(noConsumer.queueDepth).toBeUndefined();
      expect(noConsumer.errors?.queueDepth).toContain(`nats ${server.url} stream "prefill" consumer "nobody": consumer not found`);
      const noStream = await source.observe(NOW, 60, spec({ stream: 'nostream' }));
      expect(noStream.errors?.queueDepth).toContain('stream not found');
    } finally {
      await source.close();
    }
  });

  it("the caller's signal: a read asked for after it aborted is not made (saying why); the next one, without it, reads", async () => {
    const stop = new AbortController();
    let current: AbortSignal | undefined = stop.signal;
    const source = createNatsQueueSource({ signal: () => current });
    try {
      stop.abort(new Error('the planner is stopping (SIGTERM)'));
      expect(await source.observe(NOW, 60, spec({ consumer: 'workers' }))).toEqual({
        errors: { queueDepth: `nats ${server.url} stream "prefill" consumer "workers": not read: the planner is stopping (SIGTERM)` },
      });
      current = undefined;
      expect(await source.observe(NOW, 60, spec({ consumer: 'workers' }))).toEqual({ queueDepth: 3 });
    } finally {
      await source.close();
    }
  });

  it('no server at the URL: connection refused, reported', async () => {
    const source = createNatsQueueSource();
    const url = `nats://127.0.0.1:${await freePort()}`;
    try {
      const part = await source.observe(NOW, 60, testSpec({ sources: { queue: { nats: url, stream: 'prefill', timeout: '1s' } } }));
      expect(part.queueDepth).toBeUndefined();
      expect(part.errors?.queueDepth).toContain(`nats ${url} stream "prefill"`);
      expect(part.errors?.queueDepth).toMatch(/refused/i);
    } finally {
      await source.close();
    }
  });

  it('keeps working after NATS goes down and comes back, without a restart', async () => {
    const source = createNatsQueueSource({ reconnectTimeWaitMs: 200 });
    try {
      expect((await source.observe(NOW, 60, spec({ consumer: 'workers' }))).queueDepth).toBe(3);
      await server.stop();
      const down = await source.observe(NOW, 60, spec({ consumer: 'workers' }));
      expect(down.queueDepth).toBeUndefined();
      expect(down.errors?.queueDepth).toContain(`nats ${server.url} stream "prefill" consumer "workers": timed out after 1s (disconnected from NATS`);
      await server.start();
      // The store survived: the same 3 pending come back once the client has reconnected by itself.
      await waitFor(async () => (await source.observe(NOW, 60, spec({ consumer: 'workers' }))).queueDepth === 3, 15_000, 'queue depth after restart');
    } finally {
      await source.close();
    }
  });
});

describe('NATS queue depth from two servers through one source (policies of one process naming different NATS URLs)', () => {
  requireBinaries(NATS_SERVER_BIN);
  const servers: NatsServerHandle[] = [];
  /** A server whose stream "prefill" holds `messages` messages. */
  const serverWith = async (messages: number) => {
    const server = await startNatsServer({ monitor: true });
    servers.push(server);
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'prefill', subjects: ['prefill.>'] });
    const js = jetstream(nc);
    for (let i = 0; i < messages; i += 1) await js.publish('prefill.req', `request ${i}`);
    await nc.close();
    return server;
  };
  let a: NatsServerHandle;
  let b: NatsServerHandle;
  beforeAll(async () => {
    a = await serverWith(3);
    b = await serverWith(7);
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
  });
  const spec = (server: NatsServerHandle) => testSpec({ sources: { queue: { nats: server.url, stream: 'prefill', timeout: '2s' } } });

  it('each policy reads its own server, also when their reads overlap, round after round', async () => {
    const source = createNatsQueueSource();
    try {
      // Both dial at once (a cold start), then both connections are in use at once (a round of two policies).
      for (let round = 0; round < 3; round += 1) {
        expect(await Promise.all([source.observe(NOW, 60, spec(a)), source.observe(NOW, 60, spec(b))])).toEqual([{ queueDepth: 3 }, { queueDepth: 7 }]);
      }
      expect(await source.observe(NOW, 60, spec(b))).toEqual({ queueDepth: 7 });
      expect(await source.observe(NOW, 60, spec(a))).toEqual({ queueDepth: 3 });
    } finally {
      await source.close();
    }
  });

  it('a server no policy reads any more (a policy reloaded onto another one) is let go after 15 minutes unused', async () => {
    const source = createNatsQueueSource();
    try {
      expect(await source.observe(NOW, 60, spec(a))).toEqual({ queueDepth: 3 });
      expect(await a.connections()).toBe(1);
      const wall = Date.now();
      vi.spyOn(Date, 'now').mockReturnValue(wall + 16 * 60_000);
      expect(await source.observe(NOW, 60, spec(b))).toEqual({ queueDepth: 7 });
      await waitFor(async () => (await a.connections()) === 0, 5000, 'the unused connection closed');
      expect(await b.connections()).toBe(1);
    } finally {
      vi.restoreAllMocks();
      await source.close();
    }
  });
});
