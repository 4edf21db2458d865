import { afterEach, describe, expect, it, vi } from 'vitest';
import type { V1Lease } from '@kubernetes/client-node';
import { createLeaderElector, type LeaseApi } from '../../../src/service/leader.js';

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** An in-memory Lease store with resourceVersion checks, like the API server. */
function memoryLeaseApi() {
  let stored: V1Lease | undefined;
  let version = 0;
  const state = { failing: false as false | 'error' | 'hang', writes: 0 };
  const guard = async () => {
    if (state.failing === 'error') throw new HttpError(500, 'etcdserver: request timed out');
    if (state.failing === 'hang') await new Promise(() => undefined);
  };
  const save = (body: V1Lease): V1Lease => {
    version += 1;
    state.writes += 1;
    stored = JSON.parse(JSON.stringify({ ...body, metadata: { ...body.metadata, resourceVersion: String(version) } })) as V1Lease;
    return stored;
  };
  const api: LeaseApi = {
    async readNamespacedLease() {
      await guard();
      if (!stored) throw new HttpError(404, 'leases "x" not found');
      return JSON.parse(JSON.stringify(stored)) as V1Lease;
    },
    async createNamespacedLease({ body }) {
      await guard();
      if (stored) throw new HttpError(409, 'already exists');
      return save(body);
    },
    async replaceNamespacedLease({ body }) {
      await guard();
      if (body.metadata?.resourceVersion !== stored?.metadata?.resourceVersion) throw new HttpError(409, 'the object has been modified');
      return save(body);
    },
  };
  return { api, state, lease: () => stored };
}

function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (seconds: number) => (t += seconds * 1000) };
}

const timing = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('leader election', () => {
  it('one of two replicas leads; the other takes over only after the lease has stayed unrenewed for leaseDuration', async () => {
    const store = memoryLeaseApi();
    const clock = fakeClock();
    const a = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'a', clock, ...timing });
    const b = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'b', clock, ...timing });
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    expect(store.lease()?.spec?.holderIdentity).toBe('a');

    // a renews every 2 s; b never gets it.
    for (let i = 0; i < 10; i += 1) {
      clock.advance(2);
      expect(await a.tryAcquireOrRenew()).toBe(true);
      expect(await b.tryAcquireOrRenew()).toBe(false);
    }

    // a dies at t0 (last renew). b saw that record at t0 too; it must wait the full 15 s.
    clock.advance(14);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clock.advance(1.5);
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(store.lease()?.spec?.holderIdentity).toBe('b');
    expect(store.lease()?.spec?.leaseTransitions).toBe(1);
    // a, 15.5 s after its last renew, is long past its 10 s deadline: not leader, and its renew fails (409/other holder).
    expect(a.isLeader()).toBe(false);
    expect(await a.tryAcquireOrRenew()).toBe(false);
  });

  it('isLeader() turns false the moment renewDeadline passes, even while the renew request hangs', async () => {
    const store = memoryLeaseApi();
    const clock = fakeClock();
    const changes: [boolean, string][] = [];
    const a = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'a', clock, ...timing, onChange: (l, r) => changes.push([l, r]) });
    expect(await a.tryAcquireOrRenew()).toBe(true);
    store.state.failing = 'hang';
    void a.tryAcquireOrRenew();
    clock.advance(9.9);
    expect(a.isLeader()).toBe(true);
    clock.advance(0.2);
    expect(a.isLeader()).toBe(false);
    expect(changes).toEqual([
      [true, 'created the lease'],
      [false, 'no successful renew for 10s'],
    ]);
  });

  it('renew errors past the deadline drop leadership; a later renew (nobody took over) regains it', async () => {
    const store = memoryLeaseApi();
    const clock = fakeClock();
    const errors: string[] = [];
    const a = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'a', clock, ...timing, onError: (m) => errors.push(m) });
    await a.tryAcquireOrRenew();
    store.state.failing = 'error';
    clock.advance(6);
    expect(await a.tryAcquireOrRenew()).toBe(true); // 6 s < 10 s deadline
    clock.advance(6);
    expect(await a.tryAcquireOrRenew()).toBe(false); // 12 s without a renew
    expect(errors[0]).toBe('lease ns/pd: read failed: HTTP 500: etcdserver: request timed out');
    store.state.failing = false;
    clock.advance(2);
    expect(await a.tryAcquireOrRenew()).toBe(true);
  });

  it('releases the lease on stop so the other replica takes over at once', async () => {
    const store = memoryLeaseApi();
    const clock = fakeClock();
    const a = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'a', clock, ...timing });
    const b = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'b', clock, ...timing });
    await a.tryAcquireOrRenew();
    expect(await b.tryAcquireOrRenew()).toBe(false);
    await a.stop();
    expect(a.isLeader()).toBe(false);
    expect(store.lease()?.spec?.holderIdentity).toBeUndefined();
    clock.advance(2);
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });

  it('two replicas racing for a free lease: exactly one wins', async () => {
    const store = memoryLeaseApi();
    const clock = fakeClock();
    const a = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'a', clock, ...timing });
    const b = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'b', clock, ...timing });
    const results = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('a clock stepped back does not stretch leadership: not leader until the next renew', async () => {
    const store = memoryLeaseApi();
    const clock = fakeClock();
    const a = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'a', clock, ...timing });
    expect(await a.tryAcquireOrRenew()).toBe(true);
    // The clock goes back an hour and the API server stops answering: the last renew now reads as an hour ahead.
    clock.advance(-3600);
    store.state.failing = 'error';
    expect(a.isLeader()).toBe(false);
    expect(await a.tryAcquireOrRenew()).toBe(false);
    store.state.failing = false;
    expect(await a.tryAcquireOrRenew()).toBe(true);
    clock.advance(9.9);
    expect(a.isLeader()).toBe(true);
    clock.advance(0.2);
    expect(a.isLeader()).toBe(false);
  });

  it('by default, durations do not follow steps of the wall clock: a standby whose clock jumps an hour ahead does not take over a live lease', async () => {
    const store = memoryLeaseApi();
    const a = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'a', ...timing });
    const b = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'b', ...timing });
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    const wall = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(wall + 3_600_000);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    expect(a.isLeader()).toBe(true);
    expect(store.lease()?.spec?.holderIdentity).toBe('a');
  });

  it('rejects renewDeadline >= leaseDuration', () => {
    expect(() => createLeaderElector({ api: memoryLeaseApi().api, namespace: 'ns', name: 'pd', leaseDurationSeconds: 10, renewDeadlineSeconds: 10 })).toThrow(
      'renewDeadline (10s) must be shorter than leaseDuration (10s)',
    );
  });
});

describe('leader election: the term of leadership (term())', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('not leader: an aborted signal; acquiring starts a term whose signal aborts, with the reason, when another replica takes the lease', async () => {
    const store = memoryLeaseApi();
    const clock = fakeClock();
    const a = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'a', clock, ...timing });
    expect(a.term().aborted).toBe(true);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    const term = a.term();
    expect(term.aborted).toBe(false);
    // Renewing keeps the same term.
    clock.advance(2);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(a.term()).toBe(term);
    // Another replica writes the lease: our next renew reads it held by "b" and the term ends there.
    const lease = store.lease()!;
    await store.api.replaceNamespacedLease({ name: 'pd', namespace: 'ns', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } } });
    clock.advance(2);
    expect(await a.tryAcquireOrRenew()).toBe(false);
    expect(term.aborted).toBe(true);
    expect((term.reason as Error).message).toBe('not the leader any more: lease held by b');
  });

  it('the renew deadline passing ends the term on its own, without anyone asking isLeader()', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const store = memoryLeaseApi();
    const clock = fakeClock();
    const changes: boolean[] = [];
    const a = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'a', clock, ...timing, onChange: (l) => changes.push(l) });
    expect(await a.tryAcquireOrRenew()).toBe(true);
    const term = a.term();
    // 9.9 s without a renew: still within the 10 s deadline.
    clock.advance(9.9);
    vi.advanceTimersByTime(9900);
    expect(term.aborted).toBe(false);
    // 10.1 s: the deadline timer fires and reports the loss; nothing called isLeader() or term().
    clock.advance(0.2);
    vi.advanceTimersByTime(200);
    expect(term.aborted).toBe(true);
    expect((term.reason as Error).message).toBe('not the leader any more: no successful renew for 10s');
    expect(changes).toEqual([true, false]);
  });

  it('a renew moves the deadline: the timer set at the first renew does not end the term', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const store = memoryLeaseApi();
    const clock = fakeClock();
    const a = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'a', clock, ...timing });
    expect(await a.tryAcquireOrRenew()).toBe(true);
    const term = a.term();
    clock.advance(6);
    vi.advanceTimersByTime(6000);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    // 11 s after the first renew, 5 s after the second: still leading.
    clock.advance(5);
    vi.advanceTimersByTime(5000);
    expect(term.aborted).toBe(false);
    // 10.5 s after the second renew: over.
    clock.advance(5.5);
    vi.advanceTimersByTime(5500);
    expect(term.aborted).toBe(true);
  });

  it('a term lost and a lease acquired again: a new term, the old one stays ended; stop() ends the current one', async () => {
    const store = memoryLeaseApi();
    const clock = fakeClock();
    const a = createLeaderElector({ api: store.api, namespace: 'ns', name: 'pd', identity: 'a', clock, ...timing });
    await a.tryAcquireOrRenew();
    const first = a.term();
    clock.advance(11);
    // term() asks isLeader() itself: past the deadline, the term handed out is an ended one.
    expect(a.term().aborted).toBe(true);
    expect(first.aborted).toBe(true);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    const second = a.term();
    expect(second).not.toBe(first);
    expect(second.aborted).toBe(false);
    await a.stop();
    expect(second.aborted).toBe(true);
    expect((second.reason as Error).message).toBe('not the leader any more: stopping');
  });

  it('stop() ends the term before it gives the Lease up: nothing writes during a slow release', async () => {
    const store = memoryLeaseApi();
    const clock = fakeClock();
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const read = store.api.readNamespacedLease.bind(store.api);
    let stopping = false;
    const api = { ...store.api, readNamespacedLease: async (args: { name: string; namespace: string }) => { if (stopping) await slow; return read(args); } };
    const changes: [boolean, string][] = [];
    const a = createLeaderElector({ api: api as typeof store.api, namespace: 'ns', name: 'pd', identity: 'a', clock, ...timing, onChange: (l, why) => changes.push([l, why]) });
    expect(await a.tryAcquireOrRenew()).toBe(true);
    const term = a.term();
    stopping = true;
    const stopped = a.stop();
    // The release is still reading the Lease: the term has ended already, and asking says why.
    await new Promise((r) => setTimeout(r, 10));
    expect(term.aborted).toBe(true);
    expect((term.reason as Error).message).toBe('not the leader any more: stopping');
    expect(a.isLeader()).toBe(false);
    release();
    await stopped;
    expect(changes).toEqual([[true, changes[0]![1]], [false, 'stopping']]);
    expect(store.lease()?.spec?.holderIdentity).toBeUndefined();
  });
});
