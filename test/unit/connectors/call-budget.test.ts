import { describe, expect, it } from 'vitest';
import { abandonReason, withTimeout, writeBudget } from '../../../src/call-budget.js';

describe('a write\'s budget: the tick\'s signal joined with its term of leadership', () => {
  it('the term ending first aborts the write with its reason: leadership-lost', () => {
    const tick = new AbortController();
    const term = new AbortController();
    const own = { signal: tick.signal, leadership: term.signal };
    const { budget, release } = writeBudget(own);
    term.abort(new Error('not the leader any more: lease held by planner-1'));
    tick.abort(new Error('the tick was given up after 30 s'));
    expect(budget.signal?.aborted).toBe(true);
    expect((budget.signal?.reason as Error).message).toBe('not the leader any more: lease held by planner-1');
    expect(abandonReason(own, budget)).toBe('leadership-lost');
    release();
  });

  it('the tick ending first is tick-ended, whatever the term does after', () => {
    const tick = new AbortController();
    const term = new AbortController();
    const own = { signal: tick.signal, leadership: term.signal };
    const { budget, release } = writeBudget(own);
    tick.abort(new Error('the planner is stopping (SIGTERM)'));
    term.abort(new Error('not the leader any more: stopping'));
    expect((budget.signal?.reason as Error).message).toBe('the planner is stopping (SIGTERM)');
    expect(abandonReason(own, budget)).toBe('tick-ended');
    release();
  });

  it('a term already over when the write begins: aborted at once, leadership-lost; no term at all: tick-ended', () => {
    const term = new AbortController();
    term.abort(new Error('not the leader any more: no successful renew for 10s'));
    const own = { leadership: term.signal };
    const { budget } = writeBudget(own);
    expect(budget.signal?.aborted).toBe(true);
    expect(abandonReason(own, budget)).toBe('leadership-lost');
    const tick = new AbortController();
    tick.abort(new Error('out of time'));
    expect(abandonReason({ signal: tick.signal }, writeBudget({ signal: tick.signal }).budget)).toBe('tick-ended');
  });

  it('released, the write no longer follows the term (a later loss does not reach it)', () => {
    const term = new AbortController();
    const { budget, release } = writeBudget({ leadership: term.signal });
    release();
    term.abort(new Error('not the leader any more: stopping'));
    expect(budget.signal?.aborted).toBe(false);
  });
});

describe('withTimeout', () => {
  it('ends at its timeout, or at once when the signal aborts, with the reason', async () => {
    const never = new Promise<number>(() => undefined);
    const started = Date.now();
    await expect(withTimeout(never, 50, 'timed out after 0.05s')).rejects.toThrow('timed out after 0.05s');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    const stop = new AbortController();
    setTimeout(() => stop.abort(new Error('not the leader any more: lease held by planner-1')), 20);
    const cut = Date.now();
    await expect(withTimeout(never, 60_000, 'timed out after 60s', stop.signal)).rejects.toThrow('cut off: not the leader any more: lease held by planner-1');
    expect(Date.now() - cut).toBeLessThan(5000);
    expect(await withTimeout(Promise.resolve(7), 1000, 'timed out')).toBe(7);
  });
});
