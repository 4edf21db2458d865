import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createVirtualConnector, createVirtualReader, type VirtualDecision } from '../../src/connectors/virtual.js';
import type { Decision } from '../../src/planner/types.js';
import type { WriteAbandoned } from '../../src/call-budget.js';
import { createLogger } from '../../src/log.js';
import { NATS_SERVER_BIN, requireBinaries, startNatsServer, waitFor, type NatsServerHandle } from '../fixtures/servers.js';
import { testSpec } from '../unit/sources/spec-fixture.js';

function decision(time: string, prefill: number, decode: number, held = false): Decision {
  return {
    time,
    pools: {
      'prefill-od': { desired: prefill, role: 'prefill', capacity: 'on-demand', gpus: prefill * 4, boundBy: ['max'] },
      'decode-od': { desired: decode, role: 'decode', capacity: 'on-demand', gpus: decode * 4, boundBy: [] },
    },
    explanation: { policy: 'sla', held, ...(held ? { holdReason: 'requests unknown' } : {}), need: {}, constraints: [], warnings: [], missing: {} },
  };
}

describe(`virtual connector against the real nats-server at ${NATS_SERVER_BIN}`, () => {
  requireBinaries(NATS_SERVER_BIN);
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('publishes one key per pool, counts revisions per change, and survives a planner restart', async () => {
    const spec = testSpec({ sources: { virtual: { nats: server.url, bucket: 'planner-a' } } });
    const first = createVirtualConnector();
    const r1 = await first.apply(decision('2026-11-25T10:00:00Z', 1, 2), spec);
    expect(r1.errors).toEqual({});
    expect(r1.pools).toEqual({
      'prefill-od': 'published -->1 (revision 1) to planner-a',
      'decode-od': 'published -->2 (revision 1) to planner-a',
    });

    const reader = await createVirtualReader({ nats: server.url, bucket: 'planner-a' });
    const seen: VirtualDecision[] = [];
    const stop = await reader.watch((d) => seen.push(d));
    try {
      expect(await reader.all()).toEqual({
        'decode-od': { pool: 'decode-od', role: 'decode', desired: 2, reason: 'sla', decidedAt: '2026-11-25T10:00:00Z', revision: 1 },
        'prefill-od': { pool: 'prefill-od', role: 'prefill', desired: 1, reason: 'sla; bound by max', decidedAt: '2026-11-25T10:00:00Z', revision: 1 },
      });

      // Prefill 1 -> 5, decode stays 2: only prefill is rewritten.
      const r2 = await first.apply(decision('2026-11-25T10:01:00Z', 5, 2), spec);
      expect(r2.pools).toEqual({ 'prefill-od': 'published 1->5 (revision 2) to planner-a', 'decode-od': 'unchanged' });
      await first.close();

      // A new planner process keeps counting from what the bucket holds.
      const second = createVirtualConnector();
      const r3 = await second.apply(decision('2026-11-25T10:02:00Z', 0, 0, true), spec);
      expect(r3.pools['decode-od']).toBe('published 2->0 (revision 2) to planner-a');
      expect(r3.pools['prefill-od']).toBe('published 5->0 (revision 3) to planner-a');
      await second.close();

      expect(await reader.get('prefill-od')).toEqual({
        pool: 'prefill-od',
        role: 'prefill',
        desired: 0,
        reason: 'held: requests unknown',
        decidedAt: '2026-11-25T10:02:00Z',
        revision: 3,
      });
      // The watcher saw the initial values and then every change, in order.
      await waitFor(() => seen.length >= 5, 5000, 'five watched decisions');
      expect(seen.filter((d) => d.pool === 'prefill-od').map((d) => [d.desired, d.revision])).toEqual([
        [1, 1],
        [5, 2],
        [0, 3],
      ]);
    } finally {
      stop();
      await reader.close();
    }
  });

  it('honours the hold marks: nothing for a pool marked writable: false, never below what was published for a held one', async () => {
    const spec = testSpec({ sources: { virtual: { nats: server.url, bucket: 'planner-hold' } } });
    const connector = createVirtualConnector();
    try {
      expect((await connector.apply(decision('2026-11-25T10:00:00Z', 5, 4), spec)).pools['prefill-od']).toBe('published -->5 (revision 1) to planner-hold');
      const held = decision('2026-11-25T10:01:00Z', 3, 6, true);
      held.explanation.unknown = ['the request count'];
      held.pools['prefill-od']!.hold = true;
      held.pools['decode-od']!.hold = true;
      const r = await connector.apply(held, spec);
      expect(r.pools).toEqual({
        'prefill-od': 'held at 5: the decision was a hold (the request count unknown) and 3 is below the 5 set now; not written',
        // A held pool may still grow.
        'decode-od': 'published 4->6 (revision 2) to planner-hold',
      });
      const blind = decision('2026-11-25T10:02:00Z', 0, 0, true);
      blind.explanation.unknown = ['the request count', 'the current count of prefill-od, decode-od'];
      for (const pool of Object.values(blind.pools)) Object.assign(pool, { hold: true, writable: false });
      const nothing = await connector.apply(blind, spec);
      expect(nothing.pools['prefill-od']).toMatch(/^not written: nothing is known of this pool's count \(the request count; the current count of prefill-od, decode-od unknown\)/);
      expect(nothing.errors).toEqual({});
      const reader = await createVirtualReader({ nats: server.url, bucket: 'planner-hold' });
      expect(Object.values(await reader.all()).map((d) => [d.pool, d.desired])).toEqual([
        ['decode-od', 6],
        ['prefill-od', 5],
      ]);
      await reader.close();
    } finally {
      await connector.close();
    }
  });

  it('writes nothing when it is not the leader', async () => {
    const spec = testSpec({ sources: { virtual: { nats: server.url, bucket: 'planner-b' } } });
    let leader = false;
    const connector = createVirtualConnector({ canAct: () => leader });
    try {
      const result = await connector.apply(decision('2026-11-25T10:00:00Z', 3, 3), spec);
      expect(result.pools).toEqual({ 'prefill-od': 'skipped: not the leader', 'decode-od': 'skipped: not the leader' });
      leader = true;
      await connector.apply(decision('2026-11-25T10:01:00Z', 4, 4), spec);
      const reader = await createVirtualReader({ nats: server.url, bucket: 'planner-b' });
      expect((await reader.get('prefill-od'))?.desired).toBe(4);
      expect((await reader.get('prefill-od'))?.revision).toBe(1);
      await reader.close();
    } finally {
      await connector.close();
    }
  });

  it('the term of leadership ends while a write waits on a hung server: the wait ends at once, nothing is published after it', async () => {
    const spec = testSpec({ sources: { virtual: { nats: server.url, bucket: 'planner-term' } } });
    const term = new AbortController();
    const abandoned: WriteAbandoned[] = [];
    const lines: string[] = [];
    const connector = createVirtualConnector({
      canAct: () => !term.signal.aborted,
      callBudget: () => ({ leadership: term.signal }),
      onWriteAbandoned: (a) => abandoned.push(a),
      logger: createLogger({ level: 'warn', destination: { write: (line: string) => void lines.push(line) } }),
      // A request's own timeout, far longer than the wait the end of the term must cut short.
      timeoutMs: 30_000,
    });
    let thaw: NodeJS.Timeout | undefined;
    try {
      expect((await connector.apply(decision('2026-11-25T10:00:00Z', 1, 1), spec)).errors).toEqual({});
      // The server hangs: the next write's read of the key goes unanswered.
      server.freeze();
      const pending = connector.apply(decision('2026-11-25T10:01:00Z', 5, 5), spec);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const lostAt = Date.now();
      term.abort(new Error('not the leader any more: lease held by planner-1'));
      // The server comes back 2 s later whatever happens: a write still waiting then would go out.
      thaw = setTimeout(() => server.thaw(), 2000);
      const result = await pending;
      const waited = Date.now() - lostAt;
      expect(waited).toBeLessThan(1500);
      expect(result.errors).toEqual({});
      expect(result.pools).toEqual({
        'prefill-od': 'not leader: no write (would publish 5 to planner-term key prefill-od)',
        'decode-od': 'skipped: not the leader',
      });
      expect(abandoned).toEqual([
        { pool: 'prefill-od', request: 'KV put $KV.planner-term.prefill-od', reason: 'leadership-lost', inFlight: false, why: 'not the leader any more: lease held by planner-1' },
      ]);
      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'write-abandoned');
      expect(logged.map((l) => [l.pool, l.request, l.reason, l.inFlight])).toEqual([['prefill-od', 'KV put $KV.planner-term.prefill-od', 'leadership-lost', false]]);
      // Long after the server is back, the bucket still holds what the term published.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const reader = await createVirtualReader({ nats: server.url, bucket: 'planner-term' });
      try {
        expect(Object.values(await reader.all()).map((d) => [d.pool, d.desired, d.revision])).toEqual([
          ['decode-od', 1, 1],
          ['prefill-od', 1, 1],
        ]);
      } finally {
        await reader.close();
      }
    } finally {
      clearTimeout(thaw);
      server.thaw();
      await connector.close();
    }
  }, 60_000);

  it('the term ends while a put waits for its ack: cut off in flight, not counted as applied; the tick ending while a read waits: tick-ended, an error of the pool', async () => {
    const spec = testSpec({ sources: { virtual: { nats: server.url, bucket: 'planner-flight' } } });
    const term = new AbortController();
    const tick = new AbortController();
    const abandoned: WriteAbandoned[] = [];
    let guards = 0;
    const connector = createVirtualConnector({
      // Asked at the start, before the pool's write and right before its put: the server hangs from the put on.
      canAct: () => {
        guards += 1;
        if (guards === 3) server.freeze();
        return !term.signal.aborted;
      },
      callBudget: () => ({ signal: tick.signal, leadership: term.signal }),
      onWriteAbandoned: (a) => abandoned.push(a),
      timeoutMs: 30_000,
    });
    try {
      const one = decision('2026-11-25T10:00:00Z', 2, 2);
      delete (one.pools as Record<string, unknown>)['decode-od'];
      const pending = connector.apply(one, spec);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const lostAt = Date.now();
      term.abort(new Error('not the leader any more: lease held by planner-1'));
      const result = await pending;
      expect(Date.now() - lostAt).toBeLessThan(1500);
      expect(result.pools).toEqual({ 'prefill-od': 'not leader: the write was cut off in flight (would publish 2 to planner-flight key prefill-od)' });
      expect(result.errors).toEqual({});
      expect(abandoned).toEqual([
        { pool: 'prefill-od', request: 'KV put $KV.planner-flight.prefill-od', reason: 'leadership-lost', inFlight: true, why: 'not the leader any more: lease held by planner-1' },
      ]);
      server.thaw();

      // A new term; the server hangs again, on the key's read this time, and the tick is given up.
      const second = createVirtualConnector({ callBudget: () => ({ signal: tick.signal, leadership: new AbortController().signal }), onWriteAbandoned: (a) => abandoned.push(a), timeoutMs: 30_000 });
      try {
        expect((await second.apply(decision('2026-11-25T10:01:00Z', 3, 3), spec)).errors).toEqual({});
        server.freeze();
        const waiting = second.apply(decision('2026-11-25T10:02:00Z', 4, 4), spec);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const givenUpAt = Date.now();
        tick.abort(new Error('the tick was given up after 30 s'));
        const cut = await waiting;
        expect(Date.now() - givenUpAt).toBeLessThan(1500);
        expect(cut.pools['prefill-od']).toBe('not applied: the write was not sent (would publish 4 to planner-flight key prefill-od)');
        expect(cut.errors['prefill-od']).toBe(`virtual connector: nats ${server.url} bucket "planner-flight" key "prefill-od": not sent: the tick was given up after 30 s`);
        // The tick's signal stays aborted: the next pool's write is not sent either.
        expect(cut.pools['decode-od']).toBe('not applied: the write was not sent (would publish 4 to planner-flight key decode-od)');
        expect(abandoned.slice(1).map((a) => [a.pool, a.reason, a.inFlight])).toEqual([
          ['prefill-od', 'tick-ended', false],
          ['decode-od', 'tick-ended', false],
        ]);
      } finally {
        server.thaw();
        await second.close();
      }
      const reader = await createVirtualReader({ nats: server.url, bucket: 'planner-flight' });
      try {
        expect(Object.values(await reader.all()).map((d) => [d.pool, d.desired])).toEqual([
          ['decode-od', 3],
          ['prefill-od', 3],
        ]);
      } finally {
        await reader.close();
      }
    } finally {
      server.thaw();
      await connector.close();
    }
  }, 60_000);

  it('a term already over when the write would go out: nothing is sent (the leader guard not yet aware of it), each write counted as abandoned', async () => {
    const spec = testSpec({ sources: { virtual: { nats: server.url, bucket: 'planner-over' } } });
    const term = new AbortController();
    term.abort(new Error('not the leader any more: no successful renew for 10s'));
    const abandoned: WriteAbandoned[] = [];
    const connector = createVirtualConnector({ canAct: () => true, callBudget: () => ({ leadership: term.signal }), onWriteAbandoned: (a) => abandoned.push(a) });
    try {
      const result = await connector.apply(decision('2026-11-25T10:00:00Z', 3, 4), spec);
      expect(result.pools).toEqual({
        'prefill-od': 'not leader: no write (would publish 3 to planner-over key prefill-od)',
        'decode-od': 'not leader: no write (would publish 4 to planner-over key decode-od)',
      });
      expect(abandoned.map((a) => [a.pool, a.reason, a.inFlight, a.why])).toEqual([
        ['prefill-od', 'leadership-lost', false, 'not the leader any more: no successful renew for 10s'],
        ['decode-od', 'leadership-lost', false, 'not the leader any more: no successful renew for 10s'],
      ]);
      // Nothing reached the server: the bucket is empty (or was never created, which the reader reports as an error).
      const reader = await createVirtualReader({ nats: server.url, bucket: 'planner-over' });
      try {
        expect(await reader.all().catch(() => ({}))).toEqual({});
      } finally {
        await reader.close();
      }
    } finally {
      await connector.close();
    }
  });

  it('NATS unreachable or unset: errors per pool, never a throw', async () => {
    const connector = createVirtualConnector({ timeoutMs: 500 });
    try {
      const down = await connector.apply(decision('2026-11-25T10:00:00Z', 1, 1), testSpec({ sources: { virtual: { nats: 'nats://127.0.0.1:1' } } }));
      expect(down.errors['prefill-od']).toMatch(/^virtual connector: .*(refused|ECONNREFUSED)/i);
      const unset = await connector.apply(decision('2026-11-25T10:00:00Z', 1, 1), testSpec());
      expect(unset.errors['decode-od']).toBe('virtual connector: no NATS URL; set spec.sources.virtual.nats (e.g. nats://nats:4222)');
    } finally {
      await connector.close();
    }
  });
});

describe('virtual connector: policies of one process publishing to different buckets at once', () => {
  requireBinaries(NATS_SERVER_BIN);
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer({ monitor: true });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('each round publishes every policy without error, over one connection per server (none left behind)', async () => {
    const llama = testSpec({ sources: { virtual: { nats: server.url, bucket: 'llama' } } });
    const mistral = testSpec({ sources: { virtual: { nats: server.url, bucket: 'mistral' } } });
    const connector = createVirtualConnector();
    try {
      for (let round = 1; round <= 3; round += 1) {
        const time = `2026-11-25T10:0${round}:00Z`;
        const [a, b] = await Promise.all([connector.apply(decision(time, round, 1), llama), connector.apply(decision(time, 10 + round, 2), mistral)]);
        expect([a.errors, b.errors]).toEqual([{}, {}]);
        expect(a.pools['prefill-od']).toBe(`published ${round === 1 ? '-' : round - 1}->${round} (revision ${round}) to llama`);
        expect(b.pools['prefill-od']).toBe(`published ${round === 1 ? '-' : 9 + round}->${10 + round} (revision ${round}) to mistral`);
      }
      expect(await server.connections()).toBe(1);
    } finally {
      await connector.close();
    }
    await waitFor(async () => (await server.connections()) === 0, 5000, 'every connection closed');
  });

  it('a server no policy publishes to any more (a policy reloaded onto another one) is let go after 15 minutes unused', async () => {
    const other = await startNatsServer({ monitor: true });
    const connector = createVirtualConnector();
    try {
      const before = testSpec({ sources: { virtual: { nats: server.url, bucket: 'moving' } } });
      const after = testSpec({ sources: { virtual: { nats: other.url, bucket: 'moving' } } });
      expect((await connector.apply(decision('2026-11-25T10:00:00Z', 1, 1), before)).errors).toEqual({});
      expect(await server.connections()).toBe(1);
      const wall = Date.now();
      vi.spyOn(Date, 'now').mockReturnValue(wall + 16 * 60_000);
      expect((await connector.apply(decision('2026-11-25T10:16:00Z', 2, 2), after)).errors).toEqual({});
      await waitFor(async () => (await server.connections()) === 0, 5000, 'the unused connection closed');
      expect(await other.connections()).toBe(1);
    } finally {
      vi.restoreAllMocks();
      await connector.close();
      await other.close();
    }
  });
});
