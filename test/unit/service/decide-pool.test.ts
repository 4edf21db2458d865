/**
 * decide() in worker threads (service/decide/pool.ts): the same decisions as the inline call; a decide that never
 * returns, or that allocates without end, is stopped with its thread and the next call gets a fresh one; a call is
 * given up at once when its tick is (abort), and when the pool closes. A poll of a graph at zero stays a poll in the
 * worker; a fleet's decideFleet() runs there too, with the same deadline, and graph names such as `constructor` or
 * `__proto__` come back as entries.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { policySpec, type PolicySpec } from '../../../src/config/schema.js';
import { decideFleet, type FleetInput } from '../../../src/fleet/decide.js';
import { decide, type DecideInput } from '../../../src/planner/decide.js';
import { initialState, type PlannerState } from '../../../src/planner/state.js';
import type { Observation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/load.js';
import { DecidePool, DecideTimeoutError } from '../../../src/service/decide/pool.js';
import { MISBEHAVING_DECIDE_WORKER } from '../../fixtures/decide-worker/index.js';

const profile = loadProfile('builtin:llama2-70b-h100-tp4', '.');
const T0 = Date.parse('2026-11-25T10:00:00Z');

function spec(first = 'prefill', extra: Record<string, unknown> = {}): PolicySpec {
  return policySpec.parse({
    slo: { ttft: { ms: 800 }, itl: { ms: 60 } },
    pools: [
      { name: first, role: 'prefill', minReplicas: 1, maxReplicas: 16 },
      { name: 'decode', role: 'decode', minReplicas: 1, maxReplicas: 16 },
    ],
    ...extra,
  });
}

function input(s: PolicySpec, observation: Partial<Observation> = {}, state: PlannerState = initialState(), now = T0): DecideInput {
  return { spec: s, profile, observation: { time: new Date(now).toISOString(), requests: 1200, isl: 3000, osl: 150, pools: { [s.pools[0]!.name]: { desired: 2, ready: 2 }, decode: { desired: 3, ready: 3 } }, ...observation }, state, now };
}

let pool: DecidePool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('decide in a worker thread', () => {
  it('gives exactly the decision and state of the inline call, tick after tick (sla, static, a held tick)', async () => {
    pool = new DecidePool();
    for (const s of [spec(), spec('prefill', { policy: 'static', static: { replicas: { prefill: 4, decode: 2 } } })]) {
      let inlineState = initialState();
      let workerState = initialState();
      const windows: Partial<Observation>[] = [{}, { requests: 2400 }, { requests: undefined, errors: { requests: 'prometheus down' } }, { requests: 0 }];
      for (const [t, window] of windows.entries()) {
        const now = T0 + t * 60_000;
        const inline = decide(input(s, window, inlineState, now));
        const threaded = await pool.decide(input(s, window, workerState, now), { timeoutMs: 30_000 });
        expect(threaded).toEqual(inline);
        inlineState = inline.state;
        workerState = threaded.state;
      }
    }
    expect(pool.size).toBe(1);
  });

  it('a decide that never returns fails with DecideTimeoutError at its deadline; its thread is replaced and the next call works', async () => {
    pool = new DecidePool({ worker: MISBEHAVING_DECIDE_WORKER });
    await pool.start();
    const error = await pool.decide(input(spec('spin-prefill')), { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecideTimeoutError);
    expect((error as Error).message).toBe('decide() did not return within 0.3s (a computation that does not end); its thread was restarted and nothing was written');
    expect(pool.restarts).toBe(1);
    const ok = await pool.decide(input(spec()), { timeoutMs: 30_000 });
    expect(ok.decision.pools.prefill?.desired).toBe(decide(input(spec())).decision.pools.prefill?.desired);
  });

  it('the tick giving up (abort) stops a running decide at once, and one still waiting for a thread', async () => {
    pool = new DecidePool({ worker: MISBEHAVING_DECIDE_WORKER, maxWorkers: 1 });
    await pool.start();
    const tick = new AbortController();
    const spinning = pool.decide(input(spec('spin-prefill')), { timeoutMs: 60_000, signal: tick.signal }).catch((e: unknown) => e);
    const queued = pool.decide(input(spec()), { timeoutMs: 60_000, signal: tick.signal }).catch((e: unknown) => e);
    tick.abort();
    expect(await spinning).toBeInstanceOf(DecideTimeoutError);
    expect(await queued).toBeInstanceOf(DecideTimeoutError);
    expect(pool.restarts).toBe(1);
    // Already given up: not even queued.
    expect(await pool.decide(input(spec()), { timeoutMs: 60_000, signal: tick.signal }).catch((e: unknown) => e)).toBeInstanceOf(DecideTimeoutError);
    expect((await pool.decide(input(spec()), { timeoutMs: 30_000 })).decision.pools.decode).toBeDefined();
  });

  it('while one decide spins, other policies still decide: a second thread is started for them', async () => {
    pool = new DecidePool({ worker: MISBEHAVING_DECIDE_WORKER, maxWorkers: 2 });
    await pool.start();
    const spinning = pool.decide(input(spec('spin-prefill')), { timeoutMs: 60_000 }).catch((e: unknown) => e);
    const other = await pool.decide(input(spec()), { timeoutMs: 60_000 });
    expect(other.decision.pools.prefill).toBeDefined();
    expect(pool.size).toBe(2);
    await pool.close();
    expect(await spinning).toBeInstanceOf(DecideTimeoutError);
    expect(pool.size).toBe(0);
  });

  it('a decide that allocates without end dies alone at the heap cap: an error for that call, the next call works', async () => {
    pool = new DecidePool({ worker: MISBEHAVING_DECIDE_WORKER, maxHeapMb: 32 });
    await pool.start();
    const error = await pool.decide(input(spec('oom-prefill')), { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(DecideTimeoutError);
    expect((error as Error).message).toMatch(/^the decide worker thread stopped \(exit code \d+: out of memory, or a crash\) during the decision$/);
    expect((await pool.decide(input(spec()), { timeoutMs: 30_000 })).decision.pools.prefill).toBeDefined();
  });

  it('after close(), a call fails at once', async () => {
    pool = new DecidePool();
    await pool.close();
    await expect(pool.decide(input(spec()), { timeoutMs: 1000 })).rejects.toThrow('the planner is stopping: no decision');
  });
});

describe('a decide worker that cannot start', () => {
  it('fails the waiting call with why, start() rejects, and no thread is started in a loop', async () => {
    pool = new DecidePool({ worker: new URL('./no-such-worker.mjs', import.meta.url) });
    await expect(pool.start()).rejects.toThrow('the decide worker thread stopped while it was starting');
    const error = await pool.decide(input(spec()), { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^the decide worker thread could not start \(.*no-such-worker\.mjs/);
    expect(pool.size).toBe(0);
  });
});

describe('decide in a worker thread: polls and fleets', () => {
  it('a poll stays a poll: its window is not recorded in the history, as inline', async () => {
    pool = new DecidePool();
    const s = spec('prefill', { scaleToZero: { idleSeconds: 300, pollInterval: '10s' } });
    const polled = { ...input(s, { requests: 3 }), poll: true };
    const inline = decide(polled);
    const threaded = await pool.decide(polled, { timeoutMs: 30_000 });
    expect(inline.state.history).toEqual([]);
    expect(threaded.state.history).toEqual([]);
    expect(threaded).toEqual(inline);
  });

  function fleet(names: [string, string], first = 'prefill'): FleetInput {
    const a = spec(first);
    const b = spec('prefill');
    return {
      name: 'f',
      budget: { maxGpus: 20 },
      now: T0,
      graphs: [
        { name: names[0], priority: 2, spec: a, profile, state: initialState(), observation: input(a).observation },
        { name: names[1], priority: 1, spec: b, profile, state: initialState(), observation: input(b, { requests: 2400 }).observation },
      ],
    };
  }

  it('decideFleet gives the inline result, and graphs named constructor and __proto__ are entries like any other', async () => {
    pool = new DecidePool();
    for (const names of [['chat', 'code'], ['constructor', '__proto__']] as [string, string][]) {
      const inline = decideFleet(fleet(names));
      const threaded = await pool.decideFleet(fleet(names), { timeoutMs: 30_000 });
      expect(Object.keys(threaded.results)).toEqual(names);
      expect(Object.keys(threaded.arbitration.shares)).toEqual(names);
      expect(Object.keys(inline.results)).toEqual(names);
      for (const name of names) {
        expect(Object.hasOwn(threaded.results, name)).toBe(true);
        expect(threaded.results[name]).toEqual(inline.results[name]);
        expect(threaded.arbitration.shares[name]).toEqual(inline.arbitration.shares[name]);
      }
      // 20 GPUs for two graphs that ask for more: the budget holds.
      expect(threaded.arbitration.usedGpus).toBeLessThanOrEqual(20);
    }
  });

  it('a fleet decision that never returns fails with DecideTimeoutError at its deadline, and the next one works', async () => {
    pool = new DecidePool({ worker: MISBEHAVING_DECIDE_WORKER });
    await pool.start();
    await expect(pool.decideFleet(fleet(['spinner', 'fine'], 'spin-prefill'), { timeoutMs: 300 })).rejects.toBeInstanceOf(DecideTimeoutError);
    expect(pool.restarts).toBe(1);
    const next = await pool.decideFleet(fleet(['a', 'b']), { timeoutMs: 30_000 });
    expect(Object.keys(next.results)).toEqual(['a', 'b']);
  });
});
