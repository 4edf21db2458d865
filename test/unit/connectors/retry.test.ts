import { describe, expect, it } from 'vitest';
import type { RequestLimits } from '../../../src/kubernetes/client.js';
import { KubeApiError, KubeCallAbortedError } from '../../../src/kubernetes/errors.js';
import { backoffDelayMs, DEFAULT_RETRY, isRetryable, withRetry, type CallBudget, type RetryOptions } from '../../../src/kubernetes/retry.js';
import { waitUnlessAborted } from '../../../src/http/retry-after.js';

const GRAPH = { method: 'GET', path: '/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeployments/llama' };
const SCALE = { method: 'PATCH', path: '/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeploymentscalingadapters/llama-d/scale' };

const throttled = (retryAfterSeconds?: number, target = GRAPH) => new KubeApiError(429, target.method, target.path, 'Too many requests', retryAfterSeconds);

/**
 * A tick's budget on a fake clock: `leftMs` at the start, and every wait passes its time on that clock (the tries
 * themselves take none). Records the waits and the limits each try was given.
 */
function fakeTick(leftMs: number, signal?: AbortSignal) {
  let elapsed = 0;
  const delays: number[] = [];
  const limits: RequestLimits[] = [];
  const sleep: RetryOptions['sleep'] = async (ms) => {
    delays.push(ms);
    elapsed += ms;
  };
  const budget: CallBudget = { remainingMs: () => leftMs - elapsed, ...(signal ? { signal } : {}) };
  return { delays, limits, budget, options: { ...DEFAULT_RETRY, sleep }, elapsed: () => elapsed };
}

/** A call that fails with `errors` in turn (the last one for good), recording the limits of each try. */
function failing(limits: RequestLimits[], ...errors: Error[]) {
  let calls = 0;
  const call = async (l: RequestLimits): Promise<string> => {
    limits.push(l);
    calls += 1;
    throw errors[Math.min(calls, errors.length) - 1];
  };
  return { call, calls: () => calls };
}

/** A wait that ends only when its signal aborts (a Retry-After far longer than any test). */
const untilAborted: RetryOptions['sleep'] = (_ms, signal) =>
  new Promise((_resolve, reject) => {
    signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });

describe('backoff', () => {
  it('doubles from 250 ms to at most 8 s; Retry-After wins, capped at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelayMs(a, DEFAULT_RETRY))).toEqual([250, 500, 1000, 2000, 4000, 8000, 8000]);
    expect(backoffDelayMs(1, DEFAULT_RETRY, 3)).toBe(3000);
    expect(backoffDelayMs(1, DEFAULT_RETRY, 600)).toBe(30_000);
  });

  it('retries 429, 5xx and no-answer; not 403/404/409/422, nor a call its budget ended', () => {
    expect([0, 429, 500, 503, 403, 404, 409, 422].map((s) => isRetryable(new KubeApiError(s, 'GET', '/x', 'm')))).toEqual([true, true, true, true, false, false, false, false]);
    expect(isRetryable(new Error('x'))).toBe(false);
    expect(isRetryable(new KubeCallAbortedError('GET', '/x', 'the planner is stopping', true))).toBe(false);
  });

  it('gives up after maxAttempts with the last error, saying so', async () => {
    const delays: number[] = [];
    let calls = 0;
    const failingPatch = async () => {
      calls += 1;
      throw new KubeApiError(500, 'PATCH', '/p', 'boom');
    };
    await expect(withRetry({ method: 'PATCH', path: '/p' }, failingPatch, { ...DEFAULT_RETRY, sleep: async (ms) => void delays.push(ms) })).rejects.toThrow(
      'PATCH /p -> HTTP 500: boom (gave up after 5 attempts)',
    );
    expect(calls).toBe(5);
    expect(delays).toEqual([250, 500, 1000, 2000]);
  });
});

describe("retries within the tick's budget", () => {
  it('a Retry-After longer than what is left of the tick is not waited: the call gives up at once, naming both', async () => {
    const tick = fakeTick(12_437);
    const { call, calls } = failing(tick.limits, throttled(30));
    await expect(withRetry(GRAPH, call, tick.options, tick.budget)).rejects.toThrow(
      `GET ${GRAPH.path} -> HTTP 429: Too many requests (gave up after 1 attempt: the server asked to retry after 30 s, more than the 12.4 s the tick had left)`,
    );
    expect(calls()).toBe(1);
    expect(tick.delays).toEqual([]);
  });

  it('the asked delay is named as asked (an HTTP date 120 s ahead), though at most 30 s of it would be waited', async () => {
    const tick = fakeTick(20_000);
    const { call } = failing(tick.limits, throttled(120));
    await expect(withRetry(GRAPH, call, tick.options, tick.budget)).rejects.toThrow(/the server asked to retry after 120 s, more than the 20 s the tick had left\)$/);
    // With more time left than the 30 s cap, the capped wait fits and is waited.
    const roomy = fakeTick(45_000);
    const ok = failing(roomy.limits, throttled(120), throttled(120));
    await expect(withRetry(GRAPH, ok.call, roomy.options, roomy.budget)).rejects.toThrow(/gave up after 2 attempts: the server asked to retry after 120 s, more than the 15 s the tick had left/);
    expect(roomy.delays).toEqual([30_000]);
  });

  it('429 Retry-After: 30 forever with 59 s left: one wait of 30 s, then it gives up by the deadline (not four waits, two minutes)', async () => {
    const tick = fakeTick(59_000);
    const { call, calls } = failing(tick.limits, throttled(30));
    await expect(withRetry(GRAPH, call, tick.options, tick.budget)).rejects.toThrow(/gave up after 2 attempts: the server asked to retry after 30 s, more than the 29 s the tick had left/);
    expect(tick.delays).toEqual([30_000]);
    expect(calls()).toBe(2);
    expect(tick.elapsed()).toBeLessThanOrEqual(59_000);
  });

  it('the doubling backoff stops where the next wait would pass the deadline', async () => {
    const tick = fakeTick(2_000);
    const { call, calls } = failing(tick.limits, new KubeApiError(500, SCALE.method, SCALE.path, 'etcdserver: leader changed'));
    // Waits of 250, 500 and 1000 ms end 1750 ms in, within the 2000; the next, 2000 ms, does not fit in the 250 left.
    await expect(withRetry(SCALE, call, tick.options, tick.budget)).rejects.toThrow(
      /HTTP 500: etcdserver: leader changed \(gave up after 4 attempts: the next try, 2 s on, would come after the tick's deadline \(0.3 s left\)\)$/,
    );
    expect(tick.delays).toEqual([250, 500, 1000]);
    expect(calls()).toBe(4);
  });

  it("each try gets the tick's signal and, as its timeout, what is left of the tick", async () => {
    const controller = new AbortController();
    const tick = fakeTick(10_000, controller.signal);
    const { call } = failing(tick.limits, throttled(2), throttled(3), new KubeApiError(404, 'GET', GRAPH.path, 'not found'));
    await expect(withRetry(GRAPH, call, tick.options, tick.budget)).rejects.toThrow('HTTP 404');
    expect(tick.limits.map((l) => l.timeoutMs)).toEqual([10_000, 8_000, 5_000]);
    expect(tick.limits.every((l) => l.signal === controller.signal)).toBe(true);
  });

  it('no time left before the first try: nothing is sent', async () => {
    const tick = fakeTick(0);
    const { call, calls } = failing(tick.limits, throttled(1));
    const error = await withRetry(GRAPH, call, tick.options, tick.budget).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeCallAbortedError);
    expect((error as Error).message).toBe(`GET ${GRAPH.path}: not sent: the tick has no time left`);
    expect(calls()).toBe(0);
  });

  it('without a budget: the waits the server asks for, as before (each try bounded by its own timeout only)', async () => {
    const tick = fakeTick(Infinity);
    const { call } = failing(tick.limits, throttled(30));
    await expect(withRetry(GRAPH, call, tick.options)).rejects.toThrow('(gave up after 5 attempts)');
    expect(tick.delays).toEqual([30_000, 30_000, 30_000, 30_000]);
    expect(tick.limits).toEqual([{}, {}, {}, {}, {}]);
  });
});

describe('a call whose signal aborts (its tick given up, the planner stopping)', () => {
  it('a wait in progress ends at once; no further try is sent; the error says what was answered and why it was not retried', async () => {
    const controller = new AbortController();
    const limits: RequestLimits[] = [];
    const { call, calls } = failing(limits, throttled(30, SCALE));
    let waiting!: () => void;
    const waitStarted = new Promise<void>((resolve) => (waiting = resolve));
    const sleep: RetryOptions['sleep'] = (ms, signal) => {
      waiting();
      return untilAborted(ms, signal);
    };
    const running = withRetry(SCALE, call, { ...DEFAULT_RETRY, sleep }, { signal: controller.signal, remainingMs: () => 60_000 });
    await waitStarted;
    controller.abort(new Error('the planner is stopping (SIGTERM)'));
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeCallAbortedError);
    expect((error as KubeCallAbortedError).inFlight).toBe(false);
    expect((error as Error).message).toBe(`PATCH ${SCALE.path} -> HTTP 429: Too many requests; not retried: the planner is stopping (SIGTERM)`);
    expect(calls()).toBe(1);
  });

  it('already aborted: nothing is sent', async () => {
    const controller = new AbortController();
    controller.abort(new Error('the tick timed out after 30s (per-policy timeout)'));
    const limits: RequestLimits[] = [];
    const { call, calls } = failing(limits, throttled(1));
    await expect(withRetry(GRAPH, call, { ...DEFAULT_RETRY, sleep: untilAborted }, { signal: controller.signal })).rejects.toThrow(
      `GET ${GRAPH.path}: not sent: the tick timed out after 30s (per-policy timeout)`,
    );
    expect(calls()).toBe(0);
  });

  it('the default wait (a timer) rejects as soon as its signal aborts, however long it was', async () => {
    const controller = new AbortController();
    const wait = waitUnlessAborted(30_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(wait).rejects.toThrow();
    await expect(waitUnlessAborted(1)).resolves.toBeUndefined();
  });

  it('a write cut off in flight is not counted as applied; a read cut off says no more', () => {
    expect(new KubeCallAbortedError('PATCH', SCALE.path, 'the planner is stopping (SIGTERM)', true).message).toBe(
      `PATCH ${SCALE.path}: cut off while in flight: the planner is stopping (SIGTERM); not counted as applied (the API server may or may not have applied it; the next tick reads the count back)`,
    );
    expect(new KubeCallAbortedError('GET', GRAPH.path, 'the planner is stopping (SIGTERM)', true).message).toBe(`GET ${GRAPH.path}: cut off while in flight: the planner is stopping (SIGTERM)`);
  });
});
